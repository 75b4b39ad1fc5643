/**
 * ResNet-18 parity with torchvision 0.14 (Debian's PyTorch 1.13): weights move both ways through
 * safetensors, and on the same input we get the same eval logits, the same train-mode loss and
 * gradients, and the same BatchNorm running-statistic updates.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { crossEntropy, loadSafetensors, manualSeed, noGrad, setNumThreads, tidy, type Tensor } from '../../src/torch/index.js';
import { createModel, loadModel, saveModel, type ResNet } from '../../src/nn/index.js';
import { runPython } from '../helpers/pytorch.js';
import { ST_PY } from '../helpers/st_py.js';
import { assertClose } from '../helpers/tensors.js';

setNumThreads(2);
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nn-parity-'));

// PyTorch side: a resnet18(num_classes=10) with random weights AND random BN statistics.
const PY_FORWARD = `${ST_PY}
import sys, torch, torchvision
import torch.nn.functional as F
torch.set_num_threads(2)
d = sys.argv[1]
torch.manual_seed(123)
m = torchvision.models.resnet18(num_classes=10)
with torch.no_grad():
    for mod in m.modules():
        if isinstance(mod, torch.nn.BatchNorm2d):
            mod.weight.uniform_(0.5, 1.5); mod.bias.normal_(0, 0.1)
            mod.running_mean.normal_(0, 0.1); mod.running_var.uniform_(0.5, 1.5)
            mod.num_batches_tracked.fill_(int(torch.randint(0, 1000, ()).item()))
x = torch.randn(2, 3, 64, 64)
y = torch.tensor([3, 7])
st_save(d + '/torch.safetensors', m.state_dict())
st_save(d + '/input.safetensors', {'x': x, 'y': y})
# src/nn's Conv2d computes in channels-last (its default memoryFormat): so does the reference.
m = m.to(memory_format=torch.channels_last)
x = x.contiguous(memory_format=torch.channels_last)
ref = {}
m.eval()
with torch.no_grad():
    ref['logits_eval'] = m(x)
m.train()
logits = m(x)
loss = F.cross_entropy(logits, y)
loss.backward()
ref['loss'] = loss.detach().reshape(1)
ref['logits_train'] = logits.detach()
for k in ['conv1.weight', 'layer4.1.bn2.weight', 'fc.weight', 'layer2.0.downsample.0.weight']:
    ref['grad.' + k] = dict(m.named_parameters())[k].grad
sd = m.state_dict()
for k in ['bn1.running_mean', 'bn1.running_var', 'layer3.1.bn2.running_var', 'bn1.num_batches_tracked']:
    ref['after.' + k] = sd[k]
st_save(d + '/ref.safetensors', ref)
`;

// PyTorch side of the reverse direction: load our file strictly and run it.
const PY_REVERSE = `${ST_PY}
import sys, torch, torchvision
torch.set_num_threads(2)
d = sys.argv[1]
m = torchvision.models.resnet18(num_classes=10)
m.load_state_dict(st_load(d + '/ours.safetensors')[0], strict=True)
x = st_load(d + '/input.safetensors')[0]['x']
m.eval()
with torch.no_grad():
    st_save(d + '/reverse.safetensors', {'logits': m(x)})
`;

function grad(model: ResNet, name: string): Float32Array {
  const p = model.stateDict().get(name);
  assert.ok(p !== undefined, `no parameter ${name}`);
  const g = p.grad;
  assert.ok(g !== undefined, `${name} has no gradient`);
  try {
    return g.toFloat32Array();
  } finally {
    g.dispose();
  }
}

test('torchvision resnet18 weights load here and give the same logits, loss, gradients and BN updates', () => {
  runPython(PY_FORWARD, [dir]);
  const model = createModel({ arch: 'resnet18', numClasses: 10, inChannels: 3 }) as ResNet;
  const res = loadModel(path.join(dir, 'torch.safetensors'), model);
  assert.deepEqual(res, { missing: [], unexpected: [], mismatched: [], cast: { F16: 0, BF16: 0 } });
  const input = loadSafetensors(path.join(dir, 'input.safetensors')).tensors;
  const ref = loadSafetensors(path.join(dir, 'ref.safetensors')).tensors;
  const r = (k: string): Float32Array => ref.get(k)!.toFloat32Array();
  const x = input.get('x')!;
  const y = input.get('y')!;

  const logitsEval = tidy(() => noGrad(() => model.eval().forward(x)));
  assert.deepEqual(logitsEval.shape, [2, 10]);
  assertClose(logitsEval.toFloat32Array(), r('logits_eval'), 1e-4, 'eval logits');

  model.train();
  const { logits, loss } = tidy(() => {
    const lg = model.forward(x);
    const l = crossEntropy(lg, y);
    l.backward();
    return { logits: lg.detach(), loss: l.detach() };
  });
  // Training mode runs the fused BN kernel (native/src/fused.cc: statistics merged in double, a
  // different summation order from ATen's): 20 batch-statistic BNs over 2 images compound the
  // rounding differences to ~1.3e-4 of the logits.
  assertClose(logits.toFloat32Array(), r('logits_train'), 3e-4, 'train logits');
  assertClose([loss.item()], r('loss'), 1e-4, 'train loss');
  // Gradients: relative L2 error (measured ~1e-5), and element-wise with the error floored at 1%
  // of the largest element (near-zero elements differ by rounding of the fused BN's sums).
  for (const k of ['conv1.weight', 'layer4.1.bn2.weight', 'fc.weight', 'layer2.0.downsample.0.weight']) {
    const [a, b] = [grad(model, k), r(`grad.${k}`)];
    let d = 0;
    let n = 0;
    let big = 0;
    for (let i = 0; i < a.length; i++) [d, n, big] = [d + (a[i] - b[i]) ** 2, n + b[i] ** 2, Math.max(big, Math.abs(b[i]))];
    assert.ok(Math.sqrt(d / n) < 1e-4, `gradient of ${k}: relative L2 error ${Math.sqrt(d / n)}`);
    assertClose(a, b, 2e-3, `gradient of ${k}`, 0.01 * big);
  }
  const sd = model.stateDict();
  for (const k of ['bn1.running_mean', 'bn1.running_var', 'layer3.1.bn2.running_var'])
    assertClose(sd.get(k)!.toFloat32Array(), r(`after.${k}`), 1e-5, k);
  assert.equal(sd.get('bn1.num_batches_tracked')!.item(), ref.get('after.bn1.num_batches_tracked')!.item());
  assert.equal(sd.get('bn1.num_batches_tracked')!.dtype, 'int64');

  for (const t of [logitsEval, logits, loss, ...input.values(), ...ref.values()]) t.dispose();
  model.dispose();
});

test('our resnet18 weights load into torchvision strictly and give the same logits', () => {
  manualSeed(7);
  const model = createModel({ arch: 'resnet18', numClasses: 10, inChannels: 3 }) as ResNet;
  noGrad(() => {
    for (const [k, t] of model.stateDict()) {
      if (k.endsWith('running_mean')) t.normal_(0, 0.1);
      else if (k.endsWith('running_var')) t.uniform_(0.5, 1.5);
      else if (k.endsWith('num_batches_tracked')) t.fill_(5);
      else if (/bn\d\.(weight|bias)$|downsample\.1\.(weight|bias)$/.test(k)) t.uniform_(0.5, 1.5);
    }
  });
  saveModel(path.join(dir, 'ours.safetensors'), model);
  runPython(PY_REVERSE, [dir]);
  const x = loadSafetensors(path.join(dir, 'input.safetensors')).tensors;
  const theirs = loadSafetensors(path.join(dir, 'reverse.safetensors')).tensors;
  const ours: Tensor = tidy(() => noGrad(() => model.eval().forward(x.get('x')!)));
  assertClose(ours.toFloat32Array(), theirs.get('logits')!.toFloat32Array(), 1e-4, 'eval logits (PyTorch running our weights)');
  for (const t of [ours, ...x.values(), ...theirs.values()]) t.dispose();
  model.dispose();
});
