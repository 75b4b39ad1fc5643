/**
 * Plugin: the HTML pages: experiments and runs (/), the live runs table (/partials/runs), a run
 * (/runs/:id), and the comparison view (/compare, /compare.csv).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { FastifyPluginAsync, FastifyReply } from 'fastify';
import type { RunRecord } from '../../experiment/store/index.js';
import { buildComparison, comparisonCsv, HEADLINE_METRICS, pickableMetrics, sweepPoints, type CompareItem } from '../compare.js';
import { RUN_ID_SCHEMA, RUN_PARAMS, type ServeContext } from '../context.js';
import { HttpError, isInside } from '../paths.js';
import { comparePage, homePage, runPage, runsTable, type ExperimentSummary, type ReportLink } from '../views.js';

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

function table(ctx: ServeContext, runs: readonly RunRecord[]): string {
  const shown = runs.slice(0, RUNS_SHOWN);
  const more = runs.length > shown.length ? `<p class="meta">Showing the newest ${shown.length} of ${runs.length} runs.</p>` : '';
  return runsTable(shown, (r) => ctx.reader.codeVersion(r), ctx.reader.metricCounts()) + more;
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
    const reports = findReports(ctx);
    const byName = new Map<string, ExperimentSummary>();
    for (const r of runs) {
      const e = byName.get(r.name) ?? {
        name: r.name,
        runs: 0,
        byStatus: {},
        // Its own report, else the combined one of `reproduce` (which holds every experiment it ran).
        reportHref: (reports.find((x) => x.name === r.name) ?? reports.find((x) => x.name === null))?.href ?? null,
      };
      byName.set(r.name, { ...e, runs: e.runs + 1, byStatus: { ...e.byStatus, [r.status]: (e.byStatus[r.status] ?? 0) + 1 } });
    }
    return html(
      reply,
      homePage({
        root: ctx.rootReal,
        hasIndex: ctx.reader.hasIndex(),
        experiments: [...byName.values()].sort((a, b) => a.name.localeCompare(b.name)),
        reports,
        runsHtml: table(ctx, runs),
        queue: ctx.queue,
      }),
    );
  });

  app.get('/partials/runs', async (_req, reply) => html(reply, table(ctx, ctx.reader.runs())));

  app.get('/runs/:id', { schema: { params: RUN_PARAMS } }, async (req, reply) => {
    const id = (req.params as { id: string }).id;
    const run = ctx.reader.run(id);
    if (!run) throw new HttpError(404, `no run '${id}' in this results root`);
    return html(
      reply,
      runPage({
        run,
        code: ctx.reader.codeVersion(run),
        metrics: ctx.reader.metrics({ runId: id }),
        files: runFiles(ctx, run),
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
