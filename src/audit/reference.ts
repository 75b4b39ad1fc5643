/**
 * Where a scanned backbone falls among clean references of its architecture, and the verdict.
 *
 * Every scan statistic here is a smallest mask fraction (PL1): smaller means a trigger takes
 * less of the image, i.e. more suspicious. For each statistic we report the references' median,
 * the robust z-score of the backbone (x − median) / (1.4826·MAD) — Iglewicz and Hoaglin's
 * modified z-score — and its percentile (share of references at or below it).
 */

/** Where one value falls in a reference sample. */
export interface ReferencePosition {
  readonly value: number;
  readonly references: readonly number[];
  readonly median: number | null;
  /** 1.4826 · median absolute deviation, floored at `minScaleFraction` of the median (see `robustZ`). */
  readonly scale: number | null;
  /** Robust z-score; negative = smaller mask than the references. Null without references. */
  readonly z: number | null;
  /** Share of references with a value ≤ this one, in [0, 1]; null without references. */
  readonly percentile: number | null;
}

/** Median of a list (mean of the middle two for an even count); null when empty. */
export function median(values: readonly number[]): number | null {
  if (values.length === 0) return null;
  const s = [...values].sort((a, b) => a - b);
  const k = s.length >> 1;
  return s.length % 2 === 1 ? s[k] : (s[k - 1] + s[k]) / 2;
}

/**
 * Robust z-score of `value` against `references`: (value − median) / max(1.4826·MAD,
 * minScaleFraction·|median|). The floor (default 10% of the median) keeps a handful of
 * near-identical references from turning a small difference into a huge z.
 *
 * @example robustZ(0.02, [0.05, 0.06, 0.05, 0.07]).z // (0.02 − 0.055) / max(1.4826·0.005, 0.0055) ≈ −4.72
 */
export function robustZ(value: number, references: readonly number[], minScaleFraction = 0.1): ReferencePosition {
  const med = median(references);
  if (med === null) return { value, references: [...references], median: null, scale: null, z: null, percentile: null };
  const mad = median(references.map((r) => Math.abs(r - med)))!;
  const scale = Math.max(1.4826 * mad, minScaleFraction * Math.abs(med), 1e-12);
  const below = references.filter((r) => r <= value).length;
  return { value, references: [...references], median: med, scale, z: (value - med) / scale, percentile: below / references.length };
}

/** The verdict of a scan. */
export type Verdict = 'suspicious' | 'no-evidence' | 'inconclusive';

/** One statistic that enters the verdict. */
export interface VerdictInput {
  /** E.g. 'headless (centred-cosine at features)' or 'class 3 (Dress)'. */
  readonly name: string;
  readonly position: ReferencePosition;
  /** False when the search never reached its target on this backbone (then it cannot be evidence). */
  readonly reached: boolean;
}

/** Thresholds of `decide`. */
export interface VerdictRule {
  /** A statistic is evidence when z ≤ −zThreshold and it is below every reference (default 3.5). */
  readonly zThreshold?: number;
  /** Fewer references than this → inconclusive (default 3). */
  readonly minReferences?: number;
}

/**
 * The verdict and its reasoning in words: `suspicious` when some statistic is at least
 * `zThreshold` robust standard deviations below its references AND below all of them;
 * `inconclusive` without enough references; `no-evidence` otherwise.
 */
export function decide(inputs: readonly VerdictInput[], rule: VerdictRule = {}): { verdict: Verdict; reasoning: string[] } {
  const zt = rule.zThreshold ?? 3.5;
  const minRefs = rule.minReferences ?? 3;
  const reasoning: string[] = [];
  const refCount = Math.min(...inputs.map((i) => i.position.references.length), Infinity);
  if (inputs.length === 0 || !Number.isFinite(refCount) || refCount < minRefs) {
    reasoning.push(
      `only ${Number.isFinite(refCount) ? refCount : 0} clean reference(s) (at least ${minRefs} needed): a mask size means nothing without ` +
        'knowing what clean backbones of this architecture need; add --reference weights or --train-references N',
    );
    return { verdict: 'inconclusive', reasoning };
  }
  const flagged = inputs.filter(
    (i) => i.reached && i.position.z !== null && i.position.z <= -zt && i.position.references.every((r) => i.position.value < r),
  );
  const pct = (x: number) => `${(100 * x).toFixed(2)}%`;
  for (const i of inputs) {
    const p = i.position;
    reasoning.push(
      `${i.name}: smallest mask ${pct(p.value)} of the image vs references median ${pct(p.median!)} ` +
        `(robust z ${p.z!.toFixed(2)}, percentile ${(100 * p.percentile!).toFixed(0)}, n=${p.references.length})` +
        (i.reached ? '' : ' — the search did not reach its target here, so this is no evidence'),
    );
  }
  if (flagged.length > 0) {
    reasoning.unshift(
      `suspicious: ${flagged.map((f) => f.name).join(', ')} need${flagged.length === 1 ? 's' : ''} a trigger smaller than every clean ` +
        `reference and at least ${zt} robust standard deviations below their median`,
    );
    return { verdict: 'suspicious', reasoning };
  }
  reasoning.unshift(`no evidence: no statistic is both below every reference and ${zt} robust standard deviations below their median`);
  return { verdict: 'no-evidence', reasoning };
}
