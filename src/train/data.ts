/** Glue between datasets (src/data) and the trainer: a seeded batch source and batched prediction. */
import { BatchIterator, type BatchSpec } from '../data/index.js';
import type { AnyDataset } from '../data/types.js';
import { inferenceMode, tidy, type Tensor } from '../torch/index.js';
import type { BatchSource } from './trainer.js';

/**
 * A shuffled, augmented training source over `ds`: the order of epoch e is a pure function of
 * (seed, e); incomplete last batches are dropped (BatchNorm dislikes a batch of one). `ds` may be
 * streamed: the same order and augmentation draws, pixels read per batch.
 */
export function datasetSource(ds: AnyDataset, opts: { batchSize: number; spec: BatchSpec; seed: number }): BatchSource {
  const batchSize = Math.min(opts.batchSize, ds.n);
  const probe = new BatchIterator(ds, { batchSize, spec: opts.spec, seed: opts.seed, shuffle: true, dropLast: true });
  return {
    batchesPerEpoch: probe.numBatches,
    epoch: (epoch, start) =>
      new BatchIterator(ds, { batchSize, spec: opts.spec, seed: opts.seed, shuffle: true, dropLast: true, epoch, startBatch: start }),
  };
}

/** Predictions of a model over a dataset. */
export interface Predictions {
  /** Arg-max class per sample, dataset order. */
  preds: Int32Array;
  /** Logits [n, numClasses] row-major, when asked for. */
  logits?: Float32Array;
  numClasses: number;
}

/**
 * Runs `forward` over every sample of `ds` in inference mode (no augmentation: pass a spec
 * without `augment`), in dataset order. The caller puts the model in evaluation mode. `ds` may be
 * streamed (its pixels read batch by batch).
 */
export function predict(
  forward: (x: Tensor) => Tensor,
  ds: AnyDataset,
  spec: BatchSpec,
  opts: { batchSize?: number; keepLogits?: boolean } = {},
): Predictions {
  const evalSpec: BatchSpec = { ...spec, augment: undefined };
  const it = new BatchIterator(ds, { batchSize: opts.batchSize ?? 256, spec: evalSpec });
  const preds = new Int32Array(ds.n);
  let logits: Float32Array | undefined;
  let numClasses = 0;
  let off = 0;
  inferenceMode(() => {
    for (const b of it) {
      tidy(() => {
        const out = forward(b.x);
        numClasses = out.size(1);
        preds.set(out.argmax(1).toInt32Array(), off);
        if (opts.keepLogits) {
          logits ??= new Float32Array(ds.n * numClasses);
          logits.set(out.toFloat32Array(), off * numClasses);
        }
        off += b.x.size(0);
      });
      b.x.dispose();
      b.y.dispose();
    }
  });
  return { preds, logits, numClasses };
}

/** Share of predictions equal to the labels. */
export function accuracyOf(preds: Int32Array, labels: Int32Array): number {
  let c = 0;
  for (let i = 0; i < preds.length; i++) if (preds[i] === labels[i]) c++;
  return preds.length === 0 ? 0 : c / preds.length;
}
