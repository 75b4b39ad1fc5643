import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  DEFAULT_KL_EPSILON,
  histogramShift,
  klDivergence,
  predictionHistogram,
  shiftAgainstScratch,
  totalVariation,
} from '../../src/metrics/index.js';

const I = (...v: number[]) => Int32Array.from(v);

test('prediction histogram counts classes and gives proportions (null when empty)', () => {
  assert.deepEqual(predictionHistogram(I(0, 2, 2, 2), 3), { counts: [1, 0, 3], proportions: [0.25, 0, 0.75], total: 4 });
  assert.deepEqual(predictionHistogram(I(), 2), { counts: [0, 0], proportions: null, total: 0 });
});

test('TV distance is 1 for disjoint all-same histograms and 0 for identical ones', () => {
  const s = histogramShift({ clean: I(0, 0, 0), patched: I(1, 1, 1), numClasses: 3 });
  assert.equal(s.tv, 1);
  const same = histogramShift({ clean: I(2, 2), patched: I(2, 2), numClasses: 3 });
  assert.equal(same.tv, 0);
  assert.equal(same.klPatchedClean, 0);
  assert.equal(same.klCleanPatched, 0);
  // hand-computed: p = [0.5, 0.5], q = [1, 0] → TV = ½(0.5 + 0.5) = 0.5
  assert.equal(totalVariation([0.5, 0.5], [1, 0]), 0.5);
  assert.equal(totalVariation(null, [1]), null);
});

test('KL divergence matches the hand-computed value and is finite for disjoint supports', () => {
  // no smoothing: KL([0.5,0.5] || [0.25,0.75]) = 0.5 ln 2 + 0.5 ln(2/3)
  const want = 0.5 * Math.log(2) + 0.5 * Math.log(2 / 3);
  assert.ok(Math.abs(klDivergence([0.5, 0.5], [0.25, 0.75], 0)! - want) < 1e-12);
  // smoothed disjoint: p' = [(1+ε)/(1+2ε), ε/(1+2ε)], q' reversed
  const e = DEFAULT_KL_EPSILON;
  const a = (1 + e) / (1 + 2 * e);
  const b = e / (1 + 2 * e);
  const kl = klDivergence([1, 0], [0, 1])!;
  assert.ok(Number.isFinite(kl));
  assert.ok(Math.abs(kl - (a * Math.log(a / b) + b * Math.log(b / a))) < 1e-9);
  // both directions are reported and differ for asymmetric inputs
  const s = histogramShift({ clean: I(0, 0, 0, 1), patched: I(0, 1, 1, 1), numClasses: 2, epsilon: 0 });
  assert.ok(Math.abs(s.klPatchedClean! - (0.25 * Math.log(0.25 / 0.75) + 0.75 * Math.log(0.75 / 0.25))) < 1e-12);
  assert.equal(s.tv, 0.5);
});

test('target shift is P(f(patched) = t) − P(f(clean) = t) with its counts', () => {
  // clean: class 1 predicted 1/4; patched: 3/4 → shift 0.5
  const s = histogramShift({ clean: I(0, 1, 2, 0), patched: I(1, 1, 2, 1), numClasses: 3, targetClass: 1 });
  assert.deepEqual(s.target, {
    targetClass: 1,
    clean: { rate: 0.25, numerator: 1, denominator: 4 },
    patched: { rate: 0.75, numerator: 3, denominator: 4 },
    shift: 0.5,
  });
  assert.throws(() => histogramShift({ clean: I(0), patched: I(0), numClasses: 3, targetClass: 3 }), /targetClass = 3/);
});

test('against scratch compares patched histograms and the difference of shifts', () => {
  // transferred: clean [2,2,0,0]/4 → patched all class 3: tv 1
  // scratch: clean [2,2,0,0] → patched [2,1,0,1]: tv 0.25
  const r = shiftAgainstScratch({
    transferred: { clean: I(0, 0, 1, 1), patched: I(3, 3, 3, 3) },
    scratch: { clean: I(0, 0, 1, 1), patched: I(0, 0, 1, 3) },
    numClasses: 4,
    targetClass: 3,
  });
  assert.equal(r.transferred.tv, 1);
  assert.equal(r.scratch.tv, 0.25);
  assert.equal(r.tvShiftDifference, 0.75);
  // patched [0,0,0,1] vs [0.5,0.25,0,0.25] → ½(0.5+0.25+0+0.75) = 0.75
  assert.equal(r.patchedTv, 0.75);
  assert.ok(r.patchedKlTransferredScratch! > 0 && r.patchedKlScratchTransferred! > 0);
  // target shares: transferred 0 → 1 (shift 1), scratch 0 → 0.25 → difference 0.75
  assert.equal(r.targetShiftDifference, 0.75);
});
