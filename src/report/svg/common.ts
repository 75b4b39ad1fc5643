/**
 * Shared pieces of the SVG charts: scales, ticks, coordinates that are always finite, the colour
 * palette, the chart frame (title, axes, labels) and the legend.
 */
import { escapeXml } from '../escape.js';
import { formatNumber } from '../format.js';

/** Okabe–Ito colours: distinguishable with the common colour-vision deficiencies. */
/** A value of one series with an optional interval (a bar, a dot). Null value: no mark, 'n/a'. */
export interface SeriesValue {
  readonly series: string;
  readonly value: number | null;
  readonly lo?: number | null;
  readonly hi?: number | null;
}

export const PALETTE = ['#0072B2', '#E69F00', '#009E73', '#D55E00', '#CC79A7', '#56B4E9', '#F0E442', '#000000'];

/** Colour of the i-th series. */
export function seriesColor(i: number): string {
  return PALETTE[i % PALETTE.length];
}

/** A coordinate as SVG text: rounded to 0.01 px, and 0 when not finite (never 'NaN'). */
export function c(v: number): string {
  if (!Number.isFinite(v)) return '0';
  return String(Math.round(v * 100) / 100);
}

/** True when v is a finite number (not null, undefined, NaN or ±Infinity). */
export function isNum(v: number | null | undefined): v is number {
  return typeof v === 'number' && Number.isFinite(v);
}

/** Linear map from [d0, d1] to [r0, r1]; a zero-width domain maps everything to the middle. */
export function linearScale(d0: number, d1: number, r0: number, r1: number): (v: number) => number {
  if (!(d1 > d0)) return () => (r0 + r1) / 2;
  return (v) => r0 + ((v - d0) / (d1 - d0)) * (r1 - r0);
}

/** Base-10 log map from [d0, d1] (both > 0) to [r0, r1]. */
export function logScale(d0: number, d1: number, r0: number, r1: number): (v: number) => number {
  const l = linearScale(Math.log10(d0), Math.log10(d1), r0, r1);
  return (v) => l(Math.log10(v));
}

/**
 * About `count` round tick values covering [min, max] (steps of 1, 2 or 5 × 10^k), each a
 * multiple of the step printed without floating-point noise.
 * @example niceTicks(0, 1) // [0, 0.2, 0.4, 0.6, 0.8, 1]
 * @example niceTicks(-0.3, 0.3) // [-0.2, 0, 0.2]
 */
export function niceTicks(min: number, max: number, count = 5): number[] {
  if (!isNum(min) || !isNum(max)) return [0, 1];
  if (max <= min) return [min];
  const raw = (max - min) / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? 10 * mag;
  const out: number[] = [];
  // Ticks are counted in steps (k * step), not summed (v += step), so no rounding error builds up;
  // a tick within a millionth of a step of zero is zero (not 2.56e-17).
  for (let k = Math.ceil(min / step - 1e-9); k * step <= max + step * 1e-9; k++) {
    const v = Number((k * step).toPrecision(12));
    out.push(Math.abs(v) < step * 1e-6 ? 0 : v);
  }
  return out;
}

/**
 * A round axis range covering [min, max]: both ends moved outward to multiples of the tick step.
 * @example niceDomain(0, 0.835) // [0, 1]
 */
export function niceDomain(min: number, max: number, count = 5): [number, number] {
  if (!isNum(min) || !isNum(max)) return [0, 1];
  if (max <= min) return min === 0 ? [0, 1] : [Math.min(0, min), Math.max(0, min) || 1];
  const raw = (max - min) / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? 10 * mag;
  return [Number((Math.floor(min / step + 1e-9) * step).toPrecision(12)), Number((Math.ceil(max / step - 1e-9) * step).toPrecision(12))];
}

/** Powers of ten covering [min, max] (min > 0), for log axes. */
export function logTicks(min: number, max: number): number[] {
  const out: number[] = [];
  for (let e = Math.floor(Math.log10(min)); e <= Math.ceil(Math.log10(max)); e++) out.push(10 ** e);
  return out;
}

/** Pixel layout of a chart. */
export interface Frame {
  readonly width: number;
  readonly height: number;
  readonly left: number;
  readonly right: number;
  readonly top: number;
  readonly bottom: number;
}

/** Inner plotting box of a frame. */
export function plotBox(f: Frame): { x0: number; x1: number; y0: number; y1: number } {
  return { x0: f.left, x1: f.width - f.right, y0: f.top, y1: f.height - f.bottom };
}

/**
 * Opening of a chart: an accessible `<svg role="img">` with a `<title>`, a white background and
 * the visible title text. Close with `</svg>`.
 */
export function openSvg(f: Frame, title: string): string {
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" width="${f.width}" height="${f.height}" viewBox="0 0 ${f.width} ${f.height}" ` +
    `role="img" font-family="system-ui, -apple-system, Segoe UI, Roboto, sans-serif" font-size="12">` +
    `<title>${escapeXml(title)}</title>` +
    `<rect width="${f.width}" height="${f.height}" fill="#ffffff"/>` +
    `<text x="${c(f.width / 2)}" y="18" text-anchor="middle" font-size="14" font-weight="600">${escapeXml(fitText(title, f.width - 16, 14))}</text>`
  );
}

/** A y axis with gridlines, tick labels and a rotated axis label. */
export function yAxis(f: Frame, ticks: number[], y: (v: number) => number, label: string): string {
  const b = plotBox(f);
  let s = '';
  for (const t of ticks) {
    const py = c(y(t));
    s += `<line x1="${c(b.x0)}" x2="${c(b.x1)}" y1="${py}" y2="${py}" stroke="#e3e3e3"/>`;
    s += `<text x="${c(b.x0 - 6)}" y="${py}" text-anchor="end" dominant-baseline="middle" fill="#333">${escapeXml(formatNumber(t))}</text>`;
  }
  s += `<line x1="${c(b.x0)}" x2="${c(b.x0)}" y1="${c(b.y0)}" y2="${c(b.y1)}" stroke="#333"/>`;
  const my = c((b.y0 + b.y1) / 2);
  s += `<text x="14" y="${my}" transform="rotate(-90 14 ${my})" text-anchor="middle" fill="#333">${escapeXml(label)}</text>`;
  return s;
}

/** An x axis line along the bottom of the plot box, with an optional label under it. */
export function xAxisLine(f: Frame, label?: string): string {
  const b = plotBox(f);
  let s = `<line x1="${c(b.x0)}" x2="${c(b.x1)}" y1="${c(b.y1)}" y2="${c(b.y1)}" stroke="#333"/>`;
  if (label) s += `<text x="${c((b.x0 + b.x1) / 2)}" y="${c(f.height - 8)}" text-anchor="middle" fill="#333">${escapeXml(label)}</text>`;
  return s;
}

/** Numeric x ticks with labels below the plot box. */
export function xTicks(f: Frame, ticks: number[], x: (v: number) => number): string {
  const b = plotBox(f);
  let s = '';
  for (const t of ticks) {
    const px = c(x(t));
    s += `<line x1="${px}" x2="${px}" y1="${c(b.y1)}" y2="${c(b.y1 + 4)}" stroke="#333"/>`;
    s += `<text x="${px}" y="${c(b.y1 + 16)}" text-anchor="middle" fill="#333">${escapeXml(formatNumber(t))}</text>`;
  }
  return s;
}

/**
 * Estimated rendered width in px of `text` in a sans-serif font of `fontSize` px (per-character
 * classes of Helvetica/Arial-like advance widths, rounded up): used to lay out legends, titles
 * and labels so nothing is cut off at the chart's edge.
 * @example textWidth('T-shirt crop') // about 70 at 12 px
 */
export function textWidth(text: string, fontSize = 12): number {
  let em = 0;
  for (const ch of text) {
    if (/[ilIj.,:;'|!`]/.test(ch)) em += 0.3;
    else if (ch === ' ') em += 0.3;
    else if (/[mwMW@%]/.test(ch)) em += 0.9;
    else if (/[A-Z]/.test(ch)) em += 0.7;
    else if (/[\u0000-\u007f]/.test(ch)) em += 0.58;
    else em += 1; // wide glyphs (arrows, CJK, symbols)
  }
  return Math.ceil(em * fontSize);
}

/** `text` shortened with '…' so it fits `maxWidth` px at `fontSize` (unchanged when it fits). */
export function fitText(text: string, maxWidth: number, fontSize = 12): string {
  if (textWidth(text, fontSize) <= maxWidth) return text;
  let t = text;
  while (t.length > 1 && textWidth(`${t}…`, fontSize) > maxWidth) t = t.slice(0, -1);
  return `${t}…`;
}

const LEGEND_LINE = 16;

/** Where each legend entry goes: rows that wrap at the chart's right edge, starting at the plot's left. */
function legendLayout(width: number, left: number, names: readonly string[]): { x: number; row: number; text: string }[] {
  const start = Math.min(left, 12);
  const out: { x: number; row: number; text: string }[] = [];
  let x = left;
  let row = 0;
  for (const name of names) {
    const text = fitText(name, width - start - 24);
    const w = 16 + textWidth(text) + 14;
    if (x > left && x + w > width - 4) {
      row++;
      x = start;
    }
    if (x === left && x + w > width - 4) x = start;
    out.push({ x, row, text });
    x += w;
  }
  return out;
}

/** Height in px the legend of `names` takes in a chart `width` px wide whose plot starts at `left` (0 for one series). */
export function legendHeight(width: number, left: number, names: readonly string[]): number {
  if (names.length <= 1) return 0;
  const rows = Math.max(...legendLayout(width, left, names).map((e) => e.row)) + 1;
  return rows * LEGEND_LINE;
}

/** The frame's top margin for a legend of `names`: room for the title and every legend row. */
export function topFor(width: number, left: number, names: readonly string[]): number {
  return names.length > 1 ? 30 + legendHeight(width, left, names) : 32;
}

/**
 * A legend of coloured swatches under the title, wrapping onto more rows where the names do not
 * fit in one (frames make room with {@link topFor}); a name too long for a whole row is shortened
 * with '…' and kept whole in a tooltip.
 */
export function legend(f: Frame, names: string[]): string {
  if (names.length <= 1) return '';
  let s = '';
  legendLayout(f.width, f.left, names).forEach((e, i) => {
    const y = 32 + e.row * LEGEND_LINE;
    s += `<rect x="${c(e.x)}" y="${y - 9}" width="12" height="12" fill="${seriesColor(i)}"/>`;
    const tip = e.text !== names[i] ? `<title>${escapeXml(names[i])}</title>` : '';
    s += `<text x="${c(e.x + 16)}" y="${y + 1}" fill="#333">${tip}${escapeXml(e.text)}</text>`;
  });
  return s;
}

/** A centered "no data" note for empty charts. */
export function noData(f: Frame): string {
  const b = plotBox(f);
  return `<text x="${c((b.x0 + b.x1) / 2)}" y="${c((b.y0 + b.y1) / 2)}" text-anchor="middle" fill="#777">no data</text>`;
}

/** Text of an interval for tooltips: ' [lo, hi]' when both ends are numbers, else ''. */
export function intervalText(lo: number | null | undefined, hi: number | null | undefined): string {
  return isNum(lo) && isNum(hi) ? ` [${formatNumber(lo)}, ${formatNumber(hi)}]` : '';
}
