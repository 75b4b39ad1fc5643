/** Self-contained HTML reports: charts (inline SVG), tables, findings, images, CSV data. */
export { renderReport, writeReport } from './html.js';
export type { Report, Section, Finding, Holds, ReportChart, ReportTable, ReportImage } from './types.js';
export { toCsv, writeCsv, parseCsv, type CsvCell } from './csv.js';
export { escapeXml } from './escape.js';
export { formatNumber, formatPercent, percentOr, withInterval } from './format.js';
export * from './svg/index.js';
