/**
 * Predicted-class histograms and how far a patch (an object or trigger pasted into the image)
 * moves them: total variation distance and KL divergence, for one model and against a model
 * trained from scratch.
 */
import { diffOrNull, makeRate, type Rate } from './rate.js';
import { checkClass, checkClassIndices, checkNumClasses, checkSameLength } from './validate.js';

/** Counts and proportions of predicted classes. */
export interface PredictionHistogram {
  /** counts[k] = number of samples predicted as class k. */
  readonly counts: number[];
  /** counts / total; null when there are no samples. */
  readonly proportions: number[] | null;
  readonly total: number;
}

/**
 * Smoothing added to every proportion before a KL divergence, so a class predicted on one side
 * and never on the other gives a large finite value instead of Infinity:
 * p'_k = (p_k + ε) / (1 + K·ε). Default ε = 1e-6.
 */
export const DEFAULT_KL_EPSILON = 1e-6;

/**
 * Histogram of predicted classes 0..numClasses-1.
 * @example predictionHistogram(Int32Array.of(0, 2, 2), 3) // counts [1, 0, 2], proportions [1/3, 0, 2/3]
 */
export function predictionHistogram(predictions: Int32Array, numClasses: number): PredictionHistogram {
  checkNumClasses(numClasses, 'predictionHistogram');
  checkClassIndices('predictionHistogram', 'predictions', predictions, numClasses);
  const counts = new Array<number>(numClasses).fill(0);
  for (let i = 0; i < predictions.length; i++) counts[predictions[i]]++;
  const total = predictions.length;
  return { counts, proportions: total === 0 ? null : counts.map((c) => c / total), total };
}

function checkPair(where: string, p: readonly number[], q: readonly number[]): void {
  if (p.length !== q.length) throw new RangeError(`${where}: distributions have ${p.length} and ${q.length} classes`);
}

/**
 * Total variation distance ½ Σ_k |p_k − q_k| between two distributions over the same classes,
 * in [0, 1]: 0 for identical histograms, 1 for disjoint ones. Null if either is null (no samples).
 */
export function totalVariation(p: readonly number[] | null, q: readonly number[] | null): number | null {
  if (p === null || q === null) return null;
  checkPair('totalVariation', p, q);
  let s = 0;
  for (let k = 0; k < p.length; k++) s += Math.abs(p[k] - q[k]);
  return s / 2;
}

/**
 * KL divergence KL(p ‖ q) = Σ_k p'_k ln(p'_k / q'_k) in nats, after ε-smoothing both sides
 * (see {@link DEFAULT_KL_EPSILON}). Null if either is null.
 */
export function klDivergence(
  p: readonly number[] | null,
  q: readonly number[] | null,
  epsilon: number = DEFAULT_KL_EPSILON,
): number | null {
  if (p === null || q === null) return null;
  checkPair('klDivergence', p, q);
  if (!(epsilon >= 0) || !Number.isFinite(epsilon)) throw new RangeError(`klDivergence: epsilon must be ≥ 0, got ${epsilon}`);
  const K = p.length;
  const z = 1 + K * epsilon;
  let s = 0;
  for (let k = 0; k < K; k++) {
    const pk = (p[k] + epsilon) / z;
    const qk = (q[k] + epsilon) / z;
    if (pk > 0) s += pk * Math.log(pk / qk);
  }
  return Math.max(s, 0);
}

/** How the share of one class changes under the patch. */
export interface TargetShift {
  readonly targetClass: number;
  /** P(f(clean) = t). */
  readonly clean: Rate;
  /** P(f(patched) = t). */
  readonly patched: Rate;
  /** P(f(patched) = t) − P(f(clean) = t). */
  readonly shift: number | null;
}

/** Histograms of one model without and with the patch, and the distances between them. */
export interface HistogramShift {
  readonly clean: PredictionHistogram;
  readonly patched: PredictionHistogram;
  /** Total variation distance between the two histograms. */
  readonly tv: number | null;
  /** KL(patched ‖ clean), nats, ε-smoothed. */
  readonly klPatchedClean: number | null;
  /** KL(clean ‖ patched), nats, ε-smoothed. */
  readonly klCleanPatched: number | null;
  /** ε used for the KL values. */
  readonly epsilon: number;
  /** Present when a target class was given. */
  readonly target?: TargetShift;
}

/** Input of {@link histogramShift}. */
export interface HistogramShiftInput {
  /** Predicted class per test image without the patch. */
  readonly clean: Int32Array;
  /** Predicted class per test image with the patch. */
  readonly patched: Int32Array;
  readonly numClasses: number;
  /** The class the patch is associated with (e.g. the source class it co-occurred with). */
  readonly targetClass?: number;
  /** KL smoothing; default {@link DEFAULT_KL_EPSILON}. */
  readonly epsilon?: number;
}

/**
 * Predicted-class histograms without and with the patch, their TV distance and KL divergences,
 * and (with `targetClass`) the change in the share of predictions of that class.
 */
export function histogramShift(p: HistogramShiftInput): HistogramShift {
  checkSameLength('histogramShift', { clean: p.clean, patched: p.patched });
  const clean = predictionHistogram(p.clean, p.numClasses);
  const patched = predictionHistogram(p.patched, p.numClasses);
  const epsilon = p.epsilon ?? DEFAULT_KL_EPSILON;
  const out: HistogramShift = {
    clean,
    patched,
    tv: totalVariation(patched.proportions, clean.proportions),
    klPatchedClean: klDivergence(patched.proportions, clean.proportions, epsilon),
    klCleanPatched: klDivergence(clean.proportions, patched.proportions, epsilon),
    epsilon,
  };
  if (p.targetClass === undefined) return out;
  const t = p.targetClass;
  checkClass('histogramShift', 'targetClass', t, p.numClasses);
  const c = makeRate(clean.counts[t], clean.total);
  const q = makeRate(patched.counts[t], patched.total);
  return { ...out, target: { targetClass: t, clean: c, patched: q, shift: diffOrNull(q.rate, c.rate) } };
}

/** Input of {@link shiftAgainstScratch}: the same test images through both models. */
export interface AgainstScratchInput {
  /** The model transferred from the (possibly biased) source model. */
  readonly transferred: { readonly clean: Int32Array; readonly patched: Int32Array };
  /** The same architecture trained on the target task from scratch (no source bias). */
  readonly scratch: { readonly clean: Int32Array; readonly patched: Int32Array };
  readonly numClasses: number;
  readonly targetClass?: number;
  readonly epsilon?: number;
}

/** Histogram shifts of the transferred and scratch models, compared. */
export interface AgainstScratch {
  readonly transferred: HistogramShift;
  readonly scratch: HistogramShift;
  /** TV distance between the two models' patched histograms. */
  readonly patchedTv: number | null;
  /** KL(transferred patched ‖ scratch patched), nats, ε-smoothed. */
  readonly patchedKlTransferredScratch: number | null;
  /** KL(scratch patched ‖ transferred patched), nats, ε-smoothed. */
  readonly patchedKlScratchTransferred: number | null;
  /** transferred.tv − scratch.tv: how much more the patch moves the transferred model. */
  readonly tvShiftDifference: number | null;
  /** transferred.target.shift − scratch.target.shift (with a target class). */
  readonly targetShiftDifference?: number | null;
}

/**
 * Compares the patch's effect on a transferred model with its effect on a scratch model: the
 * distance between their patched histograms and the difference of their shifts. A bias that
 * transferred shows as a larger shift in the transferred model than in the scratch one.
 */
export function shiftAgainstScratch(p: AgainstScratchInput): AgainstScratch {
  const common = { numClasses: p.numClasses, targetClass: p.targetClass, epsilon: p.epsilon };
  const transferred = histogramShift({ ...p.transferred, ...common });
  const scratch = histogramShift({ ...p.scratch, ...common });
  const eps = transferred.epsilon;
  const out: AgainstScratch = {
    transferred,
    scratch,
    patchedTv: totalVariation(transferred.patched.proportions, scratch.patched.proportions),
    patchedKlTransferredScratch: klDivergence(transferred.patched.proportions, scratch.patched.proportions, eps),
    patchedKlScratchTransferred: klDivergence(scratch.patched.proportions, transferred.patched.proportions, eps),
    tvShiftDifference: diffOrNull(transferred.tv, scratch.tv),
  };
  if (transferred.target && scratch.target) {
    return { ...out, targetShiftDifference: diffOrNull(transferred.target.shift, scratch.target.shift) };
  }
  return out;
}
