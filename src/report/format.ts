/** Number formatting shared by charts and tables. */

/**
 * A number as shown in tooltips and tables: up to 6 significant digits, trailing zeros dropped;
 * null / NaN as '—' (the caller's "no data").
 * @example formatNumber(0.873) // '0.873'
 * @example formatNumber(1 / 3) // '0.333333'
 */
export function formatNumber(v: number | null | undefined): string {
  if (v === null || v === undefined || Number.isNaN(v)) return '—';
  if (!Number.isFinite(v)) return v > 0 ? '∞' : '−∞';
  if (Number.isInteger(v)) return String(v);
  return String(Number(v.toPrecision(6)));
}

/**
 * A compact number for labels drawn on a chart (the tooltip keeps the exact value): 3
 * significant digits, integers from 100 up.
 * @example formatShort(0.0301624) // '0.0302'
 */
export function formatShort(v: number | null | undefined): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return formatNumber(v);
  if (Math.abs(v) >= 100) return String(Math.round(v));
  return String(Number(v.toPrecision(3)));
}
