/**
 * A queue worker in the shape BullMQ documents: one processor per job kind (`source`,
 * `transfer`), each idempotent (a retried job gives the same result: the data fixes every seed,
 * and finished work in the worker's scratch folder is reused), its progress reported through the
 * job, its artefacts written atomically (the scratch model cache renames finished entries into
 * place; weights go to Redis in one SET).
 *
 * The processors call the experiment's own job functions (`sourceModel`, `transferJob`) on
 * inputs rebuilt from the job's config and seed (`runInputs`, `prepareTarget`), so a job gives
 * the numbers a local run gives.
 *
 * A worker's scratch folder is a results root of its own (model cache, claims, checkpoints of
 * unfinished jobs): workers on other machines share nothing but Redis.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { UnrecoverableError, Worker, type Job, type Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { sourceModel, sourceModelKey, transferJob, type JobContext, type SourceModelInfo } from '../experiment/jobs.js';
import { prepareTarget, type PrepareContext, type TargetData } from '../experiment/prepare.js';
import type { AnyDataset } from '../data/types.js';
import { resolveCacheRoot } from '../data/index.js';
import { inputsHash } from '../experiment/inputs.js';
import { codeHash, runInputs, type RunInputs } from '../experiment/runner.js';
import { stableHash } from '../experiment/config/index.js';
import { openStore, type RunStore } from '../store/index.js';
import { getNumThreads, setNumThreads } from '../torch/index.js';
import type { ProgressEvent } from '../train/trainer.js';
import { getSourceWeights, putSourceWeights } from './artefacts.js';
import {
  sourceJobId,
  type QueueJobData,
  type SourceJobData,
  type SourceJobResult,
  type TransferJobData,
  type TransferJobReturn,
} from './jobs.js';
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
  redis: Redis;
  queue: Queue;
  threads: number;
  log: (line: string) => void;
}

/**
 * The inputs of a run, kept for the next jobs of the same run (a worker usually gets several
 * jobs of one run in a row): the same pure function of the source config, seed, folder and the
 * content of the files they read (inputsHash: data changed in place is not served from memory).
 */
const inputsMemo = new Map<string, RunInputs>();
function memoRunInputs(pctx: PrepareContext, seed: number, inputs: string): RunInputs {
  const key = stableHash({ source: pctx.config.source, seed, dir: pctx.configDir, inputs });
  let v = inputsMemo.get(key);
  if (v === undefined) {
    v = runInputs(pctx, seed);
    inputsMemo.set(key, v);
    // A few runs' worth of datasets at most.
    while (inputsMemo.size > 2) inputsMemo.delete(inputsMemo.keys().next().value!);
  }
  return v;
}

/** A target's data and evaluation conditions, kept for the next jobs of the same run and target (the other modes and source variants). */
const targetMemo = new Map<string, TargetData>();
function memoTarget(pctx: PrepareContext, targetIndex: number, seed: number, sourceBase: AnyDataset, inputs: string): TargetData {
  const key = stableHash({
    config: { ...pctx.config, seeds: [seed] },
    targetIndex,
    seed,
    dir: pctx.configDir,
    inputs,
  });
  let v = targetMemo.get(key);
  if (v === undefined) {
    v = prepareTarget(pctx, targetIndex, seed, sourceBase);
    targetMemo.set(key, v);
    while (targetMemo.size > 2) targetMemo.delete(targetMemo.keys().next().value!);
  }
  return v;
}

function contextFor(env: ProcessorEnv, job: Job<QueueJobData>): { ctx: JobContext; pctx: PrepareContext } {
  const d = job.data;
  const ctx: JobContext = {
    config: d.config,
    root: env.store.root,
    store: env.store,
    codeHash: codeHash(),
    onProgress: progressReporter(job, d.label),
    log: (line) => env.log(`[${d.label}] ${line}`),
  };
  // Streamed datasets: this worker's cache ($BIAS_TRANSFER_CACHE, else under its results root), built from the same content digest.
  return { ctx, pctx: { config: d.config, configDir: d.configDir, cacheRoot: resolveCacheRoot({ resultsRoot: env.store.root }) } };
}

async function processSource(env: ProcessorEnv, job: Job<SourceJobData>): Promise<SourceJobResult> {
  const d = job.data;
  const { ctx, pctx } = contextFor(env, job);
  const inputs = prepare(d.label, () => memoRunInputs(pctx, d.seed, inputsHash(d.config, d.configDir)));
  const variant = prepare(d.label, () => {
    const v = inputs.variants.find((x) => x.kind === d.variantKind);
    if (!v) throw new Error(`the config has no '${d.variantKind}' source variant`);
    const key = sourceModelKey(ctx, v, d.seed);
    if (key !== d.key) throw new Error(`source model key ${key} differs from the submitter's ${d.key} (other data on this worker?)`);
    return v;
  });
  const info = await sourceModel(ctx, variant, d.seed, inputs.norm, inputs.sourceTest);
  const bytes = readFileSync(info.weights);
  await putSourceWeights(env.redis, d.key, bytes);
  return { info: { ...info, weights: '' }, bytes: bytes.length };
}

/** The source model of a transfer job in this worker's cache, fetched from the artefact store if needed. */
async function localSource(env: ProcessorEnv, job: Job<TransferJobData>): Promise<SourceModelInfo> {
  const key = job.data.sourceKey!;
  const hit = env.store.cache.get(key);
  if (hit) return { ...(hit.info.info as SourceModelInfo), weights: join(hit.dir, 'model.safetensors') };
  const parent = await env.queue.getJob(sourceJobId(key));
  const result = (parent?.returnvalue ?? null) as SourceJobResult | null;
  if (!result) throw new Error(`${job.data.label}: source job ${sourceJobId(key)} has not finished`);
  const bytes = await getSourceWeights(env.redis, key);
  // The cache writes into a private temp folder and renames it into place (atomic).
  const entry = await env.store.cache.put(key, (tmp) => writeFileSync(join(tmp, 'model.safetensors'), bytes), result.info);
  return { ...result.info, weights: join(entry.dir, 'model.safetensors') };
}

/**
 * Refuses (UnrecoverableError) a transfer job whose data or files read differently here than on
 * the submitter: its run id names the content of the submitter's inputs (inputsHash), so a
 * worker with other files at the same paths would put other numbers under it. Returns the hash.
 */
export function checkJobInputs(d: TransferJobData): string {
  const here = prepare(d.label, () => inputsHash(d.config, d.configDir));
  if (here !== d.inputs)
    throw new UnrecoverableError(
      `${d.label}: the data or files this worker reads under ${d.configDir} differ from the submitter's (inputs hash ${here}, submitter ${d.inputs}); give every worker the same files`,
    );
  return here;
}

async function processTransfer(env: ProcessorEnv, job: Job<TransferJobData>): Promise<TransferJobReturn> {
  const d = job.data;
  const { ctx, pctx } = contextFor(env, job);
  const here = checkJobInputs(d);
  const inputs = prepare(d.label, () => memoRunInputs(pctx, d.seed, here));
  const target = prepare(d.label, () => memoTarget(pctx, d.targetIndex, d.seed, inputs.sourceBase, here));
  const source = d.sourceKey === null ? null : await localSource(env, job);
  return transferJob(ctx, {
    dir: join(env.store.root, 'queue-jobs', job.id!),
    job: d.label,
    mode: d.mode,
    source,
    sourceKind: d.sourceKind,
    target,
    seed: d.seed,
    norm: inputs.norm,
    geometry: inputs.geometry,
  });
}

/**
 * The processor of every bias-transfer job: checks the job was made by the same code, sets the
 * thread count, and runs the processor of its kind.
 */
export function makeProcessor(env: ProcessorEnv): (job: Job<QueueJobData>) => Promise<SourceJobResult | TransferJobReturn> {
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
        ? await processSource(env, job as Job<SourceJobData>)
        : job.name === 'transfer'
          ? await processTransfer(env, job as Job<TransferJobData>)
          : (() => {
              throw new UnrecoverableError(`unknown job kind '${job.name}' (expected source or transfer)`);
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
  const env: ProcessorEnv = { store, redis, queue, threads, log };
  const worker = new Worker<QueueJobData>(QUEUE_NAME, makeProcessor(env), {
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
