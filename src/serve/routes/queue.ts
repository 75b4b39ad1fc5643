/**
 * Plugin: the job queue's state through bull-board (its API and UI, mounted at /queue), over the
 * BullMQ queues of src/queue/names.ts on the Redis at the given URL. Not a home-made queue page:
 * bull-board shows waiting, active, completed, failed and delayed jobs, their data, progress and
 * logs, and can retry or clean them.
 */
import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { FastifyAdapter } from '@bull-board/fastify';
import { Queue } from 'bullmq';
import type { FastifyPluginAsync } from 'fastify';
import { KEY_PREFIX, QUEUE_NAMES, redisOptions } from '../../queue/names.js';

/** Where bull-board is mounted. */
export const QUEUE_BASE_PATH = '/queue';

/** `html` without `<link>` tags that load from another origin (http:// or https:// URLs). */
export function stripExternalLinks(html: string): string {
  return html.replace(/<link\b[^>]*\bhref=["']https?:\/\/[^"']*["'][^>]*>\s*/gi, '');
}

/** Options of `queueBoard`. */
export interface QueueBoardOptions {
  /** Redis URL (`redis://HOST:PORT[/DB]`; the password as `redisOptions` takes it). */
  readonly url: string;
}

/** Registers bull-board at /queue; the queues are closed when the app closes. */
export const queueBoard: FastifyPluginAsync<QueueBoardOptions> = async (app, opts) => {
  const connection = redisOptions(opts.url);
  const queues = QUEUE_NAMES.map((name) => new Queue(name, { connection, prefix: KEY_PREFIX }));
  const serverAdapter = new FastifyAdapter();
  serverAdapter.setBasePath(QUEUE_BASE_PATH);
  createBullBoard({
    queues: queues.map((q) => new BullMQAdapter(q)),
    serverAdapter,
    options: { uiConfig: { boardTitle: 'bias-transfer queue' } },
  });
  // bull-board's page links a web font from fonts.googleapis.com: a request to a third party each
  // time the page opens, and a failed request offline. Its own stylesheet has fallbacks, so the
  // link is dropped from the page as it is sent.
  app.addHook('onSend', async (_req, reply, payload) => {
    if (!String(reply.getHeader('content-type') ?? '').startsWith('text/html')) return payload;
    const text = typeof payload === 'string' ? payload : Buffer.isBuffer(payload) ? payload.toString('utf8') : null;
    if (text === null) return payload;
    reply.removeHeader('content-length');
    return stripExternalLinks(text);
  });
  await app.register(serverAdapter.registerPlugin(), { prefix: QUEUE_BASE_PATH });
  app.addHook('onClose', async () => {
    await Promise.all(queues.map((q) => q.close()));
  });
};
