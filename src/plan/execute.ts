/**
 * Executing one job spec: the spec's run data (./data.ts, shared with the other jobs of its run)
 * and the experiment's job functions (`sourceModel`, `targetFeaturesJob`, `transferJob` in
 * src/experiment/jobs.ts). Every executor calls these — the in-process one (./executor.ts) and a
 * queue worker (src/queue/worker.ts) — so a job gives the same numbers wherever it runs. Nothing
 * here plans: the ids, keys and inputs hash come with the spec.
 */
import {
  sourceModel,
  sourceModelKey,
  targetFeaturesJob,
  transferJob,
  type JobContext,
  type SourceModelInfo,
  type TransferJobResult,
} from '../experiment/jobs.js';
import type { SourceVariant } from '../experiment/prepare.js';
import { featureKeyList } from '../experiment/features.js';
import type { RunStore } from '../store/index.js';
import type { ProgressEvent } from '../train/trainer.js';
import { runData } from './data.js';
import {
  transferJobName,
  type FeaturesJobResult,
  type FeaturesJobSpec,
  type JobSpec,
  type SourceJobSpec,
  type TransferJobSpec,
} from './spec.js';

/** Where a job runs: a results root (its model cache, claims, checkpoints) and where its lines and progress go. */
export interface JobEnv {
  store: RunStore;
  /**
   * Where streamed folders' shard caches and file-digest memos live on this machine: the plan's
   * (`Plan.cacheRoot`) in the planning process, the worker's own on a queue worker. Resolved once
   * by whoever makes the env, never here.
   */
  cacheRoot: string;
  log: (line: string) => void;
  onProgress: (label: string, e: ProgressEvent) => void;
}

function contextOf(spec: JobSpec, env: JobEnv): JobContext {
  return { config: spec.config, root: env.store.root, store: env.store, codeHash: spec.codeHash, onProgress: env.onProgress, log: env.log };
}

/**
 * The source variant a source job trains, checked against the spec: its cache key computed from
 * the data built here must equal the planner's (else the data here differs). Throws otherwise.
 */
export function sourceVariantOf(spec: SourceJobSpec, cacheRoot: string): SourceVariant {
  const v = runData({ ...spec, cacheRoot })
    .inputs()
    .variants.find((x) => x.kind === spec.variantKind);
  if (!v) throw new Error(`the config has no '${spec.variantKind}' source variant`);
  const key = sourceModelKey({ config: spec.config, codeHash: spec.codeHash }, v, spec.seed);
  if (key !== spec.key) throw new Error(`source model key ${key} differs from the planner's ${spec.key} (other data here?)`);
  return v;
}

/** Does a source job: the trained (or cached) source model of its variant, in `env`'s model cache. */
export async function executeSource(spec: SourceJobSpec, env: JobEnv): Promise<SourceModelInfo> {
  const variant = sourceVariantOf(spec, env.cacheRoot);
  const inputs = runData({ ...spec, cacheRoot: env.cacheRoot }).inputs();
  return sourceModel(contextOf(spec, env), variant, spec.seed, inputs.norm, inputs.sourceTest);
}

/**
 * The sizes of a features job's feature sets when every one is in `env`'s model cache already
 * (a second run sharing the job, a resumed run), else null: then the job builds no data.
 */
function cachedSizes(spec: FeaturesJobSpec, env: JobEnv): Record<string, { n: number; dim: number }> | null {
  const sizes: Record<string, { n: number; dim: number }> = {};
  for (const key of featureKeyList(spec.keys)) {
    const info = env.store.cache.get(key)?.info.info as { n?: unknown; dim?: unknown } | null | undefined;
    if (typeof info?.n !== 'number' || typeof info.dim !== 'number') return null;
    sizes[key] = { n: info.n, dim: info.dim };
  }
  return sizes;
}

/**
 * Does a features job from `source` (its source job's model, weights in `env`'s model cache):
 * the backbone's features of the target's training set and every evaluation condition, in
 * `env`'s model cache under the planned keys (computed here only when not there yet; when all
 * are, nothing is built). Throws
 * when the source is not the one the planner keyed the features by, or the data here gives
 * other keys.
 */
export async function executeFeatures(spec: FeaturesJobSpec, env: JobEnv, source: SourceModelInfo): Promise<FeaturesJobResult> {
  if (source.key !== spec.weights)
    throw new Error(`${spec.label}: the source model given is ${source.key}, the planner keyed the features by ${spec.weights}`);
  const cached = cachedSizes(spec, env);
  if (cached !== null) return { keys: spec.keys, sizes: cached };
  const data = runData({ ...spec, cacheRoot: env.cacheRoot });
  const inputs = data.inputs();
  const sizes = await targetFeaturesJob(contextOf(spec, env), {
    source,
    target: data.target(spec.targetIndex),
    keys: spec.keys,
    norm: inputs.norm,
    geometry: inputs.geometry,
  });
  return { keys: spec.keys, sizes };
}

/**
 * Does a transfer job from `source` (null for scratch; its weights in `env`'s model cache) and
 * saves its result in `dir` (a finished result there is reused). A job that trains on cached
 * features (`spec.features`) finds them in `env`'s model cache, put there by its features job.
 */
export async function executeTransfer(
  spec: TransferJobSpec,
  env: JobEnv,
  source: SourceModelInfo | null,
  dir: string,
): Promise<TransferJobResult> {
  if ((source === null) !== (spec.sourceKey === null))
    throw new Error(`${spec.label}: ${spec.sourceKey === null ? 'a scratch job was given a source model' : 'no source model given'}`);
  const data = runData({ ...spec, cacheRoot: env.cacheRoot });
  const inputs = data.inputs();
  return transferJob(contextOf(spec, env), {
    dir,
    job: transferJobName(spec),
    mode: spec.mode,
    source,
    sourceKind: spec.sourceKind,
    target: data.target(spec.targetIndex),
    seed: spec.seed,
    norm: inputs.norm,
    geometry: inputs.geometry,
    ...(spec.features !== undefined ? { features: spec.features } : {}),
  });
}
