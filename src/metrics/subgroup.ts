/** Accuracy of subgroups defined by a binary attribute (spurious-correlation experiments). */
import { diffOrNull, makeRate, type Rate } from './rate.js';
import { checkBinary, checkClassIndices, checkNumClasses, checkSameLength } from './validate.js';

/** Accuracy with and without the attribute and the gap between them. */
export interface SubgroupRates {
  /** Accuracy on samples with attribute = 1. */
  readonly withAttribute: Rate;
  /** Accuracy on samples with attribute = 0. */
  readonly withoutAttribute: Rate;
  /** withAttribute.rate − withoutAttribute.rate; null if either is null. */
  readonly gap: number | null;
}

/** Subgroup accuracies overall and per true class. */
export interface SubgroupAccuracy {
  readonly overall: SubgroupRates;
  /** Index = true class. */
  readonly perClass: (SubgroupRates & { readonly cls: number })[];
}

/** Input of {@link subgroupAccuracy}. */
export interface SubgroupInput {
  readonly labels: Int32Array;
  readonly predictions: Int32Array;
  /** 1 = the attribute is present in the sample, 0 = absent. */
  readonly attributes: Uint8Array;
  readonly numClasses: number;
}

/**
 * Accuracy per class with and without the attribute, the gap (with − without), and the same
 * overall. A subgroup with no samples has rate null and gap null.
 */
export function subgroupAccuracy(p: SubgroupInput): SubgroupAccuracy {
  const n = checkSameLength('subgroupAccuracy', { labels: p.labels, predictions: p.predictions, attributes: p.attributes });
  checkNumClasses(p.numClasses, 'subgroupAccuracy');
  checkClassIndices('subgroupAccuracy', 'labels', p.labels, p.numClasses);
  checkBinary('subgroupAccuracy', 'attributes', p.attributes);
  const K = p.numClasses;
  // counts[a][cls] for a ∈ {0, 1}
  const total = [new Array<number>(K).fill(0), new Array<number>(K).fill(0)];
  const correct = [new Array<number>(K).fill(0), new Array<number>(K).fill(0)];
  for (let i = 0; i < n; i++) {
    const a = p.attributes[i];
    total[a][p.labels[i]]++;
    if (p.predictions[i] === p.labels[i]) correct[a][p.labels[i]]++;
  }
  const rates = (c1: number, t1: number, c0: number, t0: number): SubgroupRates => {
    const withAttribute = makeRate(c1, t1);
    const withoutAttribute = makeRate(c0, t0);
    return { withAttribute, withoutAttribute, gap: diffOrNull(withAttribute.rate, withoutAttribute.rate) };
  };
  const sum = (a: number[]) => a.reduce((x, y) => x + y, 0);
  return {
    overall: rates(sum(correct[1]), sum(total[1]), sum(correct[0]), sum(total[0])),
    perClass: Array.from({ length: K }, (_, cls) => ({
      cls,
      ...rates(correct[1][cls], total[1][cls], correct[0][cls], total[0][cls]),
    })),
  };
}
