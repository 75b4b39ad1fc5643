import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  classCounts,
  concatDatasets,
  filterClasses,
  limit,
  selectIndices,
  shuffleDataset,
  trainValSplit,
  withAttributes,
} from '../../src/data/dataset.js';
import { Rng } from '../../src/data/rng.js';
import { firstPixels, tinyDataset } from './helpers.js';

const labels = [0, 1, 2, 0, 1, 2, 0, 1, 2, 0, 1, 2];

test('selectIndices copies the chosen samples in order, with repeats and attributes', () => {
  const ds = withAttributes(
    tinyDataset({ labels }),
    labels.map((l) => (l === 1 ? 1 : 0)),
  );
  const s = selectIndices(ds, [3, 0, 3, 4]);
  assert.deepEqual(firstPixels(s), [21, 0, 21, 28]);
  assert.deepEqual(Array.from(s.labels), [0, 0, 0, 1]);
  assert.deepEqual(Array.from(s.attributes!), [0, 0, 0, 1]);
  assert.deepEqual(Array.from(s.images.subarray(0, 4)), [21, 22, 23, 24]);
  s.images[0] = 99;
  assert.equal(ds.images[3 * 4], 21, 'selectIndices must copy, not view');
  assert.throws(() => selectIndices(ds, [12]), /index 12 is outside 0..11/);
});

test('filterClasses keeps chosen classes by name or index and relabels in the given order', () => {
  const ds = tinyDataset({ labels, classes: ['cat', 'dog', 'ant'] });
  const f = filterClasses(ds, ['ant', 0]);
  assert.deepEqual(f.classes, ['ant', 'cat']);
  assert.deepEqual(Array.from(f.labels), [1, 0, 1, 0, 1, 0, 1, 0]);
  assert.deepEqual(firstPixels(f), [0, 14, 21, 35, 42, 56, 63, 77]);
  const kept = filterClasses(ds, [2], { relabel: false });
  assert.deepEqual(kept.classes, ['cat', 'dog', 'ant']);
  assert.deepEqual(Array.from(kept.labels), [2, 2, 2, 2]);
  assert.throws(() => filterClasses(ds, ['bee']), /no class "bee"/);
});

test('limit takes the first n, a seeded random n, or a class-balanced n', () => {
  const ds = tinyDataset({ labels });
  assert.deepEqual(firstPixels(limit(ds, 3)), [0, 7, 14]);
  const a = limit(ds, 5, { rng: new Rng(4) });
  const b = limit(ds, 5, { rng: new Rng(4) });
  assert.equal(a.n, 5);
  assert.deepEqual(firstPixels(a), firstPixels(b));
  const px = firstPixels(a);
  assert.deepEqual(
    px,
    [...px].sort((x, y) => x - y),
    'random subset keeps dataset order',
  );
  assert.notDeepEqual(firstPixels(limit(ds, 5, { rng: new Rng(5) })), px);
  const bal = limit(ds, 7, { perClass: true });
  assert.deepEqual(Array.from(classCounts(bal)), [3, 2, 2]);
  assert.throws(() => limit(ds, 15, { perClass: true }), /class 0 \(c0\) of 'tiny' has 4 samples, 5 needed/);
  assert.equal(limit(ds, 100).n, 12);
});

test('shuffleDataset is a seeded permutation', () => {
  const ds = tinyDataset({ labels });
  const a = shuffleDataset(ds, new Rng(1));
  assert.deepEqual(firstPixels(a), firstPixels(shuffleDataset(ds, new Rng(1))));
  assert.notDeepEqual(firstPixels(a), firstPixels(ds));
  assert.deepEqual(
    [...firstPixels(a)].sort((x, y) => x - y),
    firstPixels(ds),
  );
});

test('trainValSplit is stratified, disjoint, complete and deterministic', () => {
  const ds = tinyDataset({ labels: [...labels, ...labels] }); // 8 per class
  const { train, val } = trainValSplit(ds, 0.25, new Rng(9));
  assert.deepEqual(Array.from(classCounts(val)), [2, 2, 2]);
  assert.deepEqual(Array.from(classCounts(train)), [6, 6, 6]);
  const all = [...firstPixels(train), ...firstPixels(val)].sort((x, y) => x - y);
  assert.deepEqual(all, firstPixels(ds));
  assert.deepEqual(firstPixels(trainValSplit(ds, 0.25, new Rng(9)).val), firstPixels(val));
  assert.notDeepEqual(firstPixels(trainValSplit(ds, 0.25, new Rng(10)).val), firstPixels(val));
});

test('concatDatasets appends samples and rejects mismatched shapes or classes', () => {
  const a = tinyDataset({ labels: [0, 1] });
  const b = selectIndices(tinyDataset({ labels: [1, 0, 1] }), [2, 1]);
  const c = concatDatasets([a, b]);
  assert.equal(c.n, 4);
  assert.deepEqual(Array.from(c.labels), [0, 1, 1, 0]);
  assert.deepEqual(firstPixels(c), [0, 7, 14, 7]);
  assert.throws(() => concatDatasets([a, tinyDataset({ labels: [0, 1], h: 3 })]), /has images 1x3x2/);
  assert.throws(() => concatDatasets([a, tinyDataset({ labels: [0, 1, 2] })]), /has classes/);
  assert.throws(() => concatDatasets([withAttributes(a, [0, 1]), a]), /some datasets have attributes/);
});

test('withAttributes validates length and values; classCounts rejects bad labels', () => {
  const ds = tinyDataset({ labels: [0, 1] });
  assert.throws(() => withAttributes(ds, [1]), /1 attributes for 2 samples/);
  assert.throws(() => withAttributes(ds, [0, 2]), /expected 0 or 1/);
  assert.throws(() => classCounts({ ...ds, labels: Int32Array.from([0, 5]) }), /label 5 of sample 1/);
});
