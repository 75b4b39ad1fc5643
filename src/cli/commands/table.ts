/**
 * A tiny plain-text table formatter for the inspection commands: a header row, a rule, then
 * the rows, each column padded to its widest cell. Numbers right-aligned, text left-aligned.
 *
 * @example
 * formatTable(['id', 'n'], [['a', 3], ['bb', 10]])
 * // id   n
 * // --  --
 * // a    3
 * // bb  10
 */

/** A cell: text, a number (formatted by `formatCell`), or null/undefined (shown as '-'). */
export type Cell = string | number | boolean | null | undefined;

/** Options of `formatTable`. */
export interface TableOptions {
  /** Per column 'left' | 'right'; default: right for columns whose every non-empty cell is a number. */
  readonly align?: readonly ('left' | 'right')[];
  /** Spaces between columns (default 2). */
  readonly gap?: number;
  /** Significant digits of non-integer numbers (default 4). */
  readonly digits?: number;
}

/** A cell as text: integers in full, other numbers with `digits` significant digits, empty → '-'. */
export function formatCell(v: Cell, digits = 4): string {
  if (v === null || v === undefined || v === '') return '-';
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) return String(v);
    if (Number.isInteger(v)) return String(v);
    const a = Math.abs(v);
    if (a !== 0 && (a < 1e-3 || a >= 1e6)) return v.toExponential(digits - 1);
    return String(Number(v.toPrecision(digits)));
  }
  return String(v);
}

/** Formats `rows` under `headers` as aligned plain text (lines joined by '\n', no trailing newline). */
export function formatTable(headers: readonly string[], rows: readonly (readonly Cell[])[], opts: TableOptions = {}): string {
  const digits = opts.digits ?? 4;
  const gap = ' '.repeat(opts.gap ?? 2);
  const ncol = Math.max(headers.length, ...rows.map((r) => r.length));
  const text = rows.map((r) => Array.from({ length: ncol }, (_, j) => formatCell(r[j], digits)));
  const head = Array.from({ length: ncol }, (_, j) => headers[j] ?? '');
  const numeric = Array.from({ length: ncol }, (_, j) => {
    const vals = rows.map((r) => r[j]).filter((v) => v !== null && v !== undefined && v !== '');
    return vals.length > 0 && vals.every((v) => typeof v === 'number');
  });
  const align = Array.from({ length: ncol }, (_, j) => opts.align?.[j] ?? (numeric[j] ? 'right' : 'left'));
  const width = Array.from({ length: ncol }, (_, j) => Math.max(head[j].length, ...text.map((r) => r[j].length)));
  const line = (cells: string[]): string =>
    cells
      .map((c, j) => (align[j] === 'right' ? c.padStart(width[j]) : j === ncol - 1 ? c : c.padEnd(width[j])))
      .join(gap)
      .trimEnd();
  return [line(head), line(width.map((w) => '-'.repeat(w))), ...text.map(line)].join('\n');
}
