/**
 * The fused evaluation path: a Conv2d followed by an evaluation-mode BatchNorm2d in a chain runs
 * as one convolution with the normalisation folded into its weights (Conv2d.forwardFused). It
 * must give PyTorch's conv → bn (eval) output, match our unfused path, keep gradients flowing,
 * leave training mode untouched and leak nothing.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { inferenceMode, noGrad, setNumThreads, tidy, type Tensor } from '../../src/torch/index.js';
import { BatchNorm2d, Conv2d, ReLU, Sequential } from '../../src/nn/index.js';
import { pytorchReference } from '../helpers/pytorch.js';
import { ST_PY } from '../helpers/st_py.js';
import { assertClose, assertNoLeaks } from '../helpers/tensors.js';

setNumThreads(2);
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nn-fold-'));
// Two conv-bn pairs: with conv bias and affine BN (eps 1e-3), without bias and without affine.
const PY = `${ST_PY}
import sys, torch
import torch.nn as nn
torch.manual_seed(11)
out = {}
for name, cb, affine, eps in [('a', True, True, 1e-3), ('b', False, False, 1e-5)]:
    conv = nn.Conv2d(3, 6, 3, stride=2, padding=1, bias=cb)
    bn = nn.BatchNorm2d(6, affine=affine, eps=eps)
    with torch.no_grad():
        if affine:
            bn.weight.uniform_(0.5, 1.5); bn.bias.normal_(0, 0.3)
        bn.running_mean.normal_(0, 0.5); bn.running_var.uniform_(0.2, 2.0)
    x = torch.randn(5, 3, 9, 9)
    bn.eval()
    with torch.no_grad():
        out[name + '.y'] = torch.relu(bn(conv(x)))
    for k, v in conv.state_dict().items(): out[name + '.conv.' + k] = v
    for k, v in bn.state_dict().items(): out[name + '.bn.' + k] = v
    out[name + '.x'] = x
st_save(sys.argv[1], out)
`;
const { tensors: ref, get: r } = pytorchReference(PY, path.join(dir, 'ref.safetensors'));

function build(name: 'a' | 'b', memoryFormat: 'channels-last' | 'contiguous' = 'channels-last'): Sequential {
  const affine = name === 'a';
  const conv = new Conv2d({ inChannels: 3, outChannels: 6, kernelSize: 3, stride: 2, padding: 1, bias: affine, memoryFormat });
  const bn = new BatchNorm2d({ numFeatures: 6, affine, eps: affine ? 1e-3 : 1e-5 });
  const seq = new Sequential([conv, bn, new ReLU()]);
  const sd = new Map<string, Tensor>();
  for (const [k, v] of ref) if (k.startsWith(`${name}.conv.`)) sd.set(`0.${k.slice(name.length + 6)}`, v);
  for (const [k, v] of ref) if (k.startsWith(`${name}.bn.`)) sd.set(`1.${k.slice(name.length + 4)}`, v);
  seq.loadStateDict(sd, { strict: true });
  return seq;
}

test('conv → eval BatchNorm2d, folded, equals PyTorch (bias/affine on and off, both memory formats)', () => {
  for (const name of ['a', 'b'] as const)
    for (const fmt of ['channels-last', 'contiguous'] as const) {
      const seq = build(name, fmt).eval();
      const y = inferenceMode(() => seq.forward(r(`${name}.x`)));
      assertClose(y.toFloat32Array(), r(`${name}.y`).toFloat32Array(), 1e-4, `${name} ${fmt}`);
      y.dispose();
      seq.dispose();
    }
});

test('the fold is taken in eval mode only, and equals running the two modules separately', () => {
  const seq = build('a').eval();
  const conv = seq.at(0) as Conv2d;
  const bn = seq.at(1) as BatchNorm2d;
  const x = r('a.x');
  assert.notEqual(conv.forwardFused(x, bn), undefined, 'eval mode should fold');
  const [fused, separate] = noGrad(() =>
    tidy(() => {
      const f = seq.forward(x);
      const s = bn.forward(conv.forward(x)).relu();
      return [f.toFloat32Array(), s.toFloat32Array()];
    }),
  );
  assertClose(fused, separate, 1e-4, 'fused vs separate');
  seq.train();
  const trainOut = noGrad(() => conv.forwardFused(x, bn));
  assert.equal(trainOut, undefined, 'training mode must not fold (batch statistics)');
  seq.dispose();
});

test('gradients flow through the folded path to the conv and BN parameters, without leaks', () => {
  const seq = build('a').eval();
  assertNoLeaks(() =>
    tidy(() => {
      seq.forward(r('a.x')).sum().backward();
    }),
  );
  const conv = seq.at(0) as Conv2d;
  const bn = seq.at(1) as BatchNorm2d;
  for (const [what, p] of [
    ['conv.weight', conv.weight],
    ['conv.bias', conv.bias!],
    ['bn.weight', bn.weight!],
    ['bn.bias', bn.bias!],
  ] as const) {
    const g = p.grad;
    assert.ok(g !== undefined, `${what} has no gradient`);
    assert.ok(g.abs().sum().item() > 0, `${what} gradient is zero`);
    g.dispose();
  }
  seq.dispose();
});
