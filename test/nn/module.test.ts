/**
 * Module behaviour on real layers: registration and traversal, modes, freezing (frozen
 * parameters get no gradient), loading state dicts in place with strict and lenient reports,
 * head replacement, and deterministic memory release.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  crossEntropy,
  liveTensors,
  manualSeed,
  noGrad,
  ones,
  randn,
  setNumThreads,
  SGD,
  tensor,
  tidy,
  zeros,
  type Tensor,
} from '../../src/torch/index.js';
import {
  BatchNorm2d,
  Conv2d,
  createModel,
  Dropout,
  Flatten,
  Identity,
  Linear,
  Module,
  ReLU,
  Sequential,
  StateDictError,
  summary,
  summaryRows,
  type ResNet,
  type SmallCNN,
} from '../../src/nn/index.js';
import { assertNoLeaks } from '../helpers/tensors.js';

setNumThreads(2);

class Net extends Module {
  readonly features = this.registerModule(
    'features',
    new Sequential([new Conv2d({ inChannels: 1, outChannels: 2, kernelSize: 3 }), new BatchNorm2d({ numFeatures: 2 }), new ReLU()]),
  );
  readonly flat = this.registerModule('flat', new Flatten());
  readonly drop = this.registerModule('drop', new Dropout({ p: 0.5 }));
  readonly fc = this.registerModule('fc', new Linear({ inFeatures: 8, outFeatures: 3 }));
  readonly scale = this.registerParameter('scale', ones([1]));
  forward(x: Tensor): Tensor {
    return this.fc.forward(this.drop.forward(this.flat.forward(this.features.forward(x)))).mul(this.scale);
  }
}

test('registration gives PyTorch names and order; traversal, modes and toString follow the tree', () => {
  const net = new Net();
  assert.deepEqual(
    [...net.stateDict().keys()],
    [
      'scale',
      'features.0.weight',
      'features.0.bias',
      'features.1.weight',
      'features.1.bias',
      'features.1.running_mean',
      'features.1.running_var',
      'features.1.num_batches_tracked',
      'fc.weight',
      'fc.bias',
    ],
  );
  assert.deepEqual(
    [...net.namedParameters()].map(([k]) => k),
    ['scale', 'features.0.weight', 'features.0.bias', 'features.1.weight', 'features.1.bias', 'fc.weight', 'fc.bias'],
  );
  assert.deepEqual(
    [...net.namedBuffers()].map(([k]) => k),
    ['features.1.running_mean', 'features.1.running_var', 'features.1.num_batches_tracked'],
  );
  assert.deepEqual(
    [...net.namedModules()].map(([k]) => k),
    ['', 'features', 'features.0', 'features.1', 'features.2', 'flat', 'drop', 'fc'],
  );
  assert.equal([...net.children()].length, 4);
  assert.equal(net.getModule('features.1'), net.features.at(1));
  assert.ok(net.parameters().every((p) => p.requiresGrad));
  assert.equal(net.eval(), net);
  assert.ok([...net.namedModules()].every(([, m]) => !m.training));
  net.train();
  assert.ok(net.features.at(1).training && net.drop.training);
  assert.match(net.toString(), /\(features\): Sequential\(\n {4}\(0\): Conv2d\(1, 2, kernel_size=\(3, 3\), stride=\(1, 1\)\)/);
  assert.throws(
    () => (net as unknown as { registerModule(n: string, m: Module): void }).registerModule('scale', new Identity()),
    /already used/,
  );
  assert.throws(
    () => (net as unknown as { registerModule(n: string, m: Module): void }).registerModule('a.b', new Identity()),
    /invalid name 'a.b'/,
  );
  net.dispose();
});

test('frozen parameters get no gradient and the optimizer leaves them unchanged; unfreeze restores', () => {
  manualSeed(0);
  const m = createModel({ arch: 'small-cnn', numClasses: 3, inChannels: 1, layers: [4, 8] }) as SmallCNN;
  assert.deepEqual(m.freeze('block1'), ['block1.0.weight', 'block1.1.weight', 'block1.1.bias']);
  assert.deepEqual(m.freeze(m.blocks()[1].module), ['block2.0.weight', 'block2.1.weight', 'block2.1.bias']);
  assert.throws(() => m.freeze('block9'), /no parameter name starts with 'block9'/);
  assert.throws(() => m.freeze('block'), /no parameter name starts with 'block'/); // prefixes match whole name parts
  const frozenBefore = m.stateDict().get('block1.0.weight')!.clone();
  const opt = new SGD(
    m.trainableParameters().map(([, t]) => t),
    { lr: 0.1 },
  );
  const x = randn([4, 1, 8, 8]);
  const y = tensor([0, 1, 2, 0], { dtype: 'int64' });
  tidy(() => crossEntropy(m.forward(x), y).backward());
  for (const [k, p] of m.namedParameters()) {
    const g = p.grad;
    if (k.startsWith('fc.')) assert.ok(g !== undefined, `${k} should have a gradient`);
    else assert.equal(g, undefined, `${k} is frozen but got a gradient`);
    g?.dispose();
  }
  opt.step();
  assert.ok(m.stateDict().get('block1.0.weight')!.allclose(frozenBefore, { rtol: 0, atol: 0 }));
  const rows = summaryRows(m);
  assert.deepEqual(
    rows.map((r) => r.name),
    ['block1', 'block2', 'head', 'total'],
  );
  assert.equal(rows[0].frozen, 4 * 9 + 8);
  assert.equal(rows[2].trainable, 8 * 3 + 3);
  assert.equal(rows[3].params, rows[3].trainable + rows[3].frozen);
  assert.match(summary(m), /head\s+27\s+27\s+0/);
  m.unfreeze();
  assert.ok(m.parameters().every((p) => p.requiresGrad));
  for (const t of [frozenBefore, x, y]) t.dispose();
  m.dispose();
});

test('loadStateDict copies in place (optimizer references stay valid), and reports or throws on bad keys, shapes and dtypes', () => {
  manualSeed(1);
  const a = createModel({ arch: 'resnet-tiny', numClasses: 4, inChannels: 3, smallInput: true });
  manualSeed(2);
  const b = createModel({ arch: 'resnet-tiny', numClasses: 4, inChannels: 3, smallInput: true });
  const wB = b.stateDict().get('conv1.weight')!;
  assert.ok(!wB.allclose(a.stateDict().get('conv1.weight')!));
  assert.deepEqual(b.loadStateDict(a.stateDict()), { missing: [], unexpected: [], mismatched: [] });
  assert.equal(b.stateDict().get('conv1.weight'), wB, 'same tensor object after loading');
  assert.ok(wB.allclose(a.stateDict().get('conv1.weight')!, { rtol: 0, atol: 0 }));
  assert.ok(wB.requiresGrad && wB.isLeaf);

  // Strict errors name keys with expected and actual shapes; nothing is copied.
  const bad = new Map(a.stateDict());
  const wrongShape = zeros([5, 16]);
  const wrongDtype = zeros([16], { dtype: 'float64' });
  const extra = zeros([1]);
  bad.set('fc.weight', wrongShape);
  bad.set('bn1.running_mean', wrongDtype);
  bad.set('extra.thing', extra);
  bad.delete('layer4.0.bn2.bias');
  const fcBefore = b.head.weight.clone();
  assert.throws(
    () => b.loadStateDict(bad, { source: 'probe' }),
    (e: unknown) =>
      e instanceof StateDictError &&
      /from probe/.test(e.message) &&
      /fc\.weight expected float32\[4, 128\] but got float32\[5, 16\]/.test(e.message) &&
      /bn1\.running_mean expected dtype float32 but got float64/.test(e.message) &&
      /missing keys: layer4\.0\.bn2\.bias/.test(e.message) &&
      /unexpected keys: extra\.thing/.test(e.message),
  );
  assert.ok(b.head.weight.allclose(fcBefore, { rtol: 0, atol: 0 }));
  // Lenient: loads what fits, reports the rest.
  noGrad(() => b.stateDict().get('conv1.weight')!.zero_());
  const r = b.loadStateDict(bad, { strict: false });
  assert.deepEqual(r.missing, ['layer4.0.bn2.bias']);
  assert.deepEqual(r.unexpected, ['extra.thing']);
  assert.deepEqual(
    r.mismatched.map((m) => m.key),
    ['bn1.running_mean', 'fc.weight'],
  );
  assert.deepEqual(r.mismatched[1].expectedShape, [4, 128]);
  assert.ok(wB.allclose(a.stateDict().get('conv1.weight')!, { rtol: 0, atol: 0 }));
  for (const t of [wrongShape, wrongDtype, extra, fcBefore]) t.dispose();
  a.dispose();
  b.dispose();
});

test('replaceHead swaps in a fresh Linear under fc with PyTorch init and keeps keys', () => {
  manualSeed(4);
  const m = createModel({ arch: 'resnet-tiny', numClasses: 10, inChannels: 3, smallInput: true }) as ResNet;
  const old = m.head;
  const live = liveTensors();
  const h = m.replaceHead(2);
  assert.ok(old.weight.isDisposed, 'old head is freed');
  assert.equal(liveTensors(), live, "the old head's 2 tensors were freed, the new head holds 2");
  assert.equal(m.head, h);
  assert.equal(m.fc, h);
  assert.equal(m.spec.numClasses, 2);
  assert.deepEqual([...m.stateDict().get('fc.weight')!.shape], [2, 128]);
  assert.deepEqual([...m.stateDict().keys()].slice(-2), ['fc.weight', 'fc.bias']);
  const bound = 1 / Math.sqrt(128);
  assert.ok(tidy(() => h.weight.abs().amax().item() <= bound && h.bias!.abs().amax().item() <= bound));
  m.dispose();
});

test('forward passes leave no tensors behind and dispose() frees every parameter and buffer', () => {
  const before = liveTensors();
  const m = createModel({ arch: 'resnet-tiny', numClasses: 3, inChannels: 3, smallInput: true });
  const x = randn([2, 3, 16, 16]);
  const y = tensor([0, 2], { dtype: 'int64' });
  assertNoLeaks(
    () => tidy(() => noGrad(() => m.eval().forward(x))),
    (t) => t.dispose(),
  );
  // Without tidy the model frees its own intermediates: only the output remains.
  assertNoLeaks(
    () => noGrad(() => m.forward(x)),
    (t) => t.dispose(),
  );
  m.train();
  assertNoLeaks(() => tidy(() => crossEntropy(m.forward(x), y).backward()));
  for (const p of m.parameters()) p.setGrad(undefined);
  x.dispose();
  y.dispose();
  m.dispose();
  m.dispose(); // twice is safe
  assert.equal(liveTensors(), before);
});
