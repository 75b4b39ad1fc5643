/**
 * The fused training-mode BatchNorm2d (+ shortcut) (+ ReLU) kernel (native/src/fused.cc, used by
 * BatchNorm2d.forwardAct, by `forwardChain` for a BN followed by a ReLU, and by the ResNet
 * blocks' join). It must give PyTorch's output, running statistics and gradients, be the same
 * bits whatever the number of threads, fall back where it does not apply, and leak nothing.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  batchNormReluPool,
  disposeAll,
  getNumThreads,
  loadSafetensors,
  manualSeed,
  noGrad,
  setNumThreads,
  tidy,
  type Tensor,
} from '../../src/torch/index.js';
import { BatchNorm2d, MaxPool2d, ReLU, Sequential, createModel, type ModelSpec } from '../../src/nn/index.js';
import { pytorchReference, runPython } from '../helpers/pytorch.js';
import { ST_PY } from '../helpers/st_py.js';
import { assertClose, assertNoLeaks } from '../helpers/tensors.js';

setNumThreads(2);
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nn-bnact-'));
// Cases: name, affine, residual, relu, momentum, channels. 16xCx20x20 = 6,400 rows: several chunks
// of the kernel. 8 channels take the 16-lane periodic path, 6 the generic one, 32 a vectorised
// width. Inputs have mean 3 and std 2 (cancellation-prone).
const CASES = [
  ['r', true, false, true, 0.1, 8],
  ['n', false, false, false, 0.3, 8],
  ['s', true, true, true, 0.1, 8],
  ['t', true, true, false, 0.1, 8],
  ['u', true, true, true, 0.1, 6],
  ['v', true, false, true, 0.1, 32],
] as const;
const PY = `${ST_PY}
import sys, torch
import torch.nn as nn
torch.manual_seed(5)
out = {}
for name, affine, residual, relu, momentum, c in ${JSON.stringify(CASES).replace(/true/g, 'True').replace(/false/g, 'False')}:
    bn = nn.BatchNorm2d(c, affine=affine, momentum=momentum)
    with torch.no_grad():
        if affine:
            bn.weight.uniform_(0.5, 1.5); bn.bias.normal_(0, 0.3)
        bn.running_mean.normal_(0, 0.5); bn.running_var.uniform_(0.5, 2.0)
    for k, v in bn.state_dict().items(): out[name + '.bn.' + k] = v.clone()
    x = (torch.randn(16, c, 20, 20) * 2 + 3).contiguous(memory_format=torch.channels_last).requires_grad_()
    r = torch.randn(16, c, 20, 20).contiguous(memory_format=torch.channels_last).requires_grad_()
    g = torch.randn(16, c, 20, 20)
    bn.train()
    y = bn(x)
    if residual: y = y + r
    if relu: y = torch.relu(y)
    y.backward(g)
    out[name + '.x'] = x.detach().contiguous(); out[name + '.r'] = r.detach().contiguous(); out[name + '.g'] = g
    out[name + '.y'] = y.detach().contiguous(); out[name + '.dx'] = x.grad.contiguous()
    if residual: out[name + '.dr'] = r.grad.contiguous()
    if affine: out[name + '.dw'] = bn.weight.grad; out[name + '.db'] = bn.bias.grad
    out[name + '.rm'] = bn.running_mean; out[name + '.rv'] = bn.running_var
st_save(sys.argv[1], out)
`;
const { tensors: ref, get: r } = pytorchReference(PY, path.join(dir, 'ref.safetensors'));

function bnOf(name: string, affine: boolean, momentum: number, channels = 8): BatchNorm2d {
  const bn = new BatchNorm2d({ numFeatures: channels, affine, momentum });
  const sd = new Map<string, Tensor>();
  for (const [k, v] of ref) if (k.startsWith(`${name}.bn.`)) sd.set(k.slice(name.length + 4), v);
  bn.loadStateDict(sd, { strict: true });
  return bn;
}

/** Runs one case through forwardAct with gradient g; returns every output as arrays. */
function runCase(
  name: string,
  affine: boolean,
  residual: boolean,
  relu: boolean,
  momentum: number,
  channels = 8,
): Map<string, Float32Array> {
  const bn = bnOf(name, affine, momentum, channels);
  const res = new Map<string, Float32Array>();
  tidy(() => {
    const x = r(`${name}.x`).contiguous({ channelsLast: true }).requiresGrad_();
    const rr = r(`${name}.r`).contiguous({ channelsLast: true }).requiresGrad_();
    const y = bn.forwardAct(x, { residual: residual ? rr : undefined, relu });
    assert.ok(y !== undefined, 'a training-mode BN on channels-last float32 input must take the fused kernel');
    assert.ok(y.isContiguous({ channelsLast: true }), 'the fused output is channels-last');
    y.backward({ grad: r(`${name}.g`) });
    res.set('y', y.toFloat32Array());
    res.set('dx', x.grad!.toFloat32Array());
    if (residual) res.set('dr', rr.grad!.toFloat32Array());
    if (affine) {
      res.set('dw', bn.weight!.grad!.toFloat32Array());
      res.set('db', bn.bias!.grad!.toFloat32Array());
    }
    res.set('rm', bn.runningMean!.toFloat32Array());
    res.set('rv', bn.runningVar!.toFloat32Array());
    res.set('nbt', Float32Array.of(bn.numBatchesTracked!.item()));
  });
  bn.dispose();
  return res;
}

test('fused BN [+ shortcut] [+ ReLU] equals PyTorch: output, running statistics, gradients', () => {
  for (const [name, affine, residual, relu, momentum, channels] of CASES) {
    const got = runCase(name, affine, residual, relu, momentum, channels);
    const want = (k: string): Float32Array => {
      // NCHW reference vs our channels-last output: compare in NCHW order.
      return r(`${name}.${k}`).toFloat32Array();
    };
    // toFloat32Array reads logical (NCHW) order whatever the strides. Outputs are O(1): the
    // relative error is floored at 0.1 (float rounding near zero differs by a few ulps of ~5).
    assertClose(got.get('y')!, want('y'), 1e-4, `${name} y`, 0.1);
    assertClose(got.get('dx')!, want('dx'), 1e-4, `${name} dx`, 0.1);
    if (residual) assertClose(got.get('dr')!, want('dr'), 1e-5, `${name} dr`);
    if (affine) {
      assertClose(got.get('dw')!, want('dw'), 1e-3, `${name} dw`);
      assertClose(got.get('db')!, want('db'), 1e-3, `${name} db`);
    }
    assertClose(got.get('rm')!, want('rm'), 1e-5, `${name} running_mean`, 0.1);
    assertClose(got.get('rv')!, want('rv'), 1e-5, `${name} running_var`, 0.1);
    assert.equal(got.get('nbt')![0], 1, `${name}: num_batches_tracked counts the batch`);
  }
});

test('the fused kernel gives the same bits with 1 and 2 threads', () => {
  const before = getNumThreads();
  try {
    setNumThreads(1);
    const one = runCase('s', true, true, true, 0.1);
    setNumThreads(2);
    const two = runCase('s', true, true, true, 0.1);
    for (const [k, v] of one) assert.deepEqual(two.get(k), v, `${k} differs between 1 and 2 threads`);
    // BN → ReLU → max-pool: output and gradients.
    const pooled = (threads: number): Float32Array[] => {
      setNumThreads(threads);
      return tidy(() => {
        const x = r('r.x').contiguous({ channelsLast: true }).requiresGrad_();
        const w = r('r.bn.weight').clone().requiresGrad_();
        const y = batchNormReluPool(x, [2, 2], { weight: w, bias: r('r.bn.bias') });
        y.mul(y).sum().backward();
        return [y.toFloat32Array(), x.grad!.toFloat32Array(), w.grad!.toFloat32Array()];
      });
    };
    const [p1, p2] = [pooled(1), pooled(2)];
    p1.forEach((v, i) => assert.deepEqual(p2[i], v, `pooled output ${i} differs between 1 and 2 threads`));
  } finally {
    setNumThreads(before);
  }
});

test('a chain BN → ReLU takes the fused kernel in training and the plain ops otherwise; both agree', () => {
  const seq = new Sequential([bnOf('r', true, 0.1), new ReLU()]);
  const x = r('r.x').contiguous({ channelsLast: true });
  const fused = noGrad(() => tidy(() => seq.forward(x).toFloat32Array()));
  BatchNorm2d.fused = false;
  try {
    const bn2 = new Sequential([bnOf('r', true, 0.1), new ReLU()]);
    const plain = noGrad(() => tidy(() => bn2.forward(x).toFloat32Array()));
    assertClose(fused, plain, 1e-4, 'fused vs plain', 0.1);
    bn2.dispose();
  } finally {
    BatchNorm2d.fused = true;
  }
  const bn = seq.at(0) as BatchNorm2d;
  assert.equal(bn.canFuse(x), true);
  assert.equal(bn.canFuse(r('r.x')), false, 'NCHW input runs the plain ops');
  seq.eval();
  assert.equal(bn.canFuse(x), false, 'eval mode uses the running statistics: no fused batch statistics');
  seq.dispose();
});

/** Logits and first-conv gradient of one training step of a fresh model (seed 3), fast paths on or off; asserts no leak. */
function stepOf(spec: ModelSpec, x: Tensor, fused: boolean): Float32Array[] {
  BatchNorm2d.fused = fused;
  try {
    manualSeed(3);
    const m = createModel(spec);
    const out = assertNoLeaks(() =>
      tidy(() => {
        const y = m.forward(x);
        y.mul(y).sum().backward();
        return [y.toFloat32Array(), m.parameters()[0].grad!.toFloat32Array()];
      }),
    );
    m.dispose();
    return out;
  } finally {
    BatchNorm2d.fused = true;
  }
}

test('a ResNet training step is the same with and without the fused kernels, and leaks nothing', () => {
  const spec: ModelSpec = {
    arch: 'resnet18',
    numClasses: 10,
    inChannels: 1,
    smallInput: true,
    widthMultiplier: 0.125,
    layers: [1, 1, 1, 1],
  };
  const x = r('r.x').slice(1, 0, 1).contiguous();
  const [yf, gf] = stepOf(spec, x, true);
  const [yp, gp] = stepOf(spec, x, false);
  assertClose(yf, yp, 1e-3, 'logits');
  assertClose(gf, gp, 1e-2, 'first conv weight gradient');
});

test('bad input to the fused kernel names what is wrong', () => {
  const bn = bnOf('r', true, 0.1);
  const x = r('r.x').contiguous({ channelsLast: true });
  assert.throws(
    () => tidy(() => bn.forwardAct(x, { residual: x.slice(0, 0, 2), relu: true })),
    /residual of shape \[2, 8, 20, 20\] does not match input of shape \[16, 8, 20, 20\]/,
  );
  bn.dispose();
});

// BN → ReLU → max-pool in one kernel (batchNormReluPool): shapes with leftover rows and columns
// (floor mode), a run-time channel count (5) and a vectorised one (16), 2x2 and 3x3 windows.
const POOL_CASES = [
  ['p1', 16, 12, 12, 2],
  ['p2', 5, 7, 9, 2],
  ['p3', 16, 10, 8, 3],
] as const;
const PY_POOL = `${ST_PY}
import sys, torch
import torch.nn as nn
import torch.nn.functional as F
torch.manual_seed(6)
out = {}
for name, c, h, w, k in ${JSON.stringify(POOL_CASES)}:
    bn = nn.BatchNorm2d(c)
    with torch.no_grad():
        bn.weight.uniform_(-1.5, 1.5); bn.bias.normal_(0, 0.3)
    for key, v in bn.state_dict().items(): out[name + '.bn.' + key] = v.clone()
    x = (torch.randn(6, c, h, w) * 2 + 1).contiguous(memory_format=torch.channels_last).requires_grad_()
    y = F.max_pool2d(torch.relu(bn(x)), k)
    g = torch.randn_like(y)
    y.backward(g)
    out[name + '.x'] = x.detach().contiguous(); out[name + '.g'] = g.contiguous(); out[name + '.y'] = y.detach().contiguous()
    out[name + '.dx'] = x.grad.contiguous(); out[name + '.dw'] = bn.weight.grad; out[name + '.db'] = bn.bias.grad
    out[name + '.rm'] = bn.running_mean; out[name + '.rv'] = bn.running_var
st_save(sys.argv[1], out)
`;

test('fused BN → ReLU → max-pool equals PyTorch: output, running statistics, gradients (negative gammas, leftovers)', () => {
  runPython(PY_POOL, [path.join(dir, 'pool.safetensors')]);
  const pr = loadSafetensors(path.join(dir, 'pool.safetensors')).tensors;
  const p = (k: string): Tensor => pr.get(k)!;
  try {
    for (const [name, c, h, w, k] of POOL_CASES) {
      const bn = new BatchNorm2d({ numFeatures: c });
      const sd = new Map<string, Tensor>();
      for (const [key, v] of pr) if (key.startsWith(`${name}.bn.`)) sd.set(key.slice(name.length + 4), v);
      bn.loadStateDict(sd, { strict: true });
      const seq = new Sequential([bn, new ReLU(), new MaxPool2d({ kernelSize: k })]);
      tidy(() => {
        const x = p(`${name}.x`).contiguous({ channelsLast: true }).requiresGrad_();
        assert.ok(bn.forwardFused2(x, seq.at(1), seq.at(2)) !== undefined, 'the fused path applies');
        // (that call counted a batch and moved the running statistics: reload them)
        bn.loadStateDict(sd, { strict: true });
        const y = seq.forward(x);
        assert.deepEqual(y.shape, [6, c, Math.floor(h / k), Math.floor(w / k)]);
        y.backward({ grad: p(`${name}.g`) });
        assertClose(y.toFloat32Array(), p(`${name}.y`).toFloat32Array(), 1e-4, `${name} y`, 0.1);
        assertClose(x.grad!.toFloat32Array(), p(`${name}.dx`).toFloat32Array(), 1e-4, `${name} dx`, 0.1);
        assertClose(bn.weight!.grad!.toFloat32Array(), p(`${name}.dw`).toFloat32Array(), 1e-3, `${name} dw`, 0.1);
        assertClose(bn.bias!.grad!.toFloat32Array(), p(`${name}.db`).toFloat32Array(), 1e-3, `${name} db`, 0.1);
        assertClose(bn.runningMean!.toFloat32Array(), p(`${name}.rm`).toFloat32Array(), 1e-5, `${name} running_mean`, 0.1);
        assertClose(bn.runningVar!.toFloat32Array(), p(`${name}.rv`).toFloat32Array(), 1e-5, `${name} running_var`, 0.1);
      });
      seq.dispose();
    }
  } finally {
    disposeAll(pr);
  }
});

test('a small-cnn training step is the same with and without the fused kernels (BN-ReLU-pool path), and leaks nothing', () => {
  const spec: ModelSpec = { arch: 'small-cnn', numClasses: 10, inChannels: 1 };
  const x = r('r.x').slice(1, 0, 1).contiguous();
  const [yf, gf] = stepOf(spec, x, true);
  const [yp, gp] = stepOf(spec, x, false);
  assertClose(yf, yp, 1e-3, 'logits', 0.1);
  assertClose(gf, gp, 1e-3, 'first conv weight gradient', 0.1);
});
