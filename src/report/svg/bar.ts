/** Grouped bar chart with optional error bars (e.g. ASR by transfer mode, biased vs clean source). */
import { escapeXml } from '../escape.js';
import { formatNumber, formatShort } from '../format.js';
import {
  c,
  intervalText,
  isNum,
  legend,
  topFor,
  linearScale,
  niceDomain,
  niceTicks,
  noData,
  openSvg,
  plotBox,
  seriesColor,
  xAxisLine,
  yAxis,
  type Frame,
  type SeriesValue,
} from './common.js';

/** One bar: its series name (colour / legend entry), value (null: no bar, 'n/a') and optional interval. */
export type Bar = SeriesValue;

/** Options of {@link barChart}. */
export interface BarChartOptions {
  /** One group per x position, e.g. one per transfer mode. */
  readonly groups: readonly { readonly label: string; readonly bars: readonly Bar[] }[];
  readonly title: string;
  readonly yLabel: string;
  readonly xLabel?: string;
  /** Top of the y axis; default: a round number above the largest value or interval end. */
  readonly yMax?: number;
  /** Bottom of the y axis; default min(0, smallest value or interval end). */
  readonly yMin?: number;
  /** Pixels; default 640 × 360. */
  readonly width?: number;
  readonly height?: number;
  /** Print each value above its bar; default true when there are at most 24 bars, each ≥ 30 px wide. */
  readonly valueLabels?: boolean;
}

/**
 * An SVG string of grouped bars, one colour per series, with error bars where `lo`/`hi` are
 * given and a `<title>` tooltip on every bar giving its exact value and interval.
 * @example barChart({ title: 'ASR', yLabel: 'ASR', yMax: 1, groups: [
 *   { label: 'fixed', bars: [{ series: 'biased source', value: 0.9, lo: 0.85, hi: 0.94 }, { series: 'clean source', value: 0.1 }] }] })
 */
export function barChart(o: BarChartOptions): string {
  const series: string[] = [];
  for (const g of o.groups) for (const b of g.bars) if (!series.includes(b.series)) series.push(b.series);
  const nBars = o.groups.reduce((a, g) => a + g.bars.length, 0);
  const longest = Math.max(0, ...o.groups.map((g) => g.label.length));
  const width = o.width ?? 640;
  const slot = (width - 80) / Math.max(1, o.groups.length);
  const rotate = longest * 6.5 > slot;
  // Rotated labels need about 16 px of slot each; when groups are narrower, label every k-th
  // group (the first always) so they do not overlap; every bar keeps its label in its tooltip.
  const labelEvery = rotate ? Math.max(1, Math.ceil(16 / slot)) : 1;
  const top = topFor(width, 64, series);
  const f: Frame = {
    width,
    // Extra legend rows add height instead of squeezing the plot.
    height: (o.height ?? 360) + Math.max(0, top - 46),
    left: 64,
    right: 16,
    top,
    bottom: (rotate ? Math.min(120, 20 + longest * 4.6) : 34) + (o.xLabel ? 16 : 0),
  };
  const b = plotBox(f);
  const nums: number[] = [];
  for (const g of o.groups) for (const x of g.bars) for (const v of [x.value, x.lo, x.hi]) if (isNum(v)) nums.push(v);
  const dataMax = Math.max(0, ...nums);
  const dataMin = Math.min(0, ...nums);
  const [autoMin, autoMax] = niceDomain(dataMin, dataMax > dataMin ? dataMax : 1);
  const yMax = isNum(o.yMax) ? o.yMax : autoMax;
  const yMin = isNum(o.yMin) ? o.yMin : autoMin;
  const y = linearScale(yMin, yMax, b.y1, b.y0);
  const clampY = (v: number) => y(Math.min(yMax, Math.max(yMin, v)));
  let s = openSvg(f, o.title) + legend(f, series) + yAxis(f, niceTicks(yMin, yMax), y, o.yLabel);
  if (nBars === 0) return s + xAxisLine(f, o.xLabel) + noData(f) + '</svg>';
  const groupW = (b.x1 - b.x0) / o.groups.length;
  const narrowest = Math.min(...o.groups.map((g) => (groupW * 0.8) / Math.max(1, g.bars.length)));
  const showValues = o.valueLabels ?? (nBars <= 24 && narrowest >= 30);
  o.groups.forEach((g, gi) => {
    const gx = b.x0 + gi * groupW;
    const inner = groupW * 0.8;
    const bw = inner / Math.max(1, g.bars.length);
    g.bars.forEach((bar, bi) => {
      const x = gx + groupW * 0.1 + bi * bw;
      const color = seriesColor(series.indexOf(bar.series));
      const tip = escapeXml(`${g.label} — ${bar.series}: ${formatNumber(bar.value)}${intervalText(bar.lo, bar.hi)}`);
      s += `<g><title>${tip}</title>`;
      if (isNum(bar.value)) {
        const y0 = clampY(0);
        const yv = clampY(bar.value);
        s += `<rect x="${c(x + 1)}" y="${c(Math.min(y0, yv))}" width="${c(Math.max(bw - 2, 1))}" height="${c(Math.abs(y0 - yv))}" fill="${color}"/>`;
        if (isNum(bar.lo) && isNum(bar.hi)) {
          const mx = x + bw / 2;
          const [ylo, yhi] = [clampY(bar.lo), clampY(bar.hi)];
          s += `<path d="M${c(mx)} ${c(ylo)}V${c(yhi)}M${c(mx - 4)} ${c(ylo)}H${c(mx + 4)}M${c(mx - 4)} ${c(yhi)}H${c(mx + 4)}" stroke="#222" stroke-width="1.3" fill="none"/>`;
        }
        if (showValues) {
          const top = Math.min(yv, isNum(bar.hi) ? clampY(bar.hi) : yv);
          s += `<text x="${c(x + bw / 2)}" y="${c(top - 4)}" text-anchor="middle" font-size="10" fill="#222">${escapeXml(formatShort(bar.value))}</text>`;
        }
      } else {
        s += `<text x="${c(x + bw / 2)}" y="${c(clampY(0) - 4)}" text-anchor="middle" font-size="10" fill="#777">n/a</text>`;
      }
      s += '</g>';
    });
    const lx = gx + groupW / 2;
    const ly = b.y1 + 16;
    if (gi % labelEvery !== 0) return;
    s += rotate
      ? `<text x="${c(lx)}" y="${c(ly)}" transform="rotate(-35 ${c(lx)} ${c(ly)})" text-anchor="end" fill="#333">${escapeXml(g.label)}</text>`
      : `<text x="${c(lx)}" y="${c(ly)}" text-anchor="middle" fill="#333">${escapeXml(g.label)}</text>`;
  });
  return s + xAxisLine(f, o.xLabel) + '</svg>';
}
