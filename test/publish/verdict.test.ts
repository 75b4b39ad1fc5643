/**
 * Verdicts that cannot hold by accident: the rules of src/publish/verdict.ts, and that the
 * report's seed aggregation uses the config's confidence level.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { aggregate, experimentSections, type ReportInput } from '../../src/publish/report.js';
import { judgeAtLeast, judgeFlatDose, judgeGreater, judgeLess, type Estimate } from '../../src/publish/verdict.js';
import type { MetricRecord } from '../../src/store/index.js';
import { studentTQuantile } from '../../src/metrics/studentT.js';

const est = (mean: number, half: number, n = 3): Estimate => ({ mean, lo: mean - half, hi: mean + half, n });

test('a claim holds only with >= 2 seeds and intervals disjoint in the claimed direction', () => {
  assert.equal(judgeGreater(est(0.8, 0.05), est(0.1, 0.05)).holds, 'yes');
  assert.match(judgeGreater(est(0.8, 0.05), est(0.1, 0.05)).reason, /disjoint in the claimed direction \(3 vs 3 seeds\)/);
  // Means in the claimed direction but intervals overlapping: inconclusive, not held.
  assert.equal(judgeGreater(est(0.5, 0.2), est(0.4, 0.2)).holds, 'inconclusive');
  // Means the other way but intervals overlapping: inconclusive, not "did not hold".
  assert.equal(judgeGreater(est(0.4, 0.2), est(0.5, 0.2)).holds, 'inconclusive');
  // Disjoint the other way: did not hold.
  assert.equal(judgeGreater(est(0.1, 0.05), est(0.8, 0.05)).holds, 'no');
  // Touching intervals are not disjoint.
  assert.equal(judgeGreater(est(0.6, 0.1), est(0.4, 0.1)).holds, 'inconclusive');
  // Not measured.
  assert.equal(judgeGreater(undefined, est(0.1, 0.05)).holds, 'inconclusive');
  assert.equal(judgeGreater({ mean: null, lo: null, hi: null, n: 0 }, est(0.1, 0.05)).holds, 'inconclusive');
});

test('one seed never holds: it says "one seed, indicative" and which way it leans', () => {
  // Even with a huge gap and tight (bootstrap) intervals.
  const one = judgeGreater(est(0.9, 0.01, 1), est(0.05, 0.01, 3));
  assert.equal(one.holds, 'indicative');
  assert.match(one.reason, /^one seed, indicative: leans the claimed way/);
  const against = judgeGreater(est(0.05, 0.01, 3), est(0.9, 0.01, 1));
  assert.equal(against.holds, 'indicative');
  assert.match(against.reason, /leans the other way/);
  assert.equal(judgeGreater(est(0.9, 0.01, 1), 0.5).holds, 'indicative');
});

test('against a fixed level and in the "less" direction', () => {
  assert.equal(judgeGreater(est(0.8, 0.05), 0.5).holds, 'yes');
  assert.equal(judgeGreater(est(0.3, 0.05), 0.5).holds, 'no');
  assert.equal(judgeGreater(est(0.52, 0.05), 0.5).holds, 'inconclusive');
  assert.equal(judgeLess(est(0.3, 0.05), 0.5).holds, 'yes');
  assert.equal(judgeLess(est(0.8, 0.05), 0.5).holds, 'no');
  assert.equal(judgeLess(est(0.1, 0.05), est(0.8, 0.05)).holds, 'yes');
  assert.equal(judgeLess(est(0.8, 0.05), est(0.1, 0.05)).holds, 'no');
});

test('"the dose matters little" cannot hold when the effect never transferred (flat at the control floor)', () => {
  const floor = [10, 100, 1000].map((dose) => ({ dose, biased: est(0.1, 0.02), control: est(0.1, 0.02) }));
  const j = judgeFlatDose(floor);
  assert.equal(j.holds, 'inconclusive');
  assert.match(j.reason, /flat at the floor/);
});

test('"the dose matters little" holds only above the control at every dose and within the tolerance band', () => {
  const flatHigh = [10, 100, 1000].map((dose, i) => ({ dose, biased: est(0.8 + i * 0.01, 0.03), control: est(0.1, 0.02) }));
  assert.equal(judgeFlatDose(flatHigh).holds, 'yes');
  // Same means, wide intervals: the band exceeds the tolerance, so it cannot be called flat.
  const wide = flatHigh.map((p) => ({ ...p, biased: est(p.biased.mean!, 0.2) }));
  assert.equal(judgeFlatDose(wide).holds, 'inconclusive');
  // Rising from the floor to far above it: the dose matters, the claim did not hold.
  const rising = [
    { dose: 10, biased: est(0.12, 0.03), control: est(0.1, 0.02) },
    { dose: 1000, biased: est(0.8, 0.03), control: est(0.1, 0.02) },
  ];
  const r = judgeFlatDose(rising);
  assert.equal(r.holds, 'no');
  assert.match(r.reason, /apart, more than the tolerance/);
  // One seed anywhere: indicative.
  const oneSeed = flatHigh.map((p) => ({ ...p, biased: { ...p.biased!, n: 1 } }));
  assert.equal(judgeFlatDose(oneSeed).holds, 'indicative');
  // A dose not measured: inconclusive.
  assert.equal(judgeFlatDose([flatHigh[0], { dose: 5, biased: undefined, control: est(0.1, 0.02) }]).holds, 'inconclusive');
});

function row(seedRun: string, sweepId: string, kind: 'biased' | 'clean' | null, mode: string, metric: string, value: number): MetricRecord {
  return {
    runId: seedRun,
    runName: 'x',
    seed: 0,
    sweepId,
    condition: metric === 'poisoned-images' ? 'source' : 'triggered',
    transferMode: metric === 'poisoned-images' ? null : mode,
    sourceKind: kind,
    target: metric === 'poisoned-images' ? null : 't',
    metric,
    value,
    lo: null,
    hi: null,
    numerator: null,
    denominator: null,
  };
}

test('seed aggregation uses the given confidence level, not a fixed 95%', () => {
  const values = [0.4, 0.45, 0.5, 0.56];
  const rows = values.map((v, i) => row(`r${i}`, 'default', 'biased', 'fixed', 'asr', v));
  const mean = values.reduce((a, b) => a + b) / values.length;
  const sd = Math.sqrt(values.reduce((a, v) => a + (v - mean) ** 2, 0) / (values.length - 1));
  for (const confidence of [0.8, 0.95, 0.99]) {
    const a = [...aggregate(rows, { confidence }).values()][0];
    const half = (studentTQuantile(1 - (1 - confidence) / 2, values.length - 1) * sd) / Math.sqrt(values.length);
    assert.ok(Math.abs(a.hi! - a.lo! - 2 * half) < 1e-9, `confidence ${confidence}: width ${a.hi! - a.lo!} vs ${2 * half}`);
  }
});

function input(rows: MetricRecord[], sweepIds: string[], seeds: number[]): ReportInput {
  return {
    name: 'x',
    description: '',
    rows,
    modes: ['fixed'],
    targets: ['t'],
    targetClasses: { t: ['a', 'b'] },
    conditionLabels: {},
    neutralOf: {},
    examples: [],
    config: {},
    seeds,
    sweepIds,
  };
}

test('the report: one seed gives "indicative" findings; the poison-count claim at the floor is not held', () => {
  const one = [row('r0', 'default', 'biased', 'fixed', 'asr', 0.9), row('r0', 'default', 'clean', 'fixed', 'asr', 0.05)];
  const fs = experimentSections(input(one, ['default'], [0])).flatMap((s) => s.findings ?? []);
  assert.ok(fs.length > 0);
  for (const f of fs) assert.equal(f.holds, 'indicative', f.claim);

  // Three seeds, three poison counts, biased = control everywhere (nothing transferred).
  const rows: MetricRecord[] = [];
  for (const [si, sweep] of ['p=a', 'p=b', 'p=c'].entries())
    for (const seed of [0, 1, 2]) {
      const id = `${sweep}-${seed}`;
      rows.push(row(id, sweep, 'biased', 'fixed', 'poisoned-images', [5, 50, 500][si]));
      rows.push(row(id, sweep, 'biased', 'fixed', 'asr', 0.1 + seed * 0.01));
      rows.push(row(id, sweep, 'clean', 'fixed', 'asr', 0.1 + seed * 0.01));
    }
  const poison = experimentSections(input(rows, ['p=a', 'p=b', 'p=c'], [0, 1, 2]))
    .flatMap((s) => s.findings ?? [])
    .find((f) => /poisoned source images matters little/.test(f.claim));
  assert.ok(poison, 'the poison-count finding is present');
  assert.equal(poison.holds, 'inconclusive');
  assert.match(poison.reason ?? '', /flat at the floor/);
});

test('a claim over several cases (probes) needs two that hold: one of many could be chance', () => {
  const j = (holds: 'yes' | 'no' | 'inconclusive' | 'indicative') => ({ holds, reason: '' });
  assert.equal(judgeAtLeast([j('yes'), j('inconclusive'), j('inconclusive')]).holds, 'inconclusive');
  assert.equal(judgeAtLeast([j('yes'), j('yes'), j('no')]).holds, 'yes');
  assert.equal(judgeAtLeast([j('yes')]).holds, 'yes', 'a single case needs only itself');
  assert.equal(judgeAtLeast([j('no'), j('no')]).holds, 'no');
  assert.equal(judgeAtLeast([j('no'), j('inconclusive')]).holds, 'inconclusive');
  assert.equal(judgeAtLeast([j('indicative'), j('indicative')]).holds, 'indicative');
  assert.equal(judgeAtLeast([]).holds, 'inconclusive');
});
