/**
 * Splits mean what they say: every way a test set could silently be a training set is refused or
 * split correctly. Image folders in torchvision's layout (train/, test/ or val/), flat folders with
 * an explicit seeded holdout, IDX test files as their own keys, and content-digest comparison of
 * the images an experiment's datasets hold, whatever their specs say.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import pngjs from 'pngjs';
import { DatasetError } from '../../src/data/errors.js';
import { sharedImages } from '../../src/data/dataset.js';
import { loadDataset } from '../../src/data/registry.js';
import { loadConfig } from '../../src/experiment/config/index.js';
import { checkDisjointData, sourceTestSpec } from '../../src/experiment/prepare.js';
import { describeDataSpec } from '../../src/publish/data-descriptions.js';
import { tmpDir } from './helpers.js';

/** A 4x4 gray PNG whose pixels all equal `v` except pixel 0 = `tag` (so each file differs). */
function writePng(file: string, v: number, tag: number): void {
  const png = new pngjs.PNG({ width: 4, height: 4 });
  for (let i = 0; i < 16; i++) png.data.set([v, v, v, 255], 4 * i);
  png.data.set([tag, tag, tag, 255], 0);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, pngjs.PNG.sync.write(png));
}

/** Class folders `cat/` and `dog/` under `root` with `n` images each; tags start at `from`. */
function writeClasses(root: string, n: number, from = 0): void {
  for (let i = 0; i < n; i++) {
    writePng(path.join(root, 'cat', `c${i}.png`), 50, from + i);
    writePng(path.join(root, 'dog', `d${i}.png`), 200, from + 100 + i);
  }
}

function throwsData(fn: () => unknown, file: string, re: RegExp): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof DatasetError, `expected a DatasetError, got ${String(e)}`);
    assert.equal(e.file, file);
    assert.match(e.message, re);
    return true;
  });
}

test('a folder in torchvision layout: split train reads train/, split test reads test/, classes are the class folders', () => {
  const root = tmpDir('splits-tv');
  writeClasses(path.join(root, 'train'), 3);
  writeClasses(path.join(root, 'test'), 2, 50);
  const train = loadDataset({ name: 'folder', split: 'train', path: root });
  const testSet = loadDataset({ name: 'folder', split: 'test', path: root });
  assert.deepEqual(train.classes, ['cat', 'dog']);
  assert.deepEqual(testSet.classes, ['cat', 'dog']);
  assert.equal(train.n, 6);
  assert.equal(testSet.n, 4);
  assert.equal(sharedImages(train, testSet).count, 0);
  assert.match(testSet.name, /\/test$/);
});

test('a folder with val/ and no test/: split test reads val/; train/ with neither is an error', () => {
  const root = tmpDir('splits-val');
  writeClasses(path.join(root, 'train'), 2);
  writeClasses(path.join(root, 'val'), 1, 60);
  assert.equal(loadDataset({ name: 'folder', split: 'test', path: root }).n, 2);
  const noTest = tmpDir('splits-notest');
  writeClasses(path.join(noTest, 'train'), 2);
  throwsData(
    () => loadDataset({ name: 'folder', split: 'test', path: noTest }),
    noTest,
    /has a 'train\/' folder but no 'test\/' or 'val\/' folder/,
  );
});

test('a flat folder has no test split: split test is an error that says how to get one, never the training images', () => {
  const root = tmpDir('splits-flat');
  writeClasses(root, 3);
  assert.equal(loadDataset({ name: 'folder', split: 'train', path: root }).n, 6);
  throwsData(() => loadDataset({ name: 'folder', split: 'test', path: root }), root, /has no test split.*holdout: 0\.2/s);
});

test('split folders next to class folders are refused (ambiguous), as is holdout on data with its own test split', () => {
  const root = tmpDir('splits-mixed');
  writeClasses(path.join(root, 'train'), 1);
  writeClasses(path.join(root, 'test'), 1, 70);
  writePng(path.join(root, 'bird', 'b0.png'), 90, 1);
  throwsData(
    () => loadDataset({ name: 'folder', split: 'train', path: root }),
    root,
    /split folder\(s\) 'test\/', 'train\/' next to other folders \(bird\)/,
  );
  fs.rmSync(path.join(root, 'bird'), { recursive: true });
  throwsData(() => loadDataset({ name: 'folder', split: 'test', path: root, holdout: 0.2 }), root, /has a test split of its own/);
  assert.throws(() => loadDataset({ name: 'mnist', split: 'test', holdout: 0.2 }), /has a test split of its own/);
});

test('a holdout splits a flat folder into disjoint, stratified, seeded train and test parts that cover it', () => {
  const root = tmpDir('splits-holdout');
  writeClasses(root, 10);
  const spec = { name: 'folder' as const, path: root, holdout: 0.3 };
  const train = loadDataset({ ...spec, split: 'train' });
  const testSet = loadDataset({ ...spec, split: 'test' });
  assert.equal(testSet.n, 6, '30% of each class of 10');
  assert.equal(train.n, 14);
  assert.deepEqual(Array.from(testSet.labels).sort(), [0, 0, 0, 1, 1, 1]);
  assert.equal(sharedImages(train, testSet).count, 0, 'no image in both parts');
  const all = loadDataset({ name: 'folder', split: 'train', path: root });
  assert.equal(sharedImages(all, train).count + sharedImages(all, testSet).count, all.n, 'the parts cover the folder');
  assert.match(testSet.name, /holdout 0\.3 seed 0: test/);
  // Same seed, same split; another seed, another one.
  assert.deepEqual(loadDataset({ ...spec, split: 'test' }).contentIds, testSet.contentIds);
  assert.notDeepEqual(loadDataset({ ...spec, split: 'test', holdoutSeed: 5 }).contentIds, testSet.contentIds);
});

/** Writes an IDX pair of `n` 2x2 images whose pixels are all `from + i`, labels i % 2. */
function writeIdx(dir: string, stem: string, n: number, from: number): void {
  const images = Buffer.alloc(16 + n * 4);
  images.writeUInt32BE(0x803, 0);
  images.writeUInt32BE(n, 4);
  images.writeUInt32BE(2, 8);
  images.writeUInt32BE(2, 12);
  const labels = Buffer.alloc(8 + n);
  labels.writeUInt32BE(0x801, 0);
  labels.writeUInt32BE(n, 4);
  for (let i = 0; i < n; i++) {
    images.fill(from + i, 16 + i * 4, 16 + (i + 1) * 4);
    labels[8 + i] = i % 2;
  }
  fs.writeFileSync(path.join(dir, `${stem}-images.idx`), images);
  fs.writeFileSync(path.join(dir, `${stem}-labels.idx`), labels);
}

test('idx: split test reads testImagesFile/testLabelsFile, and without them is an error (or a holdout)', () => {
  const dir = tmpDir('splits-idx');
  writeIdx(dir, 'train', 10, 0);
  writeIdx(dir, 'test', 4, 100);
  const base = { name: 'idx' as const, path: dir, imagesFile: 'train-images.idx', labelsFile: 'train-labels.idx' };
  throwsData(() => loadDataset({ ...base, split: 'test' }), dir, /split 'test' of an idx dataset needs testImagesFile and testLabelsFile/);
  const testSet = loadDataset({ ...base, split: 'test', testImagesFile: 'test-images.idx', testLabelsFile: 'test-labels.idx' });
  assert.equal(testSet.n, 4);
  assert.equal(testSet.images[0], 100, 'the test file, not the training file');
  const train = loadDataset({ ...base, split: 'train', testImagesFile: 'test-images.idx', testLabelsFile: 'test-labels.idx' });
  assert.equal(train.n, 10);
  const held = loadDataset({ ...base, split: 'test', holdout: 0.2 });
  assert.equal(held.n, 2);
  assert.equal(sharedImages(loadDataset({ ...base, split: 'train', holdout: 0.2 }), held).count, 0);
});

/** A tiny experiment config over image folders; `target` and `test` are dataset specs in YAML. */
function configOver(dir: string, source: string, target: string, testSpec: string): string {
  const file = path.join(dir, 'exp.yaml');
  fs.writeFileSync(
    file,
    `name: splits
seeds: [0]
source:
  dataset: ${source}
  bias: { kind: none }
model: { arch: small-cnn, widthMultiplier: 0.5 }
sourceTraining: { epochs: 1, batchSize: 4, optimizer: { kind: sgd, lr: 0.05 } }
targets:
  - name: t
    dataset: ${target}
    testDataset: ${testSpec}
transfer: { modes: [fixed] }
targetTraining: { epochs: 1, batchSize: 4, optimizer: { kind: sgd, lr: 0.05 } }
`,
  );
  return file;
}

function disjointCheck(file: string): void {
  const loaded = loadConfig(file);
  checkDisjointData({ config: loaded.config, configDir: loaded.dir });
}

test('an experiment whose test set holds its training images is refused, whatever the specs say', () => {
  const dir = tmpDir('splits-exp');
  writeClasses(path.join(dir, 'src'), 4, 0);
  writeClasses(path.join(dir, 'tgt', 'train'), 4, 20);
  writeClasses(path.join(dir, 'tgt', 'test'), 2, 40);
  // The same training folder copied under another name, used as the test set.
  fs.cpSync(path.join(dir, 'tgt', 'train'), path.join(dir, 'copy'), { recursive: true });
  const src = '{ name: folder, path: src }';
  const tgt = '{ name: folder, path: tgt, split: train }';
  // The proper layout passes.
  disjointCheck(configOver(dir, src, tgt, '{ name: folder, path: tgt, split: test }'));
  // The test spec names the training split: refused.
  assert.throws(
    () => disjointCheck(configOver(dir, src, tgt, '{ name: folder, path: tgt, split: train }')),
    /targets\[0\]\.testDataset shares 8 of its 8 images with targets\[0\]\.dataset.*A test set must not hold training images/s,
  );
  // A copy of the training images at another path, called a test split by the layout: refused by content.
  assert.throws(
    () => disjointCheck(configOver(dir, src, tgt, '{ name: folder, path: copy, split: train }')),
    /targets\[0\]\.testDataset shares 8 of its 8 images with targets\[0\]\.dataset/,
  );
  // The source's images inside the target's test set (one side says split: test): refused.
  fs.cpSync(path.join(dir, 'src'), path.join(dir, 'leak', 'test'), { recursive: true });
  fs.cpSync(path.join(dir, 'tgt', 'train'), path.join(dir, 'leak', 'train'), { recursive: true });
  assert.throws(
    () => disjointCheck(configOver(dir, src, '{ name: folder, path: leak, split: train }', '{ name: folder, path: leak, split: test }')),
    /targets\[0\]\.testDataset shares 8 of its 8 images with source\.dataset/,
  );
  // A flat folder as the test set without a holdout: an error, not its training images.
  assert.throws(() => disjointCheck(configOver(dir, src, tgt, '{ name: folder, path: src, split: test }')), /has no test split/);
});

test("the source's accuracy is measured on its own test split or not at all; descriptions say which images", () => {
  const dir = tmpDir('splits-source');
  writeClasses(path.join(dir, 'flat'), 4);
  writeClasses(path.join(dir, 'tv', 'train'), 4);
  writeClasses(path.join(dir, 'tv', 'val'), 2, 50);
  const specOf = (yaml: string) =>
    loadConfig(configOver(dir, yaml, '{ name: folder, path: tv, split: train }', '{ name: folder, path: tv, split: test }')).config.source
      .dataset;
  assert.equal(sourceTestSpec(specOf('{ name: folder, path: flat }'), dir), null, 'a flat folder has no test split');
  const held = sourceTestSpec(specOf('{ name: folder, path: flat, holdout: 0.25 }'), dir);
  assert.equal(held?.split, 'test');
  const tv = sourceTestSpec(specOf('{ name: folder, path: tv, range: [0, 4] }'), dir);
  assert.deepEqual([tv?.split, tv?.range], ['test', null], 'a range counts training positions: not applied to the test split');
  assert.match(describeDataSpec(specOf('{ name: folder, path: flat, holdout: 0.25 }'), 2), /train part of a seeded 25% holdout .*2 images/);
  assert.match(
    describeDataSpec({ ...held!, limit: 2000 }, 2),
    /test part of a seeded 25% holdout.*2 images \(seeded class-balanced subset, limit 2000\)/,
  );
});

test('config errors: holdout on a format with its own test split, test files on a non-idx format or without their pair', () => {
  const dir = tmpDir('splits-config');
  writeClasses(path.join(dir, 'f'), 2);
  const t = '{ name: folder, path: f }';
  assert.throws(
    () => loadConfig(configOver(dir, '{ name: mnist, holdout: 0.2 }', t, t)),
    /source\.dataset\.holdout.*has a test split of its own/s,
  );
  assert.throws(
    () => loadConfig(configOver(dir, '{ name: mnist, testImagesFile: x }', t, t)),
    /testImagesFile applies to dataset 'idx' only/,
  );
  assert.throws(
    () => loadConfig(configOver(dir, '{ name: idx, imagesFile: a, labelsFile: b, testImagesFile: c }', t, t)),
    /testImagesFile and testLabelsFile go together/,
  );
});
