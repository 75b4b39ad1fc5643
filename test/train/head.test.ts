/**
 * The fused linear-head trainer (src/train/head.ts) against the libtorch trainer it stands in for
 * (`train` on `featureSource` batches with a `Linear` head and the same optimizer): the same
 * weights after training up to float rounding, the same per-epoch loss, accuracy, learning rate
 * and evaluation, for SGD with momentum, Nesterov and weight decay, Adam, AdamW, label smoothing
 * and a schedule. Also: a finished run is reused from its folder, bad labels are named.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { Rng } from '../../src/data/rng.js';
import type { ImageDataset } from '../../src/data/types.js';
import { Linear } from '../../src/nn/index.js';
import { manualSeed } from '../../src/torch/index.js';
import { accuracyOf } from '../../src/train/data.js';
import { featureSource, predictFeatures, type FeatureMatrix } from '../../src/train/features.js';
import { predictLinear, trainLinearHead, type LinearHeadWeights } from '../../src/train/head.js';
import { train, type TrainSpec } from '../../src/train/trainer.js';
import { assertClose } from '../helpers/tensors.js';

const tmp = mkdtempSync(join(tmpdir(), 'bt-head-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

const DIM = 24;
const K = 4;

/** `n` feature rows of K noisy clusters (non-negative, as after a ReLU), labels cycling 0..K-1, and a dataset holding the labels. */
function data(n: number, seed: number): { ds: ImageDataset; f: FeatureMatrix } {
  const rng = new Rng(seed, 'head-test');
  const labels = new Int32Array(n);
  const x = new Float32Array(n * DIM);
  for (let i = 0; i < n; i++) {
    labels[i] = i % K;
    for (let j = 0; j < DIM; j++) x[i * DIM + j] = Math.max(0, (j % K === labels[i] ? 1.5 : 0) + 2 * rng.next() - 0.8);
  }
  const ds: ImageDataset = { name: `feat/${seed}`, images: new Uint8Array(n), labels, classes: ['a', 'b', 'c', 'd'], n, c: 1, h: 1, w: 1 };
  return { ds, f: { n, dim: DIM, data: x } };
}

const SPEC = { mean: [0], std: [1] };

/** Trains the same head both ways; returns both heads and records. */
async function both(spec: TrainSpec, lr: number) {
  const { ds, f } = data(200, 1);
  const test = data(80, 2);
  manualSeed(5);
  const fc = new Linear({ inFeatures: DIM, outFeatures: K });
  const init: LinearHeadWeights = { inFeatures: DIM, outFeatures: K, weight: fc.weight.toFloat32Array(), bias: fc.bias!.toFloat32Array() };
  const batches = { batchSize: 32, spec: SPEC, seed: 9 };
  const ref = await train({
    model: fc,
    data: featureSource(ds, f, batches),
    spec,
    seed: 3,
    paramGroups: [{ params: fc.parameters(), lr }],
    evaluate: () => accuracyOf(predictFeatures((x) => fc.forward(x), test.f).preds, test.ds.labels),
  });
  const refHead = { weight: fc.weight.toFloat32Array(), bias: fc.bias!.toFloat32Array() };
  fc.dispose();
  const fused = await trainLinearHead({
    init,
    features: f,
    dataset: ds,
    batches,
    spec,
    lr,
    evaluate: (h) => accuracyOf(predictLinear(h, test.f), test.ds.labels),
  });
  return { ref, refHead, fused };
}

const base: TrainSpec = { epochs: 4, optimizer: { kind: 'sgd', lr: 0.1 }, schedule: { kind: 'constant' }, evalEvery: 1 };

for (const [name, spec] of [
  ['SGD with momentum and weight decay', { ...base, optimizer: { kind: 'sgd', lr: 0.1, momentum: 0.9, weightDecay: 1e-3 } }],
  [
    'Nesterov SGD, label smoothing, cosine schedule',
    {
      ...base,
      optimizer: { kind: 'sgd', lr: 0.1, momentum: 0.9, nesterov: true },
      labelSmoothing: 0.1,
      schedule: { kind: 'cosine', warmupEpochs: 1, minFraction: 0.1 },
    },
  ],
  ['Adam with L2 weight decay', { ...base, optimizer: { kind: 'adam', lr: 0.01, weightDecay: 1e-2, betas: [0.9, 0.999] } }],
  [
    'AdamW, step schedule',
    {
      ...base,
      optimizer: { kind: 'adamw', lr: 0.01, weightDecay: 0.05, betas: [0.8, 0.99] },
      schedule: { kind: 'step', stepEpochs: 2, gamma: 0.5 },
    },
  ],
] as [string, TrainSpec][])
  test(`fused head equals the libtorch trainer: ${name}`, async () => {
    const { ref, refHead, fused } = await both(spec, spec.optimizer.lr);
    assertClose(fused.head.weight, refHead.weight, 1e-4, 'weight');
    assertClose(fused.head.bias, refHead.bias, 1e-4, 'bias');
    assert.equal(fused.result.history.length, ref.history.length);
    for (const [i, h] of ref.history.entries()) {
      const g = fused.result.history[i];
      assert.ok(Math.abs(g.loss - h.loss) < 1e-5, `epoch ${i + 1} loss ${g.loss} vs ${h.loss}`);
      assert.equal(g.accuracy, h.accuracy, `epoch ${i + 1} training accuracy`);
      assert.ok(Math.abs(g.lr - h.lr) < 1e-9, `epoch ${i + 1} lr`);
      assert.equal(g.evalAccuracy, h.evalAccuracy, `epoch ${i + 1} evaluation`);
    }
    assert.equal(fused.result.bestEvalAccuracy, ref.bestEvalAccuracy);
  });

test('a finished head run is reused from its folder; a label outside the head is named', async () => {
  const { ds, f } = data(64, 3);
  const init: LinearHeadWeights = { inFeatures: DIM, outFeatures: K, weight: new Float32Array(DIM * K), bias: new Float32Array(K) };
  const dir = join(tmp, 'run');
  const opts = { init, features: f, dataset: ds, batches: { batchSize: 16, spec: SPEC, seed: 1 }, spec: base, lr: 0.1, checkpointDir: dir };
  const first = await trainLinearHead(opts);
  assert.equal(first.result.reused, false);
  const again = await trainLinearHead(opts);
  assert.equal(again.result.reused, true);
  assert.deepEqual(again.head.weight, first.head.weight);
  assert.deepEqual(again.result.history, first.result.history);
  const bad = { ...ds, labels: Int32Array.from(ds.labels, (y, i) => (i === 5 ? K : y)) };
  await assert.rejects(
    trainLinearHead({ ...opts, dataset: bad, checkpointDir: undefined }),
    /label 4 of image 5 is outside the head's 4 classes/,
  );
});
