/**
 * Target data options of experiment configs, on the real loaders and bias code:
 * - `range` slices a split before `classes`, and source/target overlap is refused by name;
 * - `targets[].bias` (a de-biased target) is seeded, exact in count, and leaves labels unchanged;
 * - the spurious design's correlated class is found by name and measured as a directional shift.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { expandSweep, loadConfig } from '../../src/experiment/config/index.js';
import {
  checkDisjointData,
  correlatedTargetClass,
  debiasTarget,
  loadConfiguredDataset,
  type PrepareContext,
} from '../../src/experiment/prepare.js';
import { jobMetricRows } from '../../src/experiment/results.js';
import type { TransferJobResult } from '../../src/experiment/jobs.js';
import { fashionMnistAvailable, loadDataset, type ImageDataset } from '../../src/data/index.js';
import type { PoisonRecord } from '../../src/bias/index.js';

const noFashion = !fashionMnistAvailable() && 'dataset-fashion-mnist not installed';

function ctxOf(file: string, overrides: string[]): PrepareContext {
  const loaded = loadConfig(file, { overrides });
  return { config: loaded.config, configDir: loaded.dir };
}

test('range keeps positions [start, end) of the split, then filters classes', { skip: noFashion }, () => {
  const raw = loadDataset({ name: 'fashion-mnist', split: 'test' });
  const ds = loadConfiguredDataset(
    {
      name: 'fashion-mnist',
      split: 'test',
      path: null,
      imagesFile: null,
      labelsFile: null,
      testImagesFile: null,
      testLabelsFile: null,
      holdout: null,
      holdoutSeed: 0,
      size: null,
      channels: null,
      classes: ['Shirt'],
      range: [100, 300],
      limit: null,
    },
    '.',
    0,
    'range-test',
  );
  const expected: number[] = [];
  for (let i = 100; i < 300; i++) if (raw.classes[raw.labels[i]] === 'Shirt') expected.push(i);
  assert.equal(ds.n, expected.length);
  assert.deepEqual(ds.classes, ['Shirt']);
  const s = 28 * 28;
  assert.deepEqual(Uint8Array.from(ds.images.subarray(0, s)), Uint8Array.from(raw.images.subarray(expected[0] * s, (expected[0] + 1) * s)));
  assert.throws(
    () =>
      loadConfiguredDataset(
        {
          name: 'fashion-mnist',
          split: 'test',
          path: null,
          imagesFile: null,
          labelsFile: null,
          testImagesFile: null,
          testLabelsFile: null,
          holdout: null,
          holdoutSeed: 0,
          size: null,
          channels: null,
          classes: null,
          range: [0, 20000],
          limit: null,
        },
        '.',
        0,
        'range-test',
      ),
    /range \[0, 20000\) reaches past the end of .* which has 10000 samples/,
  );
});

test('an empty range is a config error naming the key', () => {
  assert.throws(() => ctxOf('experiments/spurious.yaml', ['source.dataset.range=[5, 5]']), /source\.dataset\.range.*empty/s);
});

test('source and target images that overlap are refused by content, with both keys, the count and the ranges', { skip: noFashion }, () => {
  // The shipped spurious design: disjoint ranges of the same split pass.
  checkDisjointData(ctxOf('experiments/spurious.yaml', []));
  // Same split, ranges intersect, both keep Shirt: refused.
  const bad = ctxOf('experiments/spurious.yaml', ['targets.0.dataset.range=[40000, 60000]']);
  assert.throws(
    () => checkDisjointData(bad),
    /targets\[0\]\.dataset shares \d+ of its \d+ images with source\.dataset \(compared by content.*both read fashion-mnist\/train with ranges \[0, 50000\) and \[40000, 60000\)/s,
  );
  // No ranges at all: the whole split on both sides.
  assert.throws(
    () => checkDisjointData(ctxOf('experiments/spurious.yaml', ['source.dataset.range=null', 'targets.0.dataset.range=null'])),
    /shares (\d+) of its \1 images with source\.dataset.*ranges the whole split and the whole split/s,
  );
  // Same split but disjoint classes (the backdoor's near-domain target design) pass.
  checkDisjointData(
    ctxOf('experiments/backdoor.yaml', [
      'targets=[{name: f, dataset: {name: fashion-mnist, split: train, classes: [5, 6, 7, 8, 9]}, testDataset: {name: fashion-mnist, split: test, classes: [5, 6]}}]',
    ]),
  );
});

test('targets[].bias pastes the trigger on round(q*n) training images across classes, seeded, labels unchanged', () => {
  const ctx = ctxOf('experiments/backdoor.yaml', ['targets.0.dataset.limit=500', 'targets.0.bias={fraction: 0.1}']);
  const train = loadConfiguredDataset(ctx.config.targets[0].dataset, ctx.configDir, 3, 'target/mnist/train');
  // In memory (the spec does not stream), so the datasets hold their pixels.
  const a = debiasTarget(ctx, 0, train, 3) as { dataset: ImageDataset; record: PoisonRecord | null };
  const b = debiasTarget(ctx, 0, train, 3) as { dataset: ImageDataset; record: PoisonRecord | null };
  const other = debiasTarget(ctx, 0, train, 4);
  assert.ok(a.record !== null && b.record !== null && other.record !== null);
  assert.equal(a.record.indices.length, 50);
  assert.deepEqual(a.record.indices, b.record.indices, 'same seed, same images');
  assert.deepEqual(a.dataset.images, b.dataset.images);
  assert.notDeepEqual(a.record.indices, other.record.indices, 'another seed, other images');
  assert.deepEqual(a.dataset.labels, train.labels, 'labels unchanged');
  assert.ok(new Set(a.record.originalLabels).size >= 5, `drawn across classes: ${[...new Set(a.record.originalLabels)]}`);
  // Only the chosen images changed.
  const s = train.c * train.h * train.w;
  const chosen = new Set(a.record.indices);
  for (let i = 0; i < train.n; i++) {
    const same = Buffer.compare(a.dataset.images.subarray(i * s, (i + 1) * s), train.images.subarray(i * s, (i + 1) * s)) === 0;
    if (!chosen.has(i)) assert.ok(same, `image ${i} changed but was not chosen`);
  }
  // Without a bias, or with q = 0, the data are returned as they are.
  const none = debiasTarget(ctxOf('experiments/backdoor.yaml', []), 0, train, 3);
  assert.equal(none.record, null);
  assert.equal(none.dataset, train);
});

test('the correlated target class is matched by name (or source index) and must be unique', () => {
  const fm = ['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot'];
  assert.equal(correlatedTargetClass(fm, { Shirt: 1 }, 0, ['T-shirt/top', 'Shirt']), 1);
  assert.equal(correlatedTargetClass(fm, { '6': 1 }, 0, ['T-shirt/top', 'Shirt']), 1);
  assert.equal(correlatedTargetClass(fm, { Shirt: 1 }, 0, ['Sandal', 'Sneaker']), null);
  assert.equal(correlatedTargetClass(fm, { Shirt: 0.1 }, 0.1, ['T-shirt/top', 'Shirt']), null, 'not above the default rate');
  assert.equal(correlatedTargetClass(fm, { Shirt: 1, 'T-shirt/top': 1 }, 0, ['T-shirt/top', 'Shirt']), null);
});

test('shift toward the correlated class counts predictions moved to it minus those moved away, on the same images', () => {
  // 8 test images, classes 0 (T-shirt) and 1 (Shirt, correlated). Without the attribute the
  // model is right on all; with it, 3 T-shirts and 0 Shirts flip to Shirt, 1 Shirt flips away.
  const labels = [0, 0, 0, 0, 1, 1, 1, 1];
  const r: TransferJobResult = {
    job: 't/biased/fixed',
    mode: 'fixed',
    sourceKind: 'biased',
    target: 't',
    seed: 0,
    train: { history: [], finalEvalAccuracy: null } as unknown as TransferJobResult['train'],
    trainable: 0,
    frozen: 0,
    predictions: { clean: [...labels], with_attribute: [1, 1, 1, 0, 1, 1, 1, 0] },
    labels,
    numClasses: 2,
  };
  const rows = jobMetricRows(r, { resamples: 200, seed: 0, correlatedClass: 1 });
  const get = (m: string) => rows.find((x) => x.metric === m)!;
  assert.equal(get('shift-toward-correlated').value, (3 - 1) / 8);
  assert.equal(get('shift-toward-correlated:others').value, 3 / 4);
  const lo = get('shift-toward-correlated').lo!;
  const hi = get('shift-toward-correlated').hi!;
  assert.ok(lo <= 0.25 && hi >= 0.25 && lo < hi, `interval [${lo}, ${hi}] around 0.25`);
  assert.equal(rows.find((x) => x.metric === 'class-accuracy:0' && x.condition === 'with_attribute')!.value, 1 / 4);
  // Without a correlated class there is no directional row.
  assert.equal(
    jobMetricRows(r, { resamples: 0, seed: 0 }).some((x) => x.metric.startsWith('shift-toward')),
    false,
  );
});

test('the fine-tuning budget sweep and the mitigation configs load and expand', () => {
  const budget = loadConfig('experiments/finetune-budget.yaml').config;
  const ids = expandSweep(budget).map((p) => p.id);
  assert.ok(ids.length >= 4, ids.join('; '));
  assert.ok(Object.keys(budget.sweep).includes('targetTraining.epochs'));
  assert.ok(Object.keys(budget.sweep).includes('targetTraining.optimizer.lr'));
  for (const f of ['mitigation-weight-decay', 'mitigation-debias-target', 'mitigation-partial', 'mitigation-target-size'])
    assert.ok(expandSweep(loadConfig(`experiments/${f}.yaml`).config).length >= 1, f);
});
