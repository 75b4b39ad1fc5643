import assert from 'node:assert/strict';
import { test } from 'node:test';
import { batches } from '../../src/data/loader.js';
import type { BatchSpec } from '../../src/data/transforms.js';
import { liveTensors } from '../../src/torch/index.js';
import { tinyDataset } from './helpers.js';

const d = tinyDataset({ labels: Array.from({ length: 10 }, (_, i) => i % 3), c: 1, h: 4, w: 4 });
const plain: BatchSpec = { mean: [0], std: [1] };
const aug: BatchSpec = { mean: [0.5], std: [0.5], augment: { cropPadding: 1, hflip: true } };

/** All batches of an epoch as plain values, tensors disposed. */
function collect(opts: Parameters<typeof batches>[1]): { index: number; indices: number[]; x: number[]; y: number[] }[] {
  const out = [];
  for (const b of batches(d, opts)) {
    out.push({ index: b.index, indices: Array.from(b.indices), x: Array.from(b.x.toFloat32Array()), y: b.y.toArray() });
    b.x.dispose();
    b.y.dispose();
  }
  return out;
}

test('without shuffle batches follow dataset order; dropLast drops the short batch', () => {
  const all = collect({ batchSize: 4, spec: plain });
  assert.deepEqual(
    all.map((b) => b.indices),
    [
      [0, 1, 2, 3],
      [4, 5, 6, 7],
      [8, 9],
    ],
  );
  assert.deepEqual(all[2].y, [2, 0]);
  assert.equal(all[0].x[16], Math.fround(7 / 255), 'sample 1 starts with pixel 7');
  assert.equal(collect({ batchSize: 4, spec: plain, dropLast: true }).length, 2);
});

test('order and augmentation are a pure function of (seed, epoch); epochs differ', () => {
  const before = liveTensors();
  const a = collect({ batchSize: 3, spec: aug, shuffle: true, seed: 7, epoch: 2 });
  const b = collect({ batchSize: 3, spec: aug, shuffle: true, seed: 7, epoch: 2 });
  assert.deepEqual(a, b);
  const flat = a.flatMap((x) => x.indices);
  assert.deepEqual(
    [...flat].sort((p, q) => p - q),
    Array.from({ length: 10 }, (_, i) => i),
    'each sample once per epoch',
  );
  const e3 = collect({ batchSize: 3, spec: aug, shuffle: true, seed: 7, epoch: 3 });
  assert.notDeepEqual(
    e3.flatMap((x) => x.indices),
    flat,
  );
  const s8 = collect({ batchSize: 3, spec: aug, shuffle: true, seed: 8, epoch: 2 });
  assert.notDeepEqual(
    s8.flatMap((x) => x.indices),
    flat,
  );
  assert.equal(liveTensors(), before, 'no tensors leaked');
});

test('startBatch resumes mid-epoch with exactly the batches of the uninterrupted run', () => {
  const full = collect({ batchSize: 3, spec: aug, shuffle: true, seed: 1, epoch: 0 });
  const resumed = collect({ batchSize: 3, spec: aug, shuffle: true, seed: 1, epoch: 0, startBatch: 2 });
  assert.deepEqual(resumed, full.slice(2));
  assert.equal(resumed[0].index, 2);
  assert.throws(() => batches(d, { batchSize: 3, spec: aug, startBatch: 5 }), /startBatch must be an integer in 0..4/);
  assert.throws(() => batches(d, { batchSize: 0, spec: aug }), /batchSize must be a positive integer/);
});
