/**
 * A linear head trained on fixed features in one fused loop: for each mini-batch, the linear
 * layer, softmax cross-entropy (with label smoothing), its gradient and the optimizer update run
 * in plain JavaScript over contiguous Float32Arrays, with no tensor allocated, no autograd graph
 * and no call into libtorch.
 *
 * Why: a head on cached features (src/experiment/features.ts) is a [dim -> K] matrix, e.g.
 * 128 -> 10. At that size one training step through libtorch (a dozen native calls, an autograd
 * pass, per-parameter optimizer calls, a tensor per batch) costs far more than its arithmetic
 * (64 x 128 x 10 multiply-adds forward, twice that backward); measured in bench/README.md.
 *
 * It computes what `train` (./trainer.ts) computes for `Linear` on `featureSource` batches: the
 * same batch order (the same `BatchIterator` permutation per (seed, epoch), last batch dropped),
 * the same learning rate per iteration (`lrMultiplier`), torch's SGD (momentum, dampening 0,
 * Nesterov, L2 weight decay), Adam and AdamW, the same history, best/final evaluation and
 * progress events. Arithmetic runs in double and parameters are stored as float32, so results
 * agree with libtorch's float32 up to rounding (test/train/head.test.ts pins the agreement).
 * A finished run in `checkpointDir` is reused; an interrupted one starts over (an epoch costs
 * milliseconds, less than a checkpoint).
 */
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BatchIterator, type BatchSpec } from '../data/index.js';
import type { AnyDataset } from '../data/types.js';
import { fromTyped, loadSafetensors, serializeSafetensors } from '../torch/index.js';
import type { FeatureMatrix } from './features.js';
import { writeJsonAtomic } from './files.js';
import { lrMultiplier } from './schedule.js';
import { finalWeightsPath, type EpochRecord, type ProgressEvent, type TrainResult, type TrainSpec } from './trainer.js';

/** A linear head's parameters: logits = weight · x + bias, weight row-major [outFeatures, inFeatures]. */
export interface LinearHeadWeights {
  readonly inFeatures: number;
  readonly outFeatures: number;
  /** [outFeatures * inFeatures], row k holds class k's weights (PyTorch's Linear layout). */
  readonly weight: Float32Array;
  /** [outFeatures]. */
  readonly bias: Float32Array;
}

/** Options of {@link trainLinearHead}. */
export interface LinearHeadTrainOptions {
  /** The initial head (not modified; the trained head is returned). */
  init: LinearHeadWeights;
  /** Features of the training images, rows in dataset order. */
  features: FeatureMatrix;
  /** The training dataset (its labels, and the batch order `featureSource` gives it). */
  dataset: AnyDataset;
  /** Batch size, the spec (must not augment) and the order seed, as for `featureSource`. */
  batches: { batchSize: number; spec: BatchSpec; seed: number };
  spec: TrainSpec;
  /** The head's learning rate (the head parameter group's initial lr). */
  lr: number;
  /** Accuracy on held-out data, in [0, 1], of the head as it is now. */
  evaluate?: (head: LinearHeadWeights) => number;
  /**
   * Folder for the run's files: `final.safetensors` and `best.safetensors` (the head's two
   * tensors under `names`, with `metadata`) and `done.json`; a finished run found there is reused.
   */
  checkpointDir?: string;
  /** Names of the weight and bias tensors in the saved files (default `fc.weight`, `fc.bias`). */
  names?: { weight: string; bias: string };
  /** String metadata of the saved safetensors files (e.g. which backbone the head belongs to). */
  metadata?: Record<string, string>;
  onProgress?: (e: ProgressEvent) => void;
  /** Minimum seconds between 'step' progress events (default 2). */
  progressInterval?: number;
  /** Stop early (throws 'training aborted'). */
  signal?: AbortSignal;
}

/** What {@link trainLinearHead} returns: the trainer's record and the trained head. */
export interface LinearHeadTrainResult {
  result: TrainResult;
  head: LinearHeadWeights;
}

/**
 * Class predicted for each row of `features` (arg-max of the logits, the first on ties as
 * libtorch's argmax), in row order.
 *
 * @example const acc = accuracyOf(predictLinear(head, testFeatures), test.labels);
 */
export function predictLinear(head: LinearHeadWeights, features: FeatureMatrix): Int32Array {
  const { inFeatures: d, outFeatures: k, weight: w, bias: b } = head;
  if (features.dim !== d) throw new RangeError(`predictLinear: features of width ${features.dim} for a head of ${d} inputs`);
  const x = features.data;
  const out = new Int32Array(features.n);
  for (let i = 0; i < features.n; i++) {
    const xo = i * d;
    let best = -Infinity;
    let arg = 0;
    for (let c = 0; c < k; c++) {
      let z = b[c];
      const wo = c * d;
      for (let j = 0; j < d; j++) z += w[wo + j] * x[xo + j];
      const zf = Math.fround(z);
      if (zf > best) {
        best = zf;
        arg = c;
      }
    }
    out[i] = arg;
  }
  return out;
}

/** Per-parameter optimizer state and update, over the flat vector [weight..., bias...]. */
interface FlatOptimizer {
  step(p: Float32Array, g: Float64Array, lr: number): void;
}

function flatOptimizer(spec: TrainSpec['optimizer'], size: number): FlatOptimizer {
  const wd = spec.weightDecay ?? (spec.kind === 'adamw' ? 0.01 : 0);
  if (spec.kind === 'sgd') {
    const mom = spec.momentum ?? 0;
    const nesterov = spec.nesterov ?? false;
    const buf = new Float32Array(size);
    let fresh = true;
    return {
      step(p, g, lr) {
        for (let i = 0; i < size; i++) {
          let d = Math.fround(wd !== 0 ? g[i] + wd * p[i] : g[i]);
          if (mom !== 0) {
            buf[i] = fresh ? d : Math.fround(buf[i] * mom) + d;
            d = nesterov ? d + mom * buf[i] : buf[i];
          }
          p[i] = p[i] - lr * d;
        }
        fresh = false;
      },
    };
  }
  const [b1, b2] = spec.betas ?? [0.9, 0.999];
  const eps = 1e-8;
  const decoupled = spec.kind === 'adamw';
  const m = new Float32Array(size);
  const v = new Float32Array(size);
  let t = 0;
  return {
    step(p, g, lr) {
      t++;
      const bc1 = 1 - b1 ** t;
      const sbc2 = Math.sqrt(1 - b2 ** t);
      for (let i = 0; i < size; i++) {
        let d = g[i];
        if (wd !== 0) {
          if (decoupled) p[i] = p[i] * (1 - lr * wd);
          else d += wd * p[i];
        }
        m[i] = m[i] * b1 + d * (1 - b1);
        v[i] = v[i] * b2 + d * d * (1 - b2);
        p[i] = p[i] - ((lr / bc1) * m[i]) / (Math.sqrt(v[i]) / sbc2 + eps);
      }
    },
  };
}

/**
 * The head as a named pair of tensors, written to `path` (safetensors) atomically: a temporary
 * file renamed into place, without fsync, like the job's JSON records (a few KB; the run's
 * result.json, written after it, is what marks the job done).
 */
function saveHead(path: string, h: LinearHeadWeights, names: { weight: string; bias: string }, metadata: Record<string, string>): void {
  const w = fromTyped(h.weight, [h.outFeatures, h.inFeatures]);
  const b = fromTyped(h.bias, [h.outFeatures]);
  try {
    const tmp = `${path}.tmp-${process.pid}`;
    writeFileSync(
      tmp,
      serializeSafetensors(
        [
          [names.weight, w],
          [names.bias, b],
        ],
        metadata,
      ),
    );
    renameSync(tmp, path);
  } finally {
    w.dispose();
    b.dispose();
  }
}

/** The head saved by {@link saveHead}; throws naming the file when a tensor is missing or misshapen. */
function loadHead(path: string, like: LinearHeadWeights, names: { weight: string; bias: string }): LinearHeadWeights {
  const st = loadSafetensors(path);
  try {
    const w = st.tensors.get(names.weight);
    const b = st.tensors.get(names.bias);
    if (w === undefined || b === undefined || w.numel !== like.weight.length || b.numel !== like.bias.length)
      throw new Error(
        `${path}: expected a head '${names.weight}' [${like.outFeatures}, ${like.inFeatures}] and '${names.bias}' [${like.outFeatures}]`,
      );
    return { ...like, weight: w.toFloat32Array(), bias: b.toFloat32Array() };
  } finally {
    for (const t of st.tensors.values()) t.dispose();
  }
}

/**
 * One mini-batch of a linear head with softmax cross-entropy: the mean loss over rows `idx` of
 * `x` (row length `head.inFeatures`), its gradient with respect to [weight..., bias...] written
 * into `grad` (overwritten), and the count of rows whose arg-max logit is the label added to
 * `stats.correct`. `z` [K] and `dz` [rows x K] are scratch space. A small function of typed
 * arrays only, so V8 optimises it once for every call.
 */
function lossAndGradient(
  x: Float32Array,
  labels: Int32Array,
  idx: Int32Array,
  head: LinearHeadWeights,
  smoothing: number,
  z: Float64Array,
  dz: Float64Array,
  grad: Float64Array,
  stats: { correct: number },
): number {
  const d = head.inFeatures;
  const k = head.outFeatures;
  const w = head.weight;
  const b = head.bias;
  const n = idx.length;
  let loss = 0;
  for (let i = 0; i < n; i++) {
    const xo = idx[i] * d;
    let zmax = -Infinity;
    let arg = 0;
    for (let c = 0; c < k; c++) {
      let acc = b[c];
      const wo = c * d;
      for (let j = 0; j < d; j++) acc += w[wo + j] * x[xo + j];
      z[c] = acc;
      if (acc > zmax) {
        zmax = acc;
        arg = c;
      }
    }
    const y = labels[idx[i]];
    if (arg === y) stats.correct++;
    let sum = 0;
    for (let c = 0; c < k; c++) sum += Math.exp(z[c] - zmax);
    const lse = zmax + Math.log(sum);
    let meanLogp = 0;
    for (let c = 0; c < k; c++) meanLogp += z[c] - lse;
    loss += (1 - smoothing) * (lse - z[y]) - (smoothing * meanLogp) / k;
    const o = i * k;
    for (let c = 0; c < k; c++) dz[o + c] = (Math.exp(z[c] - lse) - smoothing / k - (c === y ? 1 - smoothing : 0)) / n;
  }
  grad.fill(0);
  const bo = k * d;
  for (let i = 0; i < n; i++) {
    const xo = idx[i] * d;
    const o = i * k;
    for (let c = 0; c < k; c++) {
      const g = dz[o + c];
      grad[bo + c] += g;
      const wo = c * d;
      for (let j = 0; j < d; j++) grad[wo + j] += g * x[xo + j];
    }
  }
  return loss / n;
}

/**
 * Trains a linear head on precomputed features (see the file comment). Equivalent to
 * `train({ model: head, data: featureSource(dataset, features, batches), spec, ... })` with one
 * parameter group at `lr`, without a tensor per step.
 *
 * @example
 * const { result, head } = await trainLinearHead({ init, features, dataset: target.train,
 *   batches: { batchSize: 64, spec, seed: 7 }, spec: trainSpec, lr: 0.05,
 *   evaluate: (h) => accuracyOf(predictLinear(h, testFeatures), test.labels) });
 */
export async function trainLinearHead(opts: LinearHeadTrainOptions): Promise<LinearHeadTrainResult> {
  const { init, features, dataset: ds, spec } = opts;
  const d = init.inFeatures;
  const k = init.outFeatures;
  const names = opts.names ?? { weight: 'fc.weight', bias: 'fc.bias' };
  const emit = opts.onProgress ?? (() => {});
  const a = opts.batches.spec.augment;
  if (a !== undefined && ((a.cropPadding ?? 0) > 0 || a.hflip === true || a.randomResizedCrop !== undefined))
    throw new Error(`trainLinearHead: features are computed once, the batch spec must not augment (got ${JSON.stringify(a)})`);
  if (features.n !== ds.n) throw new RangeError(`trainLinearHead: ${features.n} feature rows for a dataset of ${ds.n} images`);
  if (features.dim !== d) throw new RangeError(`trainLinearHead: features of width ${features.dim} for a head of ${d} inputs`);
  for (let i = 0; i < ds.n; i++)
    if (!(ds.labels[i] >= 0 && ds.labels[i] < k))
      throw new RangeError(`trainLinearHead: label ${ds.labels[i]} of image ${i} is outside the head's ${k} classes`);
  const batchSize = Math.min(opts.batches.batchSize, ds.n);
  const iterator = (epoch: number): BatchIterator =>
    new BatchIterator(ds, { batchSize, spec: opts.batches.spec, seed: opts.batches.seed, shuffle: true, dropLast: true, epoch });
  const stepsPerEpoch = iterator(0).numBatches;
  if (stepsPerEpoch <= 0) throw new Error('training data yields no batches (dataset smaller than one batch with dropLast?)');
  const dir = opts.checkpointDir;
  if (dir !== undefined) {
    mkdirSync(dir, { recursive: true });
    const done = join(dir, 'done.json');
    if (existsSync(done) && existsSync(finalWeightsPath(dir))) {
      const r = JSON.parse(readFileSync(done, 'utf-8')) as TrainResult;
      const head = loadHead(finalWeightsPath(dir), init, names);
      emit({ kind: 'done', epoch: spec.epochs, epochs: spec.epochs, step: 0, stepsPerEpoch, message: 'reused finished run' });
      return { result: { ...r, reused: true }, head };
    }
  }

  const size = k * d + k;
  // Parameters as one flat vector: weight [k*d] then bias [k]; views for the two tensors.
  const p = new Float32Array(size);
  p.set(init.weight, 0);
  p.set(init.bias, k * d);
  const w = p.subarray(0, k * d);
  const bias = p.subarray(k * d);
  const head: LinearHeadWeights = { inFeatures: d, outFeatures: k, weight: w, bias };
  const grad = new Float64Array(size);
  const stats = { correct: 0 };
  const opt = flatOptimizer(spec.optimizer, size);
  const smoothing = spec.labelSmoothing ?? 0;
  const x = features.data;
  const labels = ds.labels;
  const z = new Float64Array(k);
  const dz = new Float64Array(batchSize * k);
  const evalEvery = spec.evalEvery ?? 1;
  const totalSteps = stepsPerEpoch * spec.epochs;
  const interval = (opts.progressInterval ?? 2) * 1000;
  const history: EpochRecord[] = [];
  let best: number | null = null;
  let bestHead: LinearHeadWeights | undefined;
  let globalStep = 0;
  let lastEmit = 0;
  let lr = opts.lr;
  const t0 = Date.now();

  for (let epoch = 0; epoch < spec.epochs; epoch++) {
    const epochStart = Date.now();
    const it = iterator(epoch);
    let lossSum = 0;
    let seen = 0;
    stats.correct = 0;
    for (let s = 0; s < stepsPerEpoch; s++) {
      if (opts.signal?.aborted) throw new Error('training aborted');
      lr = opts.lr * lrMultiplier(spec.schedule, { step: globalStep, stepsPerEpoch, epochs: spec.epochs });
      const idx = it.indicesOf(s);
      const n = idx.length;
      const loss = lossAndGradient(x, labels, idx, head, smoothing, z, dz, grad, stats);
      opt.step(p, grad, lr);
      if (!Number.isFinite(loss)) throw new Error(`loss became ${loss} at epoch ${epoch + 1}, batch ${s}: lower the learning rate`);
      lossSum += loss * n;
      seen += n;
      globalStep++;
      const now = Date.now();
      if (now - lastEmit >= interval) {
        lastEmit = now;
        const elapsed = (now - t0) / 1000;
        emit({
          kind: 'step',
          epoch,
          epochs: spec.epochs,
          step: s + 1,
          stepsPerEpoch,
          loss: lossSum / seen,
          accuracy: stats.correct / seen,
          imagesPerSecond: (globalStep * n) / Math.max(elapsed, 1e-9),
          etaSeconds: ((totalSteps - globalStep) * elapsed) / globalStep,
          lr,
        });
      }
    }
    const isLast = epoch === spec.epochs - 1;
    let evalAcc: number | null = null;
    if (opts.evaluate && (isLast || (evalEvery > 0 && (epoch + 1) % evalEvery === 0))) {
      evalAcc = opts.evaluate(head);
      emit({ kind: 'eval', epoch, epochs: spec.epochs, step: stepsPerEpoch, stepsPerEpoch, evalAccuracy: evalAcc });
      if (best === null || evalAcc > best) {
        best = evalAcc;
        bestHead = { ...head, weight: w.slice(), bias: bias.slice() };
      }
    }
    const rec: EpochRecord = {
      epoch: epoch + 1,
      loss: lossSum / Math.max(seen, 1),
      accuracy: stats.correct / Math.max(seen, 1),
      evalAccuracy: evalAcc,
      lr,
      seconds: (Date.now() - epochStart) / 1000,
    };
    history.push(rec);
    emit({
      kind: 'epoch',
      epoch,
      epochs: spec.epochs,
      step: stepsPerEpoch,
      stepsPerEpoch,
      loss: rec.loss,
      accuracy: rec.accuracy,
      evalAccuracy: evalAcc ?? undefined,
    });
    // Let the event loop breathe (signals, progress output, other work) once per epoch.
    await new Promise<void>((r) => setImmediate(r));
  }
  const result: TrainResult = {
    history,
    bestEvalAccuracy: best,
    finalEvalAccuracy: history[history.length - 1]?.evalAccuracy ?? null,
    reused: false,
    resumedFrom: null,
  };
  const out: LinearHeadWeights = { inFeatures: d, outFeatures: k, weight: w.slice(), bias: bias.slice() };
  if (dir !== undefined) {
    const meta = opts.metadata ?? {};
    if (bestHead !== undefined) saveHead(join(dir, 'best.safetensors'), bestHead, names, meta);
    saveHead(finalWeightsPath(dir), out, names, meta);
    writeJsonAtomic(join(dir, 'done.json'), result, { indent: 1 });
  }
  emit({ kind: 'done', epoch: spec.epochs, epochs: spec.epochs, step: 0, stepsPerEpoch });
  return { result, head: out };
}
