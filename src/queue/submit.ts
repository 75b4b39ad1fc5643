/**
 * Submitting an experiment to the queue and writing its results as a local run would.
 *
 * 1. Plan: the jobs of every run (sweep point and seed) not yet done under the results root,
 *    with the same inputs the runner uses (`runInputs`): one `source` job per source variant,
 *    one `transfer` job per target, source variant and mode (scratch needs no source).
 * 2. Drive the graph: source jobs and scratch jobs are added at once; each transfer job is added
 *    when the source job it needs has completed (the submitter holds the dependencies, because a
 *    BullMQ flow gives a child one parent and a source model feeds many transfers). Job ids are
 *    hashes of the job data, so a job asked for twice is one job, and a resubmission (after an
 *    interrupt) picks up what is done and waiting. A job that failed for good stops the
 *    submission with its error. Meanwhile every job's progress events (reported by its worker)
 *    are appended to its runs' logs/progress.jsonl (./relay.ts), so `serve` follows the runs live.
 * 3. Assemble: `runExperiment` runs with an executor that, instead of training, takes each job's
 *    result from the queue (source weights from the artefact store into the root's model cache;
 *    transfer results into each run's jobs/ folder), so metric rows, predictions, the index and
 *    the report are made by the same code as a local run, with the same numbers.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Job, type Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { resolveCacheRoot } from '../data/index.js';
import { expandSweep, type ExperimentConfig } from '../experiment/config/index.js';
import { sourceModelKey, type JobContext, type JobExecutor, type SourceModelInfo, type TransferJobResult } from '../experiment/jobs.js';
import type { SourceVariant } from '../experiment/prepare.js';
import { codeHash, runExperiment, runIdFor, runInputs, type ExperimentOutcome, type RunExperimentOptions } from '../experiment/runner.js';
import { openStore } from '../store/index.js';
import { inputsHash } from '../experiment/inputs.js';
import { staleRun } from '../experiment/run-ids.js';
import type { TransferMode } from '../train/transfer.js';
import { writeJsonAtomic } from '../train/files.js';
import { getSourceWeights } from './artefacts.js';
import {
  jobIdOf,
  jobOptions,
  sourceJobId,
  transferJobId,
  type QueueJobData,
  type SourceJobData,
  type SourceJobResult,
  type TransferJobData,
} from './jobs.js';
import { openQueue, redactRedisUrl, redisOptions } from './names.js';
import { createQueueStatusPrinter, type QueueCounts } from './progress.js';
import { ProgressRelay, type RunRef } from './relay.js';
import type { JobProgress } from './worker.js';

/** A job of a submission and the jobs it waits for. */
export interface PlannedJob {
  id: string;
  data: QueueJobData;
  /** Ids of the jobs that must complete first. */
  needs: string[];
  /** The runs it works for (its progress goes to their logs; a source may serve several). */
  runs?: RunRef[];
}

function runLabel(config: ExperimentConfig, sweepId: string, seed: number): string {
  return `${config.name}${sweepId === 'default' ? '' : ` ${sweepId}`} seed${seed}`;
}

/**
 * The jobs of every run of `loaded` (only `points` if given) that is not done under `root`,
 * sources first. Pure in the config and the data: the same plan on every machine.
 */
export function planJobs(opts: Pick<RunExperimentOptions, 'loaded' | 'root' | 'points' | 'acceptStale'>): PlannedJob[] {
  const store = openStore(opts.root);
  const code = codeHash();
  const sources = new Map<string, PlannedJob>();
  const transfers = new Map<string, PlannedJob>();
  try {
    for (const p of expandSweep(opts.loaded.config)) {
      if (opts.points && !opts.points.includes(p.id)) continue;
      const config = p.config;
      for (const seed of config.seeds) {
        if (store.isDone(`run:${runIdFor(config, p.id, seed, opts.loaded.dir)}`)) continue;
        // With acceptStale the runner reuses a finished run made by other code: nothing to do.
        if (opts.acceptStale && staleRun(store, config, p.id, seed, opts.loaded.dir) !== null) continue;
        const pctx = { config, configDir: opts.loaded.dir, cacheRoot: resolveCacheRoot({ resultsRoot: opts.root }) };
        const inputs = runInputs(pctx, seed);
        const contents = inputsHash(config, opts.loaded.dir);
        const label = runLabel(config, p.id, seed);
        const run: RunRef = { root: opts.root, loaded: opts.loaded, config, sweepId: p.id, seed };
        const keyOf = new Map<SourceVariant['kind'], string>();
        for (const v of inputs.variants) {
          const key = sourceModelKey({ config, codeHash: code }, v, seed);
          keyOf.set(v.kind, key);
          const data: SourceJobData = {
            kind: 'source',
            config,
            configDir: opts.loaded.dir,
            seed,
            codeHash: code,
            label: `${label} source ${v.kind}`,
            variantKind: v.kind,
            key,
          };
          const id = jobIdOf(data);
          const known = sources.get(id);
          if (known) known.runs!.push(run);
          else sources.set(id, { id, data, needs: [], runs: [run] });
        }
        const modes = config.transfer.modes as TransferMode[];
        config.targets.forEach((t, targetIndex) => {
          const add = (mode: TransferMode, sourceKind: 'biased' | 'clean' | null) => {
            const sourceKey = sourceKind === null ? null : keyOf.get(sourceKind)!;
            const data: TransferJobData = {
              kind: 'transfer',
              config,
              configDir: opts.loaded.dir,
              seed,
              codeHash: code,
              label: `${label} ${t.name}/${sourceKind === null ? 'scratch' : `${sourceKind}/${mode}`}`,
              targetIndex,
              mode,
              sourceKind,
              sourceKey,
              inputs: contents,
            };
            const id = jobIdOf(data);
            if (!transfers.has(id)) transfers.set(id, { id, data, needs: sourceKey === null ? [] : [sourceJobId(sourceKey)], runs: [run] });
          };
          if (modes.includes('scratch')) add('scratch', null);
          for (const v of inputs.variants) for (const m of modes) if (m !== 'scratch') add(m, v.kind);
        });
      }
    }
  } finally {
    store.close();
  }
  return [...sources.values(), ...transfers.values()];
}

/** Adds a job unless it exists; a job that failed for good in an earlier submission is retried once more. */
async function ensureAdded(queue: Queue, j: PlannedJob): Promise<void> {
  const existing = await queue.getJob(j.id);
  if (!existing) {
    await queue.add(j.data.kind, j.data, { ...jobOptions(), jobId: j.id });
    return;
  }
  if ((await existing.getState()) === 'failed') await existing.retry('failed');
}

/** Options of `driveJobs`. */
export interface DriveOptions {
  /** Called about every `pollMs` with the counts and the running jobs' progress. */
  onStatus?: (counts: QueueCounts, running: JobProgress[]) => void;
  /** Milliseconds between two looks at the queue (default 500). */
  pollMs?: number;
  /** Called with each running job and its latest progress (e.g. `ProgressRelay.relay`). */
  onJobProgress?: (job: PlannedJob, progress: JobProgress) => void;
}

/** Thrown when a job of a submission failed for good; names the job and carries its error. */
export class QueueJobError extends Error {
  constructor(
    readonly jobId: string,
    readonly label: string,
    readonly reason: string,
    readonly attempts: number,
  ) {
    super(`job '${label}' (${jobId}) failed after ${attempts} attempt(s): ${reason}`);
    this.name = 'QueueJobError';
  }
}

/**
 * Adds the planned jobs in dependency order and waits until all have completed; throws a
 * `QueueJobError` as soon as one has failed for good. Survives a Redis restart (commands wait
 * for the connection to come back).
 */
export async function driveJobs(queue: Queue, plan: readonly PlannedJob[], opts: DriveOptions = {}): Promise<void> {
  const pollMs = opts.pollMs ?? 500;
  const done = new Set<string>();
  const added = new Set<string>();
  const failed = new Set<string>();
  for (;;) {
    for (const j of plan) {
      if (added.has(j.id) || !j.needs.every((n) => done.has(n))) continue;
      await ensureAdded(queue, j);
      added.add(j.id);
    }
    const counts: QueueCounts = { queued: 0, running: 0, done: 0, failed: 0 };
    const running: JobProgress[] = [];
    for (const j of plan) {
      if (done.has(j.id)) {
        counts.done++;
        continue;
      }
      if (!added.has(j.id)) {
        counts.queued++;
        continue;
      }
      const state = await queue.getJobState(j.id);
      if (state === 'completed') {
        done.add(j.id);
        counts.done++;
        // Its last events (a short job may finish between two looks).
        if (opts.onJobProgress !== undefined) {
          const p = (await queue.getJob(j.id))?.progress as JobProgress | number | undefined;
          if (typeof p === 'object' && p !== null) opts.onJobProgress(j, p);
        }
      } else if (state === 'failed') {
        const job = await queue.getJob(j.id);
        failed.add(j.id);
        counts.failed++;
        opts.onStatus?.(counts, running);
        throw new QueueJobError(j.id, j.data.label, job?.failedReason ?? 'unknown error', job?.attemptsMade ?? 0);
      } else if (state === 'active') {
        counts.running++;
        const job = await queue.getJob(j.id);
        const p = job?.progress as JobProgress | number | undefined;
        running.push(typeof p === 'object' && p !== null ? p : { label: j.data.label, kind: 'preparing' });
        if (typeof p === 'object' && p !== null) opts.onJobProgress?.(j, p);
      } else if (state === 'unknown') {
        // Gone (removed by hand, or Redis lost it): add it again.
        added.delete(j.id);
        counts.queued++;
      } else counts.queued++;
    }
    opts.onStatus?.(counts, running);
    if (done.size === plan.length) return;
    await new Promise((r) => setTimeout(r, pollMs));
  }
}

/** Waits until job `id` has completed (adding it from `data` if missing) and returns it. */
async function completedJob(queue: Queue, id: string, data: QueueJobData, pollMs = 500): Promise<Job> {
  await driveJobs(queue, [{ id, data, needs: [] }], { pollMs });
  const job = await Job.fromId(queue, id);
  if (!job) throw new Error(`job ${id} completed but is gone from the queue`);
  return job;
}

/**
 * The executor whose jobs are done by the queue's workers: each returns the completed job's
 * result, written into the results root exactly where and as `sourceModel` / `transferJob`
 * would have written it.
 */
export function queueJobs(queue: Queue, redis: Redis, configDir: string): JobExecutor {
  const code = codeHash();
  return {
    async source(ctx: JobContext, variant: SourceVariant, seed: number): Promise<SourceModelInfo> {
      const key = sourceModelKey(ctx, variant, seed);
      const hit = ctx.store.cache.get(key);
      if (hit) return { ...(hit.info.info as SourceModelInfo), weights: join(hit.dir, 'model.safetensors') };
      const data: SourceJobData = {
        kind: 'source',
        config: ctx.config,
        configDir,
        seed,
        codeHash: code,
        label: `${ctx.config.name} seed${seed} source ${variant.kind}`,
        variantKind: variant.kind,
        key,
      };
      const job = await completedJob(queue, sourceJobId(key), data);
      const result = job.returnvalue as SourceJobResult;
      const bytes = await getSourceWeights(redis, key);
      const entry = await ctx.store.cache.put(
        key,
        (tmp) => {
          writeFileSync(join(tmp, 'model.safetensors'), bytes);
          writeFileSync(join(tmp, 'train.json'), JSON.stringify(result.info.train, null, 1));
        },
        result.info,
      );
      ctx.log(`source ${variant.kind}: model ${key} from the queue (${bytes.length} bytes)`);
      return { ...result.info, weights: join(entry.dir, 'model.safetensors') };
    },
    async transfer(ctx: JobContext, o): Promise<TransferJobResult> {
      const resultPath = join(o.dir, 'result.json');
      if (existsSync(resultPath)) {
        return JSON.parse(readFileSync(resultPath, 'utf-8')) as TransferJobResult;
      }
      const targetIndex = ctx.config.targets.findIndex((t) => t.name === o.target.name);
      const base = {
        config: ctx.config,
        seed: o.seed,
        targetIndex,
        mode: o.mode,
        sourceKind: o.sourceKind,
        sourceKey: o.source?.key ?? null,
        inputs: inputsHash(ctx.config, configDir),
      };
      const data: TransferJobData = {
        kind: 'transfer',
        ...base,
        configDir,
        codeHash: code,
        label: `${ctx.config.name} seed${o.seed} ${o.job}`,
      };
      const job = await completedJob(queue, transferJobId({ ...base, codeHash: code }), data);
      // The job's own name (`o.job`) in place of the worker's label; every other field as the worker computed it.
      const out = { ...(job.returnvalue as TransferJobResult), job: o.job };
      mkdirSync(o.dir, { recursive: true });
      writeJsonAtomic(resultPath, out);
      return out;
    },
  };
}

/** Options of `runExperimentOnQueue`. */
export interface QueueRunOptions extends RunExperimentOptions {
  /** Redis URL of the queue (password from the URL or BIAS_TRANSFER_REDIS_PASSWORD). */
  url: string;
  /** Live status line (default: a printer on stderr); pass `() => {}` to stay quiet. */
  onStatus?: DriveOptions['onStatus'];
  pollMs?: number;
  env?: NodeJS.ProcessEnv;
}

/**
 * Runs an experiment on the queue's workers and writes the results root, index and report
 * inputs as `runExperiment` does locally (same numbers, bit for bit, for the same config).
 *
 * @example await runExperimentOnQueue({ url: 'redis://10.0.0.5:6379', loaded: loadConfig('experiments/backdoor.yaml'), root: 'runs' });
 */
export async function runExperimentOnQueue(opts: QueueRunOptions): Promise<ExperimentOutcome> {
  const t0 = Date.now();
  const log = opts.log ?? ((l: string) => process.stderr.write(`${l}\n`));
  const queue = openQueue(opts.url, opts.env);
  queue.on('error', () => {});
  const redis = new Redis(redisOptions(opts.url, opts.env));
  redis.on('error', () => {});
  let printer: ReturnType<typeof createQueueStatusPrinter> | null = null;
  const onStatus =
    opts.onStatus ??
    ((c: QueueCounts, r: JobProgress[]) => {
      printer ??= createQueueStatusPrinter();
      printer.update(c, r, (Date.now() - t0) / 1000);
    });
  const relay = new ProgressRelay({ onError: (e) => log(`progress log not written: ${e.message}`) });
  try {
    const plan = planJobs(opts);
    log(`${opts.loaded.config.name}: ${plan.length} job(s) to do on ${redactRedisUrl(opts.url)}`);
    if (plan.length > 0) await driveJobs(queue, plan, { onStatus, pollMs: opts.pollMs, onJobProgress: relayTo(relay) });
    (printer as ReturnType<typeof createQueueStatusPrinter> | null)?.end();
    const r = await runExperiment({ ...opts, executor: queueJobs(queue, redis, opts.loaded.dir) });
    return { ...r, seconds: (Date.now() - t0) / 1000 };
  } finally {
    relay.close();
    (printer as ReturnType<typeof createQueueStatusPrinter> | null)?.end();
    await queue.close().catch(() => {});
    redis.disconnect();
  }
}

/** `driveJobs`'s `onJobProgress` that hands each job's progress to `relay` for its runs. */
function relayTo(relay: ProgressRelay): (job: PlannedJob, p: JobProgress) => void {
  return (job, p) => relay.relay(job.id, job.runs ?? [], p);
}

/**
 * Has the workers do every job of several experiments at once (their plans joined, so no worker
 * idles between one experiment's last jobs and the next's first); `runExperimentOnQueue` on each
 * afterwards only collects the results.
 */
export async function driveExperiments(
  url: string,
  items: readonly Pick<RunExperimentOptions, 'loaded' | 'root' | 'points' | 'acceptStale'>[],
  opts: Pick<QueueRunOptions, 'onStatus' | 'pollMs' | 'env' | 'log'> = {},
): Promise<void> {
  const t0 = Date.now();
  const queue = openQueue(url, opts.env);
  queue.on('error', () => {});
  let printer: ReturnType<typeof createQueueStatusPrinter> | null = null;
  const relay = new ProgressRelay({ onError: (e) => opts.log?.(`progress log not written: ${e.message}`) });
  try {
    const plan = new Map<string, PlannedJob>();
    for (const it of items)
      for (const j of planJobs(it)) {
        // The same source job planned by two experiments reports to the runs of both.
        const known = plan.get(j.id);
        if (known) known.runs = [...(known.runs ?? []), ...(j.runs ?? [])];
        else plan.set(j.id, j);
      }
    opts.log?.(`${plan.size} job(s) to do on ${redactRedisUrl(url)}`);
    await driveJobs(queue, [...plan.values()], {
      pollMs: opts.pollMs,
      onJobProgress: relayTo(relay),
      onStatus:
        opts.onStatus ??
        ((c, r) => {
          printer ??= createQueueStatusPrinter();
          printer.update(c, r, (Date.now() - t0) / 1000);
        }),
    });
  } finally {
    relay.close();
    (printer as ReturnType<typeof createQueueStatusPrinter> | null)?.end();
    await queue.close().catch(() => {});
  }
}
