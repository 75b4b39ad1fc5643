/**
 * Renders a {@link Report} as one self-contained HTML file: inline CSS, charts as inline SVG,
 * images as data: URLs, no script and no network access. All text is escaped.
 */
import fs from 'node:fs';
import path from 'node:path';
import { escapeXml } from './escape.js';
import { formatNumber } from './format.js';
import { REPORT_CSS } from './style.js';
import type { Finding, Holds, Report, ReportChart, ReportImage, ReportTable, Section } from './types.js';

const HOLDS_LABEL: Record<Holds, string> = {
  yes: '✓ holds',
  no: '✗ does not hold',
  inconclusive: '? inconclusive',
  indicative: '◐ one seed, indicative',
};
const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

function findingsBox(sectionId: string, findings: readonly Finding[]): string {
  let s = `<div class="findings" role="region" aria-label="Paper claims checked"><h3>Paper claims, as measured here</h3>`;
  findings.forEach((f, i) => {
    if (!(f.holds in HOLDS_LABEL)) {
      throw new Error(
        `renderReport: section "${sectionId}" finding ${i} has holds = ${JSON.stringify(f.holds)}, expected yes | no | inconclusive | indicative`,
      );
    }
    s +=
      `<div class="finding ${f.holds}"><span class="badge ${f.holds}">${HOLDS_LABEL[f.holds]}</span>` +
      `<div class="claim">${escapeXml(f.claim)}</div><div class="measured">Measured: ${escapeXml(f.measured)}</div>` +
      (f.reason ? `<div class="reason">Verdict: ${escapeXml(f.reason)}</div>` : '') +
      `</div>`;
  });
  return s + '</div>';
}

function chartFigure(sectionId: string, ch: ReportChart, i: number): string {
  const svg = ch.svg.trim();
  if (!svg.startsWith('<svg') || !svg.endsWith('</svg>')) {
    throw new Error(`renderReport: section "${sectionId}" chart ${i} is not an <svg>...</svg> string`);
  }
  if (/<script|\son\w+\s*=|(?:href|src)\s*=\s*["']?\s*(?:https?:|javascript:)/i.test(svg)) {
    throw new Error(`renderReport: section "${sectionId}" chart ${i} holds a script, event handler or external link`);
  }
  let data = '';
  if (ch.csvName !== undefined) {
    if (!/^[\w.-]+\.csv$/.test(ch.csvName)) {
      throw new Error(
        `renderReport: section "${sectionId}" chart ${i} csvName ${JSON.stringify(ch.csvName)} must be a plain file name ending in .csv`,
      );
    }
    const href = ch.csv !== undefined ? `data:text/csv;charset=utf-8;base64,${Buffer.from(ch.csv, 'utf8').toString('base64')}` : ch.csvName;
    data = ` <a href="${escapeXml(href)}" download="${escapeXml(ch.csvName)}">Data: ${escapeXml(ch.csvName)}</a>`;
  }
  return `<figure>${svg}<figcaption>${escapeXml(ch.caption)}${data}</figcaption></figure>`;
}

function tableHtml(sectionId: string, t: ReportTable, i: number): string {
  let s = `<table><caption>${escapeXml(t.caption)}</caption><thead><tr>`;
  for (const col of t.columns) s += `<th scope="col">${escapeXml(col)}</th>`;
  s += '</tr></thead><tbody>';
  t.rows.forEach((r, ri) => {
    if (r.length !== t.columns.length) {
      throw new Error(`renderReport: section "${sectionId}" table ${i} row ${ri} has ${r.length} cells, expected ${t.columns.length}`);
    }
    s += '<tr>';
    for (const v of r) {
      if (v === null) s += '<td class="null">—</td>';
      else if (typeof v === 'number') s += `<td class="num">${escapeXml(formatNumber(v))}</td>`;
      else s += `<td>${escapeXml(v)}</td>`;
    }
    s += '</tr>';
  });
  return s + '</tbody></table>';
}

function imageFigure(sectionId: string, im: ReportImage, i: number): string {
  let bytes: Buffer;
  if (typeof im.png === 'string') {
    const b64 = im.png.replace(/\s+/g, '');
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(b64)) throw new Error(`renderReport: section "${sectionId}" image ${i} is not base64 text`);
    bytes = Buffer.from(b64, 'base64');
  } else {
    bytes = Buffer.from(im.png.buffer, im.png.byteOffset, im.png.byteLength);
  }
  if (!PNG_SIGNATURE.every((b, k) => bytes[k] === b)) {
    throw new Error(`renderReport: section "${sectionId}" image ${i} ("${im.caption}") is not a PNG (bad signature)`);
  }
  const alt = escapeXml(im.alt ?? im.caption);
  // Click to enlarge without scripts: the link makes the figure the page's :target (see style.ts);
  // clicking again, or the ×, goes back to the section.
  const id = `${sectionId}-image-${i}`;
  return (
    `<figure id="${escapeXml(id)}"><a class="close" href="#${escapeXml(sectionId)}" aria-label="Close">×</a>` +
    `<a class="zoom" href="#${escapeXml(id)}" title="Click to enlarge"><img src="data:image/png;base64,${bytes.toString('base64')}" alt="${alt}"></a>` +
    `<figcaption>${escapeXml(im.caption)} (click to enlarge)</figcaption></figure>`
  );
}

/** JSON text of any value: typed arrays as arrays, bigint as strings, cycles marked. */
function prettyJson(v: unknown): string {
  const seen = new WeakSet<object>();
  const text = JSON.stringify(
    v,
    (_k, x: unknown) => {
      if (typeof x === 'bigint') return x.toString();
      if (ArrayBuffer.isView(x) && !(x instanceof DataView)) return Array.from(x as unknown as ArrayLike<number>);
      if (x instanceof Map) return Object.fromEntries(x);
      if (x instanceof Set) return [...x];
      if (x !== null && typeof x === 'object') {
        if (seen.has(x)) return '[circular]';
        seen.add(x);
      }
      return x;
    },
    2,
  );
  return text ?? String(v);
}

function sectionHtml(sec: Section): string {
  let s = `<section id="${escapeXml(sec.id)}"><h2>${escapeXml(sec.title)}</h2>`;
  for (const p of sec.paragraphs ?? []) s += `<p>${escapeXml(p)}</p>`;
  if (sec.findings?.length) s += findingsBox(sec.id, sec.findings);
  (sec.charts ?? []).forEach((ch, i) => (s += chartFigure(sec.id, ch, i)));
  (sec.tables ?? []).forEach((t, i) => (s += tableHtml(sec.id, t, i)));
  if (sec.images?.length) s += `<div class="images">${sec.images.map((im, i) => imageFigure(sec.id, im, i)).join('')}</div>`;
  if (sec.config !== undefined) {
    s += `<details><summary>Configuration</summary><pre>${escapeXml(prettyJson(sec.config))}</pre></details>`;
  }
  return s + '</section>';
}

function summaryHtml(sections: readonly Section[]): string {
  const counts: Record<Holds, number> = { yes: 0, no: 0, inconclusive: 0, indicative: 0 };
  for (const sec of sections) for (const f of sec.findings ?? []) if (f.holds in counts) counts[f.holds]++;
  if (counts.yes + counts.no + counts.inconclusive + counts.indicative === 0) return '';
  return (
    `<div class="summary" aria-label="Summary of paper claims">` +
    `<span class="badge yes">${counts.yes} held</span>` +
    `<span class="badge no">${counts.no} did not hold</span>` +
    `<span class="badge inconclusive">${counts.inconclusive} inconclusive</span>` +
    (counts.indicative > 0 ? `<span class="badge indicative">${counts.indicative} one seed, indicative</span>` : '') +
    `</div>`
  );
}

/**
 * The report as a complete HTML document (a string). Throws, naming the section, if an id is
 * invalid or repeated, a chart is not a clean SVG string, a table row has the wrong width, or an
 * image is not a PNG.
 */
export function renderReport(report: Report): string {
  const ids = new Set<string>();
  for (const sec of report.sections) {
    if (!/^[A-Za-z][\w-]*$/.test(sec.id))
      throw new Error(`renderReport: section id ${JSON.stringify(sec.id)} must be a letter then letters, digits, '-' or '_'`);
    if (ids.has(sec.id)) throw new Error(`renderReport: section id "${sec.id}" is used twice`);
    ids.add(sec.id);
  }
  const when = report.generatedAt instanceof Date ? report.generatedAt.toISOString() : report.generatedAt;
  const toc = report.sections.length
    ? `<nav class="toc" aria-label="Contents"><strong>Contents</strong><ol>${report.sections
        .map((s) => `<li><a href="#${escapeXml(s.id)}">${escapeXml(s.title)}</a></li>`)
        .join('')}</ol></nav>`
    : '';
  return (
    '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">' +
    '<meta name="viewport" content="width=device-width, initial-scale=1">' +
    `<title>${escapeXml(report.title)}</title><style>${REPORT_CSS}</style></head><body><main>` +
    `<header><h1>${escapeXml(report.title)}</h1>` +
    (report.subtitle ? `<p class="subtitle">${escapeXml(report.subtitle)}</p>` : '') +
    `<p class="meta">Generated ${escapeXml(when)}</p>` +
    (report.banner
      ? `<div class="banner" role="alert"><strong>${escapeXml(report.banner.title)}</strong> ${escapeXml(report.banner.text)}</div>`
      : '') +
    `${summaryHtml(report.sections)}</header>` +
    toc +
    report.sections.map(sectionHtml).join('\n') +
    `<footer>bias-transfer report · generated ${escapeXml(when)} · self-contained: no scripts, no network.</footer>` +
    '</main></body></html>\n'
  );
}

/** Renders `report` and writes it to `file` (creating parent folders). Returns the path. */
export function writeReport(file: string, report: Report): string {
  const html = renderReport(report);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, html);
  return file;
}
