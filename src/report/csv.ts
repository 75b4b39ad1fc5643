/** CSV writing (RFC 4180 quoting) and a matching parser, for the data behind every chart. */
import fs from 'node:fs';
import path from 'node:path';

/** A CSV cell: strings as-is, numbers in full precision, null/undefined as an empty cell. */
export type CsvCell = string | number | boolean | null | undefined;

function cell(v: CsvCell): string {
  if (v === null || v === undefined) return '';
  const s = typeof v === 'number' ? (Object.is(v, -0) ? '-0' : String(v)) : String(v);
  return /[",\r\n]|^\s|\s$/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/**
 * CSV text: a header row then one line per row, '\n' line endings, cells quoted when they hold
 * a comma, quote, line break or edge whitespace (quotes doubled).
 * @example toCsv(['name', 'asr'], [['fixed, biased', 0.9], ['full', null]])
 * // 'name,asr\n"fixed, biased",0.9\nfull,\n'
 */
export function toCsv(columns: readonly string[], rows: readonly (readonly CsvCell[])[]): string {
  rows.forEach((r, i) => {
    if (r.length !== columns.length) throw new RangeError(`toCsv: row ${i} has ${r.length} cells, header has ${columns.length}`);
  });
  return [columns, ...rows].map((r) => r.map(cell).join(',')).join('\n') + '\n';
}

/** Writes {@link toCsv}'s text to `file`, creating parent folders. */
export function writeCsv(file: string, columns: readonly string[], rows: readonly (readonly CsvCell[])[]): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, toCsv(columns, rows));
}

/**
 * Parses CSV text (RFC 4180: quoted cells may hold commas, doubled quotes and line breaks) into
 * rows of strings, header included. A trailing line break does not add an empty row.
 */
export function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let cur = '';
  let quoted = false;
  let i = 0;
  while (i < text.length) {
    const ch = text[i];
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') {
        cur += '"';
        i += 2;
        continue;
      }
      if (ch === '"') quoted = false;
      else cur += ch;
      i++;
      continue;
    }
    if (ch === '"' && cur === '') quoted = true;
    else if (ch === ',') {
      row.push(cur);
      cur = '';
    } else if (ch === '\n' || ch === '\r') {
      if (ch === '\r' && text[i + 1] === '\n') i++;
      row.push(cur);
      rows.push(row);
      row = [];
      cur = '';
    } else cur += ch;
    i++;
  }
  if (quoted) throw new Error('parseCsv: unterminated quoted cell');
  if (cur !== '' || row.length > 0) {
    row.push(cur);
    rows.push(row);
  }
  return rows;
}
