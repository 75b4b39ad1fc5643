/**
 * Plugin: the JSON API under /api (experiments, runs, a run's metric rows) and a run's live
 * progress as server-sent events (/api/runs/:id/events).
 */
import type { FastifyPluginAsync } from 'fastify';
import type { RunRecord } from '../../store/index.js';
import { formatDuration } from '../../train/progress.js';
import { RUN_PARAMS, type ServeContext } from '../context.js';
import { HttpError } from '../paths.js';
import { readProgress } from '../progress.js';
import { runCurves, runEta } from '../runinfo.js';
import { codeText, runSeconds } from '../views.js';

/** At most this many progress entries are replayed to a new stream (the most recent ones). */
export const REPLAY_LIMIT = 2000;

function runJson(ctx: ServeContext, r: RunRecord) {
  const { paths: _paths, ...rest } = r;
  return { ...rest, seconds: runSeconds(r), codeVersion: ctx.reader.codeVersion(r) };
}

function mustRun(ctx: ServeContext, id: string): RunRecord {
  const r = ctx.reader.run(id);
  if (!r) throw new HttpError(404, `no run '${id}' in this results root`);
  return r;
}

/** GET /api/experiments, /api/runs, /api/runs/:id, /api/runs/:id/metrics, /api/runs/:id/events */
export const apiRoutes: FastifyPluginAsync<{ ctx: ServeContext }> = async (app, { ctx }) => {
  app.get('/experiments', async () => {
    const byName = new Map<string, Record<string, number>>();
    for (const r of ctx.reader.runs()) {
      const s = byName.get(r.name) ?? {};
      s[r.status] = (s[r.status] ?? 0) + 1;
      byName.set(r.name, s);
    }
    return [...byName].map(([name, byStatus]) => ({ name, byStatus }));
  });

  app.get(
    '/runs',
    {
      schema: {
        querystring: {
          type: 'object',
          additionalProperties: false,
          properties: {
            experiment: { type: 'string', maxLength: 200 },
            status: { type: 'string', enum: ['queued', 'running', 'done', 'failed'] },
          },
        },
      },
    },
    async (req) => {
      const q = req.query as { experiment?: string; status?: RunRecord['status'] };
      return ctx.reader.runs({ name: q.experiment, status: q.status }).map((r) => runJson(ctx, r));
    },
  );

  app.get('/runs/:id', { schema: { params: RUN_PARAMS } }, async (req) => runJson(ctx, mustRun(ctx, (req.params as { id: string }).id)));

  app.get('/runs/:id/metrics', { schema: { params: RUN_PARAMS } }, async (req) => {
    const r = mustRun(ctx, (req.params as { id: string }).id);
    return ctx.reader.metrics({ runId: r.id });
  });

  // Every job's per-epoch curve: saved histories and the progress log's epoch events.
  app.get('/runs/:id/curves', { schema: { params: RUN_PARAMS } }, async (req) => {
    const r = mustRun(ctx, (req.params as { id: string }).id);
    return runCurves(ctx.rootReal, r);
  });

  // The whole run's ETA while it runs (seconds null: not estimated yet).
  app.get('/runs/:id/eta', { schema: { params: RUN_PARAMS } }, async (req) => {
    const r = mustRun(ctx, (req.params as { id: string }).id);
    const eta = runEta(ctx.rootReal, r);
    const running = r.status === 'running' || r.status === 'queued';
    return {
      status: r.status,
      ...eta,
      seconds: running ? eta.seconds : 0,
      text: running ? (eta.seconds === null ? '?' : formatDuration(eta.seconds)) : '—',
    };
  });

  // Server-sent events: 'progress' (one per progress log entry: the recent past first, then as
  // written), 'status' (on every change of the run's status), 'end' (the run is done or failed
  // and its log fully sent; the stream then closes).
  app.get('/runs/:id/events', { schema: { params: RUN_PARAMS } }, async (req, reply) => {
    const run = mustRun(ctx, (req.params as { id: string }).id);
    reply.hijack();
    const res = reply.raw;
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-transform',
      connection: 'keep-alive',
      'x-content-type-options': 'nosniff',
    });
    const send = (event: string, data: unknown) => res.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
    let offset = 0;
    let first = true;
    let lastStatus = '';
    let ended = false;
    const drain = () => {
      for (;;) {
        const chunk = readProgress(run.paths.progress, offset);
        const entries = first && chunk.entries.length > REPLAY_LIMIT ? chunk.entries.slice(-REPLAY_LIMIT) : chunk.entries;
        for (const e of entries) send('progress', e);
        const more = chunk.offset > offset && chunk.entries.length > 0;
        offset = chunk.offset;
        if (!more) break;
      }
      first = false;
    };
    const stop = () => {
      if (ended) return;
      ended = true;
      clearInterval(timer);
      ctx.streams.delete(stop);
      res.end();
    };
    const tick = () => {
      if (ended) return;
      try {
        drain();
        const now = ctx.reader.run(run.id);
        if (!now) return stop();
        if (now.status !== lastStatus) {
          lastStatus = now.status;
          const secs = runSeconds(now);
          send('status', {
            status: now.status,
            startedAt: now.startedAt,
            finishedAt: now.finishedAt,
            duration: secs === null ? null : formatDuration(secs),
            codeVersion: codeText(ctx.reader.codeVersion(now)),
          });
        }
        if (now.status === 'done' || now.status === 'failed') {
          drain(); // what the runner wrote before it set the status
          send('end', { status: now.status });
          stop();
        }
      } catch (e) {
        send('server-error', { message: (e as Error).message });
        stop();
      }
    };
    const timer = setInterval(tick, ctx.pollMs);
    ctx.streams.add(stop);
    req.raw.on('close', stop);
    res.write(': bias-transfer progress stream\n\n');
    tick();
  });
};
