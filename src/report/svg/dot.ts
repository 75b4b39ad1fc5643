/**
 * Dot plot of paired values per row, e.g. subgroup accuracy with vs without the attribute per
 * class: one row per class, one dot per series, a segment showing the gap between them.
 */
import { escapeXml } from '../escape.js';
import { formatNumber } from '../format.js';
import {
  c,
  intervalText,
  isNum,
  legend,
  textWidth,
  fitText,
  topFor,
  linearScale,
  niceDomain,
  niceTicks,
  noData,
  openSvg,
  plotBox,
  seriesColor,
  xAxisLine,
  xTicks,
  type Frame,
  type SeriesValue,
} from './common.js';

/** One dot of a row. */
export type Dot = SeriesValue;

/** Options of {@link dotPlot}. */
export interface DotPlotOptions {
  readonly rows: readonly { readonly label: string; readonly dots: readonly Dot[] }[];
  readonly title: string;
  readonly xLabel: string;
  /** Axis range; default [min(0, data), round number above the data]. */
  readonly xMin?: number;
  readonly xMax?: number;
  /** Pixels; default 640 wide, height from the row count. */
  readonly width?: number;
  readonly height?: number;
}

/**
 * An SVG string: a horizontal row per label with one dot per series, a grey segment joining the
 * smallest and largest dot (the gap), interval whiskers where given, and exact-number tooltips.
 * @example dotPlot({ title: 'Accuracy by subgroup', xLabel: 'accuracy', xMax: 1, rows: [
 *   { label: 'cat', dots: [{ series: 'with attribute', value: 0.9 }, { series: 'without attribute', value: 0.6 }] }] })
 */
export function dotPlot(o: DotPlotOptions): string {
  const series: string[] = [];
  for (const r of o.rows) for (const d of r.dots) if (!series.includes(d.series)) series.push(d.series);
  // Row labels get the room they need (up to 360 px; longer ones are shortened with '…'), and
  // the chart widens so the plot keeps at least 320 px.
  const labelW = Math.min(360, Math.max(32, ...o.rows.map((r) => textWidth(r.label))));
  const left = 16 + labelW;
  const width = o.width ?? Math.max(640, left + 24 + 320);
  const top = topFor(width, left, series);
  const f: Frame = {
    width,
    height: (o.height ?? Math.max(140, 90 + o.rows.length * 26)) + Math.max(0, top - 46),
    left,
    right: 24,
    top,
    bottom: 46,
  };
  const b = plotBox(f);
  let s = openSvg(f, o.title) + legend(f, series);
  const nums = o.rows.flatMap((r) => r.dots.flatMap((d) => [d.value, d.lo, d.hi])).filter(isNum);
  if (o.rows.length === 0) return s + xAxisLine(f, o.xLabel) + noData(f) + '</svg>';
  const [autoMin, autoMax] = niceDomain(Math.min(0, ...nums), nums.length ? Math.max(...nums) : 1);
  const xMin = isNum(o.xMin) ? o.xMin : autoMin;
  const xMax = isNum(o.xMax) ? o.xMax : Math.max(autoMax, xMin + 1e-9);
  const x0 = linearScale(xMin, xMax, b.x0, b.x1);
  const x = (v: number) => x0(Math.min(xMax, Math.max(xMin, v)));
  const ticks = niceTicks(xMin, xMax);
  for (const t of ticks) s += `<line x1="${c(x(t))}" x2="${c(x(t))}" y1="${c(b.y0)}" y2="${c(b.y1)}" stroke="#e3e3e3"/>`;
  s += xAxisLine(f, o.xLabel) + xTicks(f, ticks, x);
  const rowH = (b.y1 - b.y0) / o.rows.length;
  o.rows.forEach((r, ri) => {
    const cy = b.y0 + rowH * (ri + 0.5);
    s += `<text x="${c(b.x0 - 8)}" y="${c(cy)}" text-anchor="end" dominant-baseline="middle" fill="#333">${fitText(r.label, labelW) !== r.label ? `<title>${escapeXml(r.label)}</title>` : ''}${escapeXml(fitText(r.label, labelW))}</text>`;
    const vals = r.dots.map((d) => d.value).filter(isNum);
    if (vals.length >= 2) {
      s += `<line x1="${c(x(Math.min(...vals)))}" x2="${c(x(Math.max(...vals)))}" y1="${c(cy)}" y2="${c(cy)}" stroke="#999" stroke-width="3"/>`;
    }
    if (vals.length === 0) s += `<text x="${c(b.x0 + 6)}" y="${c(cy)}" dominant-baseline="middle" font-size="10" fill="#777">n/a</text>`;
    for (const d of r.dots) {
      if (!isNum(d.value)) continue;
      const color = seriesColor(series.indexOf(d.series));
      const tip = escapeXml(`${r.label} — ${d.series}: ${formatNumber(d.value)}${intervalText(d.lo, d.hi)}`);
      s += `<g><title>${tip}</title>`;
      if (isNum(d.lo) && isNum(d.hi)) {
        s += `<line x1="${c(x(d.lo))}" x2="${c(x(d.hi))}" y1="${c(cy)}" y2="${c(cy)}" stroke="${color}" stroke-width="1.5"/>`;
      }
      s += `<circle cx="${c(x(d.value))}" cy="${c(cy)}" r="5.5" fill="${color}" stroke="#fff"/></g>`;
    }
  });
  return s + '</svg>';
}
