/**
 * The geometry of torchvision's image transforms (torchvision 0.14, `transforms/functional.py` and
 * `transforms/transforms.py`), as plain arithmetic on image sizes so the decoder (src/data/decode.ts)
 * and the batch builder (src/data/transforms.ts) compute the same boxes torchvision would:
 *
 * - `Resize(n)`: the shorter side becomes n, the longer `int(n * long / short)` (truncated);
 * - `CenterCrop(h, w)`: offsets `int(round((H - h) / 2))` with Python's round (half to even),
 *   zero padding when the crop is larger than the image;
 * - `RandomResizedCrop(size, scale=(0.08, 1), ratio=(3/4, 4/3))`: ten tries of a random area and
 *   log-uniform aspect ratio, then the fallback centre crop clamped to the ratio range.
 */
import type { Rng } from './rng.js';

/** Python 3's `round(x)` for the values used here: to nearest, ties to even. */
export function pyRound(x: number): number {
  const f = Math.floor(x);
  const d = x - f;
  if (d > 0.5) return f + 1;
  if (d < 0.5) return f;
  return f % 2 === 0 ? f : f + 1;
}

/**
 * Output [height, width] of torchvision's `Resize(size)` with an int size (shorter side → size)
 * on an image of `h`×`w`.
 *
 * @example resizeShorterSide(375, 500, 256) // [256, 341]
 */
export function resizeShorterSide(h: number, w: number, size: number): [number, number] {
  if (!(Number.isInteger(size) && size > 0)) throw new RangeError(`resize must be a positive integer, got ${size}`);
  const short = Math.min(h, w);
  const long = Math.max(h, w);
  const newLong = Math.trunc((size * long) / short);
  return w <= h ? [newLong, size] : [size, newLong];
}

/** A crop box in pixels of the source image: rows [top, top+height), columns [left, left+width). */
export interface CropBox {
  top: number;
  left: number;
  height: number;
  width: number;
}

/**
 * torchvision's `CenterCrop([ch, cw])` box on an `h`×`w` image. The box may start at a negative
 * offset or reach past the image when the crop is larger: torchvision pads with zeros there.
 *
 * @example centerCropBox(256, 341, 224, 224) // { top: 16, left: 58, height: 224, width: 224 }
 */
export function centerCropBox(h: number, w: number, ch: number, cw: number): CropBox {
  if (ch <= h && cw <= w) return { top: pyRound((h - ch) / 2), left: pyRound((w - cw) / 2), height: ch, width: cw };
  // torchvision pads (left, top, right, bottom) = ((cw-w)//2, (ch-h)//2, (cw-w+1)//2, (ch-h+1)//2)
  // with zeros first, then centre-crops the padded image.
  const padTop = ch > h ? Math.floor((ch - h) / 2) : 0;
  const padLeft = cw > w ? Math.floor((cw - w) / 2) : 0;
  const ph = h + (ch > h ? ch - h : 0);
  const pw = w + (cw > w ? cw - w : 0);
  return { top: pyRound((ph - ch) / 2) - padTop, left: pyRound((pw - cw) / 2) - padLeft, height: ch, width: cw };
}

/** Options of RandomResizedCrop, torchvision's defaults when left out. */
export interface RandomResizedCropOptions {
  /** Range of the crop's area as a fraction of the image's (default [0.08, 1]). */
  scale?: readonly [number, number];
  /** Range of the crop's width / height (default [3/4, 4/3]); sampled log-uniformly. */
  ratio?: readonly [number, number];
}

/**
 * The box torchvision's `RandomResizedCrop.get_params` would pick on an `h`×`w` image, drawing
 * from `rng` (uniform floats for area and log-ratio, uniform integers for the offsets). Draws per
 * try: area, log-ratio, and the two offsets only when the box fits; at most 10 tries, then the
 * fallback (no draws).
 */
export function randomResizedCropBox(h: number, w: number, rng: Rng, opts: RandomResizedCropOptions = {}): CropBox {
  const [s0, s1] = opts.scale ?? [0.08, 1];
  const [r0, r1] = opts.ratio ?? [3 / 4, 4 / 3];
  if (!(s0 > 0 && s0 <= s1)) throw new RangeError(`randomResizedCrop scale must satisfy 0 < min <= max, got [${s0}, ${s1}]`);
  if (!(r0 > 0 && r0 <= r1)) throw new RangeError(`randomResizedCrop ratio must satisfy 0 < min <= max, got [${r0}, ${r1}]`);
  const area = h * w;
  const l0 = Math.log(r0);
  const l1 = Math.log(r1);
  for (let t = 0; t < 10; t++) {
    const target = area * (s0 + (s1 - s0) * rng.next());
    const aspect = Math.exp(l0 + (l1 - l0) * rng.next());
    const cw = pyRound(Math.sqrt(target * aspect));
    const ch = pyRound(Math.sqrt(target / aspect));
    if (cw > 0 && cw <= w && ch > 0 && ch <= h) {
      const top = rng.int(h - ch + 1);
      const left = rng.int(w - cw + 1);
      return { top, left, height: ch, width: cw };
    }
  }
  const inRatio = w / h;
  let cw = w;
  let ch = h;
  if (inRatio < r0) ch = pyRound(w / r0);
  else if (inRatio > r1) cw = pyRound(h * r1);
  return { top: Math.floor((h - ch) / 2), left: Math.floor((w - cw) / 2), height: ch, width: cw };
}
