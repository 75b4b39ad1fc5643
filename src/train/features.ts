/**
 * Backbone features computed once and trained on many times: fixed-feature transfer with frozen
 * BatchNorm (`bnTrainInFixed: false`) and no augmentation runs the frozen backbone as a fixed
 * function of each image, so the features of every target image can be computed in one pass and
 * every head (each epoch, each sweep point that keeps the source) trains on them.
 *
 * Why only then: with the paper's default (`bnTrainInFixed: true`) the backbone's BatchNorm layers
 * normalise with each training batch's statistics and update their running statistics at every
 * step, so an image's features depend on its batch and change during training; with augmentation
 * the image itself changes every epoch. Neither can be computed ahead.
 */
import { BatchIterator, selectIndices, type BatchSpec } from '../data/index.js';
import { isStreamed, type AnyDataset } from '../data/types.js';
import { fromTyped, inferenceMode, tidy, type Tensor } from '../torch/index.js';
import type { Predictions } from './data.js';
import type { BatchSource } from './trainer.js';

/** Features of a dataset's images: row-major [n, dim] float32, in dataset order. */
export interface FeatureMatrix {
  readonly n: number;
  readonly dim: number;
  readonly data: Float32Array;
}

/** Throws unless `spec` is deterministic (no augmentation): features are computed once. */
function assertNoAugment(spec: BatchSpec, what: string): void {
  const a = spec.augment;
  if (a !== undefined && ((a.cropPadding ?? 0) > 0 || a.hflip === true || a.randomResizedCrop !== undefined))
    throw new Error(`${what}: cached features need a batch spec without augmentation, got augment ${JSON.stringify(a)}`);
}

/**
 * Runs `backbone` over every image of `ds` (batches of `batchSize`, default 256, in dataset order,
 * in inference mode) and returns the features [n, dim]. The caller puts the model in evaluation
 * mode; `spec` must not augment.
 *
 * @example const f = computeFeatures((x) => model.backbone(x), target.train, evalSpec); // f.n === target.train.n
 */
export function computeFeatures(
  backbone: (x: Tensor) => Tensor,
  ds: AnyDataset,
  spec: BatchSpec,
  opts: { batchSize?: number } = {},
): FeatureMatrix {
  assertNoAugment(spec, 'computeFeatures');
  const bs = opts.batchSize ?? 256;
  // Every batch has `bs` images (the last is padded with repeats of the first images, whose rows
  // are dropped; not for sets under a quarter of a batch): a new input shape costs libtorch's convolutions a one-time set-up (measured:
  // 59 ms for a first batch of 250 images on resnet-tiny, 13 ms for the next), and the datasets
  // here come in many sizes. Each image's features do not depend on the rest of its batch
  // (evaluation mode), up to float rounding.
  // (A streamed dataset is read as it is: padding would copy it into memory.)
  const padded =
    !isStreamed(ds) && ds.n % bs !== 0 && ds.n >= bs / 4
      ? selectIndices(
          ds,
          Int32Array.from({ length: ds.n + bs - (ds.n % bs) }, (_, i) => i % ds.n),
        )
      : ds;
  const it = new BatchIterator(padded, { batchSize: Math.min(bs, padded.n), spec });
  let data: Float32Array | undefined;
  let dim = 0;
  let off = 0;
  inferenceMode(() => {
    for (const b of it) {
      tidy(() => {
        const f = backbone(b.x);
        if (f.ndim !== 2) throw new RangeError(`computeFeatures: the backbone gave [${f.shape.join(', ')}], expected [N, dim]`);
        dim = f.size(1);
        data ??= new Float32Array(ds.n * dim);
        const rows = Math.min(f.size(0), ds.n - off);
        const v = f.toFloat32Array();
        data.set(rows === f.size(0) ? v : v.subarray(0, rows * dim), off * dim);
        off += rows;
      });
      b.x.dispose();
      b.y.dispose();
    }
  });
  return { n: ds.n, dim, data: data ?? new Float32Array(0) };
}

/** Rows `indices` of `f` as a float32 tensor [indices.length, dim]. */
function rowsOf(f: FeatureMatrix, indices: ArrayLike<number>): Tensor {
  const out = new Float32Array(indices.length * f.dim);
  for (let i = 0; i < indices.length; i++) {
    const r = indices[i];
    out.set(f.data.subarray(r * f.dim, (r + 1) * f.dim), i * f.dim);
  }
  return fromTyped(out, [indices.length, f.dim]);
}

/**
 * The training batches of `datasetSource(ds, opts)` (src/train/data.ts) with each image replaced
 * by its row of `features`: the same shuffled order per (seed, epoch), the same dropped last
 * batch, the same labels (int64). `features` must be `ds`'s, computed with `opts.spec`.
 */
export function featureSource(
  ds: AnyDataset,
  features: FeatureMatrix,
  opts: { batchSize: number; spec: BatchSpec; seed: number },
): BatchSource {
  assertNoAugment(opts.spec, 'featureSource');
  if (features.n !== ds.n) throw new RangeError(`featureSource: ${features.n} feature rows for a dataset of ${ds.n} images`);
  const batchSize = Math.min(opts.batchSize, ds.n);
  const iterator = (epoch: number, startBatch = 0) =>
    new BatchIterator(ds, { batchSize, spec: opts.spec, seed: opts.seed, shuffle: true, dropLast: true, epoch, startBatch });
  return {
    batchesPerEpoch: iterator(0).numBatches,
    *epoch(epoch, start) {
      const it = iterator(epoch, start);
      for (let k = start; k < it.numBatches; k++) {
        const indices = it.indicesOf(k);
        const lab = new BigInt64Array(indices.length);
        for (let i = 0; i < indices.length; i++) lab[i] = BigInt(ds.labels[indices[i]]);
        const x = rowsOf(features, indices);
        yield { x, y: fromTyped(lab, [indices.length]) };
      }
    },
  };
}

/**
 * Predictions of `head` over every row of `features` (batches of 256, inference mode), as
 * `predict` (src/train/data.ts) gives them for the images. The caller puts the head in
 * evaluation mode.
 */
export function predictFeatures(head: (f: Tensor) => Tensor, features: FeatureMatrix, opts: { batchSize?: number } = {}): Predictions {
  const bs = opts.batchSize ?? 256;
  const preds = new Int32Array(features.n);
  let numClasses = 0;
  inferenceMode(() => {
    for (let off = 0; off < features.n; off += bs) {
      const idx = Int32Array.from({ length: Math.min(bs, features.n - off) }, (_, i) => off + i);
      tidy(() => {
        const out = head(rowsOf(features, idx));
        numClasses = out.size(1);
        preds.set(out.argmax(1).toInt32Array(), off);
      });
    }
  });
  return { preds, numClasses };
}
