/**
 * Training to a plateau (src/train/plateau.ts): a model that learns stops once its held-out
 * accuracy levels off, well before the maximum; one that cannot learn (learning rate 0) stops
 * after the minimum with a flat curve, and the transfer check's training check flags it.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { majorityRate, transferTrainingCheck } from '../../src/audit/transfer.js';
import { accuracyOf, datasetSource, predict } from '../../src/train/data.js';
import { hasPlateaued, trainToPlateau } from '../../src/train/plateau.js';
import { setNumThreads } from '../../src/torch/index.js';
import { SPEC, stripesDataset, tinyModel } from './fixtures.js';

setNumThreads(1);
const trainSet = stripesDataset({ n: 256, seed: 1, name: 'stripes/train' });
const valSet = stripesDataset({ n: 128, seed: 2, name: 'stripes/val' });

async function run(lr: number, maxEpochs: number) {
  const model = tinyModel({ seed: 3 });
  try {
    const evaluate = () => accuracyOf(predict((x) => model.forward(x), valSet, SPEC, { batchSize: 64 }).preds, valSet.labels);
    const p = await trainToPlateau(
      {
        model,
        data: datasetSource(trainSet, { batchSize: 32, spec: SPEC, seed: 3 }),
        spec: { optimizer: { kind: 'sgd', lr, momentum: 0.9 }, schedule: { kind: 'constant' } },
        seed: 3,
        paramGroups: [{ params: model.parameters() }],
        evaluate,
      },
      { maxEpochs },
    );
    return { p, accuracy: evaluate() };
  } finally {
    model.dispose();
  }
}

test('hasPlateaued: the best of the last 2 epochs no more than half a point above the best before', () => {
  assert.equal(hasPlateaued([0.5, 0.7], { maxEpochs: 30 }), false); // too short
  assert.equal(hasPlateaued([0.5, 0.7, 0.72, 0.722, 0.719], { maxEpochs: 30 }), true);
  assert.equal(hasPlateaued([0.5, 0.7, 0.72, 0.73, 0.719], { maxEpochs: 30 }), false); // +1 point
  assert.equal(hasPlateaued([0.5, 0.7, 0.72, 0.73, 0.719], { maxEpochs: 30, delta: 0.02 }), true);
  assert.equal(hasPlateaued([0.25, 0.25, 0.25], { maxEpochs: 30 }), true);
});

test('a model that learns stops at its plateau, before the maximum epochs', async () => {
  const { p, accuracy } = await run(0.1, 30);
  assert.ok(p.plateaued, `curve ${p.curve}`);
  assert.ok(p.epochs < 30 && p.epochs >= 3, `stopped after ${p.epochs} epochs`);
  assert.equal(p.curve.length, p.epochs);
  assert.equal(p.result.history.length, p.epochs);
  assert.ok(accuracy > 0.9, `held-out accuracy ${accuracy}`);
  assert.equal(transferTrainingCheck(accuracy, majorityRate(valSet.labels), p), '');
});

test('a model that does not learn stops after the minimum and is flagged under-trained', async () => {
  const { p, accuracy } = await run(0, 30);
  assert.equal(p.epochs, 3, `curve ${p.curve}`); // 2 epochs minimum + patience 2 need 3 points
  assert.ok(new Set(p.curve).size === 1, `a flat curve, got ${p.curve}`);
  assert.match(transferTrainingCheck(accuracy, majorityRate(valSet.labels), p), /^under-trained/);
});

test('a model still gaining at the maximum epochs is flagged as still rising', async () => {
  const { p, accuracy } = await run(0.01, 2);
  // Two epochs at a small learning rate: no plateau can be seen in 2 points.
  assert.equal(p.epochs, 2);
  assert.equal(p.plateaued, false);
  assert.match(transferTrainingCheck(accuracy, majorityRate(valSet.labels), p), /still rising after 2 epochs/);
});
