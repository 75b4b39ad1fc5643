/**
 * The directional skew (natural-bias measure): hand-computed cases, the neutral-patch and scratch
 * contrasts, the documented example, and bootstrap intervals that cover the estimate.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  bootstrapSkew,
  bootstrapSkewContrast,
  bootstrapSkewExcess,
  directionalSkew,
  dominantShiftClass,
  skewContrast,
  skewExcess,
} from '../../src/metrics/index.js';
import { Rng } from '../../src/data/rng.js';

const I = (...v: number[]) => Int32Array.from(v);

test('the skew is the rise in share of the class that gains most, with its counts (doc example)', () => {
  const s = directionalSkew({ clean: I(0, 1, 1, 2), patched: I(0, 2, 2, 2), numClasses: 3 });
  assert.equal(s.gainClass, 2);
  assert.deepEqual(s.clean, { rate: 0.25, numerator: 1, denominator: 4 });
  assert.deepEqual(s.patched, { rate: 0.75, numerator: 3, denominator: 4 });
  assert.equal(s.gain, 0.5);
  assert.deepEqual(s.gains, [0, -0.5, 0.5]);
});

test('occlusion that scatters predictions has a small skew even when total variation is large', () => {
  // 6 images all predicted 0; the patch spreads them over classes 1..3 (TV = 1, skew = 2/6).
  const s = directionalSkew({ clean: I(0, 0, 0, 0, 0, 0), patched: I(1, 1, 2, 2, 3, 3), numClasses: 4 });
  assert.equal(s.gainClass, 1);
  assert.ok(Math.abs(s.gain! - 2 / 6) < 1e-12);
  // The same change concentrated on one class: skew 1.
  assert.equal(directionalSkew({ clean: I(0, 0, 0), patched: I(3, 3, 3), numClasses: 4 }).gain, 1);
});

test('ties go to the lowest class; no change gives 0; a fixed gain class may lose share; empty input gives null', () => {
  assert.equal(directionalSkew({ clean: I(0, 0), patched: I(1, 2), numClasses: 3 }).gainClass, 1);
  const none = directionalSkew({ clean: I(2, 1), patched: I(2, 1), numClasses: 3 });
  assert.equal(none.gain, 0);
  assert.equal(none.gainClass, 0);
  assert.equal(directionalSkew({ clean: I(0, 0), patched: I(1, 1), numClasses: 2, gainClass: 0 }).gain, -1);
  const empty = directionalSkew({ clean: I(), patched: I(), numClasses: 2 });
  assert.equal(empty.gain, null);
  assert.deepEqual(empty.clean, { rate: null, numerator: 0, denominator: 0 });
});

test('bad input names the argument at fault', () => {
  assert.throws(() => directionalSkew({ clean: I(0, 1), patched: I(0), numClasses: 2 }), /patched has length 1 but clean has length 2/);
  assert.throws(() => directionalSkew({ clean: I(0, 5), patched: I(0, 1), numClasses: 2 }), /clean\[1\] = 5/);
  assert.throws(() => directionalSkew({ clean: I(0), patched: I(0), numClasses: 2, gainClass: 2 }), /gainClass/);
});

test('skew excess over the neutral patch and the contrast against scratch (doc example)', () => {
  const r = skewContrast({
    numClasses: 2,
    transferred: { clean: I(0, 0, 0, 0), probe: I(1, 1, 1, 0), neutral: I(1, 0, 0, 0) },
    scratch: { clean: I(0, 0, 0, 0), probe: I(1, 0, 0, 0), neutral: I(0, 1, 0, 0) },
  });
  assert.equal(r.transferred.probe.gain, 0.75);
  assert.equal(r.transferred.neutral.gain, 0.25);
  assert.equal(r.transferred.excess, 0.5);
  assert.equal(r.scratch.excess, 0);
  assert.equal(r.contrast, 0.5);
  assert.equal(skewExcess({ clean: I(0, 1), probe: I(0, 1), neutral: I(1, 1) }, 2).excess, -0.5);
  assert.throws(
    () =>
      skewContrast({
        numClasses: 2,
        transferred: { clean: I(0), probe: I(0), neutral: I(0) },
        scratch: { clean: I(0, 0), probe: I(0, 0), neutral: I(0, 0) },
      }),
    /length/,
  );
});

test('bootstrap intervals are seeded, contain the estimate, and separate a strong contrast from zero', () => {
  const rng = new Rng(1, 'skew-test');
  const n = 400;
  const K = 5;
  const clean = Int32Array.from({ length: n }, () => rng.int(K));
  // Transferred: the probe turns 60% of predictions to class 3, the neutral 10% to random classes.
  const tProbe = clean.map((c) => (rng.next() < 0.6 ? 3 : c));
  const tNeutral = clean.map((c) => (rng.next() < 0.1 ? rng.int(K) : c));
  // Scratch: both patches turn 10% to random classes.
  const sProbe = clean.map((c) => (rng.next() < 0.1 ? rng.int(K) : c));
  const sNeutral = clean.map((c) => (rng.next() < 0.1 ? rng.int(K) : c));
  const opts = { resamples: 300, seed: 4 };
  const one = bootstrapSkew({ clean, patched: tProbe, numClasses: K }, opts);
  assert.deepEqual(one, bootstrapSkew({ clean, patched: tProbe, numClasses: K }, opts));
  assert.ok(one.lo! <= one.estimate! && one.estimate! <= one.hi!, JSON.stringify(one));
  const ex = bootstrapSkewExcess({ clean, probe: tProbe, neutral: tNeutral }, K, opts);
  assert.ok(ex.lo! > 0.3, JSON.stringify(ex));
  const input = {
    numClasses: K,
    transferred: { clean, probe: tProbe, neutral: tNeutral },
    scratch: { clean, probe: sProbe, neutral: sNeutral },
  };
  const con = bootstrapSkewContrast(input, opts);
  assert.equal(con.estimate, skewContrast(input).contrast);
  assert.ok(con.lo! > 0.3 && con.hi! < 0.8, JSON.stringify(con));
  // Swapping the models makes it clearly negative.
  const neg = bootstrapSkewContrast({ ...input, transferred: input.scratch, scratch: input.transferred }, opts);
  assert.ok(neg.hi! < -0.3, JSON.stringify(neg));
});

test('dominantShiftClass: the class gaining most predictions, ties to the lowest index, as directionalSkew picks it', () => {
  assert.equal(dominantShiftClass(Int32Array.of(0, 1, 1, 2), Int32Array.of(0, 2, 2, 2), 3), 2);
  assert.equal(dominantShiftClass(Int32Array.of(0, 0, 3, 3), Int32Array.of(1, 1, 2, 2), 4), 1, 'a tie between 1 and 2 goes to 1');
  assert.equal(dominantShiftClass(Int32Array.of(1, 2), Int32Array.of(1, 2), 3), 0, 'no shift: class 0');
  const clean = Int32Array.of(0, 1, 2, 3, 4, 4, 1, 0);
  const patched = Int32Array.of(3, 3, 2, 3, 4, 1, 1, 3);
  assert.equal(dominantShiftClass(clean, patched, 5), directionalSkew({ clean, patched, numClasses: 5 }).gainClass);
});
