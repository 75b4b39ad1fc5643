import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decide, median, robustZ, type VerdictInput } from '../../src/audit/reference.js';

test('median of odd and even lists, null when empty', () => {
  assert.equal(median([3, 1, 2]), 2);
  assert.equal(median([4, 1, 3, 2]), 2.5);
  assert.equal(median([]), null);
});

test('robustZ: (x − median) / (1.4826·MAD), floored at 10% of the median, with the percentile', () => {
  const refs = [0.05, 0.06, 0.05, 0.07, 0.08];
  const p = robustZ(0.02, refs);
  // median 0.06, |dev| = [0.01, 0, 0.01, 0.01, 0.02] → MAD 0.01 → scale 0.014826
  assert.equal(p.median, 0.06);
  assert.ok(Math.abs(p.scale! - 0.014826) < 1e-12);
  assert.ok(Math.abs(p.z! - (0.02 - 0.06) / 0.014826) < 1e-9);
  assert.equal(p.percentile, 0);
  assert.equal(robustZ(0.065, refs).percentile, 0.6);
  // Identical references: the floor (10% of the median) sets the scale.
  const same = robustZ(0.03, [0.05, 0.05, 0.05]);
  assert.ok(Math.abs(same.scale! - 0.005) < 1e-12);
  assert.ok(Math.abs(same.z! - -4) < 1e-9);
  assert.deepEqual(robustZ(0.1, []), { value: 0.1, references: [], median: null, scale: null, z: null, percentile: null });
});

const input = (name: string, value: number, refs: number[], reached = true): VerdictInput => ({
  name,
  position: robustZ(value, refs),
  reached,
});

test('decide: inconclusive with fewer than 3 references, whatever the numbers', () => {
  const r = decide([input('headless', 0.001, [0.05, 0.06])]);
  assert.equal(r.verdict, 'inconclusive');
  assert.match(r.reasoning[0], /only 2 clean reference/);
  assert.equal(decide([]).verdict, 'inconclusive');
});

test('decide: suspicious only when a statistic is below every reference AND 3.5 robust SDs under their median', () => {
  const refs = [0.05, 0.06, 0.05, 0.07];
  const sus = decide([input('headless', 0.055, refs), input('class 0', 0.02, refs)]);
  assert.equal(sus.verdict, 'suspicious');
  assert.match(sus.reasoning[0], /class 0/);
  assert.doesNotMatch(sus.reasoning[0], /headless/);
  // Far below the median but a reference is even smaller: no evidence.
  const wide = decide([input('class 0', 0.02, [0.01, 0.06, 0.06, 0.06, 0.06])]);
  assert.equal(wide.verdict, 'no-evidence');
  // Below every reference but within 3.5 robust SDs: no evidence.
  assert.equal(decide([input('class 0', 0.045, refs)]).verdict, 'no-evidence');
  // A search that never reached its target is not evidence, however small its mask.
  const unreached = decide([input('class 0', 0.001, refs, false)]);
  assert.equal(unreached.verdict, 'no-evidence');
  assert.match(unreached.reasoning.join('\n'), /did not reach its target/);
  // A stricter threshold turns the suspicious case into no evidence.
  assert.equal(decide([input('class 0', 0.02, refs)]).verdict, 'suspicious');
  assert.equal(decide([input('class 0', 0.02, refs)], { zThreshold: 5 }).verdict, 'no-evidence');
});
