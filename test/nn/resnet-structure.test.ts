/**
 * ResNet structure against torchvision 0.14: exact state-dict keys, order, shapes and dtypes for
 * resnet18/34/50, the same initial weights for the same seed, and the zoo's size options.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadSafetensors, manualSeed, noGrad, randn, setNumThreads, tidy } from '../../src/torch/index.js';
import { BasicBlock, Bottleneck, createModel, ResNet, summaryRows, type Arch } from '../../src/nn/index.js';
import { runPython, runPythonJson } from '../helpers/pytorch.js';
import { ST_PY } from '../helpers/st_py.js';

setNumThreads(2);

type KeyInfo = [string, number[], string];
const PY_KEYS = `
import json, torch, torchvision
out = {}
for arch in ['resnet18', 'resnet34', 'resnet50']:
    sd = getattr(torchvision.models, arch)().state_dict()
    out[arch] = [[k, list(v.shape), str(v.dtype).replace('torch.', '')] for k, v in sd.items()]
print(json.dumps(out))
`;

test('state-dict keys, order, shapes and dtypes equal torchvision resnet18/34/50', () => {
  const ref = runPythonJson<Record<string, KeyInfo[]>>(PY_KEYS);
  for (const arch of ['resnet18', 'resnet34', 'resnet50'] as Arch[]) {
    const m = createModel({ arch, numClasses: 1000, inChannels: 3 });
    const ours: KeyInfo[] = [...m.stateDict()].map(([k, t]) => [k, [...t.shape], t.dtype]);
    assert.equal(ours.length, ref[arch].length, `${arch}: number of keys`);
    assert.deepEqual(ours, ref[arch], `${arch}: keys/shapes/dtypes differ`);
    const nbt = m.stateDict().get('bn1.num_batches_tracked')!;
    assert.equal(nbt.ndim, 0);
    m.dispose();
  }
});

const PY_INIT = `${ST_PY}
import sys, torch, torchvision
torch.manual_seed(42)
m = torchvision.models.resnet18(num_classes=10, zero_init_residual=True)
st_save(sys.argv[1], m.state_dict())
`;

test('the same seed gives torchvision resnet18 initial weights exactly (kaiming_normal_ fan_out, fc default, zero-init residual)', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nn-init-'));
  const file = path.join(dir, 'init.safetensors');
  runPython(PY_INIT, [file]);
  manualSeed(42);
  const m = createModel({ arch: 'resnet18', numClasses: 10, inChannels: 3, zeroInitResidual: true });
  const ref = loadSafetensors(file).tensors;
  for (const [k, t] of m.stateDict()) {
    const r = ref.get(k);
    assert.ok(r !== undefined, `torchvision lacks ${k}`);
    assert.ok(t.allclose(r, { rtol: 0, atol: 1e-7 }), `${k} differs from torchvision's initial value`);
  }
  // zero-init residual really zeroed the last BN of each block, and only that one.
  const sd = m.stateDict();
  assert.equal(sd.get('layer1.0.bn2.weight')!.abs().sum().item(), 0);
  assert.equal(sd.get('layer1.0.bn1.weight')!.sum().item(), 64);
  for (const t of ref.values()) t.dispose();
  m.dispose();
});

test('resnet50 uses Bottleneck blocks and resnet18 BasicBlocks; blocks() runs stem → layer4 with torchvision names', () => {
  const r18 = createModel({ arch: 'resnet18', numClasses: 10, inChannels: 3 }) as ResNet;
  assert.deepEqual(
    r18.blocks().map((b) => b.name),
    ['stem', 'layer1.0', 'layer1.1', 'layer2.0', 'layer2.1', 'layer3.0', 'layer3.1', 'layer4.0', 'layer4.1'],
  );
  assert.ok(r18.blocks()[1].module instanceof BasicBlock);
  // Block modules are the model's own: their parameters are exactly the named ones under the prefix.
  const named = new Map([...r18.namedParameters()].map(([k, t]) => [t, k]));
  for (const b of r18.blocks().slice(1)) for (const p of b.module.parameters()) assert.ok(named.get(p)!.startsWith(`${b.name}.`));
  const stemNames = r18
    .blocks()[0]
    .module.parameters()
    .map((p) => named.get(p));
  assert.deepEqual(stemNames, ['conv1.weight', 'bn1.weight', 'bn1.bias']);
  // Blocks plus head cover every parameter once.
  const rows = summaryRows(r18);
  assert.equal(
    rows.find((r) => r.name === 'other'),
    undefined,
  );
  assert.equal(rows.at(-1)!.params, 11_181_642); // torchvision resnet18(num_classes=10)
  r18.dispose();

  const r50 = createModel({ arch: 'resnet50', numClasses: 10, inChannels: 3, layers: [1, 1, 1, 1], widthMultiplier: 0.25 }) as ResNet;
  assert.ok(r50.blocks()[1].module instanceof Bottleneck);
  assert.equal(r50.featureDim, 16 * 8 * 4);
  r50.dispose();
});

test('smallInput, inChannels 1, widthMultiplier and layers size a CPU ResNet for 28-32 px images', () => {
  const m = createModel({
    arch: 'resnet18',
    numClasses: 5,
    inChannels: 1,
    smallInput: true,
    widthMultiplier: 0.25,
    layers: [1, 1, 1, 1],
  }) as ResNet;
  assert.deepEqual([...m.conv1.weight.shape], [16, 1, 3, 3]);
  assert.deepEqual(m.conv1.stride, [1, 1]);
  assert.equal(m.featureDim, 128);
  assert.equal(m.spec.arch, 'resnet18');
  assert.deepEqual(
    m.blocks().map((b) => b.name),
    ['stem', 'layer1.0', 'layer2.0', 'layer3.0', 'layer4.0'],
  );
  const x = randn([2, 1, 28, 28]);
  const { f, y } = tidy(() => noGrad(() => ({ f: m.eval().backbone(x), y: m.forward(x) })));
  assert.deepEqual([...f.shape], [2, 128]);
  assert.deepEqual([...y.shape], [2, 5]);
  // Without smallInput the stem downsamples 4x (7x7 stride 2 + max-pool) before layer1.
  const big = createModel({ arch: 'resnet-tiny', numClasses: 5, inChannels: 3 }) as ResNet;
  assert.deepEqual([...big.conv1.weight.shape], [16, 3, 7, 7]);
  const s = tidy(() => noGrad(() => [...big.eval().layer1.forward(big.blocks()[0].module.forward(randn([1, 3, 32, 32]))).shape]));
  assert.deepEqual(s, [1, 16, 8, 8]);
  for (const t of [x, f, y]) t.dispose();
  m.dispose();
  big.dispose();
});
