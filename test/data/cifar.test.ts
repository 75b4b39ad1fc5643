import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { DatasetError } from '../../src/data/errors.js';
import { CIFAR10_CLASSES, loadCifar10, loadCifar100 } from '../../src/data/loaders/cifar.js';
import { loadDataset } from '../../src/data/registry.js';
import { tmpDir } from './helpers.js';

/** A record: label bytes then 3072 pixels where pixel j = (seed + j) mod 256. */
function record(labels: number[], seed: number): Buffer {
  const px = Buffer.alloc(3072);
  for (let j = 0; j < 3072; j++) px[j] = (seed + j) % 256;
  return Buffer.concat([Buffer.from(labels), px]);
}

test('CIFAR-10 binary batches load in file order with exact pixels, labels and default names', () => {
  const dir = tmpDir('cifar10');
  const root = path.join(dir, 'cifar-10-batches-bin');
  fs.mkdirSync(root);
  fs.writeFileSync(path.join(root, 'data_batch_1.bin'), Buffer.concat([record([3], 1), record([9], 2)]));
  fs.writeFileSync(path.join(root, 'data_batch_2.bin'), record([0], 3));
  fs.writeFileSync(path.join(root, 'test_batch.bin'), record([7], 4));
  const train = loadCifar10({ path: dir, split: 'train' }); // parent folder accepted
  assert.deepEqual([train.n, train.c, train.h, train.w], [3, 3, 32, 32]);
  assert.deepEqual(Array.from(train.labels), [3, 9, 0]);
  assert.deepEqual(train.classes, [...CIFAR10_CLASSES]);
  assert.equal(train.images[0], 1);
  assert.equal(train.images[1024], (1 + 1024) % 256, 'green plane starts at 1024');
  assert.equal(train.images[3072 * 2 + 5], 8);
  fs.writeFileSync(path.join(root, 'batches.meta.txt'), 'a\nb\nc\nd\ne\nf\ng\nh\ni\nj\n\n');
  const test = loadDataset({ name: 'cifar10', split: 'test', path: root, classes: ['h'] });
  assert.deepEqual(test.classes, ['h']);
  assert.deepEqual(Array.from(test.labels), [0]);
  assert.equal(test.images[0], 4);
});

test('CIFAR-100 uses fine labels by default, coarse on request, names from files', () => {
  const dir = tmpDir('cifar100');
  fs.writeFileSync(path.join(dir, 'train.bin'), Buffer.concat([record([4, 57], 10), record([19, 99], 20)]));
  const fine = loadCifar100({ path: dir, split: 'train' });
  assert.deepEqual(Array.from(fine.labels), [57, 99]);
  assert.equal(fine.classes.length, 100);
  assert.equal(fine.images[3072], 20);
  fs.writeFileSync(path.join(dir, 'coarse_label_names.txt'), Array.from({ length: 20 }, (_, i) => `super${i}`).join('\n'));
  const coarse = loadCifar100({ path: dir, split: 'train', labels: 'coarse' });
  assert.deepEqual(Array.from(coarse.labels), [4, 19]);
  assert.equal(coarse.classes[19], 'super19');
});

test('CIFAR errors name the file: size not a record multiple, bad label, missing batch, wrong name count', () => {
  const dir = tmpDir('cifar-bad');
  const t = path.join(dir, 'test_batch.bin');
  fs.writeFileSync(t, Buffer.concat([record([1], 0), Buffer.alloc(100)]));
  const check = (fn: () => unknown, file: string, re: RegExp): void =>
    assert.throws(fn, (e: unknown) => e instanceof DatasetError && e.file === file && re.test(e.message) && e.message.includes(file));
  check(() => loadCifar10({ path: dir, split: 'test' }), t, /size 3173 bytes is not a positive multiple of the 3073-byte record/);
  fs.writeFileSync(t, record([10], 0));
  check(() => loadCifar10({ path: dir, split: 'test' }), t, /record 0 has label 10/);
  fs.writeFileSync(path.join(dir, 'data_batch_2.bin'), record([1], 0));
  check(() => loadCifar10({ path: dir, split: 'train' }), path.join(dir, 'data_batch_1.bin'), /missing/);
  fs.writeFileSync(t, record([1], 0));
  fs.writeFileSync(path.join(dir, 'batches.meta.txt'), 'a\nb\n');
  check(() => loadCifar10({ path: dir, split: 'test' }), path.join(dir, 'batches.meta.txt'), /lists 2 class names, expected 10/);
  check(() => loadCifar100({ path: dir, split: 'test' }), path.join(dir, 'test.bin'), /file not found/);
});
