/**
 * The in-memory image dataset every stage shares: uint8 pixels in NCHW order (sample-major, then
 * channel, row, column), int32 labels, class names, and an optional per-sample attribute flag
 * (1 = the attribute object is present; used by spurious-correlation experiments).
 */
export interface ImageDataset {
  /** Short name for logs and reports, e.g. 'fashion-mnist/train'. */
  readonly name: string;
  /** Pixels, length n*c*h*w, NCHW, 0..255. */
  readonly images: Uint8Array;
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

/** Number of bytes of one image. */
export function imageSize(ds: Pick<ImageDataset, 'c' | 'h' | 'w'>): number {
  return ds.c * ds.h * ds.w;
}

/** A view of sample i's pixels (no copy). */
export function imageAt(ds: ImageDataset, i: number): Uint8Array {
  const s = imageSize(ds);
  return ds.images.subarray(i * s, (i + 1) * s);
}
