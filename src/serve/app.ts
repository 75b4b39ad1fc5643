/**
 * `bias-transfer serve`: a local web app over a results root, on Fastify. Routes are plugins
 * (routes/): pages, the JSON API with a run's progress as server-sent events, the root's files as
 * they are, and bull-board for the queue. It reads the SQLite index read-only (never blocking a
 * sweep that writes it), reads files only from inside the root, and listens on 127.0.0.1 unless
 * told otherwise; bound to a loopback address it answers only requests whose Host is a loopback
 * name (so a web page elsewhere cannot reach it through DNS rebinding).
 */
import Fastify, { type FastifyError, type FastifyInstance } from 'fastify';
import { realRoot, HttpError } from './paths.js';
import { ResultsReader } from '../store/reader.js';
import type { ServeContext } from './context.js';
import { errorPage } from './views.js';
import { apiRoutes } from './routes/api.js';
import { assetRoutes } from './routes/assets.js';
import { fileRoutes } from './routes/files.js';
import { pageRoutes } from './routes/pages.js';

/** Options of `buildServer` and `startServer`. */
export interface ServeOptions {
  /** The results root (a folder that exists; its index may appear later). */
  readonly root: string;
  /** Redis URL of the job queue: mounts bull-board at /queue. */
  readonly queue?: string;
  /** Milliseconds between two looks at a followed run (default 500). */
  readonly pollMs?: number;
  /** Address the server listens on (startServer; default 127.0.0.1). Used by the Host check. */
  readonly host?: string;
}

const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1', '::1', '[::1]']);

/** Whether `host` (an address or name to listen on) is a loopback one. */
export function isLoopback(host: string): boolean {
  return LOOPBACK_HOSTS.has(host) || /^127\.\d+\.\d+\.\d+$/.test(host);
}

/** The Fastify app over `opts.root`, not yet listening. Close it with `app.close()`. */
export async function buildServer(opts: ServeOptions): Promise<FastifyInstance> {
  const rootReal = realRoot(opts.root);
  const reader = new ResultsReader(rootReal);
  const ctx: ServeContext = { reader, rootReal, queue: opts.queue !== undefined, pollMs: opts.pollMs ?? 500, streams: new Set() };
  const app = Fastify({ logger: false, routerOptions: { ignoreTrailingSlash: true, maxParamLength: 1024 } });
  const host = opts.host ?? '127.0.0.1';
  if (isLoopback(host))
    app.addHook('onRequest', async (req) => {
      const name = req.hostname.replace(/:\d+$/, '').toLowerCase();
      if (!LOOPBACK_HOSTS.has(name) && !/^127\.\d+\.\d+\.\d+$/.test(name))
        throw new HttpError(403, `Host '${req.hostname}' is not served (this server answers localhost only)`);
    });
  app.addHook('onSend', async (_req, reply, payload) => {
    reply.header('x-content-type-options', 'nosniff');
    reply.header('referrer-policy', 'no-referrer');
    return payload;
  });
  app.setErrorHandler((err: FastifyError | HttpError, req, reply) => {
    const code =
      err instanceof HttpError ? err.statusCode : (err as FastifyError).validation ? 400 : ((err as FastifyError).statusCode ?? 500);
    const message = code >= 500 && !(err instanceof HttpError) ? `internal error: ${err.message}` : err.message;
    if (code >= 500) process.stderr.write(`serve: ${req.method} ${req.url.split('?')[0]}: ${err.stack ?? err.message}\n`);
    if (req.url.startsWith('/api/') || !String(req.headers.accept ?? '').includes('text/html'))
      return reply.code(code).type('application/json; charset=utf-8').send({ error: message, statusCode: code });
    return reply
      .code(code)
      .type('text/html; charset=utf-8')
      .send(errorPage(code, message, ctx.queue));
  });
  app.setNotFoundHandler((req, reply) => {
    const message = `nothing at ${req.url.split('?')[0]}`;
    if (req.url.startsWith('/api/') || !String(req.headers.accept ?? '').includes('text/html'))
      return reply.code(404).send({ error: message, statusCode: 404 });
    return reply
      .code(404)
      .type('text/html; charset=utf-8')
      .send(errorPage(404, message, ctx.queue));
  });
  app.addHook('preClose', async () => {
    for (const stop of [...ctx.streams]) stop();
  });
  app.addHook('onClose', async () => reader.close());

  await app.register(assetRoutes);
  await app.register(pageRoutes, { ctx });
  await app.register(apiRoutes, { ctx, prefix: '/api' });
  await app.register(fileRoutes, { ctx });
  if (opts.queue !== undefined) {
    // Loaded only when asked for: bull-board and BullMQ are not needed to browse results.
    const { queueBoard } = await import('./routes/queue.js');
    await app.register(queueBoard, { url: opts.queue });
  }
  return app;
}

/** A listening app and its address. */
export interface RunningServer {
  readonly app: FastifyInstance;
  /** e.g. 'http://127.0.0.1:8080' */
  readonly url: string;
  /** Stops listening, ends open event streams, closes the index. */
  close(): Promise<void>;
}

/**
 * Builds the app and listens on `host` (default 127.0.0.1) and `port` (default 8080; 0 picks a
 * free one). Throws a clear error when the port is taken.
 *
 * @example const s = await startServer({ root: 'runs', port: 0 }); console.log(s.url); await s.close();
 */
export async function startServer(opts: ServeOptions & { port?: number }): Promise<RunningServer> {
  const host = opts.host ?? '127.0.0.1';
  const app = await buildServer({ ...opts, host });
  try {
    await app.listen({ host, port: opts.port ?? 8080 });
  } catch (e) {
    await app.close();
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE') throw new Error(`port ${opts.port ?? 8080} on ${host} is in use: pass another --port (0 picks a free one)`);
    if (code === 'EADDRNOTAVAIL') throw new Error(`cannot listen on ${host}: not an address of this machine (--host)`);
    throw e;
  }
  const addr = app.server.address();
  const port = typeof addr === 'object' && addr !== null ? addr.port : (opts.port ?? 8080);
  const shown = host.includes(':') ? `[${host}]` : host === '0.0.0.0' ? '127.0.0.1' : host;
  return { app, url: `http://${shown}:${port}`, close: () => app.close() };
}
