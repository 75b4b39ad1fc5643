/**
 * Detection rules measured by the scan suite (bench/scan-suite.ts, issue 18): the tool's verdict
 * applied to cached scan summaries, the two baselines it is compared with, and the Wilson interval
 * of a detection rate.
 *
 * - `judge`: the CLI's rule (src/audit/audit.ts: headless statistic plus per-class masks against
 *   the references, `compareClasses` then `decide`) on `ScanSummary`s, with its knobs explicit so
 *   that a suite can tune them on some seeds and report them on others.
 * - `neuralCleanse`: Neural Cleanse's anomaly index (Wang et al., S&P 2019), no references: the
 *   per-class smallest-mask L1 norms of one model, the MAD-based anomaly index of the smallest
 *   one; flagged above 2.
 * - `decree`: DECREE's decision (Feng et al., CVPR 2023), no references: the PL1 norm (mask L1 /
 *   image area) of the trigger inverted to collapse the encoder's features (raw cosine
 *   similarity); flagged below 0.1.
 */
import type { ScanSummary } from './cache.js';
import {
  compareClasses,
  decide,
  DEFAULT_UNLIKE_FACTOR,
  DEFAULT_Z_THRESHOLD,
  median,
  robustZ,
  type ClassStatistic,
  type Verdict,
  type VerdictInput,
} from './reference.js';

/** A rate with its counts and 95% Wilson score interval; `rate`, `lo`, `hi` are null when n = 0. */
export interface RateInterval {
  readonly k: number;
  readonly n: number;
  readonly rate: number | null;
  readonly lo: number | null;
  readonly hi: number | null;
}

/**
 * Wilson score interval of k successes in n trials (z = 1.96 for 95%).
 *
 * @example wilson(9, 10) // { k: 9, n: 10, rate: 0.9, lo: 0.596, hi: 0.982 } (rounded)
 */
export function wilson(k: number, n: number, z = 1.96): RateInterval {
  if (!Number.isInteger(k) || !Number.isInteger(n) || k < 0 || n < 0 || k > n)
    throw new RangeError(`wilson: need integers 0 <= k <= n, got k=${k}, n=${n}`);
  if (n === 0) return { k, n, rate: null, lo: null, hi: null };
  const p = k / n;
  const z2 = z * z;
  const centre = (p + z2 / (2 * n)) / (1 + z2 / n);
  const half = (z * Math.sqrt((p * (1 - p)) / n + z2 / (4 * n * n))) / (1 + z2 / n);
  return { k, n, rate: p, lo: Math.max(0, centre - half), hi: Math.min(1, centre + half) };
}

/** The knobs of the tool's verdict that a suite may tune. */
export interface JudgeRule {
  /** Per-class statistic (see `ClassStatistic`). */
  readonly statistic: ClassStatistic;
  /** Robust z cut (`VerdictRule.zThreshold`). */
  readonly zThreshold: number;
  /** "References too unlike" allowance (`VerdictRule.unlikeFactor`); Infinity turns the rule off. */
  readonly unlikeFactor: number;
  /** Whether the headless statistic enters the verdict (the CLI: yes). */
  readonly headless: boolean;
}

/** The CLI's defaults as a `JudgeRule`. */
export const CLI_RULE: JudgeRule = {
  statistic: 'absolute',
  zThreshold: DEFAULT_Z_THRESHOLD,
  unlikeFactor: DEFAULT_UNLIKE_FACTOR,
  headless: true,
};

/** What `judge` decided for one suspect against one set of references. */
export interface Judgement {
  readonly verdict: Verdict;
  /** The class with the lowest z (per the rule's statistic), or null without per-class statistics. */
  readonly lowestClass: number | null;
  /** `decide`'s reasoning; the first line says what was flagged, when suspicious. */
  readonly reasoning: readonly string[];
}

/**
 * The tool's verdict (the same `compareClasses` and `decide` calls as `auditBackbone`) for a
 * suspect's scan summary against its references' summaries, under `rule`.
 */
export function judge(suspect: ScanSummary, references: readonly ScanSummary[], rule: JudgeRule = CLI_RULE): Judgement {
  const { classes, scale } = compareClasses(
    suspect.classes,
    references.map((r) => r.classes),
    Number.isFinite(rule.unlikeFactor) ? rule.unlikeFactor : 1e300,
  );
  const inputs: VerdictInput[] = [];
  if (rule.headless && suspect.headless.length > 0)
    inputs.push({
      name: 'headless',
      position: robustZ(
        suspect.headless[0].maskFraction,
        references.map((r) => r.headless[0].maskFraction),
      ),
      reached: suspect.headless[0].reached,
    });
  classes.forEach((c, i) => {
    const position = c[rule.statistic];
    if (position !== null)
      inputs.push({ name: `class ${c.cls}`, position, reached: suspect.classes[i].reached, relative: rule.statistic === 'relative' });
  });
  const { verdict, reasoning } = decide(inputs, { zThreshold: rule.zThreshold, unlikeFactor: rule.unlikeFactor }, scale);
  const zs = classes.map((c) => c[rule.statistic]?.z ?? Infinity);
  const k = zs.length > 0 ? zs.indexOf(Math.min(...zs)) : -1;
  return { verdict, lowestClass: k >= 0 ? classes[k].cls : null, reasoning };
}

/** Neural Cleanse's outlier test on one model's per-class smallest masks. */
export interface NeuralCleanseResult {
  /** The class whose trigger needs the smallest mask. */
  readonly cls: number;
  /** |L1(min) − median| / (1.4826 · MAD) over the classes' mask L1 norms; null with fewer than 3 classes. */
  readonly anomalyIndex: number | null;
  /** anomalyIndex > threshold (and the smallest mask is below the median). */
  readonly flagged: boolean;
}

/**
 * Neural Cleanse's detection (its §IV-C): the anomaly index of the smallest per-class mask among
 * all classes' masks, by the median absolute deviation (consistency constant 1.4826); a model is
 * backdoored when the index exceeds `threshold` (the paper's 2, i.e. > 95% probability of an
 * outlier under normality). Mask fractions and L1 norms differ by the image area, which cancels.
 *
 * @example neuralCleanse([{cls:0, maskFraction:0.02}, {cls:1, maskFraction:0.08}, {cls:2, maskFraction:0.09}, {cls:3, maskFraction:0.07}]).flagged // true
 */
export function neuralCleanse(classes: readonly { cls: number; maskFraction: number }[], threshold = 2): NeuralCleanseResult {
  if (classes.length === 0) throw new RangeError('neuralCleanse: no per-class masks (the scan ran without a head)');
  const v = classes.map((c) => c.maskFraction);
  const lo = classes.reduce((a, b) => (b.maskFraction < a.maskFraction ? b : a));
  if (classes.length < 3) return { cls: lo.cls, anomalyIndex: null, flagged: false };
  const med = median(v)!;
  const mad = median(v.map((x) => Math.abs(x - med)))!;
  const index = Math.abs(lo.maskFraction - med) / Math.max(1.4826 * mad, 1e-12);
  return { cls: lo.cls, anomalyIndex: index, flagged: lo.maskFraction < med && index > threshold };
}

/** DECREE's decision on one encoder. */
export interface DecreeResult {
  /** PL1 norm of the inverted trigger (mask L1 / image area). */
  readonly pl1: number;
  /** Whether the inversion reached its similarity target (an unreached search has no small trigger). */
  readonly reached: boolean;
  readonly flagged: boolean;
}

/**
 * DECREE's detection: an encoder is trojaned when the smallest trigger that makes its features of
 * stamped images collapse (mean pairwise cosine similarity at the target) has a PL1 norm below
 * `threshold` (the paper's 0.1). `headless` is the scan's raw-cosine headless finding.
 */
export function decree(headless: { maskFraction: number; reached: boolean }, threshold = 0.1): DecreeResult {
  return { pl1: headless.maskFraction, reached: headless.reached, flagged: headless.reached && headless.maskFraction < threshold };
}
