/**
 * The comparison view's numbers: runs, or sweep points (all seeds of one resolved config), side
 * by side on the headline metrics, per target, transfer mode, source kind and condition, with
 * intervals; as bar charts (src/report's SVG charts), an HTML table and CSV.
 *
 * Intervals are the report's (`aggregate` of src/publish/report.ts): for a sweep point with
 * several seeds a Student-t interval over seeds, for one run (or a point with one seed) the
 * run's own bootstrap interval over test images.
 */
import { aggregate, type Agg } from '../publish/report.js';
import type { MetricRecord, RunRecord } from '../store/index.js';
import { barChart, toCsv } from '../report/index.js';

/** A metric the comparison can show, with how it is named and which condition it is read under by default. */
export interface MetricInfo {
  readonly metric: string;
  /** Axis and heading text. */
  readonly title: string;
  /** The condition the metric is normally read under (not repeated in labels); null: always shown. */
  readonly condition: string | null;
}

/** The headline metrics, in the order they are shown; the view starts with these ticked. */
export const HEADLINE_METRICS: readonly MetricInfo[] = [
  { metric: 'asr', title: 'attack success rate (ASR)', condition: 'triggered' },
  { metric: 'targeted-asr', title: 'targeted ASR', condition: 'triggered' },
  { metric: 'accuracy', title: 'accuracy', condition: 'clean' },
  { metric: 'attribute-gap', title: 'accuracy with − without the attribute', condition: 'with_attribute' },
  { metric: 'tv-shift', title: 'prediction-histogram shift (total variation)', condition: null },
  { metric: 'tv-shift-minus-scratch', title: 'TV shift minus scratch', condition: null },
  { metric: 'source-accuracy', title: 'source test accuracy', condition: 'clean' },
];

/** What is known about `metric` (a generic entry for metrics outside the headline list). */
export function metricInfo(metric: string): MetricInfo {
  return HEADLINE_METRICS.find((m) => m.metric === metric) ?? { metric, title: metric, condition: null };
}

/**
 * The metrics a comparison may pick, from the metric names present: headline metrics first (in
 * their order), then the rest alphabetically; per-class and per-bin metrics (names with ':') and
 * class indices (names ending in '-class', e.g. the class a targeted ASR aims at) are left out.
 */
export function pickableMetrics(present: Iterable<string>): string[] {
  const set = new Set([...present].filter((m) => !m.includes(':') && !m.endsWith('-class')));
  const head = HEADLINE_METRICS.map((m) => m.metric).filter((m) => set.has(m));
  return [...head, ...[...set].filter((m) => !head.includes(m)).sort()];
}

/** A sweep point: every run (seed) of one resolved config, identified by its config hash. */
export interface SweepPoint {
  readonly configHash: string;
  readonly name: string;
  readonly sweepId: string | null;
  /** `name · sweep id`, with the hash's first 6 digits when two points of a name share a sweep id (an edited config). */
  readonly label: string;
  readonly runs: readonly RunRecord[];
}

/** Groups runs into sweep points (one per config hash), in the order the runs come. */
export function sweepPoints(runs: readonly RunRecord[]): SweepPoint[] {
  const byHash = new Map<string, RunRecord[]>();
  for (const r of runs) {
    let g = byHash.get(r.configHash);
    if (!g) byHash.set(r.configHash, (g = []));
    g.push(r);
  }
  const base = (name: string, sweepId: string | null) => `${name} · ${sweepId ?? 'default'}`;
  const count = new Map<string, number>();
  for (const g of byHash.values()) count.set(base(g[0].name, g[0].sweepId), (count.get(base(g[0].name, g[0].sweepId)) ?? 0) + 1);
  return [...byHash].map(([configHash, g]) => {
    const b = base(g[0].name, g[0].sweepId);
    return {
      configHash,
      name: g[0].name,
      sweepId: g[0].sweepId,
      label: count.get(b)! > 1 ? `${b} #${configHash.slice(0, 6)}` : b,
      runs: g,
    };
  });
}

/** One column of a comparison: a run or a sweep point, with the metric rows behind it. */
export interface CompareItem {
  readonly kind: 'run' | 'point';
  /** Run id or config hash. */
  readonly id: string;
  /** Series name in charts and column heading in the table. */
  readonly label: string;
  readonly experiment: string;
  readonly sweepId: string | null;
  readonly seeds: readonly number[];
  readonly rows: readonly MetricRecord[];
}

/** One compared quantity: a metric under a (target, mode, source, condition), with each item's value. */
export interface CompareRow {
  readonly metric: string;
  readonly target: string | null;
  readonly mode: string | null;
  readonly source: 'biased' | 'clean' | null;
  readonly condition: string;
  /** Short label of the (mode, source[, condition]) group, e.g. 'fixed, biased source'. */
  readonly group: string;
  /** One per item, in item order; null where the item has no value. */
  readonly values: readonly (Agg | null)[];
}

/** What `buildComparison` returns. */
export interface Comparison {
  readonly items: readonly CompareItem[];
  readonly metrics: readonly string[];
  readonly rows: readonly CompareRow[];
}

const MODE_ORDER = (m: string | null): number =>
  m === null ? 9 : m === 'fixed' ? 0 : m.startsWith('partial') ? 1 : m === 'full' ? 2 : m === 'scratch' ? 3 : 4;
const SOURCE_ORDER = (s: string | null): number => (s === 'biased' ? 0 : s === 'clean' ? 1 : 2);

/** The label of a (mode, source kind, condition) group for `metric`, e.g. 'fixed, biased source'. */
export function groupLabel(metric: string, mode: string | null, source: string | null, condition: string): string {
  const head = mode === null ? `${source ?? 'no'} source model` : mode === 'scratch' ? 'scratch' : `${mode}, ${source ?? 'no'} source`;
  const def = metricInfo(metric).condition;
  return def !== null && condition === def ? head : `${head} (${condition})`;
}

/**
 * Lines up `items` on `metrics`: one row per (metric, target, mode, source, condition) that any
 * item has, ordered by metric (as given), target, mode (fixed, partial, full, scratch), source
 * (biased, clean) and condition; each item's value aggregated over its rows (over seeds for a
 * sweep point).
 */
export function buildComparison(items: readonly CompareItem[], metrics: readonly string[]): Comparison {
  const wanted = new Set(metrics);
  const keyOf = (r: { target: string | null; transferMode: string | null; sourceKind: string | null; condition: string; metric: string }) =>
    JSON.stringify([r.metric, r.target, r.transferMode, r.sourceKind, r.condition]);
  const perItem = items.map((it) => {
    const byKey = new Map<string, MetricRecord[]>();
    for (const r of it.rows) {
      if (!wanted.has(r.metric)) continue;
      const k = keyOf(r);
      let g = byKey.get(k);
      if (!g) byKey.set(k, (g = []));
      // Every row of a key aggregates together (the sweep id is the item's, not a grouping key here).
      g.push({ ...r, sweepId: null });
    }
    const aggs = new Map<string, Agg>();
    for (const [k, g] of byKey) aggs.set(k, [...aggregate(g).values()][0]);
    return aggs;
  });
  const keys = new Map<string, MetricRecord>();
  items.forEach((it) => {
    for (const r of it.rows) if (wanted.has(r.metric) && !keys.has(keyOf(r))) keys.set(keyOf(r), r);
  });
  const order = [...metrics];
  const sorted = [...keys.values()].sort(
    (a, b) =>
      order.indexOf(a.metric) - order.indexOf(b.metric) ||
      String(a.target ?? '').localeCompare(String(b.target ?? '')) ||
      MODE_ORDER(a.transferMode) - MODE_ORDER(b.transferMode) ||
      String(a.transferMode ?? '').localeCompare(String(b.transferMode ?? '')) ||
      SOURCE_ORDER(a.sourceKind) - SOURCE_ORDER(b.sourceKind) ||
      a.condition.localeCompare(b.condition),
  );
  const rows = sorted.map((r) => ({
    metric: r.metric,
    target: r.target,
    mode: r.transferMode,
    source: r.sourceKind,
    condition: r.condition,
    group: groupLabel(r.metric, r.transferMode, r.sourceKind, r.condition),
    values: perItem.map((m) => m.get(keyOf(r)) ?? null),
  }));
  return { items, metrics: order.filter((m) => rows.some((r) => r.metric === m)), rows };
}

/** A chart of a comparison: one metric on one target. */
export interface CompareChart {
  readonly metric: string;
  readonly target: string | null;
  readonly title: string;
  /** An `<svg>` string from src/report's barChart. */
  readonly svg: string;
}

/**
 * One grouped bar chart per (metric, target): a group per (mode, source[, condition]), a bar per
 * item with its interval as a whisker. ASR per transfer mode is the first chart when present.
 */
export function comparisonCharts(c: Comparison): CompareChart[] {
  const charts: CompareChart[] = [];
  const seen = new Set<string>();
  for (const r of c.rows) {
    const k = JSON.stringify([r.metric, r.target]);
    if (seen.has(k)) continue;
    seen.add(k);
    const rows = c.rows.filter((x) => x.metric === r.metric && x.target === r.target);
    const info = metricInfo(r.metric);
    const title = `${info.title}${r.target !== null ? ` — ${r.target}` : ''}`;
    const values = rows.flatMap((x) => x.values.flatMap((v) => (v ? [v.mean, v.lo, v.hi] : []))).filter((v): v is number => v !== null);
    const svg = barChart({
      title,
      yLabel: info.title,
      yMin: values.every((v) => v >= 0) ? 0 : undefined,
      groups: rows.map((x) => ({
        label: x.group,
        bars: c.items.map((it, i) => ({
          series: it.label,
          value: x.values[i]?.mean ?? null,
          lo: x.values[i]?.lo ?? null,
          hi: x.values[i]?.hi ?? null,
        })),
      })),
    });
    charts.push({ metric: r.metric, target: r.target, title, svg });
  }
  return charts;
}

/** The CSV columns of `comparisonCsv`. */
export const COMPARE_CSV_COLUMNS = [
  'item',
  'kind',
  'experiment',
  'sweep',
  'seeds',
  'metric',
  'target',
  'mode',
  'source',
  'condition',
  'value',
  'lo',
  'hi',
  'n',
] as const;

/** The comparison as CSV (long form: one line per item and row that has a value). */
export function comparisonCsv(c: Comparison): string {
  const lines: (string | number | null)[][] = [];
  for (const r of c.rows)
    c.items.forEach((it, i) => {
      const v = r.values[i];
      if (!v) return;
      lines.push([
        it.kind === 'run' ? it.id : it.label,
        it.kind,
        it.experiment,
        it.sweepId,
        it.seeds.join(' '),
        r.metric,
        r.target,
        r.mode,
        r.source,
        r.condition,
        v.mean,
        v.lo,
        v.hi,
        v.n,
      ]);
    });
  return toCsv(COMPARE_CSV_COLUMNS, lines);
}
