/**
 * What every dataset holds in memory, whether its pixels are in memory too (`ImageDataset`) or
 * served per batch (`StreamedDataset`): a name, int32 labels, class names, the geometry, and an
 * optional per-sample attribute flag (1 = the attribute object is present; used by
 * spurious-correlation experiments).
 */
export interface DatasetInfo {
  /** Short name for logs and reports, e.g. 'fashion-mnist/train'. */
  readonly name: string;
  /** Class index per sample, 0..classes.length-1. */
  readonly labels: Int32Array;
  /** Class names; index = label. */
  readonly classes: readonly string[];
  readonly n: number;
  /** Channels: 1 (grayscale) or 3 (RGB). */
  readonly c: number;
  readonly h: number;
  readonly w: number;
  /** Optional 0/1 attribute per sample. */
  readonly attributes?: Uint8Array;
  /**
   * Optional content id per sample (hex digest of the image as stored: an image file's bytes, or
   * the native pixels of an array format before any resize or channel conversion). Kept through
   * subsets and conversions, so two datasets can be checked for shared images whatever their
   * specs say (`sharedImages`).
   */
  readonly contentIds?: readonly string[];
}

/** The in-memory image dataset every stage shares: uint8 pixels in NCHW order (sample-major, then channel, row, column). */
export interface ImageDataset extends DatasetInfo {
  /** Pixels, length n*c*h*w, NCHW, 0..255. */
  readonly images: Uint8Array;
}

/** Number of bytes of one image. */
export function imageSize(ds: Pick<ImageDataset, 'c' | 'h' | 'w'>): number {
  return ds.c * ds.h * ds.w;
}

/** A view of sample i's pixels (no copy). */
export function imageAt(ds: ImageDataset, i: number): Uint8Array {
  const s = imageSize(ds);
  return ds.images.subarray(i * s, (i + 1) * s);
}

/**
 * A dataset whose pixels live elsewhere (an on-disk shard cache, or a base dataset plus per-sample
 * bias injection): labels, classes and geometry are in memory, pixels are served per batch by
 * `read`. `BatchIterator`, `makeBatch` and `predict` take it wherever they take an `ImageDataset`.
 */
export interface StreamedDataset extends DatasetInfo {
  /**
   * The pixels of `indices` in that order: a new buffer of length indices.length·c·h·w (NCHW)
   * that the caller owns and may modify. Throws a RangeError for an index outside 0..n-1.
   */
  read(indices: ArrayLike<number>): Uint8Array;
  /**
   * A hint that `indices` will be read next: an implementation may start reading them in the
   * background (the shard cache does so on a worker thread). Never changes what `read` returns.
   */
  prefetch?(indices: ArrayLike<number>): void;
}

/** Either kind of dataset: in memory, or streamed. */
export type AnyDataset = ImageDataset | StreamedDataset;

/** Whether `ds` is streamed (pixels served by `read`) rather than held in `images`. */
export function isStreamed(ds: AnyDataset): ds is StreamedDataset {
  return typeof (ds as StreamedDataset).read === 'function';
}

/** Throws a RangeError naming the dataset when an index is outside 0..n-1. */
export function checkIndices(ds: Pick<AnyDataset, 'n' | 'name'>, indices: ArrayLike<number>): void {
  for (let b = 0; b < indices.length; b++) {
    const i = indices[b];
    if (!Number.isInteger(i) || i < 0 || i >= ds.n) throw new RangeError(`index ${i} is outside 0..${ds.n - 1} of '${ds.name}'`);
  }
}

/**
 * The in-memory view of a batch of a streamed dataset: its `indices` read into one buffer, as an
 * ImageDataset of indices.length samples (sample b = indices[b]) with the matching labels.
 */
export function gatherBatch(ds: StreamedDataset, indices: ArrayLike<number>): ImageDataset {
  checkIndices(ds, indices);
  const images = ds.read(indices);
  const B = indices.length;
  if (images.length !== B * ds.c * ds.h * ds.w)
    throw new RangeError(`'${ds.name}': read returned ${images.length} bytes for ${B} images of ${ds.c}×${ds.h}×${ds.w}`);
  const labels = new Int32Array(B);
  for (let b = 0; b < B; b++) labels[b] = ds.labels[indices[b]];
  let attributes: Uint8Array | undefined;
  if (ds.attributes) {
    attributes = new Uint8Array(B);
    for (let b = 0; b < B; b++) attributes[b] = ds.attributes[indices[b]];
  }
  return { name: ds.name, images, labels, classes: ds.classes, n: B, c: ds.c, h: ds.h, w: ds.w, ...(attributes ? { attributes } : {}) };
}
