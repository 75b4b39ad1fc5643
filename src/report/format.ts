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

/**
 * A fraction as a percentage with `digits` decimals (one by default): 0.8125 → '81.3%'. The one
 * percent formatter of progress lines, logs, reports, the audit and the CLI; serve/assets.ts also
 * ships its source to the browser, so it stays a plain self-contained function.
 * @example formatPercent(0.812) // '81.2%'
 * @example formatPercent(0.0123, 2) // '1.23%'
 */
export function formatPercent(fraction: number, digits = 1): string {
  return `${(fraction * 100).toFixed(digits)}%`;
}

/**
 * {@link formatPercent}, or `missing` for null / undefined (the caller's "no value": 'n/a' in
 * reports, '-' in CLI tables).
 * @example percentOr(null, 'n/a') // 'n/a'
 * @example percentOr(0.5, '-', 2) // '50.00%'
 */
export function percentOr(fraction: number | null | undefined, missing: string, digits = 1): string {
  return fraction === null || fraction === undefined ? missing : formatPercent(fraction, digits);
}

/**
 * A mean with its interval as the reports write it: `f(mean) [f(lo), f(hi)]`, just `f(mean)` when
 * either end is null, and 'n/a' when there is no mean.
 * @example withInterval({ mean: 0.5, lo: 0.4, hi: 0.6 }, (v) => formatPercent(v)) // '50.0% [40.0%, 60.0%]'
 */
export function withInterval(
  a: { readonly mean: number | null; readonly lo: number | null; readonly hi: number | null } | undefined,
  f: (v: number) => string,
): string {
  if (!a || a.mean === null) return 'n/a';
  return a.lo !== null && a.hi !== null ? `${f(a.mean)} [${f(a.lo)}, ${f(a.hi)}]` : f(a.mean);
}
