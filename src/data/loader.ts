/**
 * Epoch iteration over a dataset in batches. The order of an epoch and every augmentation draw are
 * pure functions of (seed, epoch, batch index): the order is `Rng(seed, 'order/<epoch>')`'s
 * permutation, batch k's augmentation uses `Rng(seed, 'augment/<epoch>/<k>')`. So a run resumed at
 * (epoch, startBatch) sees exactly the batches the uninterrupted run would have. A streamed
 * dataset (`StreamedDataset`) gets the same order and draws; its pixels are read per batch.
 */
import { Rng } from './rng.js';
import { isRandom, makeBatch, validateBatchSpec, type Batch, type BatchSpec } from './transforms.js';
import { isStreamed, type AnyDataset } from './types.js';

/** Options of `batches` / `BatchIterator`. */
export interface BatchOptions {
  batchSize: number;
  spec: BatchSpec;
  /** Shuffle the order each epoch (default false: dataset order). */
  shuffle?: boolean;
  /** Seed of order and augmentation (default 0). */
  seed?: number;
  /** Epoch number, 0-based (default 0); changes the order and augmentation. */
  epoch?: number;
  /** Drop a last batch smaller than batchSize (default false). */
  dropLast?: boolean;
  /** First batch to yield (default 0), to resume mid-epoch. */
  startBatch?: number;
}

/** One yielded batch: tensors the caller owns and must dispose, plus where it came from. */
export interface IndexedBatch extends Batch {
  /** Position of this batch in the epoch. */
  index: number;
  /** Dataset indices of the samples, in batch order. */
  indices: Int32Array;
}

/** Iterates one epoch's batches; see the module comment for the determinism contract. */
export class BatchIterator implements Iterable<IndexedBatch> {
  /** Dataset indices in this epoch's order. */
  readonly order: Int32Array;
  readonly numBatches: number;
  private readonly opts: Required<BatchOptions>;

  constructor(
    readonly ds: AnyDataset,
    opts: BatchOptions,
  ) {
    const o = { shuffle: false, seed: 0, epoch: 0, dropLast: false, startBatch: 0, ...opts };
    if (!(Number.isInteger(o.batchSize) && o.batchSize > 0))
      throw new RangeError(`batchSize must be a positive integer, got ${o.batchSize}`);
    if (!(Number.isInteger(o.epoch) && o.epoch >= 0)) throw new RangeError(`epoch must be a non-negative integer, got ${o.epoch}`);
    validateBatchSpec(ds, o.spec);
    this.opts = o;
    this.order = o.shuffle ? new Rng(o.seed, `order/${o.epoch}`).permutation(ds.n) : Int32Array.from({ length: ds.n }, (_, i) => i);
    this.numBatches = o.dropLast ? Math.floor(ds.n / o.batchSize) : Math.ceil(ds.n / o.batchSize);
    if (!(Number.isInteger(o.startBatch) && o.startBatch >= 0 && o.startBatch <= this.numBatches))
      throw new RangeError(`startBatch must be an integer in 0..${this.numBatches}, got ${o.startBatch}`);
  }

  /** Dataset indices of batch k. */
  indicesOf(k: number): Int32Array {
    if (!(Number.isInteger(k) && k >= 0 && k < this.numBatches)) throw new RangeError(`batch ${k} is outside 0..${this.numBatches - 1}`);
    const bs = this.opts.batchSize;
    return this.order.slice(k * bs, Math.min((k + 1) * bs, this.ds.n));
  }

  /**
   * Builds batch k (tensors owned by the caller). On a streamed dataset it first hints batch k+1
   * to `prefetch`, so its reading overlaps the work on batch k; what is built does not change.
   */
  batch(k: number): IndexedBatch {
    const indices = this.indicesOf(k);
    if (isStreamed(this.ds) && this.ds.prefetch && k + 1 < this.numBatches) this.ds.prefetch(this.indicesOf(k + 1));
    const { spec, seed, epoch } = this.opts;
    const rng = isRandom(spec) ? new Rng(seed, `augment/${epoch}/${k}`) : undefined;
    return { ...makeBatch(this.ds, indices, spec, rng, { seed, epoch }), index: k, indices };
  }

  /** Yields batches startBatch..numBatches-1; each is built only when asked for. */
  *[Symbol.iterator](): Iterator<IndexedBatch> {
    for (let k = this.opts.startBatch; k < this.numBatches; k++) yield this.batch(k);
  }
}

/**
 * One epoch of batches.
 *
 * @example
 *   for (const { x, y } of batches(ds, { batchSize: 128, shuffle: true, seed: 1, epoch, spec })) {
 *     try { step(x, y); } finally { x.dispose(); y.dispose(); }
 *   }
 */
export function batches(ds: AnyDataset, opts: BatchOptions): BatchIterator {
  return new BatchIterator(ds, opts);
}
