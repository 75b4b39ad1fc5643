/**
 * The shared base of the report builders (./report.ts, ./report-sweeps.ts, ./report-probes.ts):
 * metric rows aggregated over seeds, their keys, the findings-box entry, the builders' input and
 * the training check. Kept apart from ./report.ts so the section builders import it without an
 * import cycle through the report's composer.
 */
import { formatPercent } from '../report/format.js';
import { aggregateSeeds } from '../metrics/index.js';
import type { Finding, ReportImage } from '../report/index.js';
import type { MetricRecord } from '../store/index.js';
import type { Judgement } from './verdict.js';

/** One aggregated value. */
export interface Agg {
  mean: number | null;
  lo: number | null;
  hi: number | null;
  n: number;
  values: number[];
}

/**
 * Groups rows by a key and aggregates each group over seeds: a Student-t interval at
 * `confidence` (default 0.95; pass the config's `evaluation.confidence`) over the seeds' values;
 * a single seed keeps its own (bootstrap) interval.
 */
export function aggregate(rows: readonly MetricRecord[], opts: { confidence?: number } = {}): Map<string, Agg> {
  const alpha = 1 - (opts.confidence ?? 0.95);
  const groups = new Map<string, MetricRecord[]>();
  for (const r of rows) {
    const k = aggKey(r.sweepId, r.sourceKind, r.target, r.transferMode, r.condition, r.metric);
    let g = groups.get(k);
    if (!g) groups.set(k, (g = []));
    g.push(r);
  }
  const out = new Map<string, Agg>();
  for (const [k, g] of groups) {
    const values = g.map((r) => r.value);
    const [lo, hi] = metricRange(g[0].metric);
    const clip = (v: number | null) => (v === null ? null : Math.min(hi, Math.max(lo, v)));
    if (g.length === 1) out.set(k, { mean: values[0], lo: clip(g[0].lo), hi: clip(g[0].hi), n: 1, values });
    else {
      const a = aggregateSeeds(values, { alpha });
      out.set(k, { mean: a.mean, lo: clip(a.lo), hi: clip(a.hi), n: a.n, values });
    }
  }
  return out;
}

/** The range a metric can take; t-intervals over few seeds are clipped to it. */
export function metricRange(metric: string): [number, number] {
  if (metric === 'skew') return [0, 1];
  if (metric === 'skew-excess') return [-1, 1];
  if (metric === 'skew-excess-minus-scratch') return [-2, 2];
  if (/gap|minus-scratch|shift-toward|final-gain/.test(metric)) return [-1, 1];
  if (/^(accuracy|asr|targeted-asr|changed|tv-shift|tv-vs-scratch-patched|source-accuracy|class-accuracy|hist)/.test(metric)) return [0, 1];
  if (metric.startsWith('kl')) return [0, Infinity];
  return [-Infinity, Infinity];
}

/** The key of an aggregated value. */
export function aggKey(
  sweep: string | null,
  kind: string | null,
  target: string | null,
  mode: string | null,
  condition: string,
  metric: string,
): string {
  return [sweep ?? '', kind ?? 'none', target ?? '', mode ?? '', condition, metric].join('|');
}

/**
 * The source kinds run for a mode ('biased' / 'clean'; [null] for scratch) that have any row in
 * the given sweep point(s) and target: charts and tables show no bars, rows or lines for
 * conditions that were never run (no "n/a" rows for a control that does not exist).
 */
export function kindsRun(
  A: ReadonlyMap<string, Agg>,
  sweeps: string | readonly string[],
  target: string | null,
  mode: string,
): (string | null)[] {
  if (mode === 'scratch') return [null];
  const ss = typeof sweeps === 'string' ? [sweeps] : sweeps;
  const prefixes = ['biased', 'clean'].map((k) => ({ k, ps: ss.map((sw) => aggKey(sw, k, target, mode, '', '').slice(0, -2)) }));
  const keys = [...A.keys()];
  return prefixes.filter(({ ps }) => keys.some((key) => ps.some((p) => key.startsWith(`${p}|`)))).map(({ k }) => k);
}
/** A findings-box entry whose verdict comes from ./verdict.ts. */
export function finding(claim: string, measured: string, j: Judgement): Finding {
  return { claim, measured, holds: j.holds, reason: j.reason };
}

/** What the report builder needs. */
export interface ReportInput {
  name: string;
  description: string;
  rows: readonly MetricRecord[];
  /** Transfer modes in config order. */
  modes: readonly string[];
  targets: readonly string[];
  /** Class names per target. */
  targetClasses: Record<string, readonly string[]>;
  /** Patch condition descriptions (patch0 → 'patch of source class ...'). */
  conditionLabels: Record<string, string>;
  /** Which patch conditions are neutral controls, and of which probe. */
  neutralOf: Record<string, string>;
  examples: ReportImage[];
  config: unknown;
  seeds: readonly number[];
  sweepIds: readonly string[];
  seconds?: number;
  /** Confidence level of every interval (the config's `evaluation.confidence`; default 0.95). */
  confidence?: number;
  /**
   * Set when the source is a pretrained backbone (source.pretrained: nothing injected, not trained
   * here): its control weights file, or null without one. The texts then describe that control.
   */
  pretrained?: { readonly control: string | null };
  /** What ran, generated from the resolved config and the loaded data (./describe.ts), shown after the description. */
  setup?: string;
  /** Notes shown in the overview, e.g. that some runs were made by other code (reused with --accept-stale). */
  notes?: readonly string[];
  /** Pictures of test images carrying each probe and its neutral twin (condition → image), for the probe-bank section. */
  probeImages?: Readonly<Record<string, ReportImage>>;
  /** The values each sweep point assigns (point id → key path → value), for the sweep curves. */
  sweepValues?: Readonly<Record<string, Readonly<Record<string, unknown>>>>;
}

/** A model's clean accuracy this far (0.1 = 10 points) below the scratch baseline flags it as under-trained. */
export const UNDERTRAINED_MARGIN = 0.1;
/** A final evaluation this far (0.02 = 2 points) above every earlier one flags a curve as still rising (see finalGain). */
export const STILL_RISING = 0.02;
/**
 * A model whose clean accuracy is below this (0.5 = 50%) is under-trained whatever scratch
 * reached: it gets fewer than half of its test images right, so its bias numbers are measured on
 * a minority of them. At full size the shipped targets reach 80-96% from scratch and the lowest
 * model, fixed-feature transfer at its frozen-feature ceiling, 54-57%; the quick size's 32% digit
 * model is caught.
 */
export const ACCURACY_FLOOR = 0.5;
/** A model within this many points (0.1 = 10) of chance (1 / number of classes) is under-trained. */
export const CHANCE_MARGIN = 0.1;

/**
 * The lowest clean accuracy a model of a `numClasses`-way target may have and count as trained:
 * the higher of {@link ACCURACY_FLOOR} and chance plus {@link CHANCE_MARGIN}.
 *
 * @example accuracyFloor(10) // 0.5; accuracyFloor(2) // 0.6
 */
export function accuracyFloor(numClasses: number | undefined): number {
  return Math.max(ACCURACY_FLOOR, numClasses !== undefined && numClasses > 0 ? 1 / numClasses + CHANCE_MARGIN : 0);
}

/**
 * Why a model's mean clean accuracy fails the floor ({@link accuracyFloor}), or '' when it does
 * not (or is unknown).
 *
 * @example floorNote(0.25, 4) // 'under-trained: 25.0% clean accuracy, within 10 points of chance (25.0%)'
 */
export function floorNote(accuracy: number | null | undefined, numClasses: number | undefined): string {
  if (accuracy == null) return '';
  const chance = numClasses !== undefined && numClasses > 0 ? 1 / numClasses : null;
  const p = (v: number) => formatPercent(v);
  if (chance !== null && accuracy < chance + CHANCE_MARGIN)
    return `under-trained: ${p(accuracy)} clean accuracy, within ${CHANCE_MARGIN * 100} points of chance (${p(chance)})`;
  if (accuracy < ACCURACY_FLOOR) return `under-trained: ${p(accuracy)} clean accuracy, below the ${p(ACCURACY_FLOOR)} floor`;
  return '';
}

/**
 * The training check of one model (mean over seeds), '' when it passes. The rule:
 * - **under-trained** (absolute): its clean accuracy is below {@link accuracyFloor} (within
 *   {@link CHANCE_MARGIN} of chance for a `numClasses`-way target, or below
 *   {@link ACCURACY_FLOOR}), whatever scratch reached; this applies to scratch too;
 * - **under-trained** (relative): its clean accuracy is more than {@link UNDERTRAINED_MARGIN} below the
 *   scratch baseline of the same target and sweep point (bias numbers on such a model are measured
 *   on the few images it gets right). When its own curve has plateaued the note says so: for
 *   fixed-feature transfer that is the ceiling of the frozen features, not too few steps;
 * - **still rising**: its last evaluation's clean accuracy is more than {@link STILL_RISING}
 *   above the best earlier one (`final-gain`, mean over seeds; needs `evalEvery: 1`), so more
 *   training would change it.
 *
 * @example trainingCheck(A, 'default', 'mnist', 'biased', 'fixed', 10) // 'under-trained: 40.1 points below scratch (curve plateaued)'
 */
export function trainingCheck(
  A: Map<string, Agg>,
  sweep: string,
  target: string,
  kind: string | null,
  mode: string,
  numClasses?: number,
): string {
  const acc = A.get(aggKey(sweep, mode === 'scratch' ? null : kind, target, mode, 'clean', 'accuracy'));
  const scratch = A.get(aggKey(sweep, null, target, 'scratch', 'clean', 'accuracy'));
  const late = A.get(aggKey(sweep, mode === 'scratch' ? null : kind, target, mode, 'clean', 'final-gain'));
  const rising = late?.mean != null && late.mean > STILL_RISING;
  const notes: string[] = [];
  const floor = floorNote(acc?.mean, numClasses);
  if (floor) notes.push(floor);
  if (mode !== 'scratch' && acc?.mean != null && scratch?.mean != null && acc.mean < scratch.mean - UNDERTRAINED_MARGIN)
    notes.push(
      `${floor ? '' : 'under-trained: '}${((scratch.mean - acc.mean) * 100).toFixed(1)} points below scratch${late?.mean != null && !rising ? ' (curve plateaued)' : ''}`,
    );
  if (rising) notes.push(`still rising (last epoch +${(late!.mean! * 100).toFixed(1)} points above every earlier one)`);
  return notes.join('; ');
}

/** The models of an experiment below the accuracy floor, out of all its target models (see {@link smokeTest}). */
export interface FloorCheck {
  /** Every target model: sweep point × target × mode × source kind with a clean accuracy. */
  readonly models: number;
  /** Those below {@link accuracyFloor}, each as 'sweep/target/mode/source: note'. */
  readonly below: readonly string[];
  /** True when at least half the models are below the floor: the experiment is a smoke test, not a measurement. */
  readonly smokeTest: boolean;
}

/**
 * Checks every target model of an experiment against {@link accuracyFloor}. When at least half
 * of them fail it, the experiment's numbers are a smoke test of the pipeline, not a measurement
 * (the report then says so in a banner): most bias rates would be read off models that did not
 * learn their target.
 */
export function smokeTest(inp: Pick<ReportInput, 'rows' | 'modes' | 'targets' | 'targetClasses' | 'sweepIds' | 'confidence'>): FloorCheck {
  const A = aggregate(inp.rows, { confidence: inp.confidence });
  let models = 0;
  const below: string[] = [];
  for (const sweep of inp.sweepIds)
    for (const target of inp.targets)
      for (const mode of inp.modes)
        for (const kind of kindsRun(A, sweep, target, mode)) {
          const acc = A.get(aggKey(sweep, kind, target, mode, 'clean', 'accuracy'));
          if (acc?.mean == null) continue;
          models++;
          const note = floorNote(acc.mean, inp.targetClasses[target]?.length);
          if (note) below.push(`${sweep === 'default' ? '' : `${sweep}/`}${target}/${mode}/${kind ?? 'no'} source: ${note}`);
        }
  return { models, below, smokeTest: models > 0 && below.length * 2 >= models };
}
