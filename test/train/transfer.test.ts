import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createModel, type Classifier } from '../../src/nn/index.js';
import { datasetSource } from '../../src/train/data.js';
import { makeOptimizer, train } from '../../src/train/trainer.js';
import { parseTransferMode, prepareTransfer, type TransferOptions } from '../../src/train/transfer.js';
import { liveTensors, manualSeed, setNumThreads } from '../../src/torch/index.js';
import { changedKeys, snapshot, SPEC, stripesDataset, tinyModel } from './fixtures.js';

setNumThreads(2);
const data = stripesDataset({ n: 128, seed: 31 });

/** A "pretrained" 3-block source model whose head is replaced for the target, as transfer does. */
function sourceModel(): Classifier {
  const m = tinyModel({ seed: 4, layers: [4, 8, 8], numClasses: 10 });
  m.replaceHead(4);
  return m;
}

/** Prepares `model` for `opts`, trains it for one epoch of 8 iterations, returns the changed state keys. */
async function transferAndTrain(model: Classifier, opts: TransferOptions): Promise<{ changed: string[]; trainableNames: string[] }> {
  const prepared = prepareTransfer(model, opts);
  const before = snapshot(model);
  await train({
    model,
    data: datasetSource(data, { batchSize: 16, spec: SPEC, seed: 1 }),
    spec: { epochs: 1, optimizer: { kind: 'sgd', lr: opts.lr, momentum: 0.9, weightDecay: 1e-3 }, schedule: { kind: 'constant' } },
    seed: 1,
    paramGroups: prepared.paramGroups,
    forward: prepared.forward,
    setTraining: prepared.setTraining,
  });
  return { changed: changedKeys(before, snapshot(model)), trainableNames: prepared.trainableNames };
}

const isBuffer = (k: string): boolean => /running_(mean|var)|num_batches_tracked/.test(k);
const HEAD = ['fc.weight', 'fc.bias'];

test('fixed: backbone parameters stay bitwise unchanged, the head trains, BN statistics adapt by default', async () => {
  const model = sourceModel();
  const before = liveTensors();
  const { changed, trainableNames } = await transferAndTrain(model, { mode: 'fixed', lr: 0.1 });
  assert.equal(liveTensors(), before, 'fixed-mode training leaked tensors');
  assert.deepEqual(trainableNames, HEAD);
  assert.deepEqual(
    changed.filter((k) => !isBuffer(k)),
    HEAD,
    'only the head parameters may change in fixed mode',
  );
  const stats = [...model.stateDict().keys()].filter(isBuffer);
  assert.deepEqual(changed.filter(isBuffer), stats, 'every BN running statistic should adapt with bnTrainInFixed (default true)');
  for (const [name, p] of model.namedParameters()) if (!HEAD.includes(name)) assert.equal(p.grad, undefined, `${name} got a gradient`);
  model.dispose();
});

test('fixed with bnTrainInFixed=false: only the head changes, BN statistics included', async () => {
  const model = sourceModel();
  const { changed } = await transferAndTrain(model, { mode: 'fixed', lr: 0.1, bnTrainInFixed: false });
  assert.deepEqual(changed, HEAD);
  model.dispose();
});

test('full: every backbone parameter trains', async () => {
  const model = sourceModel();
  const { changed, trainableNames } = await transferAndTrain(model, { mode: 'full', lr: 0.1 });
  const params = [...model.namedParameters()].map(([n]) => n);
  assert.deepEqual(trainableNames, params);
  assert.deepEqual(
    changed.filter((k) => !isBuffer(k)),
    params,
  );
  model.dispose();
});

test('partial:1: only the last block and the head change their parameters', async () => {
  const model = sourceModel();
  const { changed } = await transferAndTrain(model, { mode: 'partial:1', lr: 0.1 });
  // Earlier blocks run in train mode, so their BN statistics move (as in PyTorch); their weights must not.
  assert.deepEqual(
    changed.filter((k) => !isBuffer(k)),
    ['block3.0.weight', 'block3.1.weight', 'block3.1.bias', ...HEAD],
  );
  model.dispose();
});

test('partial:k on a ResNet counts blocks from the stem: partial:2 trains layer3.0, layer4.0 and fc', async () => {
  manualSeed(9);
  const model = createModel({ arch: 'resnet-tiny', numClasses: 4, inChannels: 1, smallInput: true, widthMultiplier: 0.125 });
  const prepared = prepareTransfer(model, { mode: 'partial:2', lr: 0.1 });
  const prefixes = new Set(
    prepared.trainableNames.map((n) =>
      n
        .split('.')
        .slice(0, n.startsWith('fc') ? 1 : 2)
        .join('.'),
    ),
  );
  assert.deepEqual([...prefixes], ['layer3.0', 'layer4.0', 'fc']);
  const total = [...model.namedParameters()].reduce((s, [, p]) => s + p.numel, 0);
  assert.equal(prepared.trainable + prepared.frozen, total);
  assert.throws(
    () => prepareTransfer(model, { mode: 'partial:6', lr: 0.1 }),
    (e: Error) =>
      e instanceof RangeError && /partial:6/.test(e.message) && /5: stem, layer1\.0, layer2\.0, layer3\.0, layer4\.0/.test(e.message),
  );
  model.dispose();
});

test('parseTransferMode accepts the four modes and names the bad value otherwise', () => {
  assert.deepEqual(parseTransferMode('fixed'), { kind: 'fixed' });
  assert.deepEqual(parseTransferMode('full'), { kind: 'full' });
  assert.deepEqual(parseTransferMode('scratch'), { kind: 'scratch' });
  assert.deepEqual(parseTransferMode('partial:3'), { kind: 'partial', k: 3 });
  assert.throws(() => parseTransferMode('partial:0'), /'partial:0': k must be at least 1/);
  assert.throws(() => parseTransferMode('partial:x'), /unknown transfer mode 'partial:x'/);
  assert.throws(() => parseTransferMode('partial:'), /unknown transfer mode 'partial:'/);
  assert.throws(() => parseTransferMode('bogus'), /unknown transfer mode 'bogus' \(expected fixed, full, scratch or partial:K\)/);
  const model = sourceModel();
  assert.throws(
    () => prepareTransfer(model, { mode: 'partial:4', lr: 0.1 }),
    /more blocks than the model has \(3: block1, block2, block3\)/,
  );
  model.dispose();
});

test('separate backbone and head learning rates reach the optimizer groups and act on training', async () => {
  const model = sourceModel();
  const prepared = prepareTransfer(model, { mode: 'full', lr: 0.1, backboneLr: 0.01, headLr: 0.5 });
  const opt = makeOptimizer(prepared.paramGroups, { kind: 'sgd', lr: 0.1, momentum: 0.9 });
  assert.deepEqual(
    opt.groups.map((g) => [g.initialLr, g.names.length]),
    [
      [0.01, 9],
      [0.5, 2],
    ],
  );
  assert.deepEqual(opt.groups[1].names, HEAD);
  opt.dispose();
  // Defaults: both groups at lr.
  assert.deepEqual(
    prepareTransfer(model, { mode: 'full', lr: 0.2 }).paramGroups.map((g) => g.lr),
    [0.2, 0.2],
  );
  // Behaviour: a head lr of 0 freezes the head in effect, a backbone lr of 0 the backbone.
  const headStill = await transferAndTrain(model, { mode: 'full', lr: 0.1, headLr: 0 });
  assert.ok(
    !headStill.changed.includes('fc.weight') && headStill.changed.includes('block1.0.weight'),
    `changed: ${headStill.changed.join(', ')}`,
  );
  const backboneStill = await transferAndTrain(model, { mode: 'full', lr: 0.1, backboneLr: 0 });
  assert.deepEqual(
    backboneStill.changed.filter((k) => !isBuffer(k)),
    HEAD,
  );
  model.dispose();
});
