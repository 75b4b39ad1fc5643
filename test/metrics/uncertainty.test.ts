import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  accuracy,
  aggregateSeeds,
  bootstrap,
  bootstrapAccuracy,
  bootstrapAsr,
  bootstrapSubgroupGap,
  bootstrapTargetedAsr,
  bootstrapTvShift,
  studentTQuantile,
} from '../../src/metrics/index.js';

const close = (a: number | null, b: number, tol: number, what: string) =>
  assert.ok(a !== null && Math.abs(a - b) <= tol, `${what}: got ${a}, want ${b} ± ${tol}`);

/** 400 samples, 280 correct (70%), interleaved. */
function seventyPercent() {
  const labels = new Int32Array(400);
  const predictions = new Int32Array(400);
  for (let i = 0; i < 400; i++) {
    labels[i] = i % 3;
    predictions[i] = i % 10 < 7 ? labels[i] : (labels[i] + 1) % 3;
  }
  return { labels, predictions };
}

test('bootstrap interval contains the point estimate and is deterministic for a seed', () => {
  const p = seventyPercent();
  const a = bootstrapAccuracy(p, { resamples: 500, seed: 7 });
  const b = bootstrapAccuracy(p, { resamples: 500, seed: 7 });
  const c = bootstrapAccuracy(p, { resamples: 500, seed: 8 });
  assert.deepEqual(a, b);
  assert.notDeepEqual([a.lo, a.hi], [c.lo, c.hi]);
  assert.equal(a.estimate, 0.7);
  assert.ok(a.lo! <= 0.7 && 0.7 <= a.hi!, `[${a.lo}, ${a.hi}] should contain 0.7`);
  // normal approximation: half-width 1.96·sqrt(0.21/400) ≈ 0.045; percentile interval close to it
  const half = (a.hi! - a.lo!) / 2;
  assert.ok(half > 0.03 && half < 0.06, `half-width ${half} far from the normal approximation 0.045`);
  assert.equal(a.validResamples, 500);
});

test('bootstrap draws with replacement from 0..n-1 and defaults to 1000 resamples', () => {
  let calls = 0;
  let sawRepeat = false;
  const r = bootstrap(20, (idx) => {
    calls++;
    assert.equal(idx.length, 20);
    for (const i of idx) assert.ok(i >= 0 && i < 20);
    if (new Set(idx).size < 20) sawRepeat = true;
    return 1;
  });
  assert.equal(calls, 1001); // identity + 1000 resamples
  assert.ok(sawRepeat);
  assert.deepEqual([r.estimate, r.lo, r.hi, r.resamples, r.alpha], [1, 1, 1, 1000, 0.05]);
});

test('bootstrap skips resamples where the statistic is undefined and reports how many were valid', () => {
  // ASR defined only in resamples containing sample 0 (the only clean-correct one)
  const p = { labels: Int32Array.of(0, 1, 1, 1), clean: Int32Array.of(0, 0, 0, 0), triggered: Int32Array.of(1, 1, 1, 1) };
  const r = bootstrapAsr(p, { resamples: 200, seed: 1 });
  assert.equal(r.estimate, 1);
  assert.ok(r.validResamples < 200 && r.validResamples > 100, `validResamples ${r.validResamples}`);
  assert.deepEqual([r.lo, r.hi], [1, 1]);
  // no clean-correct sample at all → everything null
  const none = bootstrapAsr({ ...p, clean: Int32Array.of(1, 0, 0, 0) }, { resamples: 50 });
  assert.deepEqual([none.estimate, none.lo, none.hi, none.validResamples], [null, null, null, 0]);
});

test('bootstrap wrappers agree with the plain metrics on the full set', () => {
  const { labels, predictions } = seventyPercent();
  const triggered = predictions.map((v, i) => (i % 2 === 0 ? 0 : v));
  const attributes = Uint8Array.from(labels, (_, i) => i % 2);
  const o = { resamples: 100, seed: 3 };
  assert.equal(bootstrapAccuracy({ labels, predictions }, o).estimate, accuracy({ labels, predictions }).rate);
  const t = bootstrapTargetedAsr({ labels, clean: predictions, triggered }, { targetClass: 0 }, o);
  assert.ok(t.estimate! > 0 && t.lo! <= t.estimate! && t.estimate! <= t.hi!);
  const g = bootstrapSubgroupGap({ labels, predictions, attributes, numClasses: 3 }, o);
  assert.ok(g.lo! <= g.estimate! && g.estimate! <= g.hi!);
  const tv = bootstrapTvShift({ clean: predictions, patched: triggered, numClasses: 3 }, o);
  assert.ok(tv.estimate! > 0 && tv.lo! <= tv.estimate! && tv.estimate! <= tv.hi!);
  assert.throws(() => bootstrapSubgroupGap({ labels, predictions, attributes, numClasses: 3, cls: 5 }), /cls = 5/);
});

test('Student t quantiles match published table values', () => {
  close(studentTQuantile(0.975, 1), 12.706204736174698, 1e-8, 'df=1');
  close(studentTQuantile(0.975, 2), 4.302652729911275, 1e-9, 'df=2');
  close(studentTQuantile(0.975, 10), 2.2281388519649385, 1e-9, 'df=10');
  close(studentTQuantile(0.995, 30), 2.7499956535672, 1e-8, 'df=30 99%');
  close(studentTQuantile(0.025, 4), -2.7764451051977987, 1e-9, 'lower tail');
});

test('aggregateSeeds gives mean, sample std and the 95% t-interval of known values', () => {
  const a = aggregateSeeds([1, 2, 3]);
  assert.equal(a.mean, 2);
  assert.equal(a.std, 1);
  close(a.lo, 2 - 4.302652729911275 / Math.sqrt(3), 1e-9, 'lo');
  close(a.hi, 2 + 4.302652729911275 / Math.sqrt(3), 1e-9, 'hi');
  const b = aggregateSeeds([2, 4, 4, 4, 5, 5, 7, 9]);
  assert.equal(b.mean, 5);
  close(b.std, Math.sqrt(32 / 7), 1e-12, 'std');
  close(b.hi! - b.mean!, (2.3646242515927844 * Math.sqrt(32 / 7)) / Math.sqrt(8), 1e-9, 'half-width');
  const one = aggregateSeeds([0.4, null]);
  assert.deepEqual([one.n, one.dropped, one.mean, one.std, one.lo], [1, 1, 0.4, null, null]);
  assert.equal(aggregateSeeds([]).mean, null);
});
