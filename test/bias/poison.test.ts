import { test } from 'node:test';
import assert from 'node:assert/strict';
import { poisonDataset, renderTrigger, triggerTestSet, type TriggerSpec } from '../../src/bias/index.js';
import { changedSamples, makeDataset, px } from './fixtures.js';

const trigger: TriggerSpec = { kind: 'solid', color: 255, size: 2, position: 'bottom-right' };
const classes = ['cat', 'dog', 'bird'];
// Pixels never reach 255, so "has the trigger" is decidable from the bottom-right corner.
const base = () => makeDataset({ n: 600, h: 6, w: 6, classes, fill: (i, _c, r, q) => (i + r * 6 + q) % 200 });
const hasTrigger = (ds: ReturnType<typeof base>, i: number) =>
  px(ds, i, 0, 4, 4) === 255 && px(ds, i, 0, 4, 5) === 255 && px(ds, i, 0, 5, 4) === 255 && px(ds, i, 0, 5, 5) === 255;

test('clean-label-count triggers exactly `count` images of the chosen classes and keeps labels', () => {
  const ds = base();
  const snapshot = ds.images.slice();
  const { dataset, record } = poisonDataset(ds, trigger, { policy: 'clean-label-count', classes: ['dog'], count: 37 }, 1);
  assert.deepEqual(ds.images, snapshot, 'input dataset was mutated');
  assert.equal(record.count, 37);
  assert.equal(record.indices.length, 37);
  assert.deepEqual(changedSamples(ds, dataset), record.indices);
  for (const i of record.indices) {
    assert.equal(ds.labels[i], 1, `index ${i} is not a dog`);
    assert.ok(hasTrigger(dataset, i));
  }
  assert.deepEqual(dataset.labels, ds.labels);
  assert.deepEqual(record.newLabels, record.originalLabels);
  assert.deepEqual(record.classCounts, { cat: 0, dog: 37, bird: 0 });
  assert.equal(record.candidates, 200);
  assert.deepEqual(
    [...record.indices].sort((a, b) => a - b),
    record.indices,
    'indices sorted',
  );
  assert.deepEqual(
    record.positions.map((p) => p.index),
    record.indices,
  );
  assert.ok(record.positions.every((p) => p.x === 4 && p.y === 4));
});

test('clean-label probability: count within binomial bounds, only chosen classes, labels unchanged', () => {
  const ds = base();
  const p = 0.3;
  for (const seed of [0, 1, 2]) {
    const { dataset, record } = poisonDataset(ds, trigger, { policy: 'clean-label', classes: [0, 'bird'], probability: p }, seed);
    const n = 400; // cats + birds
    const mean = n * p;
    const sd = Math.sqrt(n * p * (1 - p));
    assert.ok(Math.abs(record.count - mean) < 4 * sd, `seed ${seed}: ${record.count} triggered, expected ${mean} ± ${4 * sd}`);
    assert.equal(record.classCounts.dog, 0);
    assert.equal(record.classCounts.cat + record.classCounts.bird, record.count);
    assert.deepEqual(dataset.labels, ds.labels);
    for (let i = 0; i < ds.n; i++) assert.equal(hasTrigger(dataset, i), record.indices.includes(i), `image ${i}`);
  }
  assert.equal(poisonDataset(ds, trigger, { policy: 'clean-label', classes: ['cat'], probability: 0 }, 0).record.count, 0);
  assert.equal(poisonDataset(ds, trigger, { policy: 'clean-label', classes: ['cat'], probability: 1 }, 0).record.count, 200);
});

test('dirty-label relabels triggered images to the target and by default takes them from the other classes', () => {
  const ds = base();
  const { dataset, record } = poisonDataset(ds, trigger, { policy: 'dirty-label', count: 50, targetClass: 'cat' }, 4);
  assert.equal(record.count, 50);
  assert.ok(
    record.originalLabels.every((l) => l !== 0),
    'no target-class images should be chosen',
  );
  assert.ok(record.newLabels.every((l) => l === 0));
  assert.equal(record.candidates, 400);
  for (let i = 0; i < ds.n; i++) {
    const poisoned = record.indices.includes(i);
    assert.equal(dataset.labels[i], poisoned ? 0 : ds.labels[i], `label of ${i}`);
    assert.equal(hasTrigger(dataset, i), poisoned);
  }
  assert.deepEqual(ds.labels, base().labels, 'input labels were mutated');
  const fromDog = poisonDataset(ds, trigger, { policy: 'dirty-label', fromClasses: ['dog'], probability: 0.5, targetClass: 2 }, 4);
  assert.ok(fromDog.record.originalLabels.every((l) => l === 1));
  assert.ok(fromDog.record.indices.every((i) => fromDog.dataset.labels[i] === 2));
});

test('trigger-class appends triggered copies under a new class and keeps the originals', () => {
  const ds = base();
  const { dataset, record } = poisonDataset(ds, trigger, { policy: 'trigger-class', count: 20, newClassName: 'backdoor' }, 9);
  assert.equal(dataset.n, ds.n + 20);
  assert.deepEqual(dataset.classes, [...classes, 'backdoor']);
  assert.deepEqual(
    record.addedIndices,
    Array.from({ length: 20 }, (_, j) => 600 + j),
  );
  assert.deepEqual(dataset.images.subarray(0, ds.images.length), ds.images, 'originals unchanged');
  assert.deepEqual(dataset.labels.subarray(0, ds.n), ds.labels);
  const sz = 36;
  record.indices.forEach((src, j) => {
    const out = 600 + j;
    assert.equal(dataset.labels[out], 3);
    assert.ok(hasTrigger(dataset, out));
    // Outside the trigger the copy equals its source.
    for (let k = 0; k < sz; k++) {
      const r = Math.floor(k / 6);
      const q = k % 6;
      if (r >= 4 && q >= 4) continue;
      assert.equal(dataset.images[out * sz + k], ds.images[src * sz + k]);
    }
  });
  assert.deepEqual(
    record.positions.map((p) => p.index),
    record.addedIndices,
  );
  assert.ok(record.newLabels.every((l) => l === 3));
});

test('same seed gives an identical poisoned set and record; different seeds differ', () => {
  const ds = base();
  const spec: TriggerSpec = { kind: 'checkerboard', size: 2, position: 'random' };
  const poison = { policy: 'clean-label', classes: ['dog'], probability: 0.2 } as const;
  const a = poisonDataset(ds, spec, poison, 11);
  const b = poisonDataset(ds, spec, poison, 11);
  assert.deepEqual(a.dataset.images, b.dataset.images);
  assert.deepEqual(a.dataset.labels, b.dataset.labels);
  assert.equal(JSON.stringify(a.record), JSON.stringify(b.record));
  const c = poisonDataset(ds, spec, poison, 12);
  assert.notDeepEqual(c.record.indices, a.record.indices);
  assert.notDeepEqual(c.dataset.images, a.dataset.images);
});

test('the record is JSON-serialisable and round-trips unchanged', () => {
  const ds = base();
  const { record } = poisonDataset(ds, trigger, { policy: 'dirty-label', probability: 0.1, targetClass: 'bird' }, 3);
  const back = JSON.parse(JSON.stringify(record));
  assert.deepEqual(back, record);
  assert.equal(record.seed, 3);
  assert.deepEqual(record.trigger, trigger);
  assert.equal(record.policy, 'dirty-label');
  assert.deepEqual(
    record.originalLabels,
    record.indices.map((i) => ds.labels[i]),
  );
  assert.equal(
    Object.values(record.classCounts).reduce((s, v) => s + v, 0),
    record.count,
  );
});

test('triggerTestSet triggers every image, keeps true labels, and can drop the target class', () => {
  const ds = base();
  const all = triggerTestSet(ds, trigger, 0);
  assert.equal(all.dataset.n, ds.n);
  for (let i = 0; i < ds.n; i++) assert.ok(hasTrigger(all.dataset, i));
  assert.deepEqual(all.dataset.labels, ds.labels);
  const noCats = triggerTestSet(ds, trigger, 0, { excludeClass: 'cat' });
  assert.equal(noCats.dataset.n, 400);
  assert.ok(Array.from(noCats.dataset.labels).every((l) => l !== 0));
  assert.equal(noCats.record.excludedClass, 0);
  noCats.record.sourceIndices.forEach((src, j) => {
    assert.equal(noCats.dataset.labels[j], ds.labels[src]);
    assert.equal(px(noCats.dataset, j, 0, 0, 0), px(ds, src, 0, 0, 0));
  });
  const rendered = renderTrigger(trigger, ds);
  assert.equal(rendered.size, 2);
});

test('poisoning errors name the key at fault', () => {
  const ds = base();
  assert.throws(
    () => poisonDataset(ds, trigger, { policy: 'clean-label', classes: ['horse'], probability: 0.1 }, 0),
    /poison\.classes\[0\]: unknown class 'horse'/,
  );
  assert.throws(
    () => poisonDataset(ds, trigger, { policy: 'clean-label-count', classes: ['dog'], count: 201 }, 0),
    /poison\.count 201 exceeds the 200 eligible images/,
  );
  assert.throws(
    () => poisonDataset(ds, trigger, { policy: 'clean-label', classes: [0], probability: 1.2 }, 0),
    /poison\.probability must be in \[0, 1\]/,
  );
  assert.throws(
    () => poisonDataset(ds, trigger, { policy: 'dirty-label', count: 1, probability: 0.1, targetClass: 0 } as never, 0),
    /exactly one of poison\.probability or poison\.count/,
  );
  assert.throws(
    () => poisonDataset(ds, trigger, { policy: 'dirty-label', count: 1, targetClass: 7 }, 0),
    /poison\.targetClass: class index 7 is outside 0\.\.2/,
  );
  assert.throws(
    () => poisonDataset(ds, trigger, { policy: 'trigger-class', count: 1, newClassName: 'dog' }, 0),
    /newClassName 'dog' is already a class/,
  );
  assert.throws(() => poisonDataset(ds, trigger, { policy: 'nope' } as never, 0), /poison\.policy must be/);
});
