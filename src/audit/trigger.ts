/**
 * The recovered trigger: a mask m (one value per pixel, shared by the channels) and a pattern p
 * (per channel and pixel), both in [0, 1], pasted as x' = (1 − m)·x + m·p on images in 0..1 units
 * (pixel / 255, before the model's normalisation). The search optimises unconstrained logits:
 * m = sigmoid(a), p = (tanh(b) + 1) / 2 (Neural Cleanse's and DECREE's parametrisation), so
 * Adam never leaves the valid range.
 */
import { Rng } from '../data/rng.js';
import { fromTyped, tidy, type Tensor } from '../torch/index.js';

/** A trigger as plain arrays: mask [h*w] and pattern [c*h*w] (CHW), values in [0, 1]. */
export interface RecoveredTrigger {
  readonly c: number;
  readonly h: number;
  readonly w: number;
  readonly mask: Float32Array;
  readonly pattern: Float32Array;
}

/** m = sigmoid(a): mask logits [1, 1, H, W] → mask in (0, 1). */
export function maskFromLogits(a: Tensor): Tensor {
  return a.sigmoid();
}

/** p = (tanh(b) + 1) / 2: pattern logits [1, C, H, W] → pattern in (0, 1). */
export function patternFromLogits(b: Tensor): Tensor {
  return tidy(() => b.tanh().add(1).mul(0.5));
}

/**
 * Pastes a trigger: (1 − m)·x + m·p, broadcast over the batch. x: [N, C, H, W] in 0..1,
 * m: [1, 1, H, W], p: [1, C, H, W].
 */
export function stamp(x: Tensor, m: Tensor, p: Tensor): Tensor {
  return tidy(() => x.mul(m.neg().add(1)).add(m.mul(p)));
}

/**
 * The mask's size as a fraction of the image: its L1 norm over the pixel count (DECREE's PL1
 * norm). A hard 0/1 square of side s on an H×W image gives s²/(H·W).
 *
 * @example maskFraction(Float32Array.of(1, 0, 0, 0)) // 0.25
 */
export function maskFraction(mask: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < mask.length; i++) s += Math.abs(mask[i]);
  return mask.length === 0 ? 0 : s / mask.length;
}

/**
 * Intersection over union of a soft mask (thresholded at `threshold`, default 0.5) with a true
 * 0/1 region (both [h*w]). 0 when both are empty.
 *
 * @example maskIou(Float32Array.of(0.9, 0.8, 0.1, 0), Uint8Array.of(1, 0, 0, 0)) // 0.5
 */
export function maskIou(mask: ArrayLike<number>, truth: ArrayLike<number>, threshold = 0.5): number {
  if (mask.length !== truth.length) throw new RangeError(`maskIou: mask has ${mask.length} pixels, truth has ${truth.length}`);
  let inter = 0;
  let union = 0;
  for (let i = 0; i < mask.length; i++) {
    const a = mask[i] >= threshold;
    const b = truth[i] > 0;
    if (a && b) inter++;
    if (a || b) union++;
  }
  return union === 0 ? 0 : inter / union;
}

/**
 * The control of a recovered trigger: the same mask values and pattern moved to random pixels
 * (a seeded permutation of the pixel positions, one for mask and pattern alike), so it has exactly
 * the same size (L1) and colours but no learnt placement.
 */
export function permutedTrigger(t: RecoveredTrigger, seed: number): RecoveredTrigger {
  const hw = t.h * t.w;
  const perm = new Rng(seed, 'audit/random-mask').permutation(hw);
  const mask = new Float32Array(hw);
  const pattern = new Float32Array(t.c * hw);
  for (let i = 0; i < hw; i++) {
    mask[perm[i]] = t.mask[i];
    for (let ch = 0; ch < t.c; ch++) pattern[ch * hw + perm[i]] = t.pattern[ch * hw + i];
  }
  return { c: t.c, h: t.h, w: t.w, mask, pattern };
}

/** The trigger as tensors m [1, 1, H, W] and p [1, C, H, W]. */
export function triggerTensors(t: RecoveredTrigger): { m: Tensor; p: Tensor } {
  return { m: fromTyped(t.mask, [1, 1, t.h, t.w]), p: fromTyped(t.pattern, [1, t.c, t.h, t.w]) };
}

/**
 * Pastes a recovered trigger on uint8 CHW images (n images of c×h×w), rounding to 0..255: the
 * same blend as `stamp`, for datasets and PNGs.
 */
export function stampImages(images: Uint8Array, n: number, t: RecoveredTrigger): Uint8Array {
  const hw = t.h * t.w;
  const out = new Uint8Array(images.length);
  for (let k = 0; k < n; k++)
    for (let ch = 0; ch < t.c; ch++) {
      const off = (k * t.c + ch) * hw;
      for (let i = 0; i < hw; i++) {
        const m = t.mask[i];
        out[off + i] = Math.round((1 - m) * images[off + i] + m * 255 * t.pattern[ch * hw + i]);
      }
    }
  return out;
}
