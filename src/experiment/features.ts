/**
 * Cached backbone features for fixed-feature transfer (issue 17, item 5). When a fixed-mode job
 * keeps BatchNorm frozen (`transfer.bnTrainInFixed: false`) and the target is not augmented, the
 * frozen backbone is a fixed function of each image: its features of every target image (the
 * training set and each evaluation condition: clean, triggered, patched, ...) are computed once
 * and every fixed-mode head that needs them (seeds sharing a source, sweep points over weight
 * decay, learning rate, epochs, ...) trains and is evaluated on them instead of re-running the
 * backbone every epoch.
 *
 * Cached by content, like source models: the key is the digest of the source model's weights, the
 * dataset's digest (its pixels and labels), the normalisation and geometry of the batch spec, and
 * the code version; kept in memory within a process and on disk under the results root
 * (ROOT/cache/models/<key>/features.safetensors, written atomically by the model cache).
 *
 * The paper-like default (`bnTrainInFixed: true`, BatchNorm adapting in fixed mode) is not cached
 * and cannot be: there BatchNorm normalises each image with its training batch's statistics and
 * updates its running statistics every step, so the features depend on the batch and change as
 * training goes (src/train/features.ts says the same).
 */
import { join } from 'node:path';
import { datasetDigest, type BatchSpec } from '../data/index.js';
import type { AnyDataset } from '../data/types.js';
import { fromTyped, loadSafetensors, saveSafetensors } from '../torch/index.js';
import { computeFeatures, type FeatureMatrix } from '../train/features.js';
import { parseTransferMode, type TransferMode } from '../train/transfer.js';
import { stableHash, type ExperimentConfig } from './config/index.js';
import type { RunStore } from '../store/index.js';

/**
 * The switch for cached features (default on). Off trains every fixed-mode head through the
 * backbone as before, for before/after comparisons (`npm run bench:fixed`) and tests; results
 * agree up to float rounding.
 */
export const featureCaching = { enabled: true };

/**
 * Whether a transfer job can train on cached features: fixed mode from a source, BatchNorm frozen
 * (`transfer.bnTrainInFixed: false`) and no target augmentation (crop padding 0, no flip), with
 * the switch on.
 */
export function usesCachedFeatures(config: ExperimentConfig, mode: TransferMode, hasSource: boolean): boolean {
  const a = config.targetTraining.augment;
  return (
    featureCaching.enabled &&
    hasSource &&
    parseTransferMode(mode).kind === 'fixed' &&
    !config.transfer.bnTrainInFixed &&
    a.cropPadding === 0 &&
    !a.hflip
  );
}

/** In-process memo: cache key → features, at most {@link MEMO_BYTES} in all (the oldest entry goes first). */
const memo = new Map<string, FeatureMatrix>();
/** Bytes of features kept in memory (512 MiB; e.g. 60,000 images x 512 features is 123 MB). */
const MEMO_BYTES = 512 * 2 ** 20;
let memoBytes = 0;

/**
 * The cache key of a dataset's features under a backbone: digests of the weights and the data,
 * the spec's normalisation and geometry, and the code version.
 */
export function featuresKey(weights: string, ds: AnyDataset, spec: BatchSpec, codeHash: string): string {
  return stableHash({
    kind: 'backbone-features',
    weights,
    data: datasetDigest(ds),
    spec: { mean: spec.mean, std: spec.std, size: spec.size ?? null, channels: spec.channels ?? null },
    code: codeHash,
  }).slice(0, 32);
}

/**
 * The backbone's features of `ds` (dataset order), from memory, from the results root's cache,
 * or computed by `backbone` (the caller has put the model in evaluation mode) and then stored in
 * both. `weights` is the digest of the source model's weights (jobs.ts `weightsHash`).
 */
export async function cachedFeatures(
  ctx: { store: RunStore; codeHash: string; root: string; log: (line: string) => void },
  weights: string,
  backbone: Parameters<typeof computeFeatures>[0],
  ds: AnyDataset,
  spec: BatchSpec,
): Promise<FeatureMatrix> {
  const key = featuresKey(weights, ds, spec, ctx.codeHash);
  const memoKey = `${ctx.root}\0${key}`;
  const hit = memo.get(memoKey);
  if (hit) return hit;
  let f: FeatureMatrix;
  const entry = ctx.store.cache.get(key);
  if (entry) {
    const st = loadSafetensors(join(entry.dir, 'features.safetensors'));
    try {
      const t = st.tensors.get('features');
      if (t === undefined || t.ndim !== 2) throw new Error(`${entry.dir}/features.safetensors: no [n, dim] tensor 'features'`);
      f = { n: t.size(0), dim: t.size(1), data: t.toFloat32Array() };
    } finally {
      for (const t of st.tensors.values()) t.dispose();
    }
  } else {
    f = computeFeatures(backbone, ds, spec);
    const computed = f;
    await ctx.store.cache.put(
      key,
      (tmp) => {
        const t = fromTyped(computed.data, [computed.n, computed.dim]);
        try {
          saveSafetensors(join(tmp, 'features.safetensors'), { features: t });
        } finally {
          t.dispose();
        }
      },
      { kind: 'backbone-features', weights, n: f.n, dim: f.dim },
    );
    ctx.log(`features ${key}: ${f.n} images x ${f.dim} computed and cached`);
  }
  memo.set(memoKey, f);
  memoBytes += f.data.byteLength;
  for (const [k, old] of memo) {
    if (memoBytes <= MEMO_BYTES || k === memoKey) break;
    memo.delete(k);
    memoBytes -= old.data.byteLength;
  }
  return f;
}
