/**
 * A queue worker in the shape BullMQ documents: one processor per job kind (`source`,
 * `features`, `transfer`), each idempotent (a retried job gives the same result: the data fixes every seed,
 * and finished work in the worker's scratch folder is reused), its progress reported through the
 * job, its artefacts written atomically (the scratch model cache renames finished entries into
 * place; weights and features go to Redis in one SET each).
 *
 * A job's data is a job spec of the plan (src/plan/spec.ts); the processors hand it to the same
 * `executeSource` / `executeFeatures` / `executeTransfer` as the in-process executor (src/plan/execute.ts), with the
 * run's data built once per run and kept for its next jobs (src/plan/data.ts), so a job gives the
 * numbers a local run gives. A worker never plans: ids, keys and the inputs hash come with the spec.
 *
 * A worker's scratch folder is a results root of its own (model cache, claims, checkpoints of
 * unfinished jobs; streamed folders' shard caches under `resolveCacheRoot({ resultsRoot:
 * scratch })`, resolved once when the worker starts): workers on other machines share nothing
 * but Redis.
 */
import { resolveCacheRoot } from '../data/index.js';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { UnrecoverableError, Worker, type Job, type Queue } from 'bullmq';
import { Redis } from 'ioredis';
import type { SourceModelInfo } from '../experiment/jobs.js';
import { inputsHash } from '../experiment/inputs.js';
import { codeHash } from '../experiment/run-ids.js';
import { stableHash } from '../experiment/config/index.js';
import { openStore, type RunStore } from '../store/index.js';
import { featureKeyList, type FeatureKeys } from '../experiment/features.js';
import {
  executeFeatures,
  executeSource,
  executeTransfer,
  featuresJobId,
  runData,
  sourceJobId,
  sourceVariantOf,
  type FeaturesJobResult,
  type FeaturesJobSpec,
  type JobEnv,
  type JobSpec,
  type SourceJobSpec,
  type TransferJobSpec,
} from '../plan/index.js';
import { getNumThreads, setNumThreads } from '../torch/index.js';
import type { ProgressEvent } from '../train/trainer.js';
import { getFeatures, getSourceWeights, putFeatures, putSourceWeights } from './artefacts.js';
import type { SourceJobResult, TransferJobReturn } from './jobs.js';
import { QUEUE_NAME, KEY_PREFIX, openQueue, redactRedisUrl, redisOptions } from './names.js';

/** The progress a running job reports (`job.progress`), shown by submitters and dashboards. */
export interface JobProgress {
  label: string;
  /** 'step' | 'eval' | 'epoch' | 'done' of the trainer, or 'preparing' before training starts. */
  kind: string;
  epoch?: number;
  epochs?: number;
  step?: number;
  stepsPerEpoch?: number;
  loss?: number;
  /** Number of progress events the job has reported so far (the last is `recent`'s last). */
  seq?: number;
  /**
   * The job's last progress events (up to 32, oldest first) with their trainer labels, so a
   * submitter polling every half second misses none and can append them to the run's
   * logs/progress.jsonl (followed live by `serve`).
   */
  recent?: { seq: number; label: string; event: ProgressEvent }[];
}

/** Options of `startWorker`. */
export interface WorkerOptions {
  /** Redis URL (password from the URL or BIAS_TRANSFER_REDIS_PASSWORD). */
  url: string;
  /** Scratch folder: this worker's own results root (model cache, checkpoints). */
  scratch: string;
  /** libtorch threads for jobs whose config leaves `threads` null (default: the current setting). */
  threads?: number;
  /**
   * Seconds a job's lock lives without renewal (BullMQ lockDuration; default 30). A worker that
   * dies loses its lock after this long and its job goes to another worker (stalled-job check
   * every half of it).
   */
  lockSeconds?: number;
  /** Log lines (default stderr). */
  log?: (line: string) => void;
  /** Environment for the password (default process.env). */
  env?: NodeJS.ProcessEnv;
}

/** A running worker. */
export interface RunningWorker {
  readonly worker: Worker;
  /** Stops taking jobs; `force` abandons the running one (another worker retries it). */
  close(force?: boolean): Promise<void>;
}

/** An error that a retry cannot change (bad config value, missing dataset, other code): fails the job at once. */
function deterministic(label: string, e: unknown): UnrecoverableError {
  return new UnrecoverableError(`${label}: ${e instanceof Error ? e.message : String(e)}`);
}

/** Runs `fn`, turning any error into one that is not retried (for the steps that only read the config and data). */
function prepare<T>(label: string, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    throw deterministic(label, e);
  }
}

/** Most events a job's progress carries (`JobProgress.recent`). */
const RECENT_EVENTS = 32;

function progressReporter(job: Job, label: string): (l: string, e: ProgressEvent) => void {
  let last = 0;
  let seq = 0;
  const recent: NonNullable<JobProgress['recent']> = [];
  return (l, e) => {
    const now = Date.now();
    // Steps at most once a second; epochs, evaluations and the end always.
    if (e.kind === 'step' && now - last < 1000) return;
    last = now;
    seq++;
    recent.push({ seq, label: l, event: e });
    if (recent.length > RECENT_EVENTS) recent.shift();
    const p: JobProgress = {
      label,
      kind: e.kind,
      epoch: e.epoch,
      epochs: e.epochs,
      step: e.step,
      stepsPerEpoch: e.stepsPerEpoch,
      seq,
      recent,
    };
    if ('loss' in e && typeof e.loss === 'number') p.loss = e.loss;
    job.updateProgress(p as unknown as object).catch(() => {});
  };
}

interface ProcessorEnv {
  store: RunStore;
  /** This worker's cache folder of streamed folders (resolved once, when it starts). */
  cacheRoot: string;
  redis: Redis;
  queue: Queue;
  threads: number;
  log: (line: string) => void;
}

function envFor(env: ProcessorEnv, job: Job<JobSpec>): JobEnv {
  const d = job.data;
  return {
    store: env.store,
    cacheRoot: env.cacheRoot,
    onProgress: progressReporter(job, d.label),
    log: (line) => env.log(`[${d.label}] ${line}`),
  };
}

async function processSource(env: ProcessorEnv, job: Job<SourceJobSpec>): Promise<SourceJobResult> {
  const d = job.data;
  checkJobInputs(d, env.cacheRoot);
  // The data and the key check only read the config and files: an error there is not retried.
  prepare(d.label, () => sourceVariantOf(d, env.cacheRoot));
  const info = await executeSource(d, envFor(env, job));
  const bytes = readFileSync(info.weights);
  await putSourceWeights(env.redis, d.key, bytes);
  return { info: { ...info, weights: '' }, bytes: bytes.length };
}

/** The source model `key` of a job in this worker's cache, fetched from the artefact store if needed. */
async function localSource(env: ProcessorEnv, key: string, label: string): Promise<SourceModelInfo> {
  const hit = env.store.cache.get(key);
  if (hit) return { ...(hit.info.info as SourceModelInfo), weights: join(hit.dir, 'model.safetensors') };
  const parent = await env.queue.getJob(sourceJobId(key));
  const result = (parent?.returnvalue ?? null) as SourceJobResult | null;
  if (!result) throw new Error(`${label}: source job ${sourceJobId(key)} has not finished`);
  const bytes = await getSourceWeights(env.redis, key);
  // The cache writes into a private temp folder and renames it into place (atomic).
  const entry = await env.store.cache.put(key, (tmp) => writeFileSync(join(tmp, 'model.safetensors'), bytes), result.info);
  return { ...result.info, weights: join(entry.dir, 'model.safetensors') };
}

/** Inputs hashes this worker has checked, by config and folder: each config's files are hashed once per process. */
const checkedInputs = new Map<string, string>();

/**
 * Refuses (UnrecoverableError) a job whose data or files read differently here than on the
 * planner: its run id names the content of the planner's inputs (the spec's inputs hash), so a
 * worker with other files at the same paths would put other numbers under it. The hash is
 * computed once per config and folder in a worker process (not again for every job of a run),
 * with streamed folders' file digests memoised under `cacheRoot` (the worker's; default
 * `resolveCacheRoot()`). Returns it.
 */
export function checkJobInputs(d: JobSpec, cacheRoot?: string): string {
  const key = stableHash({ config: { ...d.config, seeds: [] }, dir: d.configDir });
  let here = checkedInputs.get(key);
  if (here === undefined) {
    here = prepare(d.label, () => inputsHash(d.config, d.configDir, cacheRoot));
    checkedInputs.set(key, here);
    while (checkedInputs.size > 64) checkedInputs.delete(checkedInputs.keys().next().value!);
  }
  if (here !== d.inputs)
    throw new UnrecoverableError(
      `${d.label}: the data or files this worker reads under ${d.configDir} differ from the submitter's (inputs hash ${here}, submitter ${d.inputs}); give every worker the same files`,
    );
  return here;
}

async function processFeatures(env: ProcessorEnv, job: Job<FeaturesJobSpec>): Promise<FeaturesJobResult> {
  const d = job.data;
  checkJobInputs(d, env.cacheRoot);
  // Streamed datasets: this worker's cache, built from the same content digest.
  prepare(d.label, () => runData({ ...d, cacheRoot: env.cacheRoot }).target(d.targetIndex));
  const source = await localSource(env, d.sourceKey, d.label);
  const result = await executeFeatures(d, envFor(env, job), source);
  // Into the artefact store, for the transfer jobs that other workers do.
  for (const key of featureKeyList(d.keys)) {
    const entry = env.store.cache.get(key);
    if (!entry) throw new Error(`${d.label}: features ${key} are not in the model cache after the job`);
    await putFeatures(env.redis, key, readFileSync(join(entry.dir, 'features.safetensors')));
  }
  return result;
}

/** The features a transfer job trains on, in this worker's cache: fetched from the artefact store where missing. */
async function localFeatures(env: ProcessorEnv, d: TransferJobSpec & { features: FeatureKeys }): Promise<void> {
  const missing = featureKeyList(d.features).filter((k) => {
    const hit = env.store.cache.get(k);
    return !hit || !existsSync(join(hit.dir, 'features.safetensors'));
  });
  if (missing.length === 0) return;
  const id = featuresJobId(d.features);
  const parent = (await env.queue.getJob(id))?.returnvalue as FeaturesJobResult | null | undefined;
  if (!parent) throw new Error(`${d.label}: features job ${id} has not finished`);
  for (const key of missing) {
    const bytes = await getFeatures(env.redis, key);
    // The cache writes into a private temp folder and renames it into place (atomic).
    await env.store.cache.put(key, (tmp) => writeFileSync(join(tmp, 'features.safetensors'), bytes), {
      kind: 'backbone-features',
      ...parent.sizes[key],
      from: id,
    });
  }
}

async function processTransfer(env: ProcessorEnv, job: Job<TransferJobSpec>): Promise<TransferJobReturn> {
  const d = job.data;
  checkJobInputs(d, env.cacheRoot);
  // Streamed datasets: this worker's cache ($BIAS_TRANSFER_CACHE, else under its results root), built from the same content digest.
  prepare(d.label, () => runData({ ...d, cacheRoot: env.cacheRoot }).target(d.targetIndex));
  const source = d.sourceKey === null ? null : await localSource(env, d.sourceKey, d.label);
  if (d.features !== undefined) await localFeatures(env, { ...d, features: d.features });
  return executeTransfer(d, envFor(env, job), source, join(env.store.root, 'queue-jobs', job.id!));
}

/**
 * The processor of every bias-transfer job: checks the job was made by the same code, sets the
 * thread count, and runs the processor of its kind.
 */
export function makeProcessor(env: ProcessorEnv): (job: Job<JobSpec>) => Promise<SourceJobResult | FeaturesJobResult | TransferJobReturn> {
  return async (job) => {
    const d = job.data;
    if (d.codeHash !== codeHash())
      throw new UnrecoverableError(
        `${d.label}: this worker runs other code (src/ hash ${codeHash()}) than the submitter (${d.codeHash}); update it to the same version`,
      );
    setNumThreads(d.config.threads ?? env.threads);
    env.log(`start ${d.label} (job ${job.id}, attempt ${job.attemptsMade + 1})`);
    await job.updateProgress({ label: d.label, kind: 'preparing' });
    const t0 = Date.now();
    const out =
      job.name === 'source'
        ? await processSource(env, job as Job<SourceJobSpec>)
        : job.name === 'features'
          ? await processFeatures(env, job as Job<FeaturesJobSpec>)
          : job.name === 'transfer'
            ? await processTransfer(env, job as Job<TransferJobSpec>)
            : (() => {
                throw new UnrecoverableError(`unknown job kind '${job.name}' (expected source, features or transfer)`);
              })();
    env.log(`done ${d.label} in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    return out;
  };
}

/**
 * Starts a worker on the queue at `url`: one job at a time (a process's libtorch threads are its
 * parallelism; run more processes for more), until `close()`.
 *
 * @example const w = await startWorker({ url: 'redis://10.0.0.5:6379', scratch: '/var/tmp/bt-worker' });
 */
export async function startWorker(opts: WorkerOptions): Promise<RunningWorker> {
  const log = opts.log ?? ((l: string) => process.stderr.write(`${l}\n`));
  mkdirSync(opts.scratch, { recursive: true });
  const store = openStore(opts.scratch);
  const connection = redisOptions(opts.url, opts.env);
  const redis = new Redis(connection);
  redis.on('error', () => {}); // reconnects by itself; BullMQ reports lasting trouble
  const threads = opts.threads ?? getNumThreads();
  const lockMs = Math.round((opts.lockSeconds ?? 30) * 1000);
  const queue = openQueue(opts.url, opts.env);
  queue.on('error', () => {});
  const env: ProcessorEnv = { store, cacheRoot: resolveCacheRoot({ resultsRoot: opts.scratch }), redis, queue, threads, log };
  const worker = new Worker<JobSpec>(QUEUE_NAME, makeProcessor(env), {
    connection,
    prefix: KEY_PREFIX,
    concurrency: 1,
    lockDuration: lockMs,
    stalledInterval: Math.max(1000, Math.round(lockMs / 2)),
    maxStalledCount: 3,
  });
  let lastError = '';
  worker.on('error', (e) => {
    // Connection trouble (e.g. Redis restarting) repeats every retry: print each distinct message once.
    if (e.message !== lastError) log(`worker: ${e.message}`);
    lastError = e.message;
  });
  worker.on('failed', (job, e) => job && log(`failed ${job.data.label}: ${e.message}`));
  await worker.waitUntilReady();
  log(`worker on ${redactRedisUrl(opts.url)} queue '${QUEUE_NAME}', scratch ${opts.scratch}, ${threads} thread(s)`);
  return {
    worker,
    async close(force = false) {
      await worker.close(force);
      await queue.close().catch(() => {});
      redis.disconnect();
      store.close();
    },
  };
}
