/**
 * Pillow's bilinear resampling (`Image.resize(size, Image.BILINEAR)`, Pillow 9, libImaging/Resample.c),
 * bit for bit on uint8 images: a triangle filter whose support widens with the downscale factor
 * (antialiasing), fixed-point coefficients with 22 fractional bits, a horizontal pass rounded to
 * uint8, then a vertical pass. The decoder uses it where libvips' resampler differs from Pillow's
 * (upscaling); libvips does the downscaling.
 */

const PRECISION_BITS = 32 - 8 - 2;

/** Per output pixel along one axis: first source index, tap count, fixed-point weights. */
interface Coeffs {
  start: Int32Array;
  count: Int32Array;
  /** ksize weights per output pixel. */
  k: Int32Array;
  ksize: number;
}

function coeffs(inSize: number, outSize: number): Coeffs {
  const scale = inSize / outSize;
  const filterscale = Math.max(scale, 1);
  const support = filterscale; // bilinear: support 1
  const ksize = Math.ceil(support) * 2 + 1;
  const start = new Int32Array(outSize);
  const count = new Int32Array(outSize);
  const k = new Int32Array(outSize * ksize);
  const tmp = new Float64Array(ksize);
  const ss = 1 / filterscale;
  for (let xx = 0; xx < outSize; xx++) {
    const center = (xx + 0.5) * scale;
    let xmin = Math.trunc(center - support + 0.5);
    if (xmin < 0) xmin = 0;
    let xmax = Math.trunc(center + support + 0.5);
    if (xmax > inSize) xmax = inSize;
    xmax -= xmin;
    let ww = 0;
    for (let x = 0; x < xmax; x++) {
      const d = Math.abs((x + xmin - center + 0.5) * ss);
      const w = d < 1 ? 1 - d : 0;
      tmp[x] = w;
      ww += w;
    }
    for (let x = 0; x < xmax; x++) {
      const v = ww !== 0 ? tmp[x] / ww : tmp[x];
      k[xx * ksize + x] = v < 0 ? Math.trunc(-0.5 + v * (1 << PRECISION_BITS)) : Math.trunc(0.5 + v * (1 << PRECISION_BITS));
    }
    start[xx] = xmin;
    count[xx] = xmax;
  }
  return { start, count, k, ksize };
}

const clip8 = (v: number): number => (v <= 0 ? 0 : v >= 255 ? 255 : v);

/**
 * Resizes an interleaved uint8 image (`c` channels, h×w) to oh×ow as Pillow's BILINEAR does.
 *
 * @example pilResizeBilinear(rgb, 3, 2, 2, 4, 4) // 2×2 → 4×4, edge pixels kept, centres interpolated
 */
export function pilResizeBilinear(src: Uint8Array, c: number, h: number, w: number, oh: number, ow: number): Uint8Array {
  const half = 1 << (PRECISION_BITS - 1);
  // Sums stay below 255·2^22 + 2^21 < 2^31, as Pillow's int accumulators; exact in doubles.
  let cur = src;
  let cw = w;
  if (ow !== w) {
    const { start, count, k, ksize } = coeffs(w, ow);
    const out = new Uint8Array(h * ow * c);
    for (let y = 0; y < h; y++)
      for (let xx = 0; xx < ow; xx++) {
        const s0 = start[xx];
        const n = count[xx];
        const kb = xx * ksize;
        for (let ch = 0; ch < c; ch++) {
          let ss = half;
          for (let x = 0; x < n; x++) ss += cur[(y * cw + s0 + x) * c + ch] * k[kb + x];
          out[(y * ow + xx) * c + ch] = clip8(Math.floor(ss / (1 << PRECISION_BITS)));
        }
      }
    cur = out;
    cw = ow;
  }
  if (oh !== h) {
    const { start, count, k, ksize } = coeffs(h, oh);
    const out = new Uint8Array(oh * cw * c);
    for (let yy = 0; yy < oh; yy++) {
      const s0 = start[yy];
      const n = count[yy];
      const kb = yy * ksize;
      for (let x = 0; x < cw; x++)
        for (let ch = 0; ch < c; ch++) {
          let ss = half;
          for (let y = 0; y < n; y++) ss += cur[((s0 + y) * cw + x) * c + ch] * k[kb + y];
          out[(yy * cw + x) * c + ch] = clip8(Math.floor(ss / (1 << PRECISION_BITS)));
        }
    }
    cur = out;
  }
  return cur === src ? src.slice() : cur;
}

/** Float weights of Pillow's bilinear filter along one axis (no fixed-point rounding): per output pixel, `count` taps from `start`. */
export interface FloatCoeffs {
  start: Int32Array;
  count: Int32Array;
  /** ksize weights per output pixel, normalised to sum 1. */
  k: Float32Array;
  ksize: number;
}

/**
 * Pillow's bilinear sampling plan from `inSize` to `outSize` pixels with float weights: the
 * antialiased resampling the batch builder uses for RandomResizedCrop (on float pixels).
 */
export function pilBilinearCoeffs(inSize: number, outSize: number): FloatCoeffs {
  const fixed = coeffs(inSize, outSize);
  const k = new Float32Array(fixed.k.length);
  for (let i = 0; i < k.length; i++) k[i] = fixed.k[i] / (1 << PRECISION_BITS);
  return { start: fixed.start, count: fixed.count, k, ksize: fixed.ksize };
}
