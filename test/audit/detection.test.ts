/**
 * The suite's statistics (src/audit/detection.ts): Wilson intervals against values computed by
 * hand from the formula, Neural Cleanse's anomaly index and DECREE's PL1 rule on constructed mask
 * sizes, and `judge` agreeing with `decide` on summaries built from real-looking numbers.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CLI_RULE, decree, judge, neuralCleanse, wilson } from '../../src/audit/detection.js';
import type { ScanSummary } from '../../src/audit/cache.js';

test('wilson: 9 of 10 and 0 of 20 give the score interval; n = 0 gives nulls; bad counts throw', () => {
  const a = wilson(9, 10);
  assert.equal(a.rate, 0.9);
  assert.ok(Math.abs(a.lo! - 0.5958) < 1e-3 && Math.abs(a.hi! - 0.9821) < 1e-3, JSON.stringify(a));
  const b = wilson(0, 20);
  assert.equal(b.lo, 0);
  assert.ok(Math.abs(b.hi! - 0.1611) < 1e-3, JSON.stringify(b));
  assert.deepEqual(wilson(0, 0), { k: 0, n: 0, rate: null, lo: null, hi: null });
  assert.throws(() => wilson(3, 2), /0 <= k <= n.*k=3, n=2/);
});

test('neuralCleanse: one class far below the others has anomaly index > 2; evenly spread classes do not', () => {
  const out = neuralCleanse([
    { cls: 0, maskFraction: 0.02 },
    { cls: 1, maskFraction: 0.08 },
    { cls: 2, maskFraction: 0.09 },
    { cls: 3, maskFraction: 0.07 },
    { cls: 4, maskFraction: 0.085 },
  ]);
  assert.equal(out.cls, 0);
  // median 0.08, MAD median(|.|) = median(0.06, 0, 0.01, 0.01, 0.005) = 0.01 → index 0.06 / 0.014826
  assert.ok(Math.abs(out.anomalyIndex! - 0.06 / 0.014826) < 1e-9);
  assert.equal(out.flagged, true);
  const even = neuralCleanse([0.06, 0.07, 0.08, 0.09, 0.1].map((m, cls) => ({ cls, maskFraction: m })));
  assert.equal(even.flagged, false);
  assert.throws(() => neuralCleanse([]), /no per-class masks/);
});

test('decree: PL1 below 0.1 is flagged only when the search reached its target', () => {
  assert.equal(decree({ maskFraction: 0.05, reached: true }).flagged, true);
  assert.equal(decree({ maskFraction: 0.05, reached: false }).flagged, false);
  assert.equal(decree({ maskFraction: 0.12, reached: true }).flagged, false);
  assert.equal(decree({ maskFraction: 0.05, reached: true }, 0.03).flagged, false);
});

const summary = (headless: number, masks: number[]): ScanSummary => ({
  headless: [{ layer: 'features', measure: 'centred-cosine', target: 0.8, maskFraction: headless, similarity: 0.8, reached: true }],
  classes: masks.map((m, cls) => ({ cls, name: String(cls), maskFraction: m, success: 0.95, reached: true })),
});

test('judge: a class below every reference by more than the cut is suspicious and named; the same numbers inside the references are not', () => {
  const refs = [
    summary(0.06, [0.07, 0.08, 0.075, 0.08, 0.07]),
    summary(0.065, [0.072, 0.079, 0.08, 0.078, 0.071]),
    summary(0.058, [0.068, 0.083, 0.077, 0.081, 0.073]),
    summary(0.062, [0.075, 0.081, 0.079, 0.076, 0.069]),
  ];
  const bad = judge(summary(0.06, [0.03, 0.08, 0.078, 0.079, 0.07]), refs);
  assert.equal(bad.verdict, 'suspicious');
  assert.equal(bad.lowestClass, 0);
  assert.match(bad.reasoning[0], /class 0/);
  assert.equal(judge(summary(0.06, [0.071, 0.08, 0.078, 0.079, 0.07]), refs).verdict, 'no-evidence');
  // Class 0's references: median 0.071, scale max(1.4826 · MAD 0.002, 10% of the median) = 0.0071,
  // so a mask of 0.05 is at z −2.96: flagged with a cut of 2.5, not at the CLI's 3.5.
  const mid = summary(0.06, [0.05, 0.08, 0.078, 0.079, 0.07]);
  assert.equal(judge(mid, refs).verdict, 'no-evidence');
  assert.equal(judge(mid, refs, { ...CLI_RULE, zThreshold: 2.5 }).verdict, 'suspicious');
  assert.equal(judge(summary(0.06, [0.03, 0.08, 0.078, 0.079, 0.07]), refs.slice(0, 2)).verdict, 'inconclusive');
});
