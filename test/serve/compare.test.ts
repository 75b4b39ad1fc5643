/**
 * The comparison view's numbers on hand-made metric rows: sweep points pool their seeds into a
 * Student-t interval (checked against the formula), single runs keep their own bootstrap
 * interval, rows line up by (metric, target, mode, source, condition) in a fixed order, the
 * charts come from src/report's barChart with one bar per item, and the CSV holds every value.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { MetricRecord, RunRecord } from '../../src/store/index.js';
import { parseCsv } from '../../src/report/index.js';
import {
  buildComparison,
  COMPARE_CSV_COLUMNS,
  comparisonCharts,
  comparisonCsv,
  groupLabel,
  pickableMetrics,
  sweepPoints,
  type CompareItem,
} from '../../src/serve/compare.js';

function row(o: Partial<MetricRecord> & Pick<MetricRecord, 'runId' | 'metric' | 'value'>): MetricRecord {
  return {
    runName: 'bd',
    seed: 0,
    sweepId: 'p=0.5',
    condition: 'triggered',
    transferMode: 'fixed',
    sourceKind: 'biased',
    target: 'mnist',
    lo: null,
    hi: null,
    numerator: null,
    denominator: null,
    ...o,
  };
}

function run(id: string, configHash: string, sweepId: string | null, seed: number, name = 'bd'): RunRecord {
  return {
    id,
    name,
    configHash,
    status: 'done',
    sweepId,
    seed,
    createdAt: '2026-01-01T00:00:00Z',
    startedAt: null,
    finishedAt: null,
    error: null,
    paths: {} as RunRecord['paths'],
  };
}

test('sweepPoints groups runs by config hash and tells apart two points that share a sweep id', () => {
  const pts = sweepPoints([
    run('a0', 'aaaaaaaa11', 'p=0.5', 0),
    run('a1', 'aaaaaaaa11', 'p=0.5', 1),
    run('b0', 'bbbbbbbb22', 'p=1', 0),
    run('c0', 'cccccccc33', 'p=1', 0),
  ]);
  assert.deepEqual(
    pts.map((p) => [p.label, p.runs.map((r) => r.id)]),
    [
      ['bd · p=0.5', ['a0', 'a1']],
      ['bd · p=1 #bbbbbb', ['b0']],
      ['bd · p=1 #cccccc', ['c0']],
    ],
  );
});

test('a sweep point pools its seeds into a Student-t 95% interval; a run keeps its bootstrap interval', () => {
  const point: CompareItem = {
    kind: 'point',
    id: 'aaaaaaaa11',
    label: 'bd · p=0.5',
    experiment: 'bd',
    sweepId: 'p=0.5',
    seeds: [0, 1, 2],
    rows: [0.6, 0.8, 0.7].map((value, seed) => row({ runId: `a${seed}`, seed, metric: 'asr', value, lo: 0, hi: 1 })),
  };
  const single: CompareItem = {
    kind: 'run',
    id: 'b0',
    label: 'b0',
    experiment: 'bd',
    sweepId: 'p=1',
    seeds: [0],
    rows: [row({ runId: 'b0', sweepId: 'p=1', metric: 'asr', value: 0.9, lo: 0.85, hi: 0.94 })],
  };
  const c = buildComparison([point, single], ['asr']);
  assert.equal(c.rows.length, 1);
  const [p, r] = c.rows[0].values;
  // mean 0.7, sample std 0.1, t(0.975, 2) = 4.302653: half-width 4.302653 · 0.1 / √3 = 0.248414
  assert.ok(p);
  assert.ok(Math.abs(p.mean! - 0.7) < 1e-12);
  assert.ok(Math.abs(p.lo! - (0.7 - 0.248414)) < 1e-5, `lo ${p.lo}`);
  assert.ok(Math.abs(p.hi! - (0.7 + 0.248414)) < 1e-5, `hi ${p.hi}`);
  assert.equal(p.n, 3);
  assert.deepEqual([r?.mean, r?.lo, r?.hi, r?.n], [0.9, 0.85, 0.94, 1]);
});

test('rows are ordered by metric as picked, target, mode (fixed, partial, full, scratch) and source; missing values are null', () => {
  const rows = [
    row({ runId: 'a', metric: 'accuracy', condition: 'clean', transferMode: 'scratch', sourceKind: null, value: 0.9 }),
    row({ runId: 'a', metric: 'asr', transferMode: 'full', sourceKind: 'clean', value: 0.1 }),
    row({ runId: 'a', metric: 'asr', transferMode: 'scratch', sourceKind: null, value: 0.05 }),
    row({ runId: 'a', metric: 'asr', transferMode: 'fixed', sourceKind: 'clean', value: 0.2 }),
    row({ runId: 'a', metric: 'asr', transferMode: 'fixed', sourceKind: 'biased', value: 0.8 }),
    row({ runId: 'a', metric: 'asr', transferMode: 'partial:2', sourceKind: 'biased', value: 0.6 }),
    row({ runId: 'a', metric: 'hist:3', value: 0.1 }),
  ];
  const a: CompareItem = { kind: 'run', id: 'a', label: 'a', experiment: 'bd', sweepId: null, seeds: [0], rows };
  const b: CompareItem = { ...a, id: 'b', label: 'b', rows: [row({ runId: 'b', metric: 'asr', value: 0.7 })] };
  const c = buildComparison([a, b], ['asr', 'accuracy']);
  assert.deepEqual(
    c.rows.map((r) => r.group),
    ['fixed, biased source', 'fixed, clean source', 'partial:2, biased source', 'full, clean source', 'scratch', 'scratch'],
  );
  assert.deepEqual(
    c.rows.map((r) => r.metric),
    ['asr', 'asr', 'asr', 'asr', 'asr', 'accuracy'],
  );
  assert.deepEqual(
    c.rows.map((r) => r.values[1]?.mean ?? null),
    [0.7, null, null, null, null, null],
  );
  assert.deepEqual(c.metrics, ['asr', 'accuracy']);
});

test('group labels name the condition only when it is not the metric’s usual one', () => {
  assert.equal(groupLabel('asr', 'fixed', 'biased', 'triggered'), 'fixed, biased source');
  assert.equal(groupLabel('accuracy', 'full', 'clean', 'triggered'), 'full, clean source (triggered)');
  assert.equal(groupLabel('tv-shift', 'scratch', null, 'patch0'), 'scratch (patch0)');
  assert.equal(groupLabel('source-accuracy', null, 'biased', 'clean'), 'biased source model');
});

test('pickable metrics: headline ones first, per-class and histogram metrics left out', () => {
  assert.deepEqual(pickableMetrics(['hist:0', 'changed', 'accuracy', 'asr', 'class-gap:1', 'kl-shift', 'targeted-asr-class']), [
    'asr',
    'accuracy',
    'changed',
    'kl-shift',
  ]);
});

test('charts: one bar chart per metric and target with a bar per item; the CSV holds every value with its interval', () => {
  const items: CompareItem[] = ['x', 'y'].map((id, i) => ({
    kind: 'run',
    id,
    label: `run ${id}`,
    experiment: 'bd',
    sweepId: null,
    seeds: [0],
    rows: [
      row({ runId: id, metric: 'asr', value: 0.5 + i / 10, lo: 0.4, hi: 0.7 }),
      row({ runId: id, metric: 'asr', target: 'fashion', value: 0.3, lo: 0.2, hi: 0.4 }),
      row({ runId: id, metric: 'accuracy', condition: 'clean', value: 0.9 }),
    ],
  }));
  const c = buildComparison(items, ['asr', 'accuracy']);
  const charts = comparisonCharts(c);
  assert.deepEqual(
    charts.map((ch) => [ch.metric, ch.target]),
    [
      ['asr', 'fashion'],
      ['asr', 'mnist'],
      ['accuracy', 'mnist'],
    ],
  );
  for (const ch of charts) {
    assert.match(ch.svg, /^<svg/);
    assert.ok(ch.svg.includes('run x') && ch.svg.includes('run y'), 'both items in the legend');
    assert.equal((ch.svg.match(/<g><title>/g) ?? []).length, 2, 'one bar per item');
  }
  assert.match(charts[1].svg, /run y: 0\.6 \[0\.4, 0\.7\]/);
  const csv = parseCsv(comparisonCsv(c));
  assert.deepEqual(csv[0], [...COMPARE_CSV_COLUMNS]);
  assert.equal(csv.length, 1 + 6);
  const y = csv.find((r) => r[0] === 'y' && r[5] === 'asr' && r[6] === 'mnist');
  assert.deepEqual(y?.slice(10), ['0.6', '0.4', '0.7', '1']);
});
