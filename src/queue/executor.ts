/**
 * The BullMQ executor: a plan's jobs done by the workers of a queue (any machines with the same
 * code and data; `--workers N` starts N of them here on a private Redis, ./local.ts).
 *
 * `executeAll` adds every job of the plan in dependency order and waits until all have completed
 * (./submit.ts `driveJobs`), relaying the workers' progress events to their runs' logs so `serve`
 * follows the runs live. `execute` then collects a run's results: source weights from the
 * artefact store into the results root's model cache, transfer results into the run's jobs/
 * folder, exactly where and as the in-process executor writes them (a features job's features
 * stay on the workers and in the artefact store: only the transfer jobs that train on them need them); `runExperiment` makes the
 * metric rows, predictions and the index from them with the same code as a local run. Nothing
 * here plans: the job specs, ids and keys are the plan's.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Job } from 'bullmq';
import { Redis } from 'ioredis';
import type { SourceModelInfo, TransferJobResult } from '../experiment/jobs.js';
import { writeJsonAtomic } from '../train/files.js';
import {
  transferDir,
  transferJobFolder,
  transferJobName,
  type Executor,
  type FeaturesJobResult,
  type JobResult,
  type PlanJob,
  type PlannedRun,
} from '../plan/index.js';
import { getSourceWeights } from './artefacts.js';
import type { SourceJobResult } from './jobs.js';
import { openQueue, redactRedisUrl, redisOptions } from './names.js';
import { createQueueStatusPrinter, type QueueCounts } from './progress.js';
import { ProgressRelay } from './relay.js';
import { driveJobs, type DriveOptions } from './submit.js';
import type { JobProgress } from './worker.js';

/** Options of `queueExecutor`. */
export interface QueueExecutorOptions {
  /** Redis URL of the queue (password from the URL or BIAS_TRANSFER_REDIS_PASSWORD). */
  url: string;
  /** Live status line (default: a printer on stderr); pass `() => {}` to stay quiet. */
  onStatus?: DriveOptions['onStatus'];
  /** Milliseconds between two looks at the queue (default 500). */
  pollMs?: number;
  /** Environment for the password (default process.env). */
  env?: NodeJS.ProcessEnv;
  /** Lines about the queue (default stderr). */
  log?: (line: string) => void;
}

/**
 * An executor whose jobs are done by the queue's workers; `close()` it when done.
 *
 * @example const executor = queueExecutor({ url: 'redis://10.0.0.5:6379' });
 * try { await runExperiment({ loaded, root: 'runs', executor }); } finally { await executor.close?.(); }
 */
export function queueExecutor(opts: QueueExecutorOptions): Executor {
  const log = opts.log ?? ((l: string) => process.stderr.write(`${l}\n`));
  const queue = openQueue(opts.url, opts.env);
  queue.on('error', () => {});
  const redis = new Redis(redisOptions(opts.url, opts.env));
  redis.on('error', () => {});
  const pollMs = opts.pollMs;

  /** Drives `jobs` to completion with a status line and progress relayed to their runs' logs. */
  const drive = async (jobs: readonly PlanJob[], runs: ReadonlyMap<string, PlannedRun>) => {
    const t0 = Date.now();
    let printer: ReturnType<typeof createQueueStatusPrinter> | null = null;
    const onStatus =
      opts.onStatus ??
      ((c: QueueCounts, r: JobProgress[]) => {
        printer ??= createQueueStatusPrinter();
        printer.update(c, r, (Date.now() - t0) / 1000);
      });
    const relay = new ProgressRelay({ code: jobs[0]?.spec.codeHash, onError: (e) => log(`progress log not written: ${e.message}`) });
    try {
      await driveJobs(queue, jobs, {
        onStatus,
        pollMs,
        onJobProgress: (job, p) =>
          relay.relay(
            job.id,
            job.runs.flatMap((id) => runs.get(id) ?? []),
            p,
          ),
      });
    } finally {
      relay.close();
      (printer as ReturnType<typeof createQueueStatusPrinter> | null)?.end();
    }
  };

  return {
    async executeAll(jobs, runs) {
      log(`${jobs.length} job(s) to do on ${redactRedisUrl(opts.url)}`);
      await drive(jobs, new Map(runs.map((r) => [r.id, r])));
    },

    async execute(jobs, ctx): Promise<Map<string, JobResult>> {
      const out = new Map<string, JobResult>();
      // What the results root has already (a cached source model, a transfer result saved earlier) is not asked of the queue.
      const missing: PlanJob[] = [];
      for (const j of jobs) {
        const s = j.spec;
        if (s.kind === 'source') {
          const hit = ctx.store.cache.get(s.key);
          if (hit)
            out.set(j.id, { kind: 'source', info: { ...(hit.info.info as SourceModelInfo), weights: join(hit.dir, 'model.safetensors') } });
          else missing.push(j);
        } else if (s.kind === 'transfer') {
          const resultPath = join(transferDir(ctx.runDir, transferJobFolder(s)), 'result.json');
          if (existsSync(resultPath))
            out.set(j.id, { kind: 'transfer', result: JSON.parse(readFileSync(resultPath, 'utf-8')) as TransferJobResult });
          else missing.push(j);
        }
      }
      // A features job is asked of the queue only for a transfer job still to collect.
      const needed = new Set(missing.flatMap((j) => j.needs));
      for (const j of jobs)
        if (j.spec.kind === 'features') {
          if (needed.has(j.id)) missing.push(j);
          else out.set(j.id, { kind: 'features', result: { keys: j.spec.keys, sizes: {} } });
        }
      if (missing.length === 0) return out;
      // Done already by executeAll (then this returns at the first look), unless a job was lost since.
      const ids = new Set(missing.map((j) => j.id));
      await driveJobs(
        queue,
        missing.map((j) => ({ ...j, needs: j.needs.filter((n) => ids.has(n)) })),
        { pollMs },
      );
      for (const j of missing) {
        const job = await Job.fromId(queue, j.id);
        if (!job) throw new Error(`job ${j.id} (${j.spec.label}) completed but is gone from the queue`);
        const s = j.spec;
        if (s.kind === 'source') {
          const result = job.returnvalue as SourceJobResult;
          const bytes = await getSourceWeights(redis, s.key);
          const entry = await ctx.store.cache.put(
            s.key,
            (tmp) => {
              writeFileSync(join(tmp, 'model.safetensors'), bytes);
              writeFileSync(join(tmp, 'train.json'), JSON.stringify(result.info.train, null, 1));
            },
            result.info,
          );
          ctx.log(`source ${s.variantKind}: model ${s.key} from the queue (${bytes.length} bytes)`);
          out.set(j.id, { kind: 'source', info: { ...result.info, weights: join(entry.dir, 'model.safetensors') } });
        } else if (s.kind === 'features') {
          out.set(j.id, { kind: 'features', result: job.returnvalue as FeaturesJobResult });
        } else {
          // The job's name within the run, whoever's label the worker saw.
          const result = { ...(job.returnvalue as TransferJobResult), job: transferJobName(s) };
          const dir = transferDir(ctx.runDir, transferJobFolder(s));
          mkdirSync(dir, { recursive: true });
          writeJsonAtomic(join(dir, 'result.json'), result);
          out.set(j.id, { kind: 'transfer', result });
        }
      }
      return out;
    },

    async close() {
      await queue.close().catch(() => {});
      redis.disconnect();
    },
  };
}
