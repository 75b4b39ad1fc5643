/**
 * The report's training check: `final-gain` (the last evaluation above every earlier one) and the
 * rules that turn it and the scratch baseline into "still rising" / "under-trained" notes. The
 * curves below are real ones from the 5-seed reproduction (RESULTS.md): a decaying learning
 * rate's levelled-off gains and a dip and recovery are not "still rising"; a new high at the end is.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ACCURACY_FLOOR, accuracyFloor, aggKey, smokeTest, trainingCheck, type Agg } from '../../src/publish/report.js';
import type { MetricRecord } from '../../src/store/index.js';
import { finalGain } from '../../src/experiment/results.js';

test('finalGain is the last evaluation minus the best earlier one; null below two evaluations', () => {
  assert.equal(finalGain([]), null);
  assert.equal(finalGain([0.7]), null);
  assert.ok(Math.abs(finalGain([0.5, 0.8, 0.93, 0.95])! - 0.02) < 1e-12);
  // Full fine-tuning on digits (linear decay to 0): +8 points over the last quarter, +2.1 at the end.
  assert.ok(Math.abs(finalGain([0.353, 0.677, 0.694, 0.829, 0.928, 0.949])! - 0.021) < 1e-9);
  // T-shirt vs shirt, full: a dip (52.0%) and recovery; the end is 1.5 points above the earlier best.
  assert.ok(Math.abs(finalGain([0.773, 0.799, 0.52, 0.816, 0.815, 0.831])! - 0.015) < 1e-9);
  // Fixed features at their ceiling: the last epoch is below an earlier one.
  assert.ok(finalGain([0.336, 0.405, 0.494, 0.522, 0.541, 0.537])! < 0);
});

function agg(values: number[]): Agg {
  const mean = values.reduce((a, b) => a + b, 0) / values.length;
  return { mean, lo: null, hi: null, n: values.length, values };
}

function table(entries: [string | null, string, string, number[]][]): Map<string, Agg> {
  return new Map(entries.map(([kind, mode, metric, v]) => [aggKey('default', kind, 'mnist', mode, 'clean', metric), agg(v)]));
}

test('still rising: the mean final gain over seeds above 2 points; under-trained: more than 10 points below scratch', () => {
  const A = table([
    [null, 'scratch', 'accuracy', [0.95, 0.954]],
    [null, 'scratch', 'final-gain', [0.019, 0.031]],
    ['biased', 'full', 'accuracy', [0.949, 0.951]],
    ['biased', 'full', 'final-gain', [0.021, 0.006]],
    ['biased', 'fixed', 'accuracy', [0.553, 0.555]],
    ['biased', 'fixed', 'final-gain', [-0.004, 0.026]],
    ['clean', 'fixed', 'accuracy', [0.52, 0.5]],
    ['clean', 'fixed', 'final-gain', [0.05, 0.03]],
  ]);
  assert.equal(trainingCheck(A, 'default', 'mnist', null, 'scratch'), 'still rising (last epoch +2.5 points above every earlier one)');
  assert.equal(trainingCheck(A, 'default', 'mnist', 'biased', 'full'), '');
  assert.equal(trainingCheck(A, 'default', 'mnist', 'biased', 'fixed'), 'under-trained: 39.8 points below scratch (curve plateaued)');
  assert.equal(
    trainingCheck(A, 'default', 'mnist', 'clean', 'fixed'),
    'under-trained: 44.2 points below scratch; still rising (last epoch +4.0 points above every earlier one)',
  );
});

test('a model at or near chance, or below the 50% floor, is under-trained whatever scratch reached (scratch included)', () => {
  // 4 classes: chance 25%. The quick digits run: scratch 32.4%, the others near it.
  const A = table([
    [null, 'scratch', 'accuracy', [0.324]],
    ['biased', 'full', 'accuracy', [0.25]],
    ['biased', 'fixed', 'accuracy', [0.4]],
    ['clean', 'full', 'accuracy', [0.2]],
  ]);
  assert.equal(
    trainingCheck(A, 'default', 'mnist', null, 'scratch', 4),
    'under-trained: 32.4% clean accuracy, within 10 points of chance (25.0%)',
  );
  assert.equal(
    trainingCheck(A, 'default', 'mnist', 'biased', 'full', 4),
    'under-trained: 25.0% clean accuracy, within 10 points of chance (25.0%)',
  );
  assert.equal(trainingCheck(A, 'default', 'mnist', 'biased', 'fixed', 4), 'under-trained: 40.0% clean accuracy, below the 50.0% floor');
  assert.equal(
    trainingCheck(A, 'default', 'mnist', 'clean', 'full', 4),
    'under-trained: 20.0% clean accuracy, within 10 points of chance (25.0%); 12.4 points below scratch',
  );
  // Without the number of classes the absolute floor still applies.
  assert.match(trainingCheck(A, 'default', 'mnist', 'biased', 'full'), /below the 50\.0% floor/);
  // 2 classes: chance 50%, so the floor is 60%; 80% (the shipped T-shirt vs Shirt level) passes.
  const B = table([
    [null, 'scratch', 'accuracy', [0.8]],
    ['biased', 'full', 'accuracy', [0.55]],
  ]);
  assert.equal(accuracyFloor(2), 0.6);
  assert.equal(accuracyFloor(10), ACCURACY_FLOOR);
  assert.equal(trainingCheck(B, 'default', 'mnist', null, 'scratch', 2), '');
  assert.match(
    trainingCheck(B, 'default', 'mnist', 'biased', 'full', 2),
    /^under-trained: 55\.0% clean accuracy, within 10 points of chance \(50\.0%\); 25\.0 points below scratch/,
  );
});

function rows(entries: [string | null, string, number][]): MetricRecord[] {
  return entries.map(([kind, mode, value]) => ({
    runId: 'r',
    runName: 'x',
    seed: 0,
    sweepId: 'default',
    condition: 'clean',
    transferMode: mode,
    sourceKind: kind as 'biased' | 'clean' | null,
    target: 'mnist',
    metric: 'accuracy',
    value,
    lo: null,
    hi: null,
    numerator: null,
    denominator: null,
  }));
}

test('an experiment is a smoke test when at least half its target models are below the floor', () => {
  const base = {
    modes: ['fixed', 'full', 'scratch'],
    targets: ['mnist'],
    targetClasses: { mnist: ['0', '1', '2', '3'] },
    sweepIds: ['default'],
  };
  // The full-size backdoor: fixed transfer at its frozen-feature ceiling (56%) is not a smoke test.
  const full = smokeTest({
    ...base,
    rows: rows([
      ['biased', 'fixed', 0.56],
      ['clean', 'fixed', 0.54],
      ['biased', 'full', 0.95],
      ['clean', 'full', 0.95],
      [null, 'scratch', 0.95],
    ]),
  });
  assert.deepEqual(full, { models: 5, below: [], smokeTest: false });
  const quick = smokeTest({
    ...base,
    rows: rows([
      ['biased', 'fixed', 0.28],
      ['clean', 'fixed', 0.3],
      ['biased', 'full', 0.33],
      ['clean', 'full', 0.6],
      [null, 'scratch', 0.324],
    ]),
  });
  assert.equal(quick.models, 5);
  assert.equal(quick.below.length, 4);
  assert.ok(quick.smokeTest);
  assert.match(quick.below[0], /^mnist\/fixed\/biased source: under-trained: 28\.0% clean accuracy/);
  const one = smokeTest({
    ...base,
    rows: rows([
      ['biased', 'fixed', 0.3],
      ['biased', 'full', 0.9],
      [null, 'scratch', 0.9],
    ]),
  });
  assert.equal(one.smokeTest, false, '1 of 3 below: flagged per model, not a smoke test');
  assert.equal(one.below.length, 1);
});
