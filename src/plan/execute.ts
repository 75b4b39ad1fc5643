/**
 * Executing one job spec: the spec's run data (./data.ts, shared with the other jobs of its run)
 * and the experiment's job functions (`sourceModel`, `transferJob` in src/experiment/jobs.ts).
 * Every executor calls these — the in-process one (./executor.ts) and a queue worker
 * (src/queue/worker.ts) — so a job gives the same numbers wherever it runs. Nothing here plans:
 * the ids, keys and inputs hash come with the spec.
 */
import { resolveCacheRoot } from '../data/index.js';
import {
  sourceModel,
  sourceModelKey,
  transferJob,
  type JobContext,
  type SourceModelInfo,
  type TransferJobResult,
} from '../experiment/jobs.js';
import type { SourceVariant } from '../experiment/prepare.js';
import type { RunStore } from '../store/index.js';
import type { ProgressEvent } from '../train/trainer.js';
import { runData } from './data.js';
import { transferJobName, type SourceJobSpec, type TransferJobSpec } from './spec.js';

/** Where a job runs: a results root (its model cache, claims, checkpoints) and where its lines and progress go. */
export interface JobEnv {
  store: RunStore;
  log: (line: string) => void;
  onProgress: (label: string, e: ProgressEvent) => void;
}

function contextOf(spec: SourceJobSpec | TransferJobSpec, env: JobEnv): JobContext {
  return { config: spec.config, root: env.store.root, store: env.store, codeHash: spec.codeHash, onProgress: env.onProgress, log: env.log };
}

/**
 * The source variant a source job trains, checked against the spec: its cache key computed from
 * the data built here must equal the planner's (else the data here differs). Throws otherwise.
 */
export function sourceVariantOf(spec: SourceJobSpec, cacheRoot?: string): SourceVariant {
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
  const cacheRoot = resolveCacheRoot({ resultsRoot: env.store.root });
  const variant = sourceVariantOf(spec, cacheRoot);
  const inputs = runData({ ...spec, cacheRoot }).inputs();
  return sourceModel(contextOf(spec, env), variant, spec.seed, inputs.norm, inputs.sourceTest);
}

/**
 * Does a transfer job from `source` (null for scratch; its weights in `env`'s model cache) and
 * saves its result in `dir` (a finished result there is reused).
 */
export async function executeTransfer(
  spec: TransferJobSpec,
  env: JobEnv,
  source: SourceModelInfo | null,
  dir: string,
): Promise<TransferJobResult> {
  if ((source === null) !== (spec.sourceKey === null))
    throw new Error(`${spec.label}: ${spec.sourceKey === null ? 'a scratch job was given a source model' : 'no source model given'}`);
  const data = runData({ ...spec, cacheRoot: resolveCacheRoot({ resultsRoot: env.store.root }) });
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
  });
}
