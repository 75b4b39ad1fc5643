/**
 * The web app's HTML, rendered on the server: pages are complete documents with escaped text,
 * charts as inline SVG from src/report, and one script (/assets/app.js) that only refreshes the
 * live parts (the runs table, a run's progress). No inline script or style, so the pages run
 * under a strict Content-Security-Policy.
 */
import type { Agg } from '../publish/report.js';
import type { MetricRecord, RunRecord } from '../store/index.js';
import { escapeXml as esc, formatNumber } from '../report/index.js';
import { formatPercent } from '../report/format.js';
import { formatDuration } from '../train/progress.js';
import { comparisonCharts, metricInfo, type Comparison, type SweepPoint } from './compare.js';
import type { CodeVersion } from '../store/reader.js';

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

/** Metrics whose values are fractions in [0, 1] (shown as percentages). */
const FRACTION_METRICS = new Set(['asr', 'targeted-asr', 'accuracy', 'source-accuracy', 'changed', 'tv-shift', 'shift-toward-correlated']);
/** Metrics that are differences of two fractions (shown in percentage points). */
const DIFFERENCE_METRICS = new Set([
  'attribute-gap',
  'tv-shift-minus-scratch',
  'tv-vs-scratch-patched',
  'final-gain',
  'skew-excess',
  'skew-excess-minus-scratch',
]);

/** How a metric's values read: 'percent' (a fraction), 'points' (a difference of fractions), 'class' (a class index), or 'number'. */
export function metricUnit(metric: string): 'percent' | 'points' | 'class' | 'number' {
  const base = metric.split(':')[0];
  if (metric.endsWith('-class')) return 'class';
  if (FRACTION_METRICS.has(base) || base === 'class-accuracy' || base === 'hist' || base.startsWith('shift-toward-correlated'))
    return 'percent';
  if (DIFFERENCE_METRICS.has(base) || base === 'class-gap') return 'points';
  return 'number';
}

/**
 * A metric value as people read it, through the shared formatters (`formatPercent` of
 * src/train/progress, `formatNumber` of src/report): fractions as percentages with their interval
 * (`81.2% [78.0%, 84.1%]`), differences of fractions in percentage points (`+3.1 pp`), class
 * indices as the class's name (`classes`, the target's class names, when known), other numbers as
 * they are.
 */
export function metricText(
  m: { readonly metric: string; readonly value: number | null; readonly lo?: number | null; readonly hi?: number | null },
  classes: readonly string[] | null = null,
): string {
  if (m.value === null || !Number.isFinite(m.value)) return '—';
  const unit = metricUnit(m.metric);
  const interval = (f: (v: number) => string) =>
    m.lo !== null && m.lo !== undefined && m.hi !== null && m.hi !== undefined ? ` [${f(m.lo)}, ${f(m.hi)}]` : '';
  if (unit === 'percent') return formatPercent(m.value) + interval(formatPercent);
  if (unit === 'points') {
    const pp = (v: number) => `${v > 0 ? '+' : ''}${formatPercent(v).slice(0, -1)} pp`;
    return pp(m.value) + interval(pp);
  }
  if (unit === 'class') return classes?.[m.value] ?? `class ${formatNumber(m.value)}`;
  return formatNumber(m.value) + interval(formatNumber);
}

/** The name of a per-class metric with its class index replaced by the class's name: 'class-accuracy:1' → 'class-accuracy: Trouser'. */
export function metricName(metric: string, classes: readonly string[] | null): string {
  const i = metric.indexOf(':');
  if (i < 0 || classes === null) return metric;
  const k = Number(metric.slice(i + 1));
  return Number.isInteger(k) && classes[k] !== undefined ? `${metric.slice(0, i)}: ${classes[k]}` : metric;
}

/** A metric column of the runs table: one metric of a run's main target, in one transfer mode. */
export interface RunsMetricColumn {
  readonly key: string;
  readonly title: string;
  readonly metric: string;
}

/** One run of the runs table with what its columns show. */
export interface RunsTableRow {
  readonly run: RunRecord;
  readonly code: CodeVersion;
  readonly metricRows: number;
  /** Dotted config key → JSON value (only the keys that differ between runs are shown). */
  readonly config: Readonly<Record<string, string>>;
  /** Column key → the metric row (value and interval) of this run, when it has one. */
  readonly values: ReadonlyMap<string, { value: number; lo: number | null; hi: number | null }>;
  /** Seconds left for a running run (null: not estimated yet); undefined when not running. */
  readonly etaSeconds?: number | null;
  /** Its experiment's report, when one exists. */
  readonly reportHref: string | null;
}

const th = (title: string, kind: 'text' | 'num') =>
  `<th scope="col" data-type="${kind}" aria-sort="none"><button type="button" class="sort">${esc(title)}</button></th>`;
const sortCell = (text: string, key: string | number | null, cls = '') =>
  `<td${cls ? ` class="${cls}"` : ''}${key === null ? '' : ` data-sort="${esc(String(key))}"`}>${text}</td>`;

/**
 * The runs table (the live part of the experiments page): one row per run, newest first, with
 * the config keys that differ between the runs, the main target's headline metrics, and links to
 * the run's report and comparison. app.js sorts it by a clicked header and filters it by the text
 * box above it (both kept across the live refreshes).
 */
export function runsTable(rows: readonly RunsTableRow[], diffKeys: readonly string[], columns: readonly RunsMetricColumn[]): string {
  if (rows.length === 0)
    return '<p class="empty" data-runs="0">No runs yet. Start a sweep with this results root; runs appear here as they start.</p>';
  let s =
    `<table class="runs" data-runs="${rows.length}"><thead><tr>${th('run', 'text')}${th('experiment', 'text')}${th('status', 'text')}` +
    `${th('seed', 'num')}${th('sweep point', 'text')}` +
    diffKeys.map((k) => th(k, 'text').replace('<th ', `<th data-config-key="${esc(k)}" `)).join('') +
    columns.map((c) => th(c.title, 'num').replace('<th ', `<th data-metric-column="${esc(c.key)}" `)).join('') +
    `${th('duration / ETA', 'num')}${th('code version', 'text')}${th('metric rows', 'num')}<th scope="col">links</th></tr></thead><tbody>`;
  for (const row of rows) {
    const r = row.run;
    const secs = runSeconds(r);
    const time =
      row.etaSeconds !== undefined
        ? sortCell(
            `${secs === null ? '' : `${esc(formatDuration(secs))} · `}<span class="eta" data-eta="${row.etaSeconds ?? ''}">ETA ${row.etaSeconds === null ? '?' : esc(formatDuration(row.etaSeconds))}</span>`,
            secs ?? 0,
            'num',
          )
        : sortCell(secs === null ? '—' : esc(formatDuration(secs)), secs, 'num');
    const q = encodeURIComponent(r.name);
    const links = [
      row.reportHref ? `<a href="${esc(row.reportHref)}">report</a>` : '',
      `<a href="/compare?experiment=${q}&amp;by=run&amp;run=${encodeURIComponent(r.id)}&amp;show=compare">compare</a>`,
    ].filter(Boolean);
    s +=
      `<tr data-run="${esc(r.id)}">${sortCell(`<a href="/runs/${encodeURIComponent(r.id)}">${esc(r.id)}</a>`, r.id)}${sortCell(esc(r.name), r.name)}` +
      `${sortCell(status(r.status), r.status)}${sortCell(String(r.seed ?? '—'), r.seed, 'num')}${sortCell(esc(r.sweepId ?? 'default'), r.sweepId ?? 'default')}` +
      diffKeys.map((k) => sortCell(`<code>${esc(row.config[k] ?? '—')}</code>`, row.config[k] ?? '')).join('') +
      columns
        .map((c) => {
          const v = row.values.get(c.key);
          return v ? sortCell(esc(metricText({ metric: c.metric, ...v })), v.value, 'num metric') : sortCell('—', null, 'num metric');
        })
        .join('') +
      time +
      `${sortCell(esc(codeText(row.code)), codeText(row.code))}${sortCell(String(row.metricRows), row.metricRows, 'num')}<td>${links.join(' · ')}</td></tr>`;
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
  /** Seconds until its running and queued runs are done (null: not estimated yet); undefined when none runs. */
  readonly etaSeconds?: number | null;
}

/** A report file found in the results root. */
export interface ReportLink {
  readonly title: string;
  readonly href: string;
}

/** The experiments table (a live part of the experiments page), with the overall ETA of those running. */
export function experimentsTable(experiments: readonly ExperimentSummary[]): string {
  if (experiments.length === 0) return '<p class="empty">No experiments yet.</p>';
  let body =
    '<table class="experiments"><thead><tr><th scope="col">experiment</th><th scope="col">runs</th><th scope="col">done</th>' +
    '<th scope="col">running</th><th scope="col">failed</th><th scope="col">ETA</th><th scope="col">report</th><th scope="col">compare</th></tr></thead><tbody>';
  for (const e of experiments) {
    const q = encodeURIComponent(e.name);
    const eta =
      e.etaSeconds === undefined
        ? '—'
        : `<span class="eta" data-eta="${e.etaSeconds ?? ''}">${e.etaSeconds === null ? '?' : esc(formatDuration(e.etaSeconds))}</span>`;
    body +=
      `<tr data-experiment="${esc(e.name)}"><td>${esc(e.name)}</td><td class="num">${e.runs}</td><td class="num">${e.byStatus.done ?? 0}</td>` +
      `<td class="num">${e.byStatus.running ?? 0}</td><td class="num">${e.byStatus.failed ?? 0}</td><td class="num">${eta}</td>` +
      `<td>${e.reportHref ? `<a href="${esc(e.reportHref)}">report</a>` : '—'}</td>` +
      `<td><a href="/compare?experiment=${q}&amp;by=point">sweep points</a> · <a href="/compare?experiment=${q}&amp;by=run">runs</a></td></tr>`;
  }
  return `${body}</tbody></table>`;
}

/** The experiments page. */
export function homePage(o: {
  root: string;
  hasIndex: boolean;
  experimentsHtml: string;
  reports: readonly ReportLink[];
  runsHtml: string;
  queue: boolean;
}): string {
  let body = `<p class="meta">Results root <code>${esc(o.root)}</code>${o.hasIndex ? '' : ' — no index yet (no sweep has written here)'}.</p>`;
  body += `<h2>Experiments</h2><div id="experiments" data-live="/partials/experiments">${o.experimentsHtml}</div>`;
  if (o.reports.length > 0)
    body += `<h2>Reports</h2><ul class="reports">${o.reports.map((r) => `<li><a href="${esc(r.href)}">${esc(r.title)}</a></li>`).join('')}</ul>`;
  body +=
    '<h2>Runs</h2><p class="table-tools"><label>Filter runs <input type="search" id="runs-filter" data-filter="#runs table.runs" ' +
    'placeholder="e.g. running, probability=0.5, seed"></label> <span class="meta" id="runs-filter-count"></span> ' +
    '<span class="meta">Click a column header to sort.</span></p>' +
    `<div id="runs" data-live="/partials/runs">${o.runsHtml}</div>`;
  return page({ title: 'Experiments', body, nav: 'experiments', queue: o.queue });
}

function aggText(a: Agg | null, metric: string): string {
  if (!a || a.mean === null) return '—';
  return metricText({ metric, value: a.mean, lo: a.lo, hi: a.hi });
}

/** A run's page: what it is, links to its report and comparison, its training curves and live progress (drawn and updated by app.js from the curves API and server-sent events), its metric rows and files. */
export function runPage(o: {
  run: RunRecord;
  code: CodeVersion;
  metrics: readonly MetricRecord[];
  files: readonly ReportLink[];
  /** Its experiment's report, when one exists. */
  reportHref: string | null;
  /** Class names of a target (index = label), when known. */
  classes: (target: string | null) => readonly string[] | null;
  /** Seconds left while it runs (null: not estimated yet); undefined when not running. */
  etaSeconds?: number | null;
  queue: boolean;
}): string {
  const r = o.run;
  const secs = runSeconds(r);
  const id = encodeURIComponent(r.id);
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
  if (o.etaSeconds !== undefined)
    facts.push([
      'ETA (whole run)',
      `<span class="eta" id="run-eta" data-eta-url="/api/runs/${id}/eta">${o.etaSeconds === null ? '?' : esc(formatDuration(o.etaSeconds))}</span>`,
    ]);
  if (r.error) facts.push(['error', `<span class="error">${esc(r.error)}</span>`]);
  const q = encodeURIComponent(r.name);
  const links = [
    o.reportHref ? `<a href="${esc(o.reportHref)}" data-link="report">experiment report</a>` : '',
    `<a href="/compare?experiment=${q}&amp;by=run&amp;run=${id}&amp;show=compare" data-link="compare-run">compare this run</a>`,
    `<a href="/compare?experiment=${q}&amp;by=point&amp;point=${esc(r.configHash)}&amp;show=compare" data-link="compare-point">its sweep point (seeds pooled)</a>`,
    `<a href="/compare?experiment=${q}&amp;by=run" data-link="compare-experiment">all runs of ${esc(r.name)}</a>`,
  ].filter(Boolean);
  let body = `<dl class="facts">${facts.map(([k, v]) => `<dt>${esc(k)}</dt><dd>${v}</dd>`).join('')}</dl>`;
  body += `<p class="links">${links.join(' · ')}</p>`;
  if (o.files.length)
    body += `<p class="files">Files: ${o.files.map((f) => `<a href="${esc(f.href)}">${esc(f.title)}</a>`).join(' · ')}</p>`;
  body +=
    `<h2>Training curves</h2><div id="curves" data-curves="/api/runs/${id}/curves">` +
    '<p class="meta">Per epoch, for every job: training loss (left) and accuracy (right: training, and evaluation on held-out images). ' +
    'Drawn from the saved training histories and the progress log, updated while the run trains.</p>' +
    '<p class="empty no-curves">No finished epoch yet.</p></div>';
  body +=
    `<h2>Progress</h2><div id="progress" data-events="/api/runs/${id}/events" data-initial-status="${esc(r.status)}">` +
    '<table class="progress"><thead><tr><th scope="col">job</th><th scope="col">epoch</th><th scope="col">step</th><th scope="col">loss</th>' +
    '<th scope="col">accuracy</th><th scope="col">eval accuracy</th><th scope="col">state</th></tr></thead><tbody></tbody></table>' +
    '<p class="empty no-progress">No progress events yet: they appear here while the run trains (jobs done by queue workers report theirs in the queue).</p>' +
    '<pre class="lines" aria-label="Progress lines"></pre></div>';
  body += `<h2>Metric rows</h2>`;
  if (o.metrics.length === 0) body += '<p class="empty" data-metrics="0">No metric rows yet (they are written when the run finishes).</p>';
  else {
    body +=
      `<p class="meta">Fractions as percentages, differences of fractions in percentage points (pp); brackets: 95% intervals.</p>` +
      `<table class="metrics" data-metrics="${o.metrics.length}"><thead><tr><th scope="col">metric</th><th scope="col">condition</th><th scope="col">mode</th>` +
      '<th scope="col">source</th><th scope="col">target</th><th scope="col">value [interval]</th>' +
      '<th scope="col">counts</th></tr></thead><tbody>';
    for (const m of o.metrics) {
      const classes = o.classes(m.target);
      body +=
        `<tr data-metric="${esc(m.metric)}"><td>${esc(metricName(m.metric, classes))}</td><td>${esc(m.condition)}</td><td>${esc(m.transferMode ?? '—')}</td><td>${esc(m.sourceKind ?? '—')}</td>` +
        `<td>${esc(m.target ?? '—')}</td><td class="num">${esc(metricText(m, classes))}</td>` +
        `<td class="num">${m.numerator !== null && m.denominator !== null ? `${m.numerator} / ${m.denominator}` : '—'}</td></tr>`;
    }
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
        c.items
          .map(
            (it) =>
              `<th scope="col">${it.kind === 'run' ? `<a href="/runs/${encodeURIComponent(it.id)}">${esc(it.label)}</a>` : esc(it.label)}</th>`,
          )
          .join('') +
        '</tr></thead><tbody>';
      for (const r of c.rows)
        body +=
          `<tr><td>${esc(r.metric)}</td><td>${esc(r.target ?? '—')}</td><td>${esc(r.group)}</td>` +
          r.values.map((v) => `<td class="num">${esc(aggText(v, r.metric))}</td>`).join('') +
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
