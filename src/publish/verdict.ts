/**
 * The one place that judges a paper claim from measured values. A claim can hold, fail or be
 * inconclusive, and it must not hold by accident:
 *
 * - **holds** (`'yes'`): at least 2 seeds on each side and the intervals over seeds are disjoint
 *   in the claimed direction;
 * - **did not hold** (`'no'`): at least 2 seeds and the intervals are disjoint the *other* way;
 * - **one seed, indicative** (`'indicative'`): either side was measured on a single seed; the
 *   note says which way the means lean, but a single seed never makes a claim hold;
 * - **inconclusive**: anything else (overlapping intervals, a value not measured).
 *
 * The intervals are whatever the caller aggregated (src/publish/report.ts: a Student-t
 * interval over seeds at `evaluation.confidence`); this module does not recompute them.
 */
import type { Holds } from '../report/index.js';

/** A value aggregated over seeds: mean and interval (null when undefined) and the number of seeds. */
export interface Estimate {
  readonly mean: number | null;
  readonly lo: number | null;
  readonly hi: number | null;
  /** Number of seeds behind the value. */
  readonly n: number;
}

/** A verdict and the reason for it, in words (shown beside the badge in the report). */
export interface Judgement {
  readonly holds: Holds;
  readonly reason: string;
}

/** Options of {@link judgeGreater}. */
export interface JudgeOptions {
  /** Seeds needed on each side before a claim can hold or fail (default 2; at least 2). */
  readonly minSeeds?: number;
}

const fmt = (v: number) => (Math.abs(v) >= 10 ? v.toFixed(1) : v.toFixed(3));

/**
 * Judges the claim "a > b" (`b` an estimate or a fixed number such as a chance level).
 * Held when a's interval lies entirely above b's (or above the number); did not hold when it
 * lies entirely below; one seed on either side gives 'indicative'; otherwise inconclusive.
 *
 * @example
 * judgeGreater({ mean: 0.81, lo: 0.74, hi: 0.88, n: 5 }, { mean: 0.12, lo: 0.09, hi: 0.15, n: 5 })
 * // { holds: 'yes', reason: 'intervals disjoint in the claimed direction (5 vs 5 seeds)' }
 */
export function judgeGreater(a: Estimate | null | undefined, b: Estimate | number | null | undefined, opts: JudgeOptions = {}): Judgement {
  const minSeeds = Math.max(2, opts.minSeeds ?? 2);
  const bb: Estimate | null | undefined = typeof b === 'number' ? { mean: b, lo: b, hi: b, n: Infinity } : b;
  if (!a || !bb || a.mean === null || bb.mean === null) return { holds: 'inconclusive', reason: 'not measured' };
  const seeds = `${a.n} vs ${Number.isFinite(bb.n) ? bb.n : 'a fixed level'}${Number.isFinite(bb.n) ? ' seeds' : ''}`;
  if (a.n < minSeeds || bb.n < minSeeds) {
    const lean = a.mean > bb.mean ? 'leans the claimed way' : a.mean < bb.mean ? 'leans the other way' : 'no difference';
    return {
      holds: 'indicative',
      reason: `${Math.min(a.n, bb.n) <= 1 ? 'one seed' : `fewer than ${minSeeds} seeds`}, indicative: ${lean} (${fmt(a.mean)} vs ${fmt(bb.mean)})`,
    };
  }
  if (a.lo === null || a.hi === null || bb.lo === null || bb.hi === null) return { holds: 'inconclusive', reason: 'no interval' };
  if (a.lo > bb.hi) return { holds: 'yes', reason: `intervals disjoint in the claimed direction (${seeds})` };
  if (a.hi < bb.lo) return { holds: 'no', reason: `intervals disjoint the other way (${seeds})` };
  return { holds: 'inconclusive', reason: `intervals overlap (${seeds})` };
}

/** Judges "a < b": {@link judgeGreater} with the sides swapped. */
export function judgeLess(a: Estimate | null | undefined, b: Estimate | number | null | undefined, opts: JudgeOptions = {}): Judgement {
  if (typeof b === 'number') {
    const neg = (e: Estimate | null | undefined): Estimate | null | undefined =>
      e && { mean: e.mean === null ? null : -e.mean, lo: e.hi === null ? null : -e.hi, hi: e.lo === null ? null : -e.lo, n: e.n };
    return judgeGreater(neg(a), -b, opts);
  }
  return judgeGreater(b, a, opts);
}

/** One point of a dose curve: the biased model's value and its clean control's at one dose. */
export interface DosePoint {
  /** The dose, e.g. the number of poisoned source images. */
  readonly dose: number;
  readonly biased: Estimate | null | undefined;
  readonly control: Estimate | null | undefined;
}

/**
 * Judges "the dose matters little" (the paper: the number of poisoned images hardly changes the
 * backdoor's transfer) over a curve of doses, each with its clean control:
 *
 * 1. The effect must exist: at every dose the biased value must exceed its control
 *    ({@link judgeGreater} holds). If it exceeds the control at no dose, the curve is flat at the
 *    floor (the control's level) and the claim cannot hold: inconclusive, saying so.
 * 2. Held when, in addition, every dose's interval lies within one band of width `tolerance`
 *    (max hi − min lo ≤ tolerance): whatever the true values, they differ by at most that.
 * 3. Did not hold when two doses' intervals are further apart than `tolerance`
 *    (lo_j − hi_i > tolerance): the dose certainly changes the value by more than that.
 * 4. One seed anywhere: indicative. Otherwise inconclusive.
 *
 * `tolerance` is in the metric's units (default 0.1, i.e. 10 points of ASR).
 */
export function judgeFlatDose(points: readonly DosePoint[], opts: JudgeOptions & { tolerance?: number } = {}): Judgement {
  const tol = opts.tolerance ?? 0.1;
  if (points.length < 2) return { holds: 'inconclusive', reason: 'fewer than 2 doses' };
  if (points.some((p) => !p.biased || p.biased.mean === null || !p.control || p.control.mean === null))
    return { holds: 'inconclusive', reason: 'a dose or its control was not measured' };
  const above = points.map((p) => judgeGreater(p.biased, p.control, opts));
  const means = points.map((p) => p.biased!.mean!);
  const spread = Math.max(...means) - Math.min(...means);
  if (above.some((j) => j.holds === 'indicative')) {
    const lean = spread <= tol ? 'means within the tolerance' : 'means spread beyond the tolerance';
    return { holds: 'indicative', reason: `one seed, indicative: ${lean} (spread ${fmt(spread)}, tolerance ${fmt(tol)})` };
  }
  const transferred = above.filter((j) => j.holds === 'yes').length;
  if (transferred === 0)
    return {
      holds: 'inconclusive',
      reason: 'the effect is above its control at no dose (flat at the floor): nothing transferred, so flatness says nothing',
    };
  const est = points.map((p) => p.biased!);
  if (est.some((e) => e.lo === null || e.hi === null)) return { holds: 'inconclusive', reason: 'no interval' };
  const band = Math.max(...est.map((e) => e.hi!)) - Math.min(...est.map((e) => e.lo!));
  let apart = -Infinity;
  for (const i of est) for (const j of est) apart = Math.max(apart, j.lo! - i.hi!);
  if (apart > tol) return { holds: 'no', reason: `two doses' intervals are ${fmt(apart)} apart, more than the tolerance ${fmt(tol)}` };
  if (transferred === points.length && band <= tol)
    return { holds: 'yes', reason: `above the control at every dose, and all intervals within a band of ${fmt(band)} ≤ ${fmt(tol)}` };
  return {
    holds: 'inconclusive',
    reason: `above the control at ${transferred} of ${points.length} doses; intervals span ${fmt(band)} (tolerance ${fmt(tol)})`,
  };
}

/**
 * Judges a claim made about a family of cases (probes, targets) from each case's judgement: held
 * when at least `need` cases hold (default 2, or 1 when there is a single case: one of many could
 * hold by chance); did not hold when every case did not hold; one seed, indicative, when any case
 * was measured on one seed; otherwise inconclusive.
 * @example judgeAtLeast([{ holds: 'yes', reason: '' }, { holds: 'yes', reason: '' }, { holds: 'inconclusive', reason: '' }]).holds // 'yes'
 */
export function judgeAtLeast(cases: readonly Judgement[], opts: { need?: number } = {}): Judgement {
  if (cases.length === 0) return { holds: 'inconclusive', reason: 'no cases measured' };
  const need = Math.min(opts.need ?? 2, cases.length);
  const held = cases.filter((j) => j.holds === 'yes').length;
  const failed = cases.filter((j) => j.holds === 'no').length;
  if (held >= need)
    return {
      holds: 'yes',
      reason: `${held} of ${cases.length} held with intervals over seeds disjoint in the claimed direction (${need} needed: one of many could be chance)`,
    };
  if (cases.some((j) => j.holds === 'indicative')) return { holds: 'indicative', reason: 'one seed, indicative only' };
  if (failed === cases.length) return { holds: 'no', reason: `all ${cases.length} did not hold (intervals disjoint the other way)` };
  return { holds: 'inconclusive', reason: `${held} of ${cases.length} held; ${need} needed` };
}
