/**
 * The two kinds of work an experiment does: pretraining a source model (cached by the content of
 * everything that determines it) and transferring it to a target in one mode (resumable; its
 * per-sample predictions are saved so every number can be recomputed without retraining).
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { batchSpecFor, datasetDigest, type BatchSpec } from '../data/index.js';
import type { AnyDataset } from '../data/types.js';
import { createModel, loadModel, saveModel, type Classifier, type Module } from '../nn/index.js';
import { manualSeed } from '../torch/index.js';
import { accuracyOf, datasetSource, predict } from '../train/data.js';
import { writeJsonAtomic } from '../train/files.js';
import { prepareTransfer, type TransferMode } from '../train/transfer.js';
import { train, type ProgressEvent, type TrainResult, type TrainSpec } from '../train/trainer.js';
import type { ScheduleSpec } from '../train/schedule.js';
import { stableHash, type ExperimentConfig, type TrainingSpec } from './config/index.js';
import { configModelSpec } from './model-spec.js';
import type { RunStore } from '../store/index.js';
import type { SourceVariant, TargetData } from './prepare.js';
import { computeTargetFeatures, trainHeadOnCachedFeatures, usesCachedFeatures, type FeatureKeys } from './features.js';

/** Shared state of an experiment's jobs. */
export interface JobContext {
  config: ExperimentConfig;
  root: string;
  store: RunStore;
  /** Hash of the code (src/), part of every cache key. */
  codeHash: string;
  onProgress: (label: string, e: ProgressEvent) => void;
  log: (line: string) => void;
}

/**
 * A per-purpose seed derived from the experiment seed (stable across code paths).
 * Seeds are derived four ways on purpose (docs/architecture.md, "Seeds"): do not merge them, it would change every number.
 */
export function derivedSeed(seed: number, label: string): number {
  let h = 2166136261 ^ seed;
  for (let i = 0; i < label.length; i++) h = Math.imul(h ^ label.charCodeAt(i), 16777619);
  return (h >>> 0) % 2147483647;
}

/** The trainer's spec from a config training section. */
export function trainSpecOf(t: TrainingSpec, checkpointEverySteps = 50): TrainSpec {
  let schedule: ScheduleSpec;
  switch (t.schedule.kind) {
    case 'constant':
      schedule = { kind: 'constant' };
      break;
    case 'linear-warmup-decay':
      schedule = { kind: 'linear-warmup-decay', warmupEpochs: t.schedule.warmupEpochs };
      break;
    case 'step':
      schedule = { kind: 'step', stepEpochs: t.schedule.stepEpochs, gamma: t.schedule.gamma };
      break;
    case 'cosine':
      schedule = { kind: 'cosine', warmupEpochs: t.schedule.warmupEpochs, minFraction: t.schedule.minLr / t.optimizer.lr };
      break;
  }
  const o = t.optimizer;
  return {
    epochs: t.epochs,
    optimizer:
      o.kind === 'sgd'
        ? { kind: 'sgd', lr: o.lr, momentum: o.momentum, nesterov: o.nesterov, weightDecay: o.weightDecay }
        : { kind: o.kind, lr: o.lr, weightDecay: o.weightDecay, betas: [o.betas[0], o.betas[1]] },
    schedule,
    labelSmoothing: t.labelSmoothing,
    evalEvery: t.evalEvery,
    checkpointEverySteps,
  };
}

/** The model spec of the config (./model-spec.ts: null options mean the architecture's defaults). */
const nnSpec = configModelSpec;

/** Batch spec of a training phase. */
export function batchSpecOf(
  norm: { mean: number[]; std: number[] },
  geometry: { c: number; h: number; w: number },
  t?: TrainingSpec,
): BatchSpec {
  const spec = batchSpecFor(geometry, norm);
  if (t && (t.augment.cropPadding > 0 || t.augment.hflip)) spec.augment = { cropPadding: t.augment.cropPadding, hflip: t.augment.hflip };
  if (t?.augment.randomResizedCrop !== undefined) spec.augment = { ...spec.augment, randomResizedCrop: t.augment.randomResizedCrop };
  return spec;
}

/** sha256 (first 16 hex) over a model's state dict: names, shapes and bytes, in order. */
export function weightsHash(model: Module): string {
  const h = createHash('sha256');
  for (const [name, t] of model.stateDict()) h.update(`${name}\0${t.shape.join('x')}\0`).update(t.bytes());
  return h.digest('hex').slice(0, 16);
}

/** What a source model's cache entry records. */
export interface SourceModelInfo {
  key: string;
  weights: string;
  numClasses: number;
  classes: readonly string[];
  geometry: { c: number; h: number; w: number };
  train: TrainResult;
  /** Source test accuracy on the clean source test split, when available. */
  sourceAccuracy: number | null;
  /**
   * sha256 (16 hex) of the initial weights, before training. The biased source and its control
   * of one seed start from the same weights (paired), so this is equal for both.
   */
  initHash?: string;
}

/**
 * The cache key of a variant's source model: a hash of everything that determines its weights,
 * the content of its training set included (datasetDigest), so data changed behind an unchanged
 * path trains a new model.
 */
export function sourceModelKey(ctx: Pick<JobContext, 'config' | 'codeHash'>, variant: SourceVariant, seed: number): string {
  const c = ctx.config;
  return stableHash({
    kind: 'source-model',
    variant: variant.identity,
    data: datasetDigest(variant.dataset),
    model: c.model,
    training: c.sourceTraining,
    seed,
    threads: c.threads,
    code: ctx.codeHash,
  }).slice(0, 32);
}

/**
 * Returns the trained source model for a variant, training it if no cache entry exists. The key
 * covers the data, the bias, the model, the training, the seed and the code; training happens in
 * a resumable partial folder and the finished weights are moved into the cache atomically. A
 * second process asking for the same model waits for the first instead of training it twice.
 */
export async function sourceModel(
  ctx: JobContext,
  variant: SourceVariant,
  seed: number,
  norm: { mean: number[]; std: number[] },
  sourceTest: AnyDataset | null,
): Promise<SourceModelInfo> {
  const c = ctx.config;
  const ds = variant.dataset;
  if (variant.pretrained) {
    // Trained elsewhere: nothing to train or cache; the file was checked strictly when the variant was built.
    const p = c.source.pretrained!;
    return {
      key: `pretrained-${variant.pretrained.sha256}`,
      weights: variant.pretrained.file,
      numClasses: variant.pretrained.numClasses,
      classes: Array.from({ length: variant.pretrained.numClasses }, (_, i) => String(i)),
      geometry: { c: p.channels, h: p.size[0], w: p.size[1] },
      train: { history: [], bestEvalAccuracy: null, finalEvalAccuracy: null, reused: true, resumedFrom: null },
      sourceAccuracy: null,
    };
  }
  const key = sourceModelKey(ctx, variant, seed);
  const cache = ctx.store.cache;
  const label = `source ${variant.kind} seed ${seed}`;
  for (;;) {
    const hit = cache.get(key);
    if (hit) {
      ctx.log(`${label}: cached model ${key}`);
      return { ...(hit.info.info as SourceModelInfo), weights: join(hit.dir, 'model.safetensors') };
    }
    const claim = ctx.store.claim(`source:${key}`);
    if (claim.status === 'claimed') break;
    if (claim.status === 'done' && cache.get(key)) continue;
    ctx.log(`${label}: another process is training this model; waiting`);
    await new Promise((r) => setTimeout(r, 3000));
  }
  try {
    const partial = join(ctx.root, 'cache', 'partial', key);
    mkdirSync(partial, { recursive: true });
    const geometry = { c: ds.c, h: ds.h, w: ds.w };
    // Paired: the biased source and its control start from the same initial weights (the seed
    // does not depend on the variant), and see their data in the same order ('order/source').
    manualSeed(derivedSeed(seed, 'init/source'));
    const model = createModel(nnSpec(c, ds.classes.length, ds.c));
    const initHash = weightsHash(model);
    try {
      const evalSpec = batchSpecOf(norm, geometry);
      const st = c.sourceTraining;
      if (st === null)
        throw new Error(
          `${c.name}: sourceTraining is null, but a source model is being trained (the schema requires it without source.pretrained)`,
        );
      const prep = prepareTransfer(model, { mode: 'scratch', lr: st.optimizer.lr });
      const result = await train({
        model,
        data: datasetSource(ds, {
          batchSize: st.batchSize,
          spec: batchSpecOf(norm, geometry, st),
          seed: derivedSeed(seed, 'order/source'),
        }),
        spec: trainSpecOf(st),
        seed: derivedSeed(seed, 'steps/source'),
        paramGroups: prep.paramGroups,
        forward: prep.forward,
        setTraining: prep.setTraining,
        evaluate: sourceTest
          ? () => accuracyOf(predict((x) => model.forward(x), sourceTest, evalSpec).preds, sourceTest.labels)
          : undefined,
        checkpointDir: partial,
        onProgress: (e) => ctx.onProgress(label, e),
      });
      const info: SourceModelInfo = {
        key,
        weights: '',
        numClasses: ds.classes.length,
        classes: ds.classes,
        geometry,
        train: result,
        sourceAccuracy: result.finalEvalAccuracy,
        initHash,
      };
      const entry = await cache.put(
        key,
        (tmp) => {
          saveModel(join(tmp, 'model.safetensors'), model, { source_variant: variant.kind, seed: String(seed) });
          writeFileSync(join(tmp, 'train.json'), JSON.stringify(result, null, 1));
        },
        info,
      );
      ctx.store.complete(`source:${key}`, entry.dir);
      return { ...info, weights: join(entry.dir, 'model.safetensors') };
    } finally {
      model.dispose();
    }
  } catch (e) {
    ctx.store.release(`source:${key}`);
    throw e;
  }
}

/**
 * A features job: the frozen backbone's features of a target (training set and every evaluation
 * condition) under a source model, computed once into the model cache under the planned `keys`
 * (./features.ts `computeTargetFeatures`), with the batch spec a fixed-mode head trains with.
 * Returns each feature set's size by key.
 */
export async function targetFeaturesJob(
  ctx: JobContext,
  opts: {
    source: SourceModelInfo;
    target: TargetData;
    keys: FeatureKeys;
    norm: { mean: number[]; std: number[] };
    geometry: { c: number; h: number; w: number };
  },
): Promise<Record<string, { n: number; dim: number }>> {
  const c = ctx.config;
  return computeTargetFeatures(ctx, {
    source: opts.source,
    modelSpec: nnSpec(c, opts.source.numClasses, opts.geometry.c),
    target: opts.target,
    spec: featuresBatchSpec(c, opts.norm, opts.geometry),
    keys: opts.keys,
  });
}

/** The batch spec of a head trained on cached features (the target training's, which has no augmentation then). */
export function featuresBatchSpec(
  c: ExperimentConfig,
  norm: { mean: number[]; std: number[] },
  geometry: { c: number; h: number; w: number },
): BatchSpec {
  return batchSpecOf(norm, geometry, c.targetTraining);
}

/** What a finished transfer job saved (result.json in its folder). */
export interface TransferJobResult {
  job: string;
  mode: TransferMode;
  sourceKind: 'biased' | 'clean' | null;
  target: string;
  seed: number;
  train: TrainResult;
  trainable: number;
  frozen: number;
  /** Predicted class per test image, per condition (same image order in every condition). */
  predictions: Record<string, number[]>;
  labels: number[];
  numClasses: number;
}

/**
 * Transfers a source model (or trains from scratch when `source` is null) to a target in one
 * mode, evaluates every condition, and saves the result in `dir` (reused when already there).
 */
export async function transferJob(
  ctx: JobContext,
  opts: {
    dir: string;
    job: string;
    mode: TransferMode;
    source: SourceModelInfo | null;
    sourceKind: 'biased' | 'clean' | null;
    target: TargetData;
    seed: number;
    norm: { mean: number[]; std: number[] };
    geometry: { c: number; h: number; w: number };
    /** The planned keys of the cached features it trains on (its features job's), when it does; default computed from the data. */
    features?: FeatureKeys;
  },
): Promise<TransferJobResult> {
  const resultPath = join(opts.dir, 'result.json');
  if (existsSync(resultPath)) return JSON.parse(readFileSync(resultPath, 'utf-8')) as TransferJobResult;
  const c = ctx.config;
  mkdirSync(opts.dir, { recursive: true });
  const tgt = opts.target;
  const clean = tgt.conditions.get('clean')!;
  const save = (r: Pick<TransferJobResult, 'train' | 'trainable' | 'frozen' | 'predictions'>): TransferJobResult => {
    const out: TransferJobResult = {
      job: opts.job,
      mode: opts.mode,
      sourceKind: opts.sourceKind,
      target: tgt.name,
      seed: opts.seed,
      ...r,
      labels: Array.from(clean.labels),
      numClasses: tgt.numClasses,
    };
    writeJsonAtomic(resultPath, out);
    return out;
  };
  // Fixed mode with frozen BatchNorm and no augmentation: the head alone trains, on cached features (./features.ts).
  if (opts.source !== null && usesCachedFeatures(c, opts.mode, true))
    return save(
      await trainHeadOnCachedFeatures(ctx, {
        source: opts.source,
        modelSpec: nnSpec(c, opts.source.numClasses, opts.geometry.c),
        target: tgt,
        seeds: { head: derivedSeed(opts.seed, `head/${tgt.name}/${opts.mode}`), order: derivedSeed(opts.seed, `order/${tgt.name}`) },
        training: trainSpecOf(c.targetTraining),
        lr: c.transfer.headLr ?? c.targetTraining.optimizer.lr,
        batchSize: c.targetTraining.batchSize,
        spec: featuresBatchSpec(c, opts.norm, opts.geometry),
        checkpointDir: join(opts.dir, 'checkpoints'),
        onProgress: (e) => ctx.onProgress(`${opts.job}`, e),
        ...(opts.features !== undefined ? { keys: opts.features } : {}),
      }),
    );
  let model: Classifier;
  manualSeed(derivedSeed(opts.seed, `init/${tgt.name}/${opts.mode}`));
  if (opts.source === null) model = createModel(nnSpec(c, tgt.numClasses, opts.geometry.c));
  else {
    model = createModel(nnSpec(c, opts.source.numClasses, opts.geometry.c));
    loadModel(opts.source.weights, model, { strict: true });
    manualSeed(derivedSeed(opts.seed, `head/${tgt.name}/${opts.mode}`));
    model.replaceHead(tgt.numClasses);
  }
  try {
    const lr = c.targetTraining.optimizer.lr;
    const prep = prepareTransfer(model, {
      mode: opts.mode,
      lr,
      backboneLr: c.transfer.backboneLr,
      headLr: c.transfer.headLr,
      bnTrainInFixed: c.transfer.bnTrainInFixed,
    });
    const evalSpec = batchSpecOf(opts.norm, opts.geometry);
    const result = await train({
      model,
      data: datasetSource(tgt.train, {
        batchSize: c.targetTraining.batchSize,
        spec: batchSpecOf(opts.norm, opts.geometry, c.targetTraining),
        seed: derivedSeed(opts.seed, `order/${tgt.name}`),
      }),
      spec: trainSpecOf(c.targetTraining),
      seed: derivedSeed(opts.seed, `steps/${tgt.name}/${opts.mode}`),
      paramGroups: prep.paramGroups,
      forward: prep.forward,
      setTraining: prep.setTraining,
      evaluate: () => accuracyOf(predict((x) => model.forward(x), clean, evalSpec).preds, clean.labels),
      checkpointDir: join(opts.dir, 'checkpoints'),
      onProgress: (e) => ctx.onProgress(`${opts.job}`, e),
    });
    model.eval();
    const predictions: Record<string, number[]> = {};
    for (const [name, ds] of tgt.conditions)
      predictions[name] = Array.from(predict((x) => model.forward(x), ds, evalSpec, { keepLogits: false }).preds);
    return save({ train: result, trainable: prep.trainable, frozen: prep.frozen, predictions });
  } finally {
    model.dispose();
  }
}
