/**
 * From uint8 images to a float training batch, in one pass per sample and one tensor copy.
 *
 * Per sample, in this order (the torchvision pipeline RandomCrop(padding) → RandomHorizontalFlip →
 * ToTensor → Normalize, with resize/channel conversion first):
 *   1. channels: gray → RGB by replication, RGB → gray by 0.299 R + 0.587 G + 0.114 B (float, no rounding);
 *   2. resize to `size` (bilinear, align_corners=False, float, no rounding);
 *   3. random crop: pad by `cropPadding` zeros (pixel value 0, i.e. before normalisation) and take a
 *      window of the original size at offsets (dy, dx) uniform in [0, 2·padding];
 *   4. horizontal flip with probability 1/2;
 *   5. x = (pixel/255 − mean[c]) / std[c].
 * Random draws per sample, in order: dy, dx (if cropPadding > 0), then flip (if hflip).
 *
 * With `augment.randomResizedCrop` (torchvision's RandomResizedCrop, instead of steps 2-3) each
 * sample draws from its own stream `Rng(seed, 'augment/<epoch>/sample/<index>')`, so its crop and
 * flip depend only on (seed, epoch, dataset index), not on batch size or order: the crop box of
 * torchvision's 10-try algorithm on the stored image, resampled to `size` by Pillow's bilinear
 * (antialiased on downscale, float), then the flip (if hflip) from the same stream.
 */
import { fromTyped, type Tensor } from '../torch/index.js';
import { randomResizedCropBox, type RandomResizedCropOptions } from './geometry.js';
import { bilinearAxis, convertChannels, resizePlane } from './image.js';
import { pilBilinearCoeffs } from './pil-resize.js';
import { Rng } from './rng.js';
import { gatherBatch, imageSize, isStreamed, type AnyDataset, type ImageDataset } from './types.js';

/** Random augmentation (training only). */
export interface AugmentSpec {
  /** Random crop with this many zero pixels of padding on each side (torchvision RandomCrop(size, padding)). */
  cropPadding?: number;
  /** Random horizontal flip with probability 1/2. */
  hflip?: boolean;
  /** torchvision RandomResizedCrop to the output size (scale/ratio default (0.08, 1) and (3/4, 4/3)); not with cropPadding. */
  randomResizedCrop?: RandomResizedCropOptions;
}

/** Where per-sample random streams come from (RandomResizedCrop): the loader's seed and epoch. */
export interface SampleStreams {
  seed: number;
  epoch: number;
  /** The dataset index of each batch position, when the batch was gathered into a view (streamed data). */
  origin?: ArrayLike<number>;
}

/** How images become a float batch. */
export interface BatchSpec {
  /** Output [height, width] (bilinear resize); default the dataset's. */
  size?: [number, number];
  /** Output channels; default the dataset's. */
  channels?: 1 | 3;
  /** Per output channel, subtracted from pixel/255. */
  mean: readonly number[];
  /** Per output channel, divides (pixel/255 − mean). */
  std: readonly number[];
  augment?: AugmentSpec;
}

/** A batch: x float32 [B, C, H, W], y int64 [B]. The caller owns (and disposes) both. */
export interface Batch {
  x: Tensor;
  y: Tensor;
}

/**
 * The plain batch spec of images of `geometry` under a per-channel normalisation: the geometry's
 * size and channels, no augmentation (the one builder: experiment jobs add their augmentation to
 * it, the audit uses it as it is).
 * @example batchSpecFor({ c: 1, h: 28, w: 28 }, { mean: [0.13], std: [0.31] }) // { mean: [0.13], std: [0.31], size: [28, 28], channels: 1 }
 */
export function batchSpecFor(
  geometry: Pick<ImageDataset, 'c' | 'h' | 'w'>,
  norm: { readonly mean: readonly number[]; readonly std: readonly number[] },
): BatchSpec {
  return { mean: [...norm.mean], std: [...norm.std], size: [geometry.h, geometry.w], channels: geometry.c as 1 | 3 };
}

/** Output shape [C, H, W] of a spec applied to a dataset. */
export function outputShape(ds: Pick<ImageDataset, 'c' | 'h' | 'w'>, spec: Pick<BatchSpec, 'size' | 'channels'>): [number, number, number] {
  return [spec.channels ?? ds.c, spec.size?.[0] ?? ds.h, spec.size?.[1] ?? ds.w];
}

/** Checks a spec against a dataset; throws a RangeError naming the bad setting. */
export function validateBatchSpec(ds: Pick<ImageDataset, 'c' | 'h' | 'w' | 'name'>, spec: BatchSpec): void {
  const [c, h, w] = outputShape(ds, spec);
  if (c !== ds.c && ((c !== 1 && c !== 3) || (ds.c !== 1 && ds.c !== 3)))
    throw new RangeError(`batch spec: cannot convert dataset '${ds.name}' from ${ds.c} to ${c} channels; only 1 ↔ 3 is supported`);
  if (!(Number.isInteger(h) && Number.isInteger(w) && h > 0 && w > 0))
    throw new RangeError(`batch spec: size must be two positive integers, got [${h}, ${w}]`);
  if (spec.mean.length !== c) throw new RangeError(`batch spec: mean has ${spec.mean.length} values for ${c} channel(s)`);
  if (spec.std.length !== c) throw new RangeError(`batch spec: std has ${spec.std.length} values for ${c} channel(s)`);
  spec.std.forEach((s, i) => {
    if (!(s > 0)) throw new RangeError(`batch spec: std[${i}] must be > 0, got ${s}`);
  });
  const p = spec.augment?.cropPadding ?? 0;
  if (!(Number.isInteger(p) && p >= 0)) throw new RangeError(`batch spec: augment.cropPadding must be a non-negative integer, got ${p}`);
  if (spec.augment?.randomResizedCrop !== undefined && p > 0)
    throw new RangeError('batch spec: augment.randomResizedCrop and augment.cropPadding cannot be combined');
}

/** Whether the spec draws random numbers. */
export function isRandom(spec: BatchSpec): boolean {
  return (spec.augment?.cropPadding ?? 0) > 0 || spec.augment?.hflip === true || spec.augment?.randomResizedCrop !== undefined;
}

/**
 * Writes the float images of `indices` into `out` (length B·C·H·W, NCHW) following `spec`; the
 * building block of `makeBatch`, exposed for callers that want the floats without a tensor.
 * A streamed dataset's batch is read first (`gatherBatch`), then goes through the same per-sample
 * code with the same rng draws, so a streamed copy of a dataset gives the same floats.
 */
export function fillBatch(
  ds: AnyDataset,
  indices: ArrayLike<number>,
  spec: BatchSpec,
  out: Float32Array,
  rng?: Rng,
  streams?: SampleStreams,
): void {
  if (isStreamed(ds)) {
    validateBatchSpec(ds, spec);
    const view = gatherBatch(ds, indices);
    // The view holds the batch at positions 0..B-1; per-sample streams keep the dataset indices.
    fillBatch(
      view,
      Int32Array.from({ length: indices.length }, (_, b) => b),
      spec,
      out,
      rng,
      streams ? { ...streams, origin: indices } : undefined,
    );
    return;
  }
  validateBatchSpec(ds, spec);
  if (spec.augment?.randomResizedCrop !== undefined) {
    if (streams === undefined) throw new RangeError('makeBatch: augment.randomResizedCrop needs the seed and epoch of per-sample streams');
    fillRandomResizedCrop(ds, indices, spec, out, streams);
    return;
  }
  const [oc, oh, ow] = outputShape(ds, spec);
  const pad = spec.augment?.cropPadding ?? 0;
  const hflip = spec.augment?.hflip === true;
  if ((pad > 0 || hflip) && rng === undefined) throw new RangeError('makeBatch: augmentation (cropPadding/hflip) needs an rng');
  const s = imageSize(ds);
  const plane = oh * ow;
  const needConvert = oc !== ds.c;
  const needResize = oh !== ds.h || ow !== ds.w;
  const mid = needConvert ? new Float32Array(oc * ds.h * ds.w) : undefined;
  const resized = needResize ? new Float32Array(oc * plane) : undefined;
  const plans = needResize ? { y: bilinearAxis(ds.h, oh), x: bilinearAxis(ds.w, ow) } : undefined;
  const scale = spec.std.map((sd) => 1 / (255 * sd));
  const bias = spec.mean.map((m, k) => -m / spec.std[k]);
  if (out.length !== indices.length * oc * plane)
    throw new RangeError(`fillBatch: out has ${out.length} values, ${indices.length * oc * plane} needed`);
  for (let b = 0; b < indices.length; b++) {
    const i = indices[b];
    if (!Number.isInteger(i) || i < 0 || i >= ds.n) throw new RangeError(`makeBatch: index ${i} is outside 0..${ds.n - 1} of '${ds.name}'`);
    // Source planes (0..255 values): the dataset's bytes, or converted/resized floats.
    let src: ArrayLike<number> = ds.images;
    let off = i * s;
    if (mid) {
      convertChannels(ds.images, off, ds.c, oc, ds.h * ds.w, mid, 0);
      src = mid;
      off = 0;
    }
    if (resized && plans) {
      for (let k = 0; k < oc; k++) resizePlane(src, off + k * ds.h * ds.w, ds.w, resized, k * plane, plans);
      src = resized;
      off = 0;
    }
    const dy = pad > 0 ? rng!.int(2 * pad + 1) - pad : 0;
    const dx = pad > 0 ? rng!.int(2 * pad + 1) - pad : 0;
    const flip = hflip ? rng!.next() < 0.5 : false;
    const base = b * oc * plane;
    for (let k = 0; k < oc; k++) {
      const sc = scale[k];
      const bi = bias[k];
      const so = off + k * plane;
      const oo = base + k * plane;
      for (let y = 0; y < oh; y++) {
        const sy = y + dy;
        const row = oo + y * ow;
        if (sy < 0 || sy >= oh) {
          out.fill(bi, row, row + ow);
          continue;
        }
        const srow = so + sy * ow;
        // Output columns whose source column lies inside the image: x in [x0, x1).
        const x0 = Math.min(ow, Math.max(0, flip ? dx : -dx));
        const x1 = Math.max(x0, Math.min(ow, flip ? ow + dx : ow - dx));
        if (x0 > 0) out.fill(bi, row, row + x0);
        if (x1 < ow) out.fill(bi, row + x1, row + ow);
        if (flip) {
          const base2 = srow + ow - 1 + dx; // source index of output column 0
          for (let x = x0; x < x1; x++) out[row + x] = src[base2 - x] * sc + bi;
        } else {
          const base2 = srow + dx;
          for (let x = x0; x < x1; x++) out[row + x] = src[base2 + x] * sc + bi;
        }
      }
    }
  }
}

/** fillBatch with RandomResizedCrop: per sample its own stream, crop box, Pillow-bilinear resample, flip, normalise. */
function fillRandomResizedCrop(
  ds: ImageDataset,
  indices: ArrayLike<number>,
  spec: BatchSpec,
  out: Float32Array,
  streams: SampleStreams,
): void {
  const [oc, oh, ow] = outputShape(ds, spec);
  const s = imageSize(ds);
  const plane = oh * ow;
  const src = new Float32Array(oc * ds.h * ds.w);
  const scale = spec.std.map((sd) => 1 / (255 * sd));
  const bias = spec.mean.map((m, k) => -m / spec.std[k]);
  const hflip = spec.augment?.hflip === true;
  if (out.length !== indices.length * oc * plane)
    throw new RangeError(`fillBatch: out has ${out.length} values, ${indices.length * oc * plane} needed`);
  for (let b = 0; b < indices.length; b++) {
    const i = indices[b];
    if (!Number.isInteger(i) || i < 0 || i >= ds.n) throw new RangeError(`makeBatch: index ${i} is outside 0..${ds.n - 1} of '${ds.name}'`);
    convertChannels(ds.images, i * s, ds.c, oc, ds.h * ds.w, src, 0);
    const rng = new Rng(streams.seed, `augment/${streams.epoch}/sample/${streams.origin?.[b] ?? i}`);
    const box = randomResizedCropBox(ds.h, ds.w, rng, spec.augment!.randomResizedCrop);
    const flip = hflip ? rng.next() < 0.5 : false;
    const cx = pilBilinearCoeffs(box.width, ow);
    const cy = pilBilinearCoeffs(box.height, oh);
    const tmp = new Float32Array(box.height * ow);
    for (let k = 0; k < oc; k++) {
      const so = k * ds.h * ds.w;
      // Horizontal pass over the box's rows, then vertical; Pillow's order.
      for (let y = 0; y < box.height; y++) {
        const row = so + (box.top + y) * ds.w + box.left;
        for (let x = 0; x < ow; x++) {
          const st = cx.start[x];
          const kb = x * cx.ksize;
          let acc = 0;
          for (let t = 0; t < cx.count[x]; t++) acc += src[row + st + t] * cx.k[kb + t];
          tmp[y * ow + x] = acc;
        }
      }
      const oo = b * oc * plane + k * plane;
      for (let y = 0; y < oh; y++) {
        const st = cy.start[y];
        const kb = y * cy.ksize;
        for (let x = 0; x < ow; x++) {
          let acc = 0;
          for (let t = 0; t < cy.count[y]; t++) acc += tmp[(st + t) * ow + x] * cy.k[kb + t];
          out[oo + y * ow + (flip ? ow - 1 - x : x)] = acc * scale[k] + bias[k];
        }
      }
    }
  }
}

/**
 * The float batch of the samples at `indices`: x float32 [B, C, H, W] normalised per `spec`,
 * y int64 [B] labels. Built in one Float32Array and copied to a tensor once. `rng` is required
 * when `spec.augment` crops or flips; the same rng state gives the same batch.
 *
 * @example
 *   const { x, y } = makeBatch(ds, [0, 1, 2], { mean: [0.286], std: [0.353], augment: { hflip: true } }, new Rng(0));
 */
export function makeBatch(ds: AnyDataset, indices: ArrayLike<number>, spec: BatchSpec, rng?: Rng, streams?: SampleStreams): Batch {
  const [oc, oh, ow] = outputShape(ds, spec);
  const B = indices.length;
  const data = new Float32Array(B * oc * oh * ow);
  fillBatch(ds, indices, spec, data, rng, streams);
  const lab = new BigInt64Array(B);
  for (let b = 0; b < B; b++) lab[b] = BigInt(ds.labels[indices[b]]);
  const x = fromTyped(data, [B, oc, oh, ow]);
  try {
    return { x, y: fromTyped(lab, [B]) };
  } catch (e) {
    x.dispose();
    throw e;
  }
}

/**
 * Per-channel mean and (population) standard deviation of pixel/255 over the whole dataset,
 * the values to put in a BatchSpec's mean/std.
 */
export function channelStats(ds: AnyDataset): { mean: number[]; std: number[] } {
  const plane = ds.h * ds.w;
  const s = imageSize(ds);
  // Integer sums (exact in a double below 2^53), so reading a streamed dataset in chunks gives the same numbers.
  const sum = new Array<number>(ds.c).fill(0);
  const sq = new Array<number>(ds.c).fill(0);
  const chunk = 256;
  for (let i0 = 0; i0 < ds.n; i0 += chunk) {
    const m = Math.min(chunk, ds.n - i0);
    const px = isStreamed(ds) ? ds.read(Int32Array.from({ length: m }, (_, j) => i0 + j)) : ds.images.subarray(i0 * s, (i0 + m) * s);
    for (let k = 0; k < ds.c; k++)
      for (let i = 0; i < m; i++) {
        const o = i * s + k * plane;
        let ps = 0;
        let pq = 0;
        for (let j = 0; j < plane; j++) {
          const v = px[o + j];
          ps += v;
          pq += v * v;
        }
        sum[k] += ps;
        sq[k] += pq;
      }
  }
  const mean: number[] = [];
  const std: number[] = [];
  for (let k = 0; k < ds.c; k++) {
    const count = ds.n * plane;
    const m = sum[k] / count;
    mean.push(m / 255);
    std.push(Math.sqrt(Math.max(sq[k] / count - m * m, 0)) / 255);
  }
  return { mean, std };
}
