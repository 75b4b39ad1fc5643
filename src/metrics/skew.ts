/**
 * Directional skew of predictions under a pasted patch (the paper's natural-bias quantity: a
 * chain-link-fence patch raises the transferred model's P(bird) by 28% against 2% for a scratch
 * model). Unlike total variation, which any occlusion inflates, the skew asks in which direction
 * predictions move: the rise in predicted share of the class that gains the most.
 *
 * A probe is judged against two controls on the same test images: a neutral patch of the same
 * shape and brightness (separates "this content" from "something covers the image") and the
 * scratch model (separates "learned from the source" from "any model trained on the target").
 * The quantity of the claim is the contrast
 *   (skew(transferred, probe) − skew(transferred, neutral)) − (skew(scratch, probe) − skew(scratch, neutral)).
 */
import { bootstrap, type BootstrapInterval, type BootstrapOptions } from './bootstrap.js';
import { makeRate, type Rate } from './rate.js';
import { checkClass, checkClassIndices, checkNumClasses, checkSameLength } from './validate.js';

/** Predictions of one model on the same test images without and with a patch. */
export interface SkewInput {
  /** Predicted class per test image without the patch. */
  readonly clean: Int32Array;
  /** Predicted class per test image with the patch (same images, same order). */
  readonly patched: Int32Array;
  readonly numClasses: number;
  /** Measure the gain of this class instead of the one that gains most. */
  readonly gainClass?: number;
}

/** The directional skew of one model under one patch. */
export interface DirectionalSkew {
  /** The class whose predicted share rises the most (ties: lowest index), or the given class. */
  readonly gainClass: number;
  /** Share of predictions of `gainClass` without the patch (counts behind it). */
  readonly clean: Rate;
  /** Share of predictions of `gainClass` with the patch. */
  readonly patched: Rate;
  /**
   * patched.rate − clean.rate for `gainClass`, in [−1, 1]; null without samples. Chosen as the
   * largest gain, it is ≥ 0 (the gains over classes sum to 0).
   */
  readonly gain: number | null;
  /** Gain of every class (patched share − clean share); empty without samples. */
  readonly gains: number[];
}

function counts(p: Int32Array, K: number): number[] {
  const c = new Array<number>(K).fill(0);
  for (let i = 0; i < p.length; i++) c[p[i]]++;
  return c;
}

/**
 * The rise in predicted share of the class that gains the most when the patch is pasted:
 * max_k [#(f(x̃) = k) − #(f(x) = k)] / n, over the same n test images x and their patched x̃.
 * With `gainClass` the gain of that class is measured instead (e.g. the class another model
 * skews toward).
 *
 * @example
 * // 4 images; the patch turns two predictions into class 2.
 * directionalSkew({ clean: Int32Array.of(0, 1, 1, 2), patched: Int32Array.of(0, 2, 2, 2), numClasses: 3 })
 * // → gainClass 2, clean 1/4, patched 3/4, gain 0.5, gains [0, -0.5, 0.5]
 */
export function directionalSkew(p: SkewInput): DirectionalSkew {
  checkNumClasses(p.numClasses, 'directionalSkew');
  checkSameLength('directionalSkew', { clean: p.clean, patched: p.patched });
  checkClassIndices('directionalSkew', 'clean', p.clean, p.numClasses);
  checkClassIndices('directionalSkew', 'patched', p.patched, p.numClasses);
  if (p.gainClass !== undefined) checkClass('directionalSkew', 'gainClass', p.gainClass, p.numClasses);
  return skewOf(p.clean, p.patched, p.numClasses, p.gainClass);
}

function skewOf(clean: Int32Array, patched: Int32Array, K: number, fixed?: number): DirectionalSkew {
  const n = clean.length;
  const c = counts(clean, K);
  const q = counts(patched, K);
  let best = fixed ?? 0;
  if (fixed === undefined) for (let k = 1; k < K; k++) if (q[k] - c[k] > q[best] - c[best]) best = k;
  return {
    gainClass: best,
    clean: makeRate(c[best], n),
    patched: makeRate(q[best], n),
    gain: n === 0 ? null : (q[best] - c[best]) / n,
    gains: n === 0 ? [] : c.map((ck, k) => (q[k] - ck) / n),
  };
}

/**
 * The class that gains the most predictions from `clean` to `shifted` (the same images, e.g.
 * without and with a trigger or patch): argmax_k #(shifted = k) − #(clean = k); ties go to the
 * lowest index. The report's skew class, the audit's trigger target and `directionalSkew`'s
 * `gainClass` are this class.
 *
 * @example dominantShiftClass(Int32Array.of(0, 1, 1, 2), Int32Array.of(0, 2, 2, 2), 3) // 2
 */
export function dominantShiftClass(clean: ArrayLike<number>, shifted: ArrayLike<number>, numClasses: number): number {
  const d = new Array<number>(numClasses).fill(0);
  for (let i = 0; i < clean.length; i++) {
    d[shifted[i]]++;
    d[clean[i]]--;
  }
  let best = 0;
  for (let k = 1; k < numClasses; k++) if (d[k] > d[best]) best = k;
  return best;
}

/** One model's predictions on clean, probe-patched and neutral-patched copies of the same images. */
export interface ProbePredictions {
  readonly clean: Int32Array;
  readonly probe: Int32Array;
  readonly neutral: Int32Array;
}

/** Input of {@link skewContrast}: a transferred and a scratch model on the same images. */
export interface SkewContrastInput {
  readonly transferred: ProbePredictions;
  readonly scratch: ProbePredictions;
  readonly numClasses: number;
}

/** Skews of a probe and its neutral patch for a transferred and a scratch model. */
export interface SkewContrast {
  readonly transferred: { readonly probe: DirectionalSkew; readonly neutral: DirectionalSkew; readonly excess: number | null };
  readonly scratch: { readonly probe: DirectionalSkew; readonly neutral: DirectionalSkew; readonly excess: number | null };
  /** transferred.excess − scratch.excess: how much more the probe's content (beyond occlusion) skews the transferred model. */
  readonly contrast: number | null;
}

/** skew(probe) − skew(neutral) of one model, each with its own gain class. */
export function skewExcess(
  p: ProbePredictions,
  numClasses: number,
): { probe: DirectionalSkew; neutral: DirectionalSkew; excess: number | null } {
  const probe = directionalSkew({ clean: p.clean, patched: p.probe, numClasses });
  const neutral = directionalSkew({ clean: p.clean, patched: p.neutral, numClasses });
  return { probe, neutral, excess: probe.gain === null || neutral.gain === null ? null : probe.gain - neutral.gain };
}

/**
 * The natural-bias contrast of one probe: each model's skew excess over the neutral patch, and
 * the transferred model's excess minus the scratch model's. Positive = the probe's content pushes
 * the transferred model toward a class more than it pushes a model that never saw the source.
 *
 * @example
 * // 4 images, 2 classes. Transferred: the probe turns 3 predictions to class 1, the neutral 1.
 * // Scratch: probe and neutral each turn 1.
 * skewContrast({
 *   numClasses: 2,
 *   transferred: { clean: Int32Array.of(0, 0, 0, 0), probe: Int32Array.of(1, 1, 1, 0), neutral: Int32Array.of(1, 0, 0, 0) },
 *   scratch: { clean: Int32Array.of(0, 0, 0, 0), probe: Int32Array.of(1, 0, 0, 0), neutral: Int32Array.of(0, 1, 0, 0) },
 * }) // transferred.excess 0.5, scratch.excess 0, contrast 0.5
 */
export function skewContrast(p: SkewContrastInput): SkewContrast {
  const n = p.transferred.clean.length;
  checkSameLength('skewContrast', {
    ...p.transferred,
    scratchClean: p.scratch.clean,
    scratchProbe: p.scratch.probe,
    scratchNeutral: p.scratch.neutral,
  });
  if (n !== p.scratch.clean.length) throw new RangeError('skewContrast: the two models were evaluated on different numbers of images');
  const transferred = skewExcess(p.transferred, p.numClasses);
  const scratch = skewExcess(p.scratch, p.numClasses);
  const contrast = transferred.excess === null || scratch.excess === null ? null : transferred.excess - scratch.excess;
  return { transferred, scratch, contrast };
}

function gather(a: Int32Array, idx: Int32Array): Int32Array {
  const out = new Int32Array(idx.length);
  for (let i = 0; i < idx.length; i++) out[i] = a[idx[i]];
  return out;
}

/**
 * Bootstrap interval (over test images) of the directional skew; the gain class is chosen again
 * in every resample, so the interval includes the selection.
 */
export function bootstrapSkew(p: SkewInput, opts: BootstrapOptions = {}): BootstrapInterval {
  directionalSkew(p);
  return bootstrap(p.clean.length, (idx) => skewOf(gather(p.clean, idx), gather(p.patched, idx), p.numClasses, p.gainClass).gain, opts);
}

/** Bootstrap interval (over test images) of one model's skew excess over the neutral patch. */
export function bootstrapSkewExcess(p: ProbePredictions, numClasses: number, opts: BootstrapOptions = {}): BootstrapInterval {
  skewExcess(p, numClasses);
  return bootstrap(
    p.clean.length,
    (idx) => {
      const c = gather(p.clean, idx);
      const a = skewOf(c, gather(p.probe, idx), numClasses).gain;
      const b = skewOf(c, gather(p.neutral, idx), numClasses).gain;
      return a === null || b === null ? null : a - b;
    },
    opts,
  );
}

/**
 * Bootstrap interval (over test images, paired: the same resample for both models) of the
 * contrast of {@link skewContrast}.
 */
export function bootstrapSkewContrast(p: SkewContrastInput, opts: BootstrapOptions = {}): BootstrapInterval {
  skewContrast(p);
  const K = p.numClasses;
  const ex = (m: ProbePredictions, idx: Int32Array) => {
    const c = gather(m.clean, idx);
    const a = skewOf(c, gather(m.probe, idx), K).gain;
    const b = skewOf(c, gather(m.neutral, idx), K).gain;
    return a === null || b === null ? null : a - b;
  };
  return bootstrap(
    p.transferred.clean.length,
    (idx) => {
      const t = ex(p.transferred, idx);
      const s = ex(p.scratch, idx);
      return t === null || s === null ? null : t - s;
    },
    opts,
  );
}
