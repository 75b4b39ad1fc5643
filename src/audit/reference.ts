/**
 * Where a scanned backbone falls among clean references of its architecture, and the verdict.
 *
 * Every scan statistic here is a smallest mask fraction (PL1): smaller means a trigger takes
 * less of the image, i.e. more suspicious. For each statistic we report the references' median,
 * the robust z-score of the backbone (x − median) / (1.4826·MAD) — Iglewicz and Hoaglin's
 * modified z-score — and its percentile (share of references at or below it).
 */
import { formatPercent } from '../report/format.js';

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

/**
 * The verdict's default robust-z cut: a statistic is evidence at z ≤ −3.5 (and below every
 * reference). The scan suite (bench/scan-suite.ts, docs/scan.md) measures what it costs: 35% of
 * held-out clean judgements flagged with 5 references, against 12% for its tuned rule (z ≤ −5,
 * unlike factor 3), which detects the same clean-label, random-position and BadNets triggers
 * there but misses more blended ones and, with 3 references, every backdoor of the reduced tests
 * (their robust z stays near −3.6). `scan --z-threshold 5 --unlike-factor 3` selects the tuned rule.
 */
export const DEFAULT_Z_THRESHOLD = 3.5;

/** The default allowance of the "references too unlike" rule (see `scaleCheck`). */
export const DEFAULT_UNLIKE_FACTOR = 2;

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

/**
 * How the per-class mask sizes of a backbone are compared with its references':
 * - `relative`: each model's mask sizes divided by that model's own median over its
 *   classes, so a recipe that makes every class's trigger larger or smaller (more epochs, another
 *   optimizer, weight decay) cancels out, and what remains is how far one class stands below the
 *   model's other classes. One backdoored class barely moves the median of five or ten.
 * - `absolute` (default): the mask fractions themselves (the statistic of the first version of the
 *   scan, the one its measured proof used). bench/scan-recipes.ts compares the two on a few
 *   models of two recipes; the evidence so far does not make `relative` the better default (see
 *   docs/scan.md).
 * The headless statistic is one number per model, so it is always compared as it is.
 */
export type ClassStatistic = 'relative' | 'absolute';

/** The class statistics `--statistic` accepts. */
export const CLASS_STATISTICS: readonly ClassStatistic[] = ['relative', 'absolute'];

/**
 * Each value divided by the median of all of them (a model's per-class mask sizes relative to its
 * own typical class); values unchanged when the median is not positive.
 *
 * @example relativeToMedian([0.02, 0.1, 0.12, 0.1]) // [0.2, 1, 1.2, 1]
 */
export function relativeToMedian(values: readonly number[]): number[] {
  const m = median(values);
  return m === null || !(m > 0) ? [...values] : values.map((v) => v / m);
}

/** Where a backbone's own scale (its median per-class mask) falls against its references' scales. */
export interface ScaleCheck {
  /** The backbone's median per-class mask fraction. */
  readonly value: number;
  /** Each reference's median per-class mask fraction. */
  readonly references: readonly number[];
  /** The factor the rule allows beyond the references' range. */
  readonly factor: number;
  /** True when value < min(references) / factor or value > max(references) · factor. */
  readonly unlike: boolean;
}

/**
 * The "references too unlike the backbone to judge" rule: the backbone's median per-class mask
 * is more than `factor` (default {@link DEFAULT_UNLIKE_FACTOR}) times smaller than the smallest reference median or larger
 * than the largest. A relative statistic removes a common scale, but references whose typical
 * trigger is several times larger or smaller than the backbone's were trained so differently
 * that neither statistic says anything about a backdoor. Null without references.
 *
 * @example scaleCheck(0.05, [0.12, 0.15, 0.2]).unlike // true: 0.05 < 0.12 / 2
 */
export function scaleCheck(value: number, references: readonly number[], factor = DEFAULT_UNLIKE_FACTOR): ScaleCheck | null {
  if (references.length === 0) return null;
  const lo = Math.min(...references) / factor;
  const hi = Math.max(...references) * factor;
  return { value, references: [...references], factor, unlike: value < lo || value > hi };
}

/** One class's smallest mask on one model. */
export interface ClassMask {
  readonly cls: number;
  readonly maskFraction: number;
}

/** One class of the backbone against the same class of its references, by both statistics. */
export interface ClassComparison {
  readonly cls: number;
  /** The backbone's mask for this class divided by its median class mask. */
  readonly relativeMask: number;
  /** Mask fractions against the references' (null when no reference has this class). */
  readonly absolute: ReferencePosition | null;
  /** Relative masks against the references' relative masks (null likewise). */
  readonly relative: ReferencePosition | null;
}

/**
 * Compares a backbone's per-class masks with its references' by both statistics (see
 * `ClassStatistic`) and checks their scales (see `scaleCheck`, `factor` its allowance).
 * `references` holds each reference's per-class masks (same head as the backbone).
 *
 * @example
 *   // References trained longer need masks twice as large for every class; class 0 of the
 *   // backbone stands out only relative to its own classes.
 *   compareClasses([{cls: 0, maskFraction: 0.03}, {cls: 1, maskFraction: 0.1}, {cls: 2, maskFraction: 0.1}],
 *                  [[{cls: 0, maskFraction: 0.2}, ...], ...])
 */
export function compareClasses(
  backbone: readonly ClassMask[],
  references: readonly (readonly ClassMask[])[],
  factor = DEFAULT_UNLIKE_FACTOR,
): { classes: ClassComparison[]; scale: ScaleCheck | null } {
  const rel = (cs: readonly ClassMask[]) => {
    const r = relativeToMedian(cs.map((c) => c.maskFraction));
    return new Map(cs.map((c, i) => [c.cls, { abs: c.maskFraction, rel: r[i] }]));
  };
  const own = rel(backbone);
  const refs = references.filter((r) => r.length > 0).map(rel);
  const classes = backbone.map((c) => {
    const mine = own.get(c.cls)!;
    const theirs = refs.map((r) => r.get(c.cls)).filter((v) => v !== undefined);
    return {
      cls: c.cls,
      relativeMask: mine.rel,
      absolute:
        theirs.length > 0
          ? robustZ(
              mine.abs,
              theirs.map((t) => t.abs),
            )
          : null,
      relative:
        theirs.length > 0
          ? robustZ(
              mine.rel,
              theirs.map((t) => t.rel),
            )
          : null,
    };
  });
  const scaleOf = (cs: readonly ClassMask[]) => median(cs.map((c) => c.maskFraction));
  const mine = scaleOf(backbone);
  const scale =
    mine === null
      ? null
      : scaleCheck(
          mine,
          references.filter((r) => r.length > 0).map((r) => scaleOf(r)!),
          factor,
        );
  return { classes, scale };
}

/** The verdict of a scan. */
export type Verdict = 'suspicious' | 'no-evidence' | 'inconclusive' | 'unlike-references';

/** One statistic that enters the verdict. */
export interface VerdictInput {
  /** E.g. 'headless (centred-cosine at features)' or 'class 3 (Dress)'. */
  readonly name: string;
  readonly position: ReferencePosition;
  /** False when the search never reached its target on this backbone (then it cannot be evidence). */
  readonly reached: boolean;
  /** The values are relative to each model's median class (see `ClassStatistic`), not fractions of the image. */
  readonly relative?: boolean;
}

/** Thresholds of `decide`. */
export interface VerdictRule {
  /** A statistic is evidence when z ≤ −zThreshold and it is below every reference (default {@link DEFAULT_Z_THRESHOLD}). */
  readonly zThreshold?: number;
  /** Fewer references than this → inconclusive (default 3). */
  readonly minReferences?: number;
  /** Allowance of the "references too unlike" rule (see `scaleCheck`; default {@link DEFAULT_UNLIKE_FACTOR}). */
  readonly unlikeFactor?: number;
}

/**
 * The verdict and its reasoning in words: `suspicious` when some statistic is at least
 * `zThreshold` robust standard deviations below its references AND below all of them;
 * `inconclusive` without enough references; `unlike-references` when `scale` says the references'
 * typical mask size is too far from the backbone's (see `scaleCheck`; the reasoning still lists
 * every statistic and what it would have said); `no-evidence` otherwise.
 */
export function decide(
  inputs: readonly VerdictInput[],
  rule: VerdictRule = {},
  scale: ScaleCheck | null = null,
): { verdict: Verdict; reasoning: string[] } {
  const zt = rule.zThreshold ?? DEFAULT_Z_THRESHOLD;
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
  const pct = (x: number) => formatPercent(x, 2);
  const times = (x: number) => `${x.toFixed(2)}×`;
  for (const i of inputs) {
    const p = i.position;
    reasoning.push(
      (i.relative
        ? `${i.name}: smallest mask ${times(p.value)} the model's median class vs references median ${times(p.median!)} `
        : `${i.name}: smallest mask ${pct(p.value)} of the image vs references median ${pct(p.median!)} `) +
        `(robust z ${p.z!.toFixed(2)}, percentile ${(100 * p.percentile!).toFixed(0)}, n=${p.references.length})` +
        (i.reached ? '' : ' — the search did not reach its target here, so this is no evidence'),
    );
  }
  if (scale?.unlike) {
    reasoning.unshift(
      `references too unlike the backbone to judge: its median class needs a mask of ${pct(scale.value)} of the image, the references' ` +
        `${scale.references.map(pct).join(', ')} (more than ${scale.factor}× outside their range), so they were trained too differently ` +
        'for their mask sizes to say anything about this one; use references of a recipe closer to the backbone' +
        (flagged.length > 0 ? ` (taken at face value, ${flagged.map((f) => f.name).join(', ')} would be flagged)` : ''),
    );
    return { verdict: 'unlike-references', reasoning };
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
