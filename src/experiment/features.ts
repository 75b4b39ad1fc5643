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
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { datasetDigest, selectIndices, type BatchSpec } from '../data/index.js';
import { imageSize, isStreamed, type AnyDataset } from '../data/types.js';
import { createModel, Linear, loadModel, type Classifier, type ModelSpec } from '../nn/index.js';
import { fromTyped, loadSafetensors, manualSeed, serializeSafetensors, type Tensor } from '../torch/index.js';
import { accuracyOf } from '../train/data.js';
import { computeFeatures, type FeatureMatrix } from '../train/features.js';
import { predictLinear, trainLinearHead, type LinearHeadWeights } from '../train/head.js';
import { parseTransferMode, type TransferMode } from '../train/transfer.js';
import type { ProgressEvent, TrainResult, TrainSpec } from '../train/trainer.js';
import { stableHash, type ExperimentConfig } from './config/index.js';
import type { TargetData } from './prepare.js';
import type { RunStore } from '../store/index.js';

/**
 * The switch for cached features (default on). Off trains every fixed-mode head through the
 * backbone as before, for before/after comparisons (`npm run bench:fixed`) and tests; results
 * agree up to float rounding.
 */
export const featureCaching = { enabled: true };

/**
 * Whether a transfer job can train on cached features: fixed mode from a source, BatchNorm frozen
 * (`transfer.bnTrainInFixed: false`) and no target augmentation (crop padding 0, no flip, no
 * random resized crop), with the switch on.
 */
export function usesCachedFeatures(config: ExperimentConfig, mode: TransferMode, hasSource: boolean): boolean {
  const a = config.targetTraining.augment;
  return (
    featureCaching.enabled &&
    hasSource &&
    parseTransferMode(mode).kind === 'fixed' &&
    !config.transfer.bnTrainInFixed &&
    a.cropPadding === 0 &&
    !a.hflip &&
    a.randomResizedCrop === undefined
  );
}

/**
 * The cache keys of one target's features under one source model: the training set's and each
 * evaluation condition's (by condition name, in the target's order). The planner computes them
 * once (`featureKeysOf`); a features job computes the features under them and the transfer jobs
 * that need them read them back.
 */
export interface FeatureKeys {
  train: string;
  conditions: Record<string, string>;
}

/** Every key of a {@link FeatureKeys}, the training set's first, then the conditions' in order. */
export function featureKeyList(k: FeatureKeys): string[] {
  return [k.train, ...Object.values(k.conditions)];
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
 * The {@link FeatureKeys} of a target under the weights `weights` identifies (the source model's
 * cache key, or `pretrained-<sha256>`), with the batch spec of its head training (no augmentation).
 */
export function featureKeysOf(weights: string, target: TargetData, spec: BatchSpec, codeHash: string): FeatureKeys {
  const conditions: Record<string, string> = {};
  for (const [name, ds] of target.conditions) conditions[name] = featuresKey(weights, ds, spec, codeHash);
  return { train: featuresKey(weights, target.train, spec, codeHash), conditions };
}

/**
 * Feature rows computed in this process, per scope (results root, backbone weights, code, batch
 * spec, image geometry): an image's pixels' id ({@link pixelsId}) → its features. Datasets that share
 * images then run the backbone only on the images not seen yet: a sweep over target size takes
 * the first 250, 500 and 1,000 images of one set, so the backbone sees 1,000 images, not 1,750.
 * At most {@link MEMO_BYTES} of rows per process (the table is emptied when it would overflow).
 */
const rowMemo = new Map<string, Map<string, Float32Array>>();
let rowBytes = 0;

/**
 * A 64-bit id of `length` pixels from `offset` (two independent 32-bit multiply-xorshift lanes
 * over 4-byte words, then the tail): for telling images apart within one process, where
 * `createHash` per image cost more than the backbone pass it saves (0.3 ms per image on a busy
 * machine). Two different images share an id with probability about 2^-64 per pair.
 */
function pixelsId(px: Uint8Array, offset: number, length: number): string {
  let a = 0x9e3779b1 ^ length;
  let b = 0x85ebca77 ^ Math.imul(length, 0x27d4eb2f);
  const end = offset + length;
  let i = offset;
  for (; i + 4 <= end; i += 4) {
    const w = px[i] | (px[i + 1] << 8) | (px[i + 2] << 16) | (px[i + 3] << 24);
    a = Math.imul(a ^ w, 0x2c1b3c6d);
    a ^= a >>> 15;
    b = Math.imul(b + w, 0x297a2d39) ^ (b >>> 13);
  }
  for (; i < end; i++) {
    a = Math.imul(a ^ px[i], 0x2c1b3c6d);
    b = Math.imul(b + px[i], 0x297a2d39) ^ (b >>> 13);
  }
  a = Math.imul(a ^ (a >>> 16), 0x85ebca6b);
  b = Math.imul(b ^ (b >>> 16), 0xc2b2ae35);
  return `${(a >>> 0).toString(36)}.${((b ^ (b >>> 13)) >>> 0).toString(36)}`;
}

/** The scope of {@link rowMemo} rows: everything but the pixels that determines an image's features. */
function rowScope(ctx: FeatureContext, weights: string, ds: AnyDataset, spec: BatchSpec): string {
  return stableHash({
    root: ctx.root,
    weights,
    code: ctx.codeHash,
    geometry: [ds.c, ds.h, ds.w],
    spec: { mean: spec.mean, std: spec.std, size: spec.size ?? null, channels: spec.channels ?? null },
  });
}

/**
 * Features of `ds` (dataset order), taking the rows of images already seen in `scope` from
 * {@link rowMemo} and running `backbone()` on the others only (the backbone is applied to each
 * image independently in evaluation mode, so a row does not depend on the other images of its batch,
 * up to float rounding).
 */
function featuresByImage(
  scope: string,
  ds: AnyDataset,
  spec: BatchSpec,
  backbone: () => Parameters<typeof computeFeatures>[0],
): FeatureMatrix {
  // A streamed dataset's pixels are not in memory to tell images apart: all of it goes through the backbone.
  if (isStreamed(ds)) return computeFeatures(backbone(), ds, spec);
  const rows = rowMemo.get(scope) ?? new Map<string, Float32Array>();
  const size = imageSize(ds);
  const ids = new Array<string>(ds.n);
  const missing: number[] = [];
  const seen = new Set<string>();
  for (let i = 0; i < ds.n; i++) {
    const id = pixelsId(ds.images, i * size, size);
    ids[i] = id;
    if (!rows.has(id) && !seen.has(id)) {
      seen.add(id);
      missing.push(i);
    }
  }
  const fresh = new Map<string, Float32Array>();
  let dim = rows.values().next().value?.length ?? 0;
  if (missing.length > 0) {
    const f = computeFeatures(backbone(), missing.length === ds.n ? ds : selectIndices(ds, missing), spec);
    dim = f.dim;
    for (let j = 0; j < missing.length; j++) fresh.set(ids[missing[j]], f.data.slice(j * dim, (j + 1) * dim));
  }
  const data = new Float32Array(ds.n * dim);
  for (let i = 0; i < ds.n; i++) data.set(fresh.get(ids[i]) ?? rows.get(ids[i])!, i * dim);
  const added = fresh.size * dim * 4;
  if (rowBytes + added > MEMO_BYTES) {
    rowMemo.clear();
    rowBytes = 0;
  }
  const kept = rowMemo.get(scope) ?? new Map<string, Float32Array>();
  for (const [id, r] of fresh) kept.set(id, r);
  rowMemo.set(scope, kept);
  rowBytes += added;
  return { n: ds.n, dim, data };
}

/** What the feature cache needs of a job's context. */
export interface FeatureContext {
  store: RunStore;
  codeHash: string;
  root: string;
  log: (line: string) => void;
}

/**
 * The backbone's features of `ds` (dataset order), from memory, from the results root's cache,
 * or computed by the backbone `backbone()` returns (called only then: a hit never builds the
 * model; the model is in evaluation mode) and then stored in both. `weights` identifies the
 * source model's weights by content (its cache key, which covers everything that determines
 * them, or the sha256 of a pretrained file). `plannedKey`: the key as the planner computed it
 * (`featureKeysOf`), used as it is; default computed here.
 */
export async function cachedFeatures(
  ctx: FeatureContext,
  weights: string,
  backbone: () => Parameters<typeof computeFeatures>[0],
  ds: AnyDataset,
  spec: BatchSpec,
  plannedKey?: string,
): Promise<FeatureMatrix> {
  const key = plannedKey ?? featuresKey(weights, ds, spec, ctx.codeHash);
  const memoKey = `${ctx.root}\0${key}`;
  const hit = memo.get(memoKey);
  if (hit) return hit;
  let f: FeatureMatrix | undefined;
  const entry = ctx.store.cache.get(key);
  if (entry) {
    const file = join(entry.dir, 'features.safetensors');
    try {
      const st = loadSafetensors(file);
      try {
        const t = st.tensors.get('features');
        if (t === undefined || t.ndim !== 2 || t.size(0) !== ds.n) throw new Error(`no [${ds.n}, dim] tensor 'features'`);
        f = { n: t.size(0), dim: t.size(1), data: t.toFloat32Array() };
      } finally {
        for (const t of st.tensors.values()) t.dispose();
      }
    } catch (e) {
      // Written without fsync (below): a crash can leave a short file. It is computed again.
      ctx.log(`${file}: unreadable (${(e as Error).message}); computing the features again`);
      rmSync(entry.dir, { recursive: true, force: true });
    }
  }
  if (f === undefined) {
    f = featuresByImage(rowScope(ctx, weights, ds, spec), ds, spec, backbone);
    const computed = f;
    await ctx.store.cache.put(
      key,
      (tmp) => {
        const t = fromTyped(computed.data, [computed.n, computed.dim]);
        try {
          // No fsync: a cache of values that can be recomputed, checked when read (above).
          writeFileSync(join(tmp, 'features.safetensors'), serializeSafetensors({ features: t }));
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

/** What a model spec's structure gives a head job: the frozen parameter count and the head's tensor names. */
interface HeadShape {
  /** Parameters outside the head (all frozen in fixed mode), as `prepareTransfer` counts them. */
  frozen: number;
  /** State-dict names of the head's weight and bias (e.g. `fc.weight`, `fc.bias`). */
  names: { weight: string; bias: string };
}
const headShapes = new Map<string, HeadShape>();

/** The {@link HeadShape} of a model spec, from one untrained instance per spec and process. */
function headShapeOf(spec: ModelSpec): HeadShape {
  const key = stableHash(spec);
  let s = headShapes.get(key);
  if (s === undefined) {
    const model = createModel(spec);
    try {
      const head = new Set<Tensor>(model.head.parameters());
      let frozen = 0;
      const names = { weight: '', bias: '' };
      for (const [name, p] of model.namedParameters()) {
        if (!head.has(p)) frozen += p.numel;
        else if (p.ndim === 2) names.weight = name;
        else names.bias = name;
      }
      if (names.weight === '' || names.bias === '') throw new Error(`${spec.arch}: the head is not a Linear with a bias`);
      s = { frozen, names };
    } finally {
      model.dispose();
    }
    headShapes.set(key, s);
  }
  return s;
}

/**
 * The source model last loaded to compute features, kept for the next job: the jobs of one
 * source (seeds' sweep points over target size, learning rate, ...) usually run one after the
 * other and each may need a few new images' features. One model at a time (the previous one is
 * disposed when another source is needed).
 */
let held: { key: string; model: Classifier } | undefined;

/** The source model in evaluation mode, from {@link held} or built and loaded. */
function heldBackbone(source: { key: string; weights: string }, spec: ModelSpec): Classifier {
  const key = stableHash({ source: source.key, weights: source.weights, spec });
  if (held?.key === key) return held.model;
  held?.model.dispose();
  held = undefined;
  const m = createModel(spec);
  try {
    loadModel(source.weights, m, { strict: true });
  } catch (e) {
    m.dispose();
    throw e;
  }
  m.eval();
  held = { key, model: m };
  return m;
}

/** What {@link targetFeatures} needs: the source model, its spec, the target, the batch spec and the planned keys. */
export type TargetFeaturesOptions = Pick<HeadJobOptions, 'source' | 'modelSpec' | 'target' | 'spec' | 'keys'>;

/**
 * The backbone's features of a target's training set (under '') and of each evaluation
 * condition (under its name), in that order, each from the cache or computed and cached
 * ({@link cachedFeatures}); the backbone is built only if some are missing. With `o.keys` the
 * planned keys are used; a condition without one is an error.
 */
async function targetFeatures(ctx: FeatureContext, o: TargetFeaturesOptions): Promise<Map<string, FeatureMatrix>> {
  const backbone = (): ((x: Tensor) => Tensor) => {
    const m = heldBackbone(o.source, o.modelSpec);
    return (x) => m.backbone(x);
  };
  const keyOf = (name: string): string | undefined => {
    if (o.keys === undefined) return undefined;
    const k = name === '' ? o.keys.train : o.keys.conditions[name];
    if (k === undefined) throw new Error(`${o.target.name}: no planned features key for condition '${name}'`);
    return k;
  };
  const features = new Map<string, FeatureMatrix>();
  features.set('', await cachedFeatures(ctx, o.source.key, backbone, o.target.train, o.spec, keyOf('')));
  for (const [name, ds] of o.target.conditions)
    features.set(name, await cachedFeatures(ctx, o.source.key, backbone, ds, o.spec, keyOf(name)));
  return features;
}

/**
 * A features job (src/plan/spec.ts `FeaturesJobSpec`): the backbone's features of a target's
 * training set and every evaluation condition under a source model, computed once and kept in
 * the results root's model cache under the planned keys (`o.keys`, which must be
 * {@link featureKeysOf} of this data: checked here, so other data under the same config is
 * refused). Returns each set's size by key.
 */
export async function computeTargetFeatures(
  ctx: FeatureContext,
  o: TargetFeaturesOptions & { keys: FeatureKeys },
): Promise<Record<string, { n: number; dim: number }>> {
  const here = featureKeysOf(o.source.key, o.target, o.spec, ctx.codeHash);
  if (stableHash(here) !== stableHash(o.keys))
    throw new Error(
      `${o.target.name}: the features keys of the data here (${JSON.stringify(here)}) differ from the planner's (${JSON.stringify(o.keys)}) (other data here?)`,
    );
  const features = await targetFeatures(ctx, o);
  const sizes: Record<string, { n: number; dim: number }> = {};
  for (const [name, f] of features) sizes[name === '' ? o.keys.train : o.keys.conditions[name]] = { n: f.n, dim: f.dim };
  return sizes;
}

/** Options of {@link trainHeadOnCachedFeatures}. */
export interface HeadJobOptions {
  /** The source model: its content key, its weights file and its number of classes. */
  source: { key: string; weights: string; numClasses: number };
  /** The source model's spec (src/nn), to build the backbone when features are not cached yet. */
  modelSpec: ModelSpec;
  target: TargetData;
  /** Seed of the new head's initialisation (as `replaceHead` draws it) and of the batch order. */
  seeds: { head: number; order: number };
  /** The target training (epochs, optimizer, schedule, evaluation cadence). */
  training: TrainSpec;
  /** Learning rate of the head (`transfer.headLr` or the optimizer's lr). */
  lr: number;
  batchSize: number;
  /** Normalisation and geometry of the batches (no augmentation). */
  spec: BatchSpec;
  /** Folder of the head's files (final.safetensors, best.safetensors, done.json). */
  checkpointDir: string;
  /** The planned cache keys of the features (the features job's); default computed here from the data. */
  keys?: FeatureKeys;
  onProgress: (e: ProgressEvent) => void;
}

/** What a head job gives the transfer job's result. */
export interface HeadJobResult {
  train: TrainResult;
  trainable: number;
  frozen: number;
  /** Predicted class per test image, per condition. */
  predictions: Record<string, number[]>;
}

/**
 * A fixed-mode transfer job on cached features: the head alone. The backbone is built and loaded
 * only when some features are not cached yet; the new head starts from exactly the weights
 * `replaceHead` gives it after `manualSeed(seeds.head)`, trains in `trainLinearHead`'s fused loop
 * (src/train/head.ts) on the training set's features, is evaluated on the clean condition's
 * features, and predicts every condition from theirs. The files written are the head's tensors
 * (with `backbone: <source key>` in their metadata: the frozen backbone is the source's, unchanged).
 */
export async function trainHeadOnCachedFeatures(ctx: FeatureContext, o: HeadJobOptions): Promise<HeadJobResult> {
  const shape = headShapeOf(o.modelSpec);
  const features = await targetFeatures(ctx, o);
  const dim = features.get('')!.dim;
  const k = o.target.numClasses;
  manualSeed(o.seeds.head);
  const fc = new Linear({ inFeatures: dim, outFeatures: k });
  const init: LinearHeadWeights = { inFeatures: dim, outFeatures: k, weight: fc.weight.toFloat32Array(), bias: fc.bias!.toFloat32Array() };
  fc.dispose();
  const clean = o.target.conditions.get('clean')!;
  const cleanFeatures = features.get('clean')!;
  const { result, head } = await trainLinearHead({
    init,
    features: features.get('')!,
    dataset: o.target.train,
    batches: { batchSize: o.batchSize, spec: o.spec, seed: o.seeds.order },
    spec: o.training,
    lr: o.lr,
    evaluate: (h) => accuracyOf(predictLinear(h, cleanFeatures), clean.labels),
    checkpointDir: o.checkpointDir,
    names: shape.names,
    metadata: { backbone: o.source.key, content: 'head only: the backbone is the source model, frozen' },
    onProgress: o.onProgress,
  });
  const predictions: Record<string, number[]> = {};
  for (const name of o.target.conditions.keys()) predictions[name] = Array.from(predictLinear(head, features.get(name)!));
  return { train: result, trainable: dim * k + k, frozen: shape.frozen, predictions };
}
