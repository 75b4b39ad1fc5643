/** Line chart with shaded intervals (e.g. ASR vs number of poisoned images). */
import { escapeXml } from '../escape.js';
import { formatNumber } from '../format.js';
import {
  c,
  intervalText,
  isNum,
  legend,
  topFor,
  linearScale,
  niceDomain,
  logScale,
  logTicks,
  niceTicks,
  noData,
  openSvg,
  plotBox,
  seriesColor,
  xAxisLine,
  xTicks,
  yAxis,
  type Frame,
} from './common.js';

/** One point; `y` null leaves a gap in the line. */
export interface LinePoint {
  readonly x: number;
  readonly y: number | null;
  readonly lo?: number | null;
  readonly hi?: number | null;
}

/** Options of {@link lineChart}. */
export interface LineChartOptions {
  readonly series: readonly { readonly name: string; readonly points: readonly LinePoint[] }[];
  readonly title: string;
  readonly xLabel: string;
  readonly yLabel: string;
  /** Log-scale x axis (base 10); points with x ≤ 0 are left out. */
  readonly logX?: boolean;
  readonly yMin?: number;
  readonly yMax?: number;
  /** Pixels; default 640 × 360. */
  readonly width?: number;
  readonly height?: number;
}

/**
 * An SVG string of one line per series with markers, a shaded band where points carry `lo`/`hi`,
 * and a `<title>` tooltip per point with its exact x, y and interval.
 */
export function lineChart(o: LineChartOptions): string {
  const top = topFor(
    o.width ?? 640,
    64,
    o.series.map((x) => x.name),
  );
  const f: Frame = {
    width: o.width ?? 640,
    // Extra legend rows add height instead of squeezing the plot.
    height: (o.height ?? 360) + Math.max(0, top - 46),
    left: 64,
    right: 20,
    top,
    bottom: 46,
  };
  const b = plotBox(f);
  const keep = (p: LinePoint) => isNum(p.x) && (!o.logX || p.x > 0);
  const series = o.series.map((s) => ({
    name: s.name,
    points: s.points
      .filter(keep)
      .slice()
      .sort((p, q) => p.x - q.x),
  }));
  const xs = series.flatMap((s) => s.points.map((p) => p.x));
  const ys = series.flatMap((s) => s.points.flatMap((p) => [p.y, p.lo, p.hi])).filter(isNum);
  let s =
    openSvg(f, o.title) +
    legend(
      f,
      series.map((x) => x.name),
    );
  if (xs.length === 0) {
    return s + yAxis(f, niceTicks(0, 1), linearScale(0, 1, b.y1, b.y0), o.yLabel) + xAxisLine(f, o.xLabel) + noData(f) + '</svg>';
  }
  const [autoMin, autoMax] = niceDomain(Math.min(0, ...ys), ys.length ? Math.max(...ys) : 1);
  const yMin = isNum(o.yMin) ? o.yMin : autoMin;
  const yMax = isNum(o.yMax) ? o.yMax : Math.max(autoMax, yMin + 1e-9);
  const y0 = linearScale(yMin, yMax, b.y1, b.y0);
  const y = (v: number) => y0(Math.min(yMax, Math.max(yMin, v)));
  let xMin = Math.min(...xs);
  let xMax = Math.max(...xs);
  let x: (v: number) => number;
  let ticks: number[];
  if (o.logX) {
    if (xMax === xMin) [xMin, xMax] = [xMin / 2, xMax * 2];
    x = logScale(xMin, xMax, b.x0 + 8, b.x1 - 8);
    ticks = logTicks(xMin, xMax).filter((t) => t >= xMin * 0.999 && t <= xMax * 1.001);
    if (ticks.length < 2) ticks = [xMin, xMax];
  } else {
    if (xMax === xMin) [xMin, xMax] = [xMin - 1, xMax + 1];
    x = linearScale(xMin, xMax, b.x0 + 8, b.x1 - 8);
    ticks = niceTicks(xMin, xMax).filter((t) => t >= xMin && t <= xMax);
  }
  s += yAxis(f, niceTicks(yMin, yMax), y, o.yLabel) + xAxisLine(f, o.xLabel) + xTicks(f, ticks, x);
  series.forEach((ser, si) => {
    const color = seriesColor(si);
    // shaded band over runs of consecutive points that have both ends of an interval
    let run: LinePoint[] = [];
    const flush = () => {
      if (run.length >= 2) {
        const top = run.map((p) => `${c(x(p.x))},${c(y(p.hi as number))}`);
        const bottom = run.map((p) => `${c(x(p.x))},${c(y(p.lo as number))}`).reverse();
        s += `<polygon points="${[...top, ...bottom].join(' ')}" fill="${color}" fill-opacity="0.18" stroke="none"/>`;
      } else if (run.length === 1) {
        const p = run[0];
        s += `<line x1="${c(x(p.x))}" x2="${c(x(p.x))}" y1="${c(y(p.lo as number))}" y2="${c(y(p.hi as number))}" stroke="${color}" stroke-opacity="0.5" stroke-width="3"/>`;
      }
      run = [];
    };
    for (const p of ser.points) {
      if (isNum(p.lo) && isNum(p.hi)) run.push(p);
      else flush();
    }
    flush();
    // the line, broken where y is missing
    let d = '';
    let pen = false;
    for (const p of ser.points) {
      if (!isNum(p.y)) {
        pen = false;
        continue;
      }
      d += `${pen ? 'L' : 'M'}${c(x(p.x))} ${c(y(p.y))}`;
      pen = true;
    }
    if (d) s += `<path d="${d}" fill="none" stroke="${color}" stroke-width="2"/>`;
    for (const p of ser.points) {
      if (!isNum(p.y)) continue;
      const tip = escapeXml(
        `${ser.name}: ${o.xLabel} = ${formatNumber(p.x)}, ${o.yLabel} = ${formatNumber(p.y)}${intervalText(p.lo, p.hi)}`,
      );
      s += `<circle cx="${c(x(p.x))}" cy="${c(y(p.y))}" r="3.5" fill="${color}" stroke="#fff"><title>${tip}</title></circle>`;
    }
  });
  return s + '</svg>';
}
