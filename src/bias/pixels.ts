/**
 * Pixel helpers shared by triggers, patches and composition: the `Rendered` overlay type (pixels +
 * blend mask), pasting with alpha blending, bilinear resizing, channel conversion and colour
 * validation. Everything here is pure: inputs are never modified.
 */

/** Channel count and spatial size of one image (pixels are CHW, uint8). */
export interface ImageDims {
  readonly c: number;
  readonly h: number;
  readonly w: number;
}

/**
 * A square overlay ready to paste: `pixels` is c*size*size uint8 in CHW order, `mask` is
 * size*size in 0..1 (1 = overlay replaces the image, 0.5 = half blend; opacity is already folded in).
 */
export interface Rendered {
  readonly pixels: Uint8Array;
  readonly mask: Float32Array;
  readonly size: number;
  readonly c: number;
}

/** Top-left corner of a pasted overlay: x = column, y = row, both in pixels from the image's top-left. */
export interface Placement {
  readonly index: number;
  readonly x: number;
  readonly y: number;
}

/**
 * Pastes `overlay` onto a copy of `image` (CHW, dims) with its top-left corner at column x, row y:
 * out = round(mask*overlay + (1-mask)*image). A gray overlay on an RGB image is replicated to all
 * channels; an RGB overlay on a gray image is converted to luminance. Returns the new image.
 *
 * @example pasteOverlay(img, { c: 1, h: 8, w: 8 }, solid2x2, 6, 6) // bottom-right 2x2 square
 */
export function pasteOverlay(image: Uint8Array, dims: ImageDims, overlay: Rendered, x: number, y: number): Uint8Array {
  const { c, h, w } = dims;
  if (image.length !== c * h * w) {
    throw new RangeError(`image has ${image.length} bytes but dims ${c}x${h}x${w} need ${c * h * w}`);
  }
  const s = overlay.size;
  if (!Number.isInteger(x) || !Number.isInteger(y) || x < 0 || y < 0 || x + s > w || y + s > h) {
    throw new RangeError(`overlay of side ${s} at (x=${x}, y=${y}) does not fit in a ${h}x${w} image`);
  }
  const out = image.slice();
  blendInto(out, dims, overlay, x, y);
  return out;
}

/**
 * In-place variant of pasteOverlay for callers that own `target` (a fresh buffer they built):
 * blends `overlay` into target (CHW of `dims`) at column x, row y. Bounds are the caller's duty.
 */
export function blendInto(target: Uint8Array, dims: ImageDims, overlay: Rendered, x: number, y: number): void {
  const { c, h, w } = dims;
  const s = overlay.size;
  const px = convertChannels(overlay.pixels, { c: overlay.c, h: s, w: s }, c);
  for (let ch = 0; ch < c; ch++) {
    for (let r = 0; r < s; r++) {
      for (let q = 0; q < s; q++) {
        const m = overlay.mask[r * s + q];
        if (m <= 0) continue;
        const o = ch * h * w + (y + r) * w + (x + q);
        const v = px[ch * s * s + r * s + q];
        target[o] = m >= 1 ? v : Math.round(m * v + (1 - m) * target[o]);
      }
    }
  }
}

/**
 * Converts CHW pixels to `toC` channels: 1→3 replicates the gray plane, 3→1 takes luminance
 * (0.299 R + 0.587 G + 0.114 B, rounded), same count returns the input unchanged.
 */
export function convertChannels(pixels: Uint8Array, dims: ImageDims, toC: number): Uint8Array {
  const { c, h, w } = dims;
  if (c === toC) return pixels;
  const plane = h * w;
  if (c === 1 && toC === 3) {
    const out = new Uint8Array(3 * plane);
    out.set(pixels, 0);
    out.set(pixels, plane);
    out.set(pixels, 2 * plane);
    return out;
  }
  if (c === 3 && toC === 1) {
    const out = new Uint8Array(plane);
    for (let i = 0; i < plane; i++) {
      out[i] = Math.round(0.299 * pixels[i] + 0.587 * pixels[plane + i] + 0.114 * pixels[2 * plane + i]);
    }
    return out;
  }
  throw new RangeError(`cannot convert ${c} channels to ${toC} (only 1 and 3 are supported)`);
}

/**
 * Bilinear resize of CHW uint8 pixels (half-pixel centres, like PyTorch's align_corners=false).
 * When shrinking by more than 2x it averages boxes instead, so thin strokes do not vanish.
 */
export function resizeImage(pixels: Uint8Array, dims: ImageDims, to: { h: number; w: number }): Uint8Array {
  const f = resizePlanes(Float32Array.from(pixels), dims, to);
  const out = new Uint8Array(f.length);
  for (let i = 0; i < f.length; i++) out[i] = Math.min(255, Math.max(0, Math.round(f[i])));
  return out;
}

/** Same as resizeImage for a single float plane (e.g. a 0..1 mask). */
export function resizeMask(mask: Float32Array, from: { h: number; w: number }, to: { h: number; w: number }): Float32Array {
  return resizePlanes(mask, { c: 1, ...from }, to);
}

function resizePlanes(src: Float32Array, dims: ImageDims, to: { h: number; w: number }): Float32Array {
  const { c, h, w } = dims;
  if (to.h === h && to.w === w) return src.slice();
  if (!Number.isInteger(to.h) || !Number.isInteger(to.w) || to.h < 1 || to.w < 1) {
    throw new RangeError(`resize target must be positive integers, got ${to.h}x${to.w}`);
  }
  const out = new Float32Array(c * to.h * to.w);
  const sy = h / to.h;
  const sx = w / to.w;
  const box = sy > 2 || sx > 2;
  for (let ch = 0; ch < c; ch++) {
    const base = ch * h * w;
    for (let r = 0; r < to.h; r++) {
      for (let q = 0; q < to.w; q++) {
        let v: number;
        if (box) {
          const r0 = Math.floor(r * sy);
          const r1 = Math.max(r0 + 1, Math.floor((r + 1) * sy));
          const q0 = Math.floor(q * sx);
          const q1 = Math.max(q0 + 1, Math.floor((q + 1) * sx));
          let sum = 0;
          for (let rr = r0; rr < r1; rr++) for (let qq = q0; qq < q1; qq++) sum += src[base + rr * w + qq];
          v = sum / ((r1 - r0) * (q1 - q0));
        } else {
          const fy = Math.min(h - 1, Math.max(0, (r + 0.5) * sy - 0.5));
          const fx = Math.min(w - 1, Math.max(0, (q + 0.5) * sx - 0.5));
          const y0 = Math.floor(fy);
          const x0 = Math.floor(fx);
          const y1 = Math.min(h - 1, y0 + 1);
          const x1 = Math.min(w - 1, x0 + 1);
          const dy = fy - y0;
          const dx = fx - x0;
          const a = src[base + y0 * w + x0] * (1 - dx) + src[base + y0 * w + x1] * dx;
          const b = src[base + y1 * w + x0] * (1 - dx) + src[base + y1 * w + x1] * dx;
          v = a * (1 - dy) + b * dy;
        }
        out[ch * to.h * to.w + r * to.w + q] = v;
      }
    }
  }
  return out;
}

/**
 * Checks a colour against a channel count and returns one value per channel. A single value (or a
 * one-element array) is a gray level used for every channel. `key` names the config key in errors.
 *
 * @example normalizeColor([255, 0, 0], 3, 'trigger.color') // [255, 0, 0]
 */
export function normalizeColor(color: number | readonly number[], c: number, key: string): number[] {
  const arr = typeof color === 'number' ? [color] : [...color];
  if (arr.length !== 1 && arr.length !== c) {
    throw new RangeError(`${key} has ${arr.length} values but the image has ${c} channel${c === 1 ? '' : 's'} (give 1 or ${c})`);
  }
  for (const v of arr) {
    if (!Number.isFinite(v) || v < 0 || v > 255) throw new RangeError(`${key} values must be in 0..255, got ${v}`);
  }
  return arr.length === 1 ? new Array<number>(c).fill(Math.round(arr[0])) : arr.map((v) => Math.round(v));
}

/** Mean pixel value over all channels, weighting each location by its mask value (0..255). */
export function maskedMean(r: Rendered): number {
  const s2 = r.size * r.size;
  let sum = 0;
  let wsum = 0;
  for (let ch = 0; ch < r.c; ch++) {
    for (let i = 0; i < s2; i++) {
      sum += r.pixels[ch * s2 + i] * r.mask[i];
      wsum += r.mask[i];
    }
  }
  return wsum > 0 ? sum / wsum : 0;
}
