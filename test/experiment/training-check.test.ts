/**
 * The report's training check: `final-gain` (the last evaluation above every earlier one) and the
 * rules that turn it and the scratch baseline into "still rising" / "under-trained" notes. The
 * curves below are real ones from the 5-seed reproduction (RESULTS.md): a decaying learning
 * rate's levelled-off gains and a dip and recovery are not "still rising"; a new high at the end is.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { aggKey, trainingCheck, type Agg } from '../../src/experiment/report.js';
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
