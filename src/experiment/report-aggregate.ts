/**
 * The shared base of the report builders (./report.ts, ./report-sweeps.ts, ./report-probes.ts):
 * metric rows aggregated over seeds, their keys, the findings-box entry, the builders' input and
 * the training check. Kept apart from ./report.ts so the section builders import it without an
 * import cycle through the report's composer.
 */
import { aggregateSeeds } from '../metrics/index.js';
import type { Finding, ReportImage } from '../report/index.js';
import type { MetricRecord } from './store/index.js';
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
 * The training check of one model (mean over seeds), '' when it passes. The rule:
 * - **under-trained**: its clean accuracy is more than {@link UNDERTRAINED_MARGIN} below the
 *   scratch baseline of the same target and sweep point (bias numbers on such a model are measured
 *   on the few images it gets right). When its own curve has plateaued the note says so: for
 *   fixed-feature transfer that is the ceiling of the frozen features, not too few steps;
 * - **still rising**: its last evaluation's clean accuracy is more than {@link STILL_RISING}
 *   above the best earlier one (`final-gain`, mean over seeds; needs `evalEvery: 1`), so more
 *   training would change it.
 *
 * @example trainingCheck(A, 'default', 'mnist', 'biased', 'fixed') // 'under-trained: 40.1 points below scratch (curve plateaued)'
 */
export function trainingCheck(A: Map<string, Agg>, sweep: string, target: string, kind: string | null, mode: string): string {
  const acc = A.get(aggKey(sweep, mode === 'scratch' ? null : kind, target, mode, 'clean', 'accuracy'));
  const scratch = A.get(aggKey(sweep, null, target, 'scratch', 'clean', 'accuracy'));
  const late = A.get(aggKey(sweep, mode === 'scratch' ? null : kind, target, mode, 'clean', 'final-gain'));
  const rising = late?.mean != null && late.mean > STILL_RISING;
  const notes: string[] = [];
  if (mode !== 'scratch' && acc?.mean != null && scratch?.mean != null && acc.mean < scratch.mean - UNDERTRAINED_MARGIN)
    notes.push(
      `under-trained: ${((scratch.mean - acc.mean) * 100).toFixed(1)} points below scratch${late?.mean != null && !rising ? ' (curve plateaued)' : ''}`,
    );
  if (rising) notes.push(`still rising (last epoch +${(late!.mean! * 100).toFixed(1)} points above every earlier one)`);
  return notes.join('; ');
}
