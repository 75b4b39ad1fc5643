/** Attack success rates of a trigger (backdoor) on a test set. */
import { makeRate, type Rate } from './rate.js';
import { checkSameLength } from './validate.js';

/** Predictions of one model on the same test images without and with the trigger. */
export interface TriggeredPredictions {
  /** True class per sample. */
  readonly labels: Int32Array;
  /** Predicted class on the clean image, f(x). */
  readonly clean: Int32Array;
  /** Predicted class on the triggered image, f(T(x)). */
  readonly triggered: Int32Array;
}

/**
 * Untargeted attack success rate: among the images the model classifies correctly without the
 * trigger, the share it misclassifies with it, P(f(T(x)) ≠ y | f(x) = y).
 * Rate is null when the model gets no clean image right.
 * @example untargetedAsr({ labels: Int32Array.of(0, 1, 2), clean: Int32Array.of(0, 1, 0), triggered: Int32Array.of(1, 1, 1) })
 * // { rate: 0.5, numerator: 1, denominator: 2 }
 */
export function untargetedAsr(p: TriggeredPredictions): Rate {
  const n = checkSameLength('untargetedAsr', { labels: p.labels, clean: p.clean, triggered: p.triggered });
  let den = 0;
  let num = 0;
  for (let i = 0; i < n; i++) {
    if (p.clean[i] !== p.labels[i]) continue;
    den++;
    if (p.triggered[i] !== p.labels[i]) num++;
  }
  return makeRate(num, den);
}

/** Options of {@link targetedAsr}. */
export interface TargetedAsrOptions {
  /** The class the trigger is meant to force. */
  readonly targetClass: number;
  /**
   * Count only images the model classifies correctly without the trigger (f(x) = y).
   * Default true, matching the untargeted ASR's conditioning and the paper's convention, so a
   * trigger is not credited for images the model already gets wrong.
   */
  readonly requireCleanCorrect?: boolean;
}

/**
 * Targeted attack success rate for class t: among images with y ≠ t (and, by default,
 * f(x) = y), the share with f(T(x)) = t.
 */
export function targetedAsr(p: TriggeredPredictions, opts: TargetedAsrOptions): Rate {
  const n = checkSameLength('targetedAsr', { labels: p.labels, clean: p.clean, triggered: p.triggered });
  const t = opts.targetClass;
  if (!Number.isInteger(t) || t < 0) throw new RangeError(`targetedAsr: targetClass must be a class index, got ${t}`);
  const requireCorrect = opts.requireCleanCorrect ?? true;
  let den = 0;
  let num = 0;
  for (let i = 0; i < n; i++) {
    if (p.labels[i] === t) continue;
    if (requireCorrect && p.clean[i] !== p.labels[i]) continue;
    den++;
    if (p.triggered[i] === t) num++;
  }
  return makeRate(num, den);
}
