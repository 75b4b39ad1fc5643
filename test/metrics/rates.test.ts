import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  accuracy,
  confusionMatrix,
  perClassAccuracy,
  subgroupAccuracy,
  targetedAsr,
  topKAccuracy,
  untargetedAsr,
} from '../../src/metrics/index.js';

const I = (...v: number[]) => Int32Array.from(v);

test('accuracy counts correct predictions and is null on an empty test set', () => {
  // labels  0 1 2 1 0 ; preds 0 1 1 1 2 → correct at 0,1,3 → 3/5
  assert.deepEqual(accuracy({ labels: I(0, 1, 2, 1, 0), predictions: I(0, 1, 1, 1, 2) }), { rate: 0.6, numerator: 3, denominator: 5 });
  assert.deepEqual(accuracy({ labels: I(), predictions: I() }), { rate: null, numerator: 0, denominator: 0 });
});

test('per-class accuracy gives null with count 0 for a class absent from the test set', () => {
  // class 0: samples 0,4 → correct 1/2; class 1: samples 1,3 → 2/2; class 2: sample 2 → 0/1; class 3 absent
  const pc = perClassAccuracy({ labels: I(0, 1, 2, 1, 0), predictions: I(0, 1, 1, 1, 2), numClasses: 4 });
  assert.deepEqual(pc, [
    { cls: 0, rate: 0.5, numerator: 1, denominator: 2 },
    { cls: 1, rate: 1, numerator: 2, denominator: 2 },
    { cls: 2, rate: 0, numerator: 0, denominator: 1 },
    { cls: 3, rate: null, numerator: 0, denominator: 0 },
  ]);
});

test('confusion matrix has true classes as rows and predicted classes as columns', () => {
  const m = confusionMatrix({ labels: I(0, 1, 2, 1, 0), predictions: I(0, 1, 1, 1, 2), numClasses: 3 });
  assert.deepEqual(m, [
    [1, 0, 1],
    [0, 2, 0],
    [0, 1, 0],
  ]);
});

test('confusion matrix rejects a prediction outside the classes, naming the array and index', () => {
  assert.throws(() => confusionMatrix({ labels: I(0, 1), predictions: I(0, 5), numClasses: 3 }), /predictions\[1\] = 5/);
  assert.throws(() => accuracy({ labels: I(0, 1), predictions: I(0) }), /predictions has length 1 but labels has length 2/);
});

test('untargeted ASR counts only images correct without the trigger', () => {
  // correct clean at 0,1,3 (sample 2 wrong clean: excluded). Triggered wrong at 0 and 3 → 2/3.
  const r = untargetedAsr({ labels: I(0, 1, 2, 1), clean: I(0, 1, 0, 1), triggered: I(2, 1, 2, 0) });
  assert.deepEqual(r, { rate: 2 / 3, numerator: 2, denominator: 3 });
});

test('untargeted ASR is null (not NaN) when no clean prediction is correct', () => {
  const r = untargetedAsr({ labels: I(0, 1, 2), clean: I(1, 2, 0), triggered: I(0, 1, 2) });
  assert.deepEqual(r, { rate: null, numerator: 0, denominator: 0 });
});

test('targeted ASR excludes the target class and, by default, clean mistakes', () => {
  const p = { labels: I(0, 1, 2, 1, 2, 0), clean: I(0, 1, 2, 0, 2, 0), triggered: I(0, 0, 0, 0, 1, 0) };
  // target 0: exclude samples 0,5 (y = 0). Default also excludes sample 3 (clean 0 ≠ 1).
  // remaining 1,2,4: triggered 0,0,1 → 2/3
  assert.deepEqual(targetedAsr(p, { targetClass: 0 }), { rate: 2 / 3, numerator: 2, denominator: 3 });
  // without the clean-correct condition: 1,2,3,4 → 0,0,0,1 → 3/4
  assert.deepEqual(targetedAsr(p, { targetClass: 0, requireCleanCorrect: false }), { rate: 0.75, numerator: 3, denominator: 4 });
  // a target no sample avoids: all labels are the target → null
  assert.equal(targetedAsr({ labels: I(1, 1), clean: I(1, 1), triggered: I(1, 1) }, { targetClass: 1 }).rate, null);
});

test('subgroup accuracy splits by attribute per class and reports with − without gaps', () => {
  // idx:   0 1 2 3 4 5 6 7
  const labels = I(0, 0, 0, 0, 1, 1, 1, 1);
  const preds = I(0, 0, 1, 1, 1, 0, 1, 1);
  const attr = Uint8Array.of(1, 1, 0, 0, 1, 1, 0, 0);
  // class 0 with: idx 0,1 → 2/2 ; without: 2,3 → 0/2 ; gap 1
  // class 1 with: idx 4,5 → 1/2 ; without: 6,7 → 2/2 ; gap -0.5
  // overall with: 3/4 ; without: 2/4 ; gap 0.25
  const s = subgroupAccuracy({ labels, predictions: preds, attributes: attr, numClasses: 3 });
  assert.deepEqual(s.overall.withAttribute, { rate: 0.75, numerator: 3, denominator: 4 });
  assert.deepEqual(s.overall.withoutAttribute, { rate: 0.5, numerator: 2, denominator: 4 });
  assert.equal(s.overall.gap, 0.25);
  assert.equal(s.perClass[0].gap, 1);
  assert.equal(s.perClass[1].gap, -0.5);
  assert.equal(s.perClass[1].withAttribute.numerator, 1);
  // class 2 absent: both null, gap null
  assert.deepEqual(s.perClass[2], {
    cls: 2,
    withAttribute: { rate: null, numerator: 0, denominator: 0 },
    withoutAttribute: { rate: null, numerator: 0, denominator: 0 },
    gap: null,
  });
  assert.throws(
    () => subgroupAccuracy({ labels, predictions: preds, attributes: Uint8Array.of(0, 2, 0, 0, 0, 0, 0, 0), numClasses: 3 }),
    /attributes\[1\] = 2/,
  );
});

test('top-k accuracy counts a label among the k highest logits; ties go to the lower class index; top-1 equals arg-max accuracy', () => {
  const F = (...v: number[]) => Float32Array.from(v);
  const logits = F(0.1, 0.7, 0.2, 0.9, 0.05, 0.05, 0.3, 0.3, 0.3);
  assert.deepEqual(topKAccuracy({ logits, labels: I(2, 0, 2), numClasses: 3, k: 2 }), { rate: 2 / 3, numerator: 2, denominator: 3 });
  // Row 2 is a three-way tie: class 0 ranks first, class 2 last.
  assert.equal(topKAccuracy({ logits, labels: I(1, 0, 0), numClasses: 3, k: 1 }).numerator, 3);
  assert.equal(topKAccuracy({ logits, labels: I(1, 0, 2), numClasses: 3, k: 2 }).numerator, 2);
  assert.equal(topKAccuracy({ logits, labels: I(2, 1, 2), numClasses: 3, k: 3 }).rate, 1);
  assert.deepEqual(topKAccuracy({ logits: F(), labels: I(), numClasses: 3, k: 5 }), { rate: null, numerator: 0, denominator: 0 });
  assert.throws(() => topKAccuracy({ logits, labels: I(0, 1), numClasses: 3, k: 1 }), /9 values, expected 2 samples x 3 classes/);
  assert.throws(() => topKAccuracy({ logits, labels: I(0, 1, 3), numClasses: 3, k: 1 }), /labels\[2\] = 3/);
});
