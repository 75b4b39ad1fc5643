/**
 * The web app's HTML, rendered on the server: pages are complete documents with escaped text,
 * charts as inline SVG from src/report, and one script (/assets/app.js) that only refreshes the
 * live parts (the runs table, a run's progress). No inline script or style, so the pages run
 * under a strict Content-Security-Policy.
 */
import type { Agg } from '../experiment/report.js';
import type { MetricRecord, RunRecord } from '../experiment/store/index.js';
import { escapeXml as esc, formatNumber } from '../report/index.js';
import { formatDuration } from '../train/progress.js';
import { comparisonCharts, metricInfo, type Comparison, type SweepPoint } from './compare.js';
import type { CodeVersion } from './reader.js';

/** Options of `page`. */
export interface PageOptions {
  readonly title: string;
  /** The page's main content (HTML). */
  readonly body: string;
  /** Which navigation entry is current. */
  readonly nav?: 'experiments' | 'compare';
  /** Whether the app shows the queue (bull-board) link. */
  readonly queue?: boolean;
}

/** A complete HTML document with the app's navigation, stylesheet and script. */
export function page(o: PageOptions): string {
  const link = (href: string, text: string, current: boolean) =>
    `<a href="${href}"${current ? ' aria-current="page"' : ''}>${esc(text)}</a>`;
  return (
    '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">' +
    '<meta name="viewport" content="width=device-width, initial-scale=1">' +
    `<title>${esc(o.title)} · bias-transfer</title>` +
    '<link rel="icon" href="/favicon.svg" type="image/svg+xml"><link rel="stylesheet" href="/assets/app.css">' +
    '<script src="/assets/app.js" defer></script></head><body><main>' +
    `<nav class="app" aria-label="App"><strong>bias-transfer</strong> ${link('/', 'Experiments', o.nav === 'experiments')} ` +
    `${link('/compare', 'Compare', o.nav === 'compare')}${o.queue ? ` <a href="/queue">Queue</a>` : ''}</nav>` +
    `<h1>${esc(o.title)}</h1>${o.body}</main></body></html>\n`
  );
}

/** A run's wall time: finished − started, or now − started while it runs; null before it starts. */
export function runSeconds(r: RunRecord, now = Date.now()): number | null {
  if (r.startedAt === null) return null;
  const end = r.finishedAt !== null ? Date.parse(r.finishedAt) : r.status === 'running' ? now : null;
  return end === null ? null : Math.max(0, (end - Date.parse(r.startedAt)) / 1000);
}

/** A short code version: package version, git commit (8) and src hash (8). */
export function codeText(c: CodeVersion): string {
  const parts = [c.version && `v${c.version}`, c.gitCommit && c.gitCommit.slice(0, 8), c.srcHash && `src ${c.srcHash.slice(0, 8)}`];
  return parts.filter(Boolean).join(' · ') || '—';
}

const status = (s: string) => `<span class="status ${esc(s)}" data-status="${esc(s)}">${esc(s)}</span>`;

/** The runs table (the live part of the experiments page): one row per run, newest first. */
export function runsTable(runs: readonly RunRecord[], code: (r: RunRecord) => CodeVersion, counts: Map<string, number>): string {
  if (runs.length === 0)
    return '<p class="empty" data-runs="0">No runs yet. Start a sweep with this results root; runs appear here as they start.</p>';
  let s =
    `<table class="runs" data-runs="${runs.length}"><thead><tr><th scope="col">run</th><th scope="col">experiment</th><th scope="col">status</th>` +
    '<th scope="col">seed</th><th scope="col">sweep point</th><th scope="col">code version</th><th scope="col">duration</th>' +
    '<th scope="col">metric rows</th></tr></thead><tbody>';
  for (const r of runs) {
    const secs = runSeconds(r);
    s +=
      `<tr data-run="${esc(r.id)}"><td><a href="/runs/${encodeURIComponent(r.id)}">${esc(r.id)}</a></td><td>${esc(r.name)}</td>` +
      `<td>${status(r.status)}</td><td class="num">${r.seed ?? '—'}</td><td>${esc(r.sweepId ?? 'default')}</td>` +
      `<td>${esc(codeText(code(r)))}</td><td class="num">${secs === null ? '—' : esc(formatDuration(secs))}</td>` +
      `<td class="num">${counts.get(r.id) ?? 0}</td></tr>`;
  }
  return `${s}</tbody></table>`;
}

/** One experiment on the home page. */
export interface ExperimentSummary {
  readonly name: string;
  readonly runs: number;
  readonly byStatus: Readonly<Record<string, number>>;
  /** URL of its report under /files, when one exists. */
  readonly reportHref: string | null;
}

/** A report file found in the results root. */
export interface ReportLink {
  readonly title: string;
  readonly href: string;
}

/** The experiments page. */
export function homePage(o: {
  root: string;
  hasIndex: boolean;
  experiments: readonly ExperimentSummary[];
  reports: readonly ReportLink[];
  runsHtml: string;
  queue: boolean;
}): string {
  let body = `<p class="meta">Results root <code>${esc(o.root)}</code>${o.hasIndex ? '' : ' — no index yet (no sweep has written here)'}.</p>`;
  body += '<h2>Experiments</h2>';
  if (o.experiments.length === 0) body += '<p class="empty">No experiments yet.</p>';
  else {
    body +=
      '<table class="experiments"><thead><tr><th scope="col">experiment</th><th scope="col">runs</th><th scope="col">done</th>' +
      '<th scope="col">running</th><th scope="col">failed</th><th scope="col">report</th><th scope="col">compare</th></tr></thead><tbody>';
    for (const e of o.experiments) {
      const q = encodeURIComponent(e.name);
      body +=
        `<tr data-experiment="${esc(e.name)}"><td>${esc(e.name)}</td><td class="num">${e.runs}</td><td class="num">${e.byStatus.done ?? 0}</td>` +
        `<td class="num">${e.byStatus.running ?? 0}</td><td class="num">${e.byStatus.failed ?? 0}</td>` +
        `<td>${e.reportHref ? `<a href="${esc(e.reportHref)}">report</a>` : '—'}</td>` +
        `<td><a href="/compare?experiment=${q}&amp;by=point">sweep points</a> · <a href="/compare?experiment=${q}&amp;by=run">runs</a></td></tr>`;
    }
    body += '</tbody></table>';
  }
  if (o.reports.length > 0)
    body += `<h2>Reports</h2><ul class="reports">${o.reports.map((r) => `<li><a href="${esc(r.href)}">${esc(r.title)}</a></li>`).join('')}</ul>`;
  body += `<h2>Runs</h2><div id="runs" data-live="/partials/runs">${o.runsHtml}</div>`;
  return page({ title: 'Experiments', body, nav: 'experiments', queue: o.queue });
}

function aggText(a: Agg | null): string {
  if (!a || a.mean === null) return '—';
  return a.lo !== null && a.hi !== null ? `${formatNumber(a.mean)} [${formatNumber(a.lo)}, ${formatNumber(a.hi)}]` : formatNumber(a.mean);
}

/** A run's page: what it is, its live progress (filled by app.js from server-sent events), its metric rows and files. */
export function runPage(o: {
  run: RunRecord;
  code: CodeVersion;
  metrics: readonly MetricRecord[];
  files: readonly ReportLink[];
  queue: boolean;
}): string {
  const r = o.run;
  const secs = runSeconds(r);
  const facts: [string, string][] = [
    ['experiment', esc(r.name)],
    ['status', `<span data-run-status>${status(r.status)}</span>`],
    ['seed', String(r.seed ?? '—')],
    ['sweep point', esc(r.sweepId ?? 'default')],
    ['config hash', `<code>${esc(r.configHash.slice(0, 16))}</code>`],
    ['code version', esc(codeText(o.code))],
    ['started', esc(r.startedAt ?? '—')],
    ['finished', esc(r.finishedAt ?? '—')],
    ['duration', secs === null ? '—' : esc(formatDuration(secs))],
  ];
  if (r.error) facts.push(['error', `<span class="error">${esc(r.error)}</span>`]);
  let body = `<dl class="facts">${facts.map(([k, v]) => `<dt>${esc(k)}</dt><dd>${v}</dd>`).join('')}</dl>`;
  if (o.files.length)
    body += `<p class="files">Files: ${o.files.map((f) => `<a href="${esc(f.href)}">${esc(f.title)}</a>`).join(' · ')}</p>`;
  body +=
    `<h2>Progress</h2><div id="progress" data-events="/api/runs/${encodeURIComponent(r.id)}/events" data-initial-status="${esc(r.status)}">` +
    '<table class="progress"><thead><tr><th scope="col">job</th><th scope="col">epoch</th><th scope="col">step</th><th scope="col">loss</th>' +
    '<th scope="col">accuracy</th><th scope="col">eval accuracy</th><th scope="col">state</th></tr></thead><tbody></tbody></table>' +
    '<p class="empty no-progress">No progress events yet: they appear here while the run trains (jobs done by queue workers report theirs in the queue).</p>' +
    '<pre class="lines" aria-label="Progress lines"></pre></div>';
  body += `<h2>Metric rows</h2>`;
  if (o.metrics.length === 0) body += '<p class="empty" data-metrics="0">No metric rows yet (they are written when the run finishes).</p>';
  else {
    body +=
      `<table class="metrics" data-metrics="${o.metrics.length}"><thead><tr><th scope="col">metric</th><th scope="col">condition</th><th scope="col">mode</th>` +
      '<th scope="col">source</th><th scope="col">target</th><th scope="col">value</th><th scope="col">interval</th>' +
      '<th scope="col">counts</th></tr></thead><tbody>';
    for (const m of o.metrics)
      body +=
        `<tr><td>${esc(m.metric)}</td><td>${esc(m.condition)}</td><td>${esc(m.transferMode ?? '—')}</td><td>${esc(m.sourceKind ?? '—')}</td>` +
        `<td>${esc(m.target ?? '—')}</td><td class="num">${esc(formatNumber(m.value))}</td>` +
        `<td class="num">${m.lo !== null && m.hi !== null ? `[${esc(formatNumber(m.lo))}, ${esc(formatNumber(m.hi))}]` : '—'}</td>` +
        `<td class="num">${m.numerator !== null && m.denominator !== null ? `${m.numerator} / ${m.denominator}` : '—'}</td></tr>`;
    body += '</tbody></table>';
  }
  return page({ title: `Run ${r.id}`, body, nav: 'experiments', queue: o.queue });
}

/** The state of the comparison form. */
export interface CompareForm {
  readonly experiments: readonly string[];
  readonly experiment: string | null;
  readonly by: 'run' | 'point';
  readonly runs: readonly RunRecord[];
  readonly points: readonly SweepPoint[];
  /** Ticked run ids or config hashes. */
  readonly picked: readonly string[];
  readonly metrics: readonly string[];
  readonly pickedMetrics: readonly string[];
}

/** The comparison page: the form, then (when items are picked) the charts, the table and the CSV link. */
export function comparePage(f: CompareForm, c: Comparison | null, csvHref: string | null, queue: boolean): string {
  const checked = (on: boolean) => (on ? ' checked' : '');
  let body =
    '<form class="compare" method="get" action="/compare"><fieldset><legend>Experiment and what to compare</legend>' +
    '<label>experiment <select name="experiment">' +
    f.experiments.map((e) => `<option value="${esc(e)}"${e === f.experiment ? ' selected' : ''}>${esc(e)}</option>`).join('') +
    '</select></label> ' +
    `<label><input type="radio" name="by" value="point"${checked(f.by === 'point')}> sweep points (seeds pooled)</label> ` +
    `<label><input type="radio" name="by" value="run"${checked(f.by === 'run')}> single runs</label> ` +
    '<button type="submit" name="show" value="choices">Show choices</button></fieldset>';
  if (f.experiment !== null) {
    body += `<fieldset><legend>${f.by === 'point' ? 'Sweep points' : 'Runs'}</legend>`;
    if (f.by === 'point')
      body += f.points
        .map(
          (p) =>
            `<label class="pick"><input type="checkbox" name="point" value="${esc(p.configHash)}"${checked(f.picked.includes(p.configHash))}> ` +
            `${esc(p.label)} <span class="meta">(${p.runs.length} run${p.runs.length === 1 ? '' : 's'}: seeds ${esc(p.runs.map((r) => r.seed).join(', '))})</span></label>`,
        )
        .join('');
    else
      body += f.runs
        .map(
          (r) =>
            `<label class="pick"><input type="checkbox" name="run" value="${esc(r.id)}"${checked(f.picked.includes(r.id))}> ${esc(r.id)} ` +
            `<span class="meta">(${esc(r.status)})</span></label>`,
        )
        .join('');
    body += '</fieldset><fieldset><legend>Metrics</legend>';
    body += f.metrics
      .map(
        (m) =>
          `<label class="pick-inline"><input type="checkbox" name="metric" value="${esc(m)}"${checked(f.pickedMetrics.includes(m))}> ${esc(metricInfo(m).title)}</label>`,
      )
      .join(' ');
    body += '</fieldset><button type="submit" name="show" value="compare">Compare</button>';
  }
  body += '</form>';
  if (c !== null) {
    if (c.rows.length === 0) body += '<p class="empty">The picked items have no values of the picked metrics (yet).</p>';
    else {
      body += `<h2>Side by side</h2><p class="meta">Whiskers and brackets: 95% intervals (Student-t over seeds for a sweep point with several seeds; the run's bootstrap interval over test images otherwise).</p>`;
      if (csvHref) body += `<p><a class="csv" href="${esc(csvHref)}" download>Download the table as CSV</a></p>`;
      body += comparisonCharts(c)
        .map(
          (ch) =>
            `<figure class="chart" data-metric="${esc(ch.metric)}">${ch.svg}<figcaption>${esc(ch.title)}. Bars: a run's value or a sweep point's mean over seeds; whiskers: 95% intervals.</figcaption></figure>`,
        )
        .join('');
      body +=
        '<table class="comparison"><thead><tr><th scope="col">metric</th><th scope="col">target</th><th scope="col">mode / source</th>' +
        c.items.map((it) => `<th scope="col">${esc(it.label)}</th>`).join('') +
        '</tr></thead><tbody>';
      for (const r of c.rows)
        body +=
          `<tr><td>${esc(r.metric)}</td><td>${esc(r.target ?? '—')}</td><td>${esc(r.group)}</td>` +
          r.values.map((v) => `<td class="num">${esc(aggText(v))}</td>`).join('') +
          '</tr>';
      body += '</tbody></table>';
    }
  }
  return page({ title: 'Compare', body, nav: 'compare', queue });
}

/** A page for an error (404, 400, ...). */
export function errorPage(statusCode: number, message: string, queue: boolean): string {
  return page({
    title: `${statusCode}`,
    body: `<p class="error">${esc(message)}</p><p><a href="/">Back to the experiments</a></p>`,
    queue,
  });
}
