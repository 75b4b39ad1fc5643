/**
 * The queue side of the command line: the `worker` command, and `--queue` / `--workers` of
 * `run`, `sweep` and `reproduce` (see src/queue/).
 */
import { resolve } from 'node:path';
import { availableParallelism } from 'node:os';
import { CliError, defineCommand } from './args.js';
import type { CommandIO } from './commands/io.js';
import type { LoadedConfig } from '../experiment/config/index.js';
import {
  joinPlans,
  plan,
  runExperiment,
  type ExperimentOutcome,
  type Plan,
  type PlanOptions,
  type RunExperimentOptions,
} from '../plan/index.js';
import { queueExecutor } from '../queue/executor.js';
import { withLocalWorkers } from '../queue/local.js';
import { startWorker } from '../queue/worker.js';
import { URL_ENV, redisOptions } from '../queue/names.js';

/** `--queue URL` of run, sweep and reproduce. */
export const QUEUE_FLAG = {
  name: 'queue',
  type: 'string',
  valueName: 'url',
  description:
    'Enqueue the jobs on the BullMQ queue in this Redis (redis://HOST:PORT; password from BIAS_TRANSFER_REDIS_PASSWORD) and wait for workers to do them, with a live progress line; results are written here as by a local run.',
} as const;

/** `--workers N` of run, sweep and reproduce. */
export const WORKERS_FLAG = {
  name: 'workers',
  type: 'number',
  description:
    'Start N local worker processes (each with its own libtorch threads; --threads sets them) on --queue, or on a private redis-server without --queue. 1 without --queue runs in this process. Default 1: measured faster here than 2 processes x 1 thread (README, Benchmarks).',
} as const;

export const workerCommand = defineCommand({
  name: 'worker',
  summary: 'Do jobs from a queue (sources, transfers) until stopped: one per process, as many processes as you like, on any machine.',
  description:
    'The worker needs only Redis (and the same datasets and code version as the submitter): source weights and job results (training histories, per-sample predictions) travel through the queue; the submitter computes the metric rows. SIGTERM abandons the running job (another worker takes it over after --lock-seconds); Ctrl-C finishes it first (twice: abandon).',
  flags: [
    {
      name: 'queue',
      type: 'string',
      valueName: 'url',
      description: `Redis URL redis://HOST:PORT[/DB] (default: $${URL_ENV}); the password from BIAS_TRANSFER_REDIS_PASSWORD, never printed.`,
    },
    {
      name: 'scratch',
      type: 'string',
      valueName: 'dir',
      default: 'runs/worker',
      description: "This worker's own folder: model cache and checkpoints of unfinished jobs (resumed after a restart).",
    },
    {
      name: 'threads',
      type: 'number',
      description: 'libtorch threads for configs that leave `threads` null (default: the CPUs available).',
    },
    {
      name: 'lock-seconds',
      type: 'number',
      default: 30,
      description: "Seconds a dead worker's job stays locked before another worker takes it over.",
    },
  ],
  positionals: [],
  examples: ['worker --queue redis://10.0.0.5:6379 --scratch /var/tmp/bt'],
  run: (flags, _positionals, io) => runWorker(flags, {}, io),
});

/** `worker` */
export async function runWorker(
  flags: { queue?: string; scratch: string; threads?: number; 'lock-seconds': number },
  _pos: Record<string, never>,
  io: CommandIO,
): Promise<number> {
  const url = flags.queue ?? process.env[URL_ENV];
  if (!url) throw new CliError(`worker needs --queue redis://HOST:PORT (or $${URL_ENV})`);
  try {
    redisOptions(url);
  } catch (e) {
    throw new CliError(`--queue: ${(e as Error).message}`);
  }
  if (flags.threads !== undefined && (!Number.isInteger(flags.threads) || flags.threads < 1))
    throw new CliError(`--threads must be a positive integer, got ${flags.threads}`);
  if (!(flags['lock-seconds'] > 0)) throw new CliError(`--lock-seconds must be positive, got ${flags['lock-seconds']}`);
  const w = await startWorker({
    url,
    scratch: resolve(flags.scratch),
    threads: flags.threads,
    lockSeconds: flags['lock-seconds'],
    log: (l) => io.err(l),
  });
  await new Promise<void>((done) => {
    let interrupts = 0;
    const stop = (force: boolean) => {
      // Closing talks to Redis; with Redis gone it would wait for it forever: give it 5 s.
      Promise.race([w.close(force), new Promise((r) => setTimeout(r, 5000).unref())]).then(() => done(), done);
    };
    process.on('SIGTERM', () => stop(true));
    process.on('SIGINT', () => {
      interrupts++;
      io.err(interrupts === 1 ? 'worker: finishing the running job (Ctrl-C again to abandon it)' : 'worker: abandoning the running job');
      stop(interrupts > 1);
    });
  });
  // Whatever else is left (a reconnecting client, libtorch's threads) does not keep a stopped worker alive.
  setTimeout(() => process.exit(0), 1000).unref();
  return 0;
}

/** Where and how an experiment's jobs run, from --queue / --workers / --threads. */
export interface ExecutionFlags {
  queue?: string;
  workers?: number;
  threads?: number;
  /** No status line and no worker lines. */
  quiet?: boolean;
}

/** Checks --queue and --workers; throws a CliError naming the flag and value at fault. */
export function checkExecutionFlags(f: ExecutionFlags): void {
  if (f.workers !== undefined && (!Number.isInteger(f.workers) || f.workers < 1))
    throw new CliError(`--workers must be a positive integer, got ${f.workers}`);
  if (f.queue !== undefined) {
    try {
      redisOptions(f.queue);
    } catch (e) {
      throw new CliError(`--queue: ${(e as Error).message}`);
    }
  }
  if (f.workers !== undefined && f.workers > availableParallelism() * 4)
    throw new CliError(`--workers ${f.workers} is more than 4 per CPU here (${availableParallelism()} CPUs)`);
}

/** Runs experiments: `run` one (in this process or through the queue), `drive` several at once first (all their jobs queued together). */
export interface Execution {
  run(opts: Omit<RunExperimentOptions, 'executor'>): Promise<ExperimentOutcome>;
  /** Has the queue's workers do every job of these experiments' plans at once (no-op when running in this process). */
  drive(items: readonly PlanOptions[]): Promise<void>;
}

/**
 * Runs `body` with an `Execution` for --queue / --workers: in this process (no --queue, one
 * worker); on the queue at --queue (adding N local workers with --workers N); or, with
 * --workers N > 1 alone, on a private redis-server with N workers whose scratch is the results
 * root (one machine, one disk). Workers and Redis stop when `body` is done.
 */
export async function withExecution<T>(f: ExecutionFlags, root: string, io: CommandIO, body: (ex: Execution) => Promise<T>): Promise<T> {
  checkExecutionFlags(f);
  const workers = f.workers ?? 1;
  if (f.queue === undefined && workers === 1) return body({ run: (o) => runExperiment(o), drive: async () => {} });
  const quiet = f.quiet === true;
  // The same plan and runner as in this process; only the executor differs.
  const onQueue = async (url: string, env: NodeJS.ProcessEnv = process.env): Promise<T> => {
    const executor = queueExecutor({ url, env, ...(quiet ? { onStatus: () => {}, log: () => {} } : { log: (l) => io.err(l) }) });
    // The plans `drive` made, reused by `run` for the same loaded config and root (planned once).
    const planned = new Map<LoadedConfig, { root: string; plan: Plan }>();
    try {
      return await body({
        run: (o) => {
          const known = planned.get(o.loaded);
          return runExperiment({ ...o, executor, ...(known?.root === o.root ? { plan: known.plan } : {}) });
        },
        drive: async (items) => {
          const plans = items.map((it) => plan(it));
          items.forEach((it, i) => planned.set(it.loaded, { root: it.root, plan: plans[i] }));
          const all = joinPlans(plans);
          if (all.jobs.length > 0) await executor.executeAll!(all.jobs, all.runs);
        },
      });
    } finally {
      await executor.close?.();
    }
  };
  if (f.queue !== undefined && f.workers === undefined) return onQueue(f.queue);
  return withLocalWorkers(
    { workers, url: f.queue, scratch: resolve(root), threads: f.threads, log: (l) => (quiet ? undefined : io.err(l)) },
    (url, env) => onQueue(url, env),
  );
}
