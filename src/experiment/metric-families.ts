/**
 * `evaluation.metrics` does what it says: every metric row belongs to one family, and a run
 * records only the rows of the families its config lists. Source-level rows (source accuracy,
 * poisoned-image counts) are bookkeeping of the source, not of an evaluation, and are always kept.
 */
import type { MetricName } from './config/index.js';
import type { MetricRow } from '../store/index.js';

/** Each family's metric names: exact names, or prefixes ending in ':' (per-class rows such as 'hist:3'). */
export const METRIC_FAMILIES: Readonly<Record<MetricName, readonly string[]>> = {
  accuracy: ['accuracy', 'final-gain'],
  asr: ['asr'],
  'targeted-asr': ['targeted-asr', 'targeted-asr-class'],
  subgroup: [
    'attribute-gap',
    'class-accuracy:',
    'class-gap:',
    'correlated-class',
    'shift-toward-correlated',
    'shift-toward-correlated:others',
  ],
  'histogram-shift': [
    'tv-shift',
    'kl-shift',
    'changed',
    'hist:',
    'tv-shift-minus-scratch',
    'tv-vs-scratch-patched',
    'skew',
    'skew-class',
    'skew-excess',
    'skew-excess-minus-scratch',
  ],
};

/** Source-level rows, kept whatever `evaluation.metrics` says. */
export const ALWAYS_KEPT = ['source-accuracy', 'poisoned-images'] as const;

/**
 * The family of a metric name, or null when it has none (a new metric must be added to
 * {@link METRIC_FAMILIES}; a test checks every metric the pipeline writes has one).
 * @example metricFamily('hist:3') // 'histogram-shift'
 */
export function metricFamily(metric: string): MetricName | null {
  for (const [family, names] of Object.entries(METRIC_FAMILIES) as [MetricName, readonly string[]][])
    for (const n of names) if (n.endsWith(':') ? metric.startsWith(n) : metric === n) return family;
  return null;
}

/**
 * The rows whose family is in `families`, plus {@link ALWAYS_KEPT} and rows of a metric without
 * a family (kept rather than lost; the shipped-configs test fails on such a metric, so it gets
 * classified).
 */
export function selectMetricRows<R extends Pick<MetricRow, 'metric'>>(rows: readonly R[], families: readonly MetricName[]): R[] {
  const want = new Set(families);
  return rows.filter((r) => {
    if ((ALWAYS_KEPT as readonly string[]).includes(r.metric)) return true;
    const f = metricFamily(r.metric);
    return f === null || want.has(f);
  });
}
