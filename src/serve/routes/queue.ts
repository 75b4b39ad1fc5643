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
  await app.register(serverAdapter.registerPlugin(), { prefix: QUEUE_BASE_PATH });
  app.addHook('onClose', async () => {
    await Promise.all(queues.map((q) => q.close()));
  });
};
