/**
 * Layers against torch.nn (PyTorch 1.13): default initialisation from the same seed, BatchNorm2d
 * running statistics and num_batches_tracked after two train-mode forwards (momentum 0.1 and
 * None, no tracking, no affine), and pooling outputs.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { manualSeed, noGrad, setNumThreads, tidy } from '../../src/torch/index.js';
import { AdaptiveAvgPool2d, AvgPool2d, BatchNorm2d, Conv2d, Linear, MaxPool2d } from '../../src/nn/index.js';
import { pytorchReference } from '../helpers/pytorch.js';
import { ST_PY } from '../helpers/st_py.js';
import { assertClose } from '../helpers/tensors.js';

setNumThreads(2);
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nn-layers-'));
const PY = `${ST_PY}
import sys, torch
import torch.nn as nn
torch.set_num_threads(2)
out = {}
torch.manual_seed(3)
conv = nn.Conv2d(3, 8, 3, padding=1)
lin = nn.Linear(16, 4)
gconv = nn.Conv2d(4, 6, (3, 1), stride=2, groups=2, bias=True)
for name, mod in [('conv', conv), ('lin', lin), ('gconv', gconv)]:
    for k, v in mod.state_dict().items():
        out[name + '.' + k] = v
torch.manual_seed(5)
x1 = torch.randn(4, 3, 5, 5) * 2 + 1
x2 = torch.randn(4, 3, 5, 5) - 0.5
out['x1'], out['x2'] = x1, x2
for name, kw in [('bn', {}), ('bncma', {'momentum': None}), ('bnnotrack', {'track_running_stats': False}), ('bnnoaffine', {'affine': False, 'eps': 1e-3})]:
    bn = nn.BatchNorm2d(3, **kw)
    with torch.no_grad():
        bn.train(); bn(x1); y2 = bn(x2)
        bn.eval(); ye = bn(x1)
    out[name + '.y2'], out[name + '.yeval'] = y2, ye
    for k, v in bn.state_dict().items():
        out[name + '.' + k] = v
out['maxpool'] = nn.MaxPool2d(3, 2, 1)(x1)
out['avgpool'] = nn.AvgPool2d(3, 2, 1)(x1)
out['adaptive'] = nn.AdaptiveAvgPool2d((2, 3))(x1)
st_save(sys.argv[1], out)
`;
const { tensors: ref, get: r } = pytorchReference(PY, path.join(dir, 'ref.safetensors'));

test('Conv2d and Linear default init equals torch.nn from the same seed (kaiming_uniform_(a=sqrt(5)), bias 1/sqrt(fan_in))', () => {
  manualSeed(3);
  const conv = new Conv2d({ inChannels: 3, outChannels: 8, kernelSize: 3, padding: 1 });
  const lin = new Linear({ inFeatures: 16, outFeatures: 4 });
  const gconv = new Conv2d({ inChannels: 4, outChannels: 6, kernelSize: [3, 1], stride: 2, groups: 2 });
  for (const [name, mod] of [
    ['conv', conv],
    ['lin', lin],
    ['gconv', gconv],
  ] as const)
    for (const [k, t] of mod.stateDict())
      assert.ok(t.allclose(r(`${name}.${k}`), { rtol: 0, atol: 1e-7 }), `${name}.${k} differs from PyTorch`);
  assert.equal(conv.describe(), '3, 8, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1)');
  assert.equal(gconv.describe(), '4, 6, kernel_size=(3, 1), stride=(2, 2), groups=2');
  assert.equal(lin.describe(), 'in_features=16, out_features=4, bias=True');
  // resetParameters draws fresh values in place (same tensor object).
  const w = conv.weight;
  const before = w.clone();
  conv.resetParameters();
  assert.equal(conv.weight, w);
  assert.ok(!w.allclose(before));
  before.dispose();
  for (const m of [conv, lin, gconv]) m.dispose();
});

test('BatchNorm2d running stats, num_batches_tracked and outputs match PyTorch after two train forwards', () => {
  const cases: [string, ConstructorParameters<typeof BatchNorm2d>[0]][] = [
    ['bn', { numFeatures: 3 }],
    ['bncma', { numFeatures: 3, momentum: null }],
    ['bnnotrack', { numFeatures: 3, trackRunningStats: false }],
    ['bnnoaffine', { numFeatures: 3, affine: false, eps: 1e-3 }],
  ];
  for (const [name, cfg] of cases) {
    const bn = new BatchNorm2d(cfg);
    const { y2, ye } = tidy(() =>
      noGrad(() => {
        bn.train();
        bn.forward(r('x1'));
        const a = bn.forward(r('x2'));
        bn.eval();
        return { y2: a, ye: bn.forward(r('x1')) };
      }),
    );
    assertClose(y2.toFloat32Array(), r(`${name}.y2`).toFloat32Array(), 1e-5, `${name}: train output`);
    assertClose(ye.toFloat32Array(), r(`${name}.yeval`).toFloat32Array(), 1e-5, `${name}: eval output`);
    const sd = bn.stateDict();
    const refKeys = [...ref.keys()]
      .filter((k) => k.startsWith(`${name}.`) && !/\.(y2|yeval)$/.test(k))
      .map((k) => k.slice(name.length + 1));
    assert.deepEqual([...sd.keys()].sort(), refKeys.sort(), `${name}: state-dict keys`); // file keys are sorted
    for (const [k, t] of sd) {
      assert.equal(t.dtype, r(`${name}.${k}`).dtype, `${name}.${k} dtype`);
      assertClose(t.toFloat32Array(), r(`${name}.${k}`).toFloat32Array(), 1e-5, `${name}.${k}`);
    }
    y2.dispose();
    ye.dispose();
    bn.dispose();
  }
  const nbt = new BatchNorm2d({ numFeatures: 3 }).stateDict().get('num_batches_tracked')!;
  assert.equal(nbt.item(), 0);
  nbt.dispose();
  assert.equal(new BatchNorm2d({ numFeatures: 64 }).describe(), '64, eps=1e-05, momentum=0.1, affine=True, track_running_stats=True');
});

test('MaxPool2d, AvgPool2d and AdaptiveAvgPool2d match PyTorch', () => {
  const x = r('x1');
  const got = tidy(() => ({
    maxpool: new MaxPool2d({ kernelSize: 3, stride: 2, padding: 1 }).forward(x),
    avgpool: new AvgPool2d({ kernelSize: 3, stride: 2, padding: 1 }).forward(x),
    adaptive: new AdaptiveAvgPool2d({ outputSize: [2, 3] }).forward(x),
  }));
  for (const [k, t] of Object.entries(got)) {
    assert.deepEqual([...t.shape], [...r(k).shape], `${k} shape`);
    assertClose(t.toFloat32Array(), r(k).toFloat32Array(), 1e-6, k);
    t.dispose();
  }
});
