import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  modelExportCommand,
  modelImportCommand,
  modelInspectCommand,
  modelSummaryCommand,
  runModelExport,
  runModelImport,
  runModelInspect,
  runModelSummary,
  type SafetensorsListing,
} from '../../src/cli/commands/model.js';
import { createModel, loadModelFromFile, readModelSpec, type SummaryRow } from '../../src/nn/index.js';
import { liveTensors, saveSafetensors } from '../../src/torch/index.js';
import { runPythonJson } from '../helpers/pytorch.js';
import { call } from '../helpers/cli.js';

const tmp = (): string => fs.mkdtempSync(path.join(os.tmpdir(), 'bt-cli-model-'));
const TINY = ['--arch', 'resnet-tiny', '--classes', '5', '--in-channels', '1', '--small-input'];

test('model summary totals equal the sum of parameter numels; --mode and --freeze-until move counts to frozen', async () => {
  const before = liveTensors();
  const model = createModel({ arch: 'resnet-tiny', numClasses: 5, inChannels: 1, smallInput: true });
  const total = model.parameters().reduce((a, p) => a + p.numel, 0);
  const head = model.head.parameters().reduce((a, p) => a + p.numel, 0);
  const stemAndLayer1 = model
    .blocks()
    .slice(0, 2)
    .flatMap((b) => b.module.parameters())
    .reduce((a, p) => a + p.numel, 0);
  model.dispose();

  const rowsOf = async (extra: string[]): Promise<SummaryRow[]> => {
    const r = await call(modelSummaryCommand, runModelSummary, [...TINY, '--json', ...extra]);
    assert.equal(r.code, 0, r.err);
    return (JSON.parse(r.out) as { rows: SummaryRow[] }).rows;
  };
  const all = await rowsOf([]);
  const t = all.at(-1)!;
  assert.equal(t.name, 'total');
  assert.equal(t.params, total);
  assert.equal(t.trainable, total);
  assert.equal(
    all.slice(0, -1).reduce((a, r) => a + r.params, 0),
    total,
  );
  const fixed = (await rowsOf(['--mode', 'fixed'])).at(-1)!;
  assert.deepEqual([fixed.trainable, fixed.frozen], [head, total - head]);
  const frozen = (await rowsOf(['--freeze-until', 'layer1.0'])).at(-1)!;
  assert.deepEqual([frozen.trainable, frozen.frozen], [total - stemAndLayer1, stemAndLayer1]);

  const text = await call(modelSummaryCommand, runModelSummary, TINY);
  assert.match(text.out, new RegExp(`^total\\s+${total.toLocaleString('en-US')}\\s`, 'm'));
  const bad = await call(modelSummaryCommand, runModelSummary, [...TINY, '--freeze-until', 'layer9']);
  assert.equal(bad.code, 2);
  assert.match(bad.err, /no block 'layer9'; blocks are stem, layer1.0/);
  const badMode = await call(modelSummaryCommand, runModelSummary, [...TINY, '--mode', 'partial:9']);
  assert.equal(badMode.code, 2);
  assert.match(badMode.err, /partial:9/);
  assert.equal(liveTensors(), before, 'model summary leaked tensors');
});

test('model export → model inspect → model import round trip keeps every tensor', async () => {
  const dir = tmp();
  const exported = path.join(dir, 'exported.safetensors');
  const e = await call(modelExportCommand, runModelExport, [...TINY, '--out', exported, '--seed', '3']);
  assert.equal(e.code, 0, e.err);

  const i = await call(modelInspectCommand, runModelInspect, [exported, '--json']);
  assert.equal(i.code, 0, i.err);
  const listing = JSON.parse(i.out) as SafetensorsListing;
  const model = createModel({ arch: 'resnet-tiny', numClasses: 5, inChannels: 1, smallInput: true });
  const sd = model.stateDict();
  assert.deepEqual(listing.tensors.map((t) => t.name).sort(), [...sd.keys()].sort());
  for (const t of listing.tensors) assert.deepEqual(t.shape, sd.get(t.name)!.shape, t.name);
  model.dispose();
  assert.deepEqual(JSON.parse(listing.metadata.model_spec), { arch: 'resnet-tiny', numClasses: 5, inChannels: 1, smallInput: true });
  assert.equal(listing.metadata.seed, '3');
  const text = await call(modelInspectCommand, runModelInspect, [exported]);
  assert.match(text.out, /^conv1\.weight\s+F32\s+\[16, 1, 3, 3\]\s+144$/m);

  // A bare state dict (as PyTorch writes it: no metadata) imports into the named architecture;
  // classes and channels come from fc.weight and conv1.weight.
  const original = loadModelFromFile(exported);
  const bare = path.join(dir, 'bare.safetensors');
  saveSafetensors(bare, original.stateDict());
  const imported = path.join(dir, 'imported.safetensors');
  const before = liveTensors();
  const im = await call(modelImportCommand, runModelImport, [bare, '--arch', 'resnet-tiny', '--small-input', '--out', imported]);
  assert.equal(im.code, 0, im.err);
  assert.equal(liveTensors(), before, 'model import leaked tensors');
  assert.match(im.out, /missing keys \(0\)/);
  assert.match(im.out, /unexpected keys \(0\)/);
  assert.deepEqual(readModelSpec(imported), { arch: 'resnet-tiny', numClasses: 5, inChannels: 1, smallInput: true });
  const back = loadModelFromFile(imported);
  for (const [k, t] of original.stateDict()) assert.deepEqual(back.stateDict().get(k)!.toArray(), t.toArray(), k);
  back.dispose();
  original.dispose();
});

test('model import of a file for another architecture fails, naming the keys, and writes nothing', async () => {
  const dir = tmp();
  const cnn = path.join(dir, 'cnn.safetensors');
  assert.equal(
    (await call(modelExportCommand, runModelExport, ['--arch', 'small-cnn', '--classes', '3', '--in-channels', '1', '--out', cnn])).code,
    0,
  );
  const out = path.join(dir, 'out.safetensors');
  const r = await call(modelImportCommand, runModelImport, [cnn, '--arch', 'resnet-tiny', '--out', out]);
  assert.equal(r.code, 1);
  assert.match(r.err, /does not load strictly into resnet-tiny/);
  assert.match(r.err, /this looks like small-cnn: \d+ of \d+ keys match \(use --arch small-cnn\)/);
  assert.match(r.out, /missing keys \(\d+\): [^\n]*conv1\.weight/);
  assert.match(r.out, /unexpected keys \(\d+\): [^\n]*block1\.0\.weight/);
  assert.match(r.out, /^fc\.weight\s+float32\[3, 128\]\s+float32\[3, 64\]$/m);
  assert.ok(!fs.existsSync(out));

  // Forgetting --small-input is a shape mismatch on conv1, with a hint.
  const tiny = path.join(dir, 'tiny.safetensors');
  assert.equal((await call(modelExportCommand, runModelExport, [...TINY, '--out', tiny])).code, 0);
  const r2 = await call(modelImportCommand, runModelImport, [tiny, '--arch', 'resnet-tiny', '--out', out]);
  assert.equal(r2.code, 1);
  assert.match(r2.err, /conv1\.weight expected float32\[16, 1, 7, 7\] but got float32\[16, 1, 3, 3\]/);
  assert.match(r2.err, /add --small-input/);
});

test('model import takes a torchvision ResNet state dict written by PyTorch', async () => {
  const dir = tmp();
  const file = path.join(dir, 'tv.safetensors');
  // torchvision's ResNet with one BasicBlock per stage is our resnet18 with --layers 1,1,1,1.
  const { ST_PY } = await import('../helpers/st_py.js');
  const fcBias = runPythonJson<number[]>(
    `${ST_PY}
import sys, json, torch
from torchvision.models.resnet import ResNet, BasicBlock
torch.manual_seed(0)
m = ResNet(BasicBlock, [1, 1, 1, 1], num_classes=7)
st_save(sys.argv[1], m.state_dict())
print(json.dumps(m.fc.bias.tolist()))`,
    [file],
  );
  const out = path.join(dir, 'ours.safetensors');
  const r = await call(modelImportCommand, runModelImport, [file, '--arch', 'resnet18', '--layers', '1,1,1,1', '--out', out]);
  assert.equal(r.code, 0, r.err);
  const model = loadModelFromFile(out);
  assert.deepEqual(model.spec, { arch: 'resnet18', numClasses: 7, inChannels: 3, layers: [1, 1, 1, 1] });
  const ours = model.stateDict().get('fc.bias')!.toArray();
  fcBias.forEach((v, k) => assert.ok(Math.abs(ours[k] - v) < 1e-7, `fc.bias[${k}] ${ours[k]} vs ${v}`));
  model.dispose();
});
