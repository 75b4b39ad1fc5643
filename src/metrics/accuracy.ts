/** Accuracy overall (top-1 and top-k) and per class, and the confusion matrix. */
import { makeRate, type Rate } from './rate.js';
import { checkClassIndices, checkNumClasses, checkSameLength } from './validate.js';

/** Predictions and true labels of one model on one test set (same length, class indices). */
export interface LabeledPredictions {
  /** True class per sample. */
  readonly labels: Int32Array;
  /** Predicted class per sample. */
  readonly predictions: Int32Array;
}

/** Accuracy of one class: correct / samples whose true class is `cls`. */
export interface ClassRate extends Rate {
  readonly cls: number;
}

/**
 * Share of samples predicted correctly.
 * @example accuracy({ labels: Int32Array.of(0, 1, 1), predictions: Int32Array.of(0, 1, 0) }) // rate 2/3
 */
export function accuracy(p: LabeledPredictions): Rate {
  const n = checkSameLength('accuracy', { labels: p.labels, predictions: p.predictions });
  let correct = 0;
  for (let i = 0; i < n; i++) if (p.labels[i] === p.predictions[i]) correct++;
  return makeRate(correct, n);
}

/**
 * Accuracy restricted to each true class 0..numClasses-1. A class absent from the test set
 * gets `{ rate: null, numerator: 0, denominator: 0 }`.
 */
export function perClassAccuracy(p: LabeledPredictions & { readonly numClasses: number }): ClassRate[] {
  const n = checkSameLength('perClassAccuracy', { labels: p.labels, predictions: p.predictions });
  checkNumClasses(p.numClasses, 'perClassAccuracy');
  checkClassIndices('perClassAccuracy', 'labels', p.labels, p.numClasses);
  const total = new Array<number>(p.numClasses).fill(0);
  const correct = new Array<number>(p.numClasses).fill(0);
  for (let i = 0; i < n; i++) {
    total[p.labels[i]]++;
    if (p.labels[i] === p.predictions[i]) correct[p.labels[i]]++;
  }
  return total.map((d, cls) => ({ cls, ...makeRate(correct[cls], d) }));
}

/**
 * Confusion matrix as counts: `m[trueClass][predictedClass]`, numClasses × numClasses.
 * @example confusionMatrix({ labels: Int32Array.of(0, 1), predictions: Int32Array.of(1, 1), numClasses: 2 })
 * // [[0, 1], [0, 1]]
 */
export function confusionMatrix(p: LabeledPredictions & { readonly numClasses: number }): number[][] {
  const n = checkSameLength('confusionMatrix', { labels: p.labels, predictions: p.predictions });
  checkNumClasses(p.numClasses, 'confusionMatrix');
  checkClassIndices('confusionMatrix', 'labels', p.labels, p.numClasses);
  checkClassIndices('confusionMatrix', 'predictions', p.predictions, p.numClasses);
  const m = Array.from({ length: p.numClasses }, () => new Array<number>(p.numClasses).fill(0));
  for (let i = 0; i < n; i++) m[p.labels[i]][p.predictions[i]]++;
  return m;
}

/**
 * Top-k accuracy from logits: the share of samples whose true class is among the `k` highest
 * logits. Ties are broken by class index (a lower index ranks first), as a stable sort would:
 * the true class's rank is the count of classes with a higher logit plus those with an equal
 * logit and a lower index. `logits` is [n, numClasses] row-major.
 * @example topKAccuracy({ logits: Float32Array.of(0.1, 0.7, 0.2, 0.9, 0.05, 0.05), labels: Int32Array.of(2, 0), numClasses: 3, k: 2 })
 * // { rate: 1, numerator: 2, denominator: 2 }: class 2 ranks second in row 0, class 0 first in row 1
 */
export function topKAccuracy(p: {
  readonly logits: Float32Array;
  readonly labels: Int32Array;
  readonly numClasses: number;
  readonly k: number;
}): Rate {
  checkNumClasses(p.numClasses, 'topKAccuracy');
  const n = p.labels.length;
  if (p.logits.length !== n * p.numClasses)
    throw new RangeError(`topKAccuracy: logits hold ${p.logits.length} values, expected ${n} samples x ${p.numClasses} classes`);
  if (!Number.isInteger(p.k) || p.k < 1) throw new RangeError(`topKAccuracy: k must be an integer >= 1, got ${p.k}`);
  checkClassIndices('topKAccuracy', 'labels', p.labels, p.numClasses);
  let correct = 0;
  for (let i = 0; i < n; i++) {
    const row = i * p.numClasses;
    const y = p.labels[i];
    const v = p.logits[row + y];
    let rank = 0;
    for (let c = 0; c < p.numClasses && rank < p.k; c++) {
      const u = p.logits[row + c];
      if (u > v || (u === v && c < y)) rank++;
    }
    if (rank < p.k) correct++;
  }
  return makeRate(correct, n);
}
