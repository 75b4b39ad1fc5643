/**
 * Plugin: the HTML pages: experiments and runs (/), the live runs table (/partials/runs), a run
 * (/runs/:id), and the comparison view (/compare, /compare.csv).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { FastifyPluginAsync, FastifyReply } from 'fastify';
import type { RunRecord } from '../../store/index.js';
import { buildComparison, comparisonCsv, HEADLINE_METRICS, pickableMetrics, sweepPoints, type CompareItem } from '../compare.js';
import { RUN_ID_SCHEMA, RUN_PARAMS, type ServeContext } from '../context.js';
import { HttpError, isInside } from '../paths.js';
import { differingKeys, factClassNames, flattenConfig, readConfig, runEta, targetClassNames } from '../runinfo.js';
import {
  comparePage,
  experimentsTable,
  homePage,
  runPage,
  runsTable,
  runSeconds,
  type ExperimentSummary,
  type ReportLink,
  type RunsMetricColumn,
  type RunsTableRow,
} from '../views.js';

/** What the app's own pages may do: their stylesheet and script, fetches and event streams to the app; nothing else. */
export const APP_CSP =
  "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'";

/** `/files/...` URL of a path inside the root. */
function fileHref(rel: string): string {
  return `/files/${rel.split('/').map(encodeURIComponent).join('/')}`;
}

/** The report.html files of the root: ROOT/report/ (reproduce) and ROOT/reports/<name>/ (run, sweep, report). */
function findReports(ctx: ServeContext): (ReportLink & { name: string | null })[] {
  const out: (ReportLink & { name: string | null })[] = [];
  const ok = (rel: string) => {
    const abs = path.join(ctx.rootReal, rel);
    try {
      return fs.statSync(abs).isFile() && isInside(ctx.rootReal, fs.realpathSync(abs));
    } catch {
      return false;
    }
  };
  if (ok('report/report.html')) out.push({ title: 'report/report.html (reproduce)', href: fileHref('report/report.html'), name: null });
  let names: string[] = [];
  try {
    names = fs.readdirSync(path.join(ctx.rootReal, 'reports')).sort();
  } catch {
    names = [];
  }
  for (const n of names)
    if (!n.startsWith('.') && ok(`reports/${n}/report.html`))
      out.push({ title: `reports/${n}/report.html`, href: fileHref(`reports/${n}/report.html`), name: n });
  return out;
}

/** The files of a run folder worth linking, those that exist. */
function runFiles(ctx: ServeContext, r: RunRecord): ReportLink[] {
  const rels = [
    'config.json',
    'meta.json',
    'metrics.csv',
    'metrics.json',
    'sources.json',
    'report.html',
    'logs/run.log',
    'logs/progress.jsonl',
  ];
  return rels
    .filter((rel) => {
      try {
        return fs.statSync(path.join(ctx.rootReal, 'runs', r.id, rel)).isFile();
      } catch {
        return false;
      }
    })
    .map((rel) => ({ title: rel, href: fileHref(`runs/${r.id}/${rel}`) }));
}

function html(reply: FastifyReply, body: string): FastifyReply {
  return reply.type('text/html; charset=utf-8').header('cache-control', 'no-cache').send(body);
}

/** The runs table shows at most this many runs (the newest); the comparison view reaches all of them. */
export const RUNS_SHOWN = 300;

/** The report of experiment `name`: its own, else the combined one of `reproduce` (which holds every experiment it ran). */
function reportOf(reports: ReturnType<typeof findReports>, name: string): string | null {
  return (reports.find((x) => x.name === name) ?? reports.find((x) => x.name === null))?.href ?? null;
}

/** The runs table's metric columns: a headline metric of the main target, under its condition. */
const TABLE_METRICS = [
  { metric: 'accuracy', condition: 'clean', title: 'clean acc' },
  { metric: 'asr', condition: 'triggered', title: 'ASR' },
] as const;
const MODE_ORDER = ['fixed', 'full', 'scratch'];

/** The runs table of `runs`: the newest RUNS_SHOWN, with differing config keys, main-target metric columns and ETAs. */
function table(ctx: ServeContext, runs: readonly RunRecord[]): string {
  const shown = runs.slice(0, RUNS_SHOWN);
  const more = runs.length > shown.length ? `<p class="meta">Showing the newest ${shown.length} of ${runs.length} runs.</p>` : '';
  const reports = findReports(ctx);
  const counts = ctx.reader.metricCounts();
  const configs = new Map(shown.map((r) => [r.id, readConfig(ctx.rootReal, r)]));
  const flat = new Map(shown.map((r) => [r.id, flattenConfig(configs.get(r.id) ?? {})]));
  const diffKeys = differingKeys([...flat.values()]);
  // The main target of a run: the first of its config's targets.
  const mainTarget = (r: RunRecord) => {
    const t = (configs.get(r.id)?.targets as { name?: unknown }[] | undefined)?.[0]?.name;
    return typeof t === 'string' ? t : null;
  };
  const ids = new Set(shown.map((r) => r.id));
  const values = new Map<string, Map<string, { value: number; lo: number | null; hi: number | null }>>();
  const columns = new Map<string, RunsMetricColumn & { order: number }>();
  TABLE_METRICS.forEach((tm, ti) => {
    for (const m of ctx.reader.metrics({ metric: tm.metric })) {
      if (!ids.has(m.runId) || m.condition !== tm.condition || m.value === null) continue;
      const run = shown.find((r) => r.id === m.runId)!;
      if (m.target !== mainTarget(run)) continue;
      // The biased source's transfers, and scratch (no source) as the baseline.
      if (m.sourceKind !== 'biased' && m.sourceKind !== null) continue;
      const mode = m.transferMode ?? 'source';
      const key = `${tm.metric}/${mode}`;
      const mi = MODE_ORDER.indexOf(mode);
      if (!columns.has(key))
        columns.set(key, { key, title: `${tm.title} ${mode}`, metric: tm.metric, order: ti * 100 + (mi < 0 ? 50 : mi) });
      let v = values.get(m.runId);
      if (!v) values.set(m.runId, (v = new Map()));
      v.set(key, { value: m.value, lo: m.lo, hi: m.hi });
    }
  });
  const rows: RunsTableRow[] = shown.map((r) => ({
    run: r,
    code: ctx.reader.codeVersion(r),
    metricRows: counts.get(r.id) ?? 0,
    config: flat.get(r.id)!,
    values: values.get(r.id) ?? new Map(),
    ...(r.status === 'running' ? { etaSeconds: runEta(ctx.rootReal, r).seconds } : {}),
    reportHref: reportOf(reports, r.name),
  }));
  const cols = [...columns.values()].sort((a, b) => a.order - b.order || a.title.localeCompare(b.title));
  return runsTable(rows, diffKeys, cols) + more;
}

/**
 * The experiments with their run counts, report and overall ETA. The ETA of an experiment with
 * running runs: the longest ETA of its running runs, plus its queued runs and the seeds of its
 * sweep points not started yet (each as long as its finished runs took on average), spread over
 * as many runs as run at once now. Runs a sweep has not created yet (its later sweep points) are
 * not known to the index, so not counted.
 */
function experimentSummaries(ctx: ServeContext, runs: readonly RunRecord[]): ExperimentSummary[] {
  const reports = findReports(ctx);
  const byName = new Map<string, RunRecord[]>();
  for (const r of runs) byName.set(r.name, [...(byName.get(r.name) ?? []), r]);
  return [...byName]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([name, rs]) => {
      const byStatus: Record<string, number> = {};
      for (const r of rs) byStatus[r.status] = (byStatus[r.status] ?? 0) + 1;
      const running = rs.filter((r) => r.status === 'running');
      let etaSeconds: number | null | undefined;
      if (running.length > 0) {
        const etas = running.map((r) => runEta(ctx.rootReal, r).seconds);
        const done = rs.filter((r) => r.status === 'done').map((r) => runSeconds(r) ?? 0);
        const mean = done.length ? done.reduce((a, b) => a + b, 0) / done.length : null;
        // Seeds of a sweep point not started yet: its config's seed list against the runs it has.
        let missing = 0;
        const points = new Map<string, RunRecord[]>();
        for (const r of rs) points.set(r.configHash, [...(points.get(r.configHash) ?? []), r]);
        for (const g of points.values()) {
          const seeds = readConfig(ctx.rootReal, g[0])?.seeds;
          if (Array.isArray(seeds)) missing += Math.max(0, seeds.length - g.length);
        }
        const waiting = (byStatus.queued ?? 0) + missing;
        const longest = etas.some((e) => e === null) ? null : Math.max(...(etas as number[]));
        etaSeconds = longest === null ? null : waiting === 0 ? longest : mean === null ? null : longest + (waiting * mean) / running.length;
      }
      return { name, runs: rs.length, byStatus, reportHref: reportOf(reports, name), ...(etaSeconds !== undefined ? { etaSeconds } : {}) };
    });
}

/** The comparison query (GET /compare and /compare.csv). */
interface CompareQuery {
  experiment?: string;
  by?: 'run' | 'point';
  run?: string[];
  point?: string[];
  metric?: string[];
  show?: 'choices' | 'compare';
}

const COMPARE_QUERY = {
  type: 'object',
  additionalProperties: false,
  properties: {
    experiment: { type: 'string', maxLength: 200, description: 'Experiment name whose runs or sweep points to pick from.' },
    by: { type: 'string', enum: ['run', 'point'], default: 'point', description: 'Compare single runs or sweep points (seeds pooled).' },
    run: { type: 'array', maxItems: 50, items: RUN_ID_SCHEMA, description: 'Run ids to compare (with by=run).' },
    point: {
      type: 'array',
      maxItems: 50,
      items: { type: 'string', pattern: '^[0-9a-f]{8,128}$' },
      description: 'Config hashes of the sweep points to compare (with by=point).',
    },
    metric: {
      type: 'array',
      maxItems: 40,
      items: { type: 'string', pattern: '^[A-Za-z0-9:_.-]{1,100}$' },
      description: 'Metrics to show (default: the headline metrics present).',
    },
    show: { type: 'string', enum: ['choices', 'compare'], description: "'choices' only lists what can be picked." },
  },
} as const;

/** Resolves a comparison query against the index: the form's state and the items picked. */
function resolveCompare(ctx: ServeContext, q: CompareQuery) {
  const all = ctx.reader.runs();
  const experiments = [...new Set(all.map((r) => r.name))].sort();
  const by = q.by ?? 'point';
  let experiment = q.experiment ?? null;
  if (experiment !== null && !experiments.includes(experiment))
    throw new HttpError(404, `no experiment '${experiment}' in this results root`);
  if (experiment === null && q.run?.length) experiment = all.find((r) => r.id === q.run![0])?.name ?? null;
  experiment ??= experiments[0] ?? null;
  const runs = experiment === null ? [] : all.filter((r) => r.name === experiment);
  const points = sweepPoints([...runs].reverse());
  const metrics = experiment === null ? [] : pickableMetrics(ctx.reader.metricNames(experiment));
  const headline = HEADLINE_METRICS.map((m) => m.metric).filter((m) => metrics.includes(m));
  const pickedMetrics = q.metric?.length ? q.metric : headline;
  let picked = (by === 'point' ? q.point : q.run) ?? [];
  // Arriving without a choice (e.g. from the experiments page): every sweep point, or the 8 newest runs.
  if (picked.length === 0 && q.show === undefined)
    picked = by === 'point' ? points.map((p) => p.configHash) : runs.slice(0, 8).map((r) => r.id);
  const items: CompareItem[] = picked.map((key) => {
    if (by === 'point') {
      const p = points.find((x) => x.configHash === key);
      if (!p) throw new HttpError(404, `no sweep point with config hash ${key} in experiment '${experiment}'`);
      return {
        kind: 'point',
        id: p.configHash,
        label: p.label,
        experiment: p.name,
        sweepId: p.sweepId,
        seeds: p.runs.map((r) => r.seed ?? -1),
        rows: ctx.reader.metrics({ configHash: p.configHash }),
      };
    }
    const r = all.find((x) => x.id === key);
    if (!r) throw new HttpError(404, `no run '${key}' in this results root`);
    return {
      kind: 'run',
      id: r.id,
      label: r.id,
      experiment: r.name,
      sweepId: r.sweepId,
      seeds: r.seed === null ? [] : [r.seed],
      rows: ctx.reader.metrics({ runId: r.id }),
    };
  });
  const comparison = items.length > 0 && q.show !== 'choices' ? buildComparison(items, pickedMetrics) : null;
  return { experiments, experiment, by, runs, points, metrics, pickedMetrics, picked, comparison };
}

function compareQueryString(s: {
  experiment: string | null;
  by: string;
  picked: readonly string[];
  pickedMetrics: readonly string[];
}): string {
  const p = new URLSearchParams();
  if (s.experiment !== null) p.set('experiment', s.experiment);
  p.set('by', s.by);
  for (const k of s.picked) p.append(s.by === 'point' ? 'point' : 'run', k);
  for (const m of s.pickedMetrics) p.append('metric', m);
  p.set('show', 'compare');
  return p.toString();
}

/** The page routes. */
export const pageRoutes: FastifyPluginAsync<{ ctx: ServeContext }> = async (app, { ctx }) => {
  app.addHook('onSend', async (_req, reply, payload) => {
    if (String(reply.getHeader('content-type') ?? '').startsWith('text/html')) reply.header('content-security-policy', APP_CSP);
    return payload;
  });

  app.get('/', async (_req, reply) => {
    const runs = ctx.reader.runs();
    return html(
      reply,
      homePage({
        root: ctx.rootReal,
        hasIndex: ctx.reader.hasIndex(),
        experimentsHtml: experimentsTable(experimentSummaries(ctx, runs)),
        reports: findReports(ctx),
        runsHtml: table(ctx, runs),
        queue: ctx.queue,
      }),
    );
  });

  app.get('/partials/runs', async (_req, reply) => html(reply, table(ctx, ctx.reader.runs())));
  app.get('/partials/experiments', async (_req, reply) => html(reply, experimentsTable(experimentSummaries(ctx, ctx.reader.runs()))));

  app.get('/runs/:id', { schema: { params: RUN_PARAMS } }, async (req, reply) => {
    const id = (req.params as { id: string }).id;
    const run = ctx.reader.run(id);
    if (!run) throw new HttpError(404, `no run '${id}' in this results root`);
    const config = readConfig(ctx.rootReal, run);
    return html(
      reply,
      runPage({
        run,
        code: ctx.reader.codeVersion(run),
        metrics: ctx.reader.metrics({ runId: id }),
        files: runFiles(ctx, run),
        reportHref: reportOf(findReports(ctx), run.name),
        classes: (target) => factClassNames(ctx.rootReal, run, target) ?? targetClassNames(config, target),
        ...(run.status === 'running' || run.status === 'queued' ? { etaSeconds: runEta(ctx.rootReal, run).seconds } : {}),
        queue: ctx.queue,
      }),
    );
  });

  app.get('/compare', { schema: { querystring: COMPARE_QUERY } }, async (req, reply) => {
    const s = resolveCompare(ctx, req.query as CompareQuery);
    const csvHref = s.comparison ? `/compare.csv?${compareQueryString(s)}` : null;
    return html(reply, comparePage(s, s.comparison, csvHref, ctx.queue));
  });

  app.get('/compare.csv', { schema: { querystring: COMPARE_QUERY } }, async (req, reply) => {
    const s = resolveCompare(ctx, { ...(req.query as CompareQuery), show: 'compare' });
    if (!s.comparison) throw new HttpError(400, 'pick at least one run or sweep point (run=ID or point=HASH)');
    const name = `compare-${(s.experiment ?? 'runs').replace(/[^A-Za-z0-9._-]/g, '_')}.csv`;
    return reply
      .type('text/csv; charset=utf-8')
      .header('content-disposition', `attachment; filename="${name}"`)
      .header('cache-control', 'no-cache')
      .send(comparisonCsv(s.comparison));
  });
};
