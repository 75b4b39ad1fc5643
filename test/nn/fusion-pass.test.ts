/**
 * The fusion pass (src/nn/fusion.ts): its table is tried longest pattern first, a chain takes the
 * fused step where a pattern matches and its conditions hold, the switch turns the whole pass off
 * (then every module runs alone), and both agree up to float rounding. The kernels themselves are
 * checked against PyTorch in batchnorm-act, conv-bn-fold and relu-maxpool.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { inferenceMode, manualSeed, randn, tidy, type Tensor } from '../../src/torch/index.js';
import { BatchNorm2d, Conv2d, FUSION_PATTERNS, fastPaths, fuseAt, MaxPool2d, ReLU, Sequential, type Module } from '../../src/nn/index.js';
import { assertClose, assertNoLeaks } from '../helpers/tensors.js';

test('the table lists its patterns longest first', () => {
  const lengths = FUSION_PATTERNS.map((p) => p.roles.length);
  assert.deepEqual(
    lengths,
    [...lengths].sort((a, b) => b - a),
  );
  assert.deepEqual(
    FUSION_PATTERNS.map((p) => p.name),
    ['batchnorm-relu-maxpool', 'conv-batchnorm-eval', 'batchnorm-relu', 'relu-maxpool'],
  );
});

/** Each module alone, in order (no pass). */
function oneByOne(x: Tensor, modules: readonly Module[]): Tensor {
  return tidy(() => modules.reduce((y, m) => m.forward(y), x));
}

test('a chain fuses where a pattern matches; with the switch off every module runs alone; both agree', () => {
  manualSeed(5);
  const conv = new Conv2d({ inChannels: 3, outChannels: 8, kernelSize: 3, padding: 1 });
  const bn = new BatchNorm2d({ numFeatures: 8 });
  const relu = new ReLU();
  const pool = new MaxPool2d({ kernelSize: 2 });
  const seq = new Sequential([conv, bn, relu, pool]);
  const x = randn([4, 3, 8, 8]);
  const list = [conv, bn, relu, pool];
  // Training: conv alone, then BN → ReLU → MaxPool as one kernel (channels-last conv output).
  tidy(() => {
    const h = conv.forward(x);
    const step = fuseAt(h, list, 1);
    assert.equal(step?.length, 3, 'BN → ReLU → MaxPool is the longest match at the BN');
    assert.equal(fuseAt(x, list, 0), undefined, 'training-mode BN does not fold into the conv');
  });
  seq.eval();
  tidy(() => {
    const step = fuseAt(x, list, 0);
    assert.equal(step?.length, 2, 'Conv → evaluation BN folds');
  });
  const fused = inferenceMode(() => tidy(() => seq.forward(x).toFloat32Array()));
  fastPaths.enabled = false;
  try {
    assert.equal(fuseAt(x, list, 0), undefined, 'the switch turns the pass off');
    const plain = inferenceMode(() => tidy(() => seq.forward(x).toFloat32Array()));
    const alone = inferenceMode(() => tidy(() => oneByOne(x, list).toFloat32Array()));
    assert.deepEqual(plain, alone, 'switch off: the chain is the modules one by one, exactly');
    assertClose(fused, plain, 1e-4, 'fused vs plain');
  } finally {
    fastPaths.enabled = true;
  }
  assertNoLeaks(() => inferenceMode(() => seq.forward(x).dispose()));
  seq.dispose();
  x.dispose();
});
