/**
 * Pixel operations on single images, shared by the image-folder loader, dataset conversion and
 * batch building: bilinear resizing (PyTorch's `interpolate(mode='bilinear', align_corners=False)`
 * rule, no antialiasing) and channel conversion (gray → RGB by replication, RGB → gray by the
 * ITU-R 601 luminance 0.299 R + 0.587 G + 0.114 B, as PIL's `convert('L')`).
 */
import { imageSize, type ImageDataset } from './types.js';

/** Luminance weights of R, G, B. */
export const LUMA = [0.299, 0.587, 0.114] as const;

/**
 * For each output coordinate along one axis: the two source indices and the weight of the
 * second, with half-pixel centres (align_corners=False) and the source clamped at 0 as PyTorch.
 */
export interface AxisPlan {
  i0: Int32Array;
  i1: Int32Array;
  w1: Float32Array;
}

/** The sampling plan of a bilinear resize from `inSize` to `outSize` pixels along one axis. */
export function bilinearAxis(inSize: number, outSize: number): AxisPlan {
  const i0 = new Int32Array(outSize);
  const i1 = new Int32Array(outSize);
  const w1 = new Float32Array(outSize);
  const scale = inSize / outSize;
  for (let o = 0; o < outSize; o++) {
    const src = Math.max((o + 0.5) * scale - 0.5, 0);
    const a = Math.min(Math.floor(src), inSize - 1);
    i0[o] = a;
    i1[o] = Math.min(a + 1, inSize - 1);
    w1[o] = src - a;
  }
  return { i0, i1, w1 };
}

/**
 * Bilinear resize of one plane (source width `w`) into `dst` (the plans' oh×ow), reading `src` from
 * `srcOff` and writing `dst` from `dstOff`. A Uint8Array destination gets values rounded to nearest.
 */
export function resizePlane(
  src: ArrayLike<number>,
  srcOff: number,
  w: number,
  dst: Uint8Array | Float32Array,
  dstOff: number,
  plans: { y: AxisPlan; x: AxisPlan },
): void {
  const { y, x } = plans;
  const oh = y.i0.length;
  const ow = x.i0.length;
  const round = dst instanceof Uint8Array;
  for (let r = 0; r < oh; r++) {
    const r0 = srcOff + y.i0[r] * w;
    const r1 = srcOff + y.i1[r] * w;
    const wy = y.w1[r];
    const out = dstOff + r * ow;
    for (let cc = 0; cc < ow; cc++) {
      const a = x.i0[cc];
      const b = x.i1[cc];
      const wx = x.w1[cc];
      const top = src[r0 + a] + (src[r0 + b] - src[r0 + a]) * wx;
      const bot = src[r1 + a] + (src[r1 + b] - src[r1 + a]) * wx;
      const v = top + (bot - top) * wy;
      dst[out + cc] = round ? Math.round(v) : v;
    }
  }
}

/**
 * Converts one CHW image from `c` to `outC` channels (1 or 3) into `dst` (uint8: rounded).
 * `src` holds c*plane values from `srcOff`; `plane` = h*w.
 */
export function convertChannels(
  src: ArrayLike<number>,
  srcOff: number,
  c: number,
  outC: number,
  plane: number,
  dst: Uint8Array | Float32Array,
  dstOff: number,
): void {
  const round = dst instanceof Uint8Array;
  if (c === outC) {
    for (let i = 0; i < c * plane; i++) dst[dstOff + i] = src[srcOff + i];
  } else if (c === 1 && outC === 3) {
    for (let k = 0; k < 3; k++) for (let i = 0; i < plane; i++) dst[dstOff + k * plane + i] = src[srcOff + i];
  } else if (c === 3 && outC === 1) {
    for (let i = 0; i < plane; i++) {
      const v = LUMA[0] * src[srcOff + i] + LUMA[1] * src[srcOff + plane + i] + LUMA[2] * src[srcOff + 2 * plane + i];
      dst[dstOff + i] = round ? Math.round(v) : v;
    }
  } else throw new RangeError(`cannot convert ${c} channel(s) to ${outC}; only 1 and 3 are supported`);
}

/**
 * Interleaved RGBA bytes (as PNG/JPEG decoders give them) → planar CHW uint8 with 1 or 3
 * channels; alpha is dropped (not composited).
 */
export function rgbaToPlanar(rgba: Uint8Array, h: number, w: number, outC: 1 | 3): Uint8Array {
  const plane = h * w;
  const out = new Uint8Array(outC * plane);
  for (let i = 0; i < plane; i++) {
    const r = rgba[4 * i];
    const g = rgba[4 * i + 1];
    const b = rgba[4 * i + 2];
    if (outC === 3) {
      out[i] = r;
      out[plane + i] = g;
      out[2 * plane + i] = b;
    } else out[i] = Math.round(LUMA[0] * r + LUMA[1] * g + LUMA[2] * b);
  }
  return out;
}

/** Resizes one uint8 CHW image (bilinear, rounded). */
export function resizeImage(
  src: Uint8Array,
  c: number,
  [h, w]: readonly [number, number],
  [oh, ow]: readonly [number, number],
): Uint8Array {
  if (h === oh && w === ow) return src.slice();
  const out = new Uint8Array(c * oh * ow);
  const plans = { y: bilinearAxis(h, oh), x: bilinearAxis(w, ow) };
  for (let k = 0; k < c; k++) resizePlane(src, k * h * w, w, out, k * oh * ow, plans);
  return out;
}

/**
 * A copy of the dataset with every image converted to `channels` and resized to `size`
 * (bilinear, rounded to uint8). Either option may be left out to keep that property.
 */
export function convertDataset(ds: ImageDataset, opts: { size?: readonly [number, number]; channels?: 1 | 3 }): ImageDataset {
  const oc = opts.channels ?? ds.c;
  const [oh, ow] = opts.size ?? [ds.h, ds.w];
  if (!(Number.isInteger(oh) && Number.isInteger(ow) && oh > 0 && ow > 0))
    throw new RangeError(`size must be two positive integers, got [${oh}, ${ow}]`);
  if (oc === ds.c && oh === ds.h && ow === ds.w)
    return { ...ds, images: ds.images.slice(), labels: ds.labels.slice(), ...(ds.attributes ? { attributes: ds.attributes.slice() } : {}) };
  const s = imageSize(ds);
  const mid = new Uint8Array(oc * ds.h * ds.w);
  const os = oc * oh * ow;
  const images = new Uint8Array(ds.n * os);
  const plans = { y: bilinearAxis(ds.h, oh), x: bilinearAxis(ds.w, ow) };
  const same = oh === ds.h && ow === ds.w;
  for (let i = 0; i < ds.n; i++) {
    if (same) {
      convertChannels(ds.images, i * s, ds.c, oc, ds.h * ds.w, images, i * os);
      continue;
    }
    convertChannels(ds.images, i * s, ds.c, oc, ds.h * ds.w, mid, 0);
    for (let k = 0; k < oc; k++) resizePlane(mid, k * ds.h * ds.w, ds.w, images, i * os + k * oh * ow, plans);
  }
  return { ...ds, images, labels: ds.labels.slice(), c: oc, h: oh, w: ow, ...(ds.attributes ? { attributes: ds.attributes.slice() } : {}) };
}
