/**
 * A rate together with the counts it was computed from, so every number in a report can be
 * checked by hand. A rate whose denominator is 0 is `null`, never NaN.
 */
export interface Rate {
  /** numerator / denominator, or null when the denominator is 0. */
  readonly rate: number | null;
  /** Count of events (e.g. correct predictions). */
  readonly numerator: number;
  /** Count of trials (e.g. test samples considered). */
  readonly denominator: number;
}

/**
 * Builds a {@link Rate} from counts.
 * @example makeRate(3, 4) // { rate: 0.75, numerator: 3, denominator: 4 }
 * @example makeRate(0, 0) // { rate: null, numerator: 0, denominator: 0 }
 */
export function makeRate(numerator: number, denominator: number): Rate {
  if (!Number.isInteger(numerator) || !Number.isInteger(denominator) || numerator < 0 || denominator < 0) {
    throw new RangeError(`makeRate: counts must be non-negative integers, got ${numerator}/${denominator}`);
  }
  if (numerator > denominator) throw new RangeError(`makeRate: numerator ${numerator} exceeds denominator ${denominator}`);
  return { rate: denominator === 0 ? null : numerator / denominator, numerator, denominator };
}

/** a − b, or null when either is null. */
export function diffOrNull(a: number | null, b: number | null): number | null {
  return a === null || b === null ? null : a - b;
}
