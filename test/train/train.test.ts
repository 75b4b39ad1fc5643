import assert from 'node:assert/strict';
import { test } from 'node:test';
import { makeBatch } from '../../src/data/transforms.js';
import { accuracyOf, datasetSource, predict } from '../../src/train/data.js';
import { train, type ProgressEvent, type TrainSpec } from '../../src/train/trainer.js';
import { inferenceMode, liveTensors, setNumThreads, tidy } from '../../src/torch/index.js';
import { changedKeys, snapshot, SPEC, stripesDataset, tinyModel } from './fixtures.js';

setNumThreads(2);

const trainSet = stripesDataset({ n: 256, seed: 1, name: 'stripes/train' });
const valSet = stripesDataset({ n: 128, seed: 2, name: 'stripes/val' });
const SGD_SPEC: TrainSpec = {
  epochs: 4,
  optimizer: { kind: 'sgd', lr: 0.1, momentum: 0.9, weightDecay: 5e-4 },
  schedule: { kind: 'linear-warmup-decay', peakEpoch: 1 },
  evalEvery: 2,
};

/** Trains a fresh tiny model on the stripes task; returns it with the result and the events. */
async function trainTiny(seed: number, spec: TrainSpec = SGD_SPEC) {
  const model = tinyModel({ seed });
  const events: ProgressEvent[] = [];
  const evaluate = (): number => accuracyOf(predict((x) => model.forward(x), valSet, SPEC, { batchSize: 64 }).preds, valSet.labels);
  const result = await train({
    model,
    data: datasetSource(trainSet, { batchSize: 32, spec: SPEC, seed }),
    spec,
    seed,
    paramGroups: [{ params: model.parameters() }],
    evaluate,
    onProgress: (e) => events.push(e),
    progressInterval: 0,
  });
  return { model, result, events };
}

test('training lowers the loss and learns the easy synthetic task, leaking no tensor', async () => {
  const before = liveTensors();
  const { model, result, events } = await trainTiny(3);
  const modelTensors = model.stateDict().size;
  assert.equal(result.history.length, 4);
  const first = result.history[0];
  const last = result.history[3];
  assert.ok(last.loss < first.loss * 0.5, `loss went from ${first.loss} to ${last.loss}; expected at least halved`);
  assert.ok(last.accuracy > 0.9, `final training accuracy ${last.accuracy}`);
  assert.ok(result.finalEvalAccuracy !== null && result.finalEvalAccuracy >= 0.9, `held-out accuracy ${result.finalEvalAccuracy}`);
  assert.equal(result.bestEvalAccuracy, Math.max(...result.history.map((h) => h.evalAccuracy ?? -1)));
  // evalEvery 2 over 4 epochs: evaluated after epochs 2 and 4 only.
  assert.deepEqual(
    result.history.map((h) => h.evalAccuracy !== null),
    [false, true, false, true],
  );
  assert.deepEqual(
    events.filter((e) => e.kind !== 'step').map((e) => `${e.kind}${e.kind === 'done' ? '' : e.epoch}`),
    ['epoch0', 'eval1', 'epoch1', 'epoch2', 'eval3', 'epoch3', 'done'],
  );
  const steps = events.filter((e) => e.kind === 'step');
  assert.equal(steps.length, 4 * 8, 'one step event per iteration with progressInterval 0');
  assert.ok(steps.every((e) => e.imagesPerSecond! > 0 && e.etaSeconds! >= 0 && e.stepsPerEpoch === 8));
  assert.equal(result.reused, false);
  assert.equal(result.resumedFrom, null);
  // Everything train() created (optimizer state, batches, activations, gradients) is freed;
  // only the model's own parameters and buffers remain.
  assert.equal(liveTensors() - before, modelTensors, `leaked ${liveTensors() - before - modelTensors} tensor(s) across train()`);
  model.dispose();
  assert.equal(liveTensors(), before);
});

test('predict returns dataset-order predictions and logits equal to a manual forward pass', async () => {
  const model = tinyModel({ seed: 5 });
  model.eval();
  const before = liveTensors();
  // Batch size 50 does not divide 128: the last batch is partial.
  const p = predict((x) => model.forward(x), valSet, SPEC, { batchSize: 50, keepLogits: true });
  assert.equal(liveTensors(), before, 'predict leaked tensors');
  const all = Int32Array.from({ length: valSet.n }, (_, i) => i);
  const { manualPreds, manualLogits } = inferenceMode(() => {
    const b = makeBatch(valSet, all, SPEC);
    try {
      return tidy(() => {
        const out = model.forward(b.x);
        return { manualPreds: out.argmax(1).toInt32Array(), manualLogits: out.toFloat32Array() };
      });
    } finally {
      b.x.dispose();
      b.y.dispose();
    }
  });
  assert.equal(p.numClasses, 4);
  assert.deepEqual(p.preds, manualPreds);
  assert.ok(p.logits !== undefined && p.logits.length === valSet.n * 4);
  for (let i = 0; i < manualLogits.length; i++)
    assert.ok(Math.abs(p.logits[i] - manualLogits[i]) < 1e-5, `logit ${i}: ${p.logits[i]} vs ${manualLogits[i]}`);
  assert.equal(accuracyOf(p.preds, valSet.labels), accuracyOf(manualPreds, valSet.labels));
  assert.equal(accuracyOf(Int32Array.of(1, 2, 3), Int32Array.of(1, 0, 3)), 2 / 3);
  model.dispose();
});

test('two identical runs give bitwise-identical weights; another seed differs', async () => {
  const spec: TrainSpec = { epochs: 2, optimizer: { kind: 'adam', lr: 0.01 }, schedule: { kind: 'cosine' } };
  const a = await trainTiny(7, spec);
  const b = await trainTiny(7, spec);
  const c = await trainTiny(8, spec);
  const sa = snapshot(a.model);
  assert.deepEqual(changedKeys(sa, snapshot(b.model)), [], 'same seed, different weights');
  assert.ok(changedKeys(sa, snapshot(c.model)).length > 0, 'a different seed gave the same weights');
  assert.deepEqual(
    a.result.history.map((h) => h.loss),
    b.result.history.map((h) => h.loss),
  );
  for (const r of [a, b, c]) r.model.dispose();
});

test('train rejects a data source without batches', async () => {
  const model = tinyModel({ seed: 1 });
  await assert.rejects(
    train({ model, data: { batchesPerEpoch: 0, epoch: () => [] }, spec: SGD_SPEC, seed: 0, paramGroups: [{ params: model.parameters() }] }),
    /yields no batches/,
  );
  model.dispose();
});
