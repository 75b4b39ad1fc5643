/**
 * `evaluate` against PyTorch: a torchvision ResNet (one BasicBlock per stage, 10 classes) and an
 * IDX test set are written by Python torch, the weights go through `model import`, and every
 * count `evaluate` reports (top-1, top-5, per class, confusion matrix) equals the counts computed
 * from torchvision's own predictions on the same images with the same normalisation.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { evaluateCommand, runEvaluate } from '../../src/cli/commands/evaluate.js';
import { modelExportCommand, modelImportCommand, runModelExport, runModelImport } from '../../src/cli/commands/model.js';
import type { EvaluationReport } from '../../src/evaluate/evaluate.js';
import { liveTensors } from '../../src/torch/index.js';
import { call } from '../helpers/cli.js';
import { runPythonJson } from '../helpers/pytorch.js';
import { ST_PY } from '../helpers/st_py.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bt-evaluate-'));
const f = (name: string): string => path.join(dir, name);
const NORM = ['--mean', '0.5,0.4,0.3', '--std', '0.25,0.2,0.3'];

interface Reference {
  labels: number[];
  preds: number[];
  top5: boolean[];
}

describe('evaluate', () => {
  let ref: Reference;
  before(async () => {
    ref = runPythonJson<Reference>(
      `${ST_PY}
import json, struct
import torch
from torchvision.models.resnet import ResNet, BasicBlock
torch.manual_seed(0)
m = ResNet(BasicBlock, [1, 1, 1, 1], num_classes=10)
for mod in m.modules():
    if isinstance(mod, torch.nn.BatchNorm2d):
        mod.running_mean.uniform_(-0.5, 0.5); mod.running_var.uniform_(0.5, 2)
m.eval()
d = sys.argv[1]
st_save(d + '/tv.safetensors', m.state_dict())
n, h, w = 80, 32, 32
labels = torch.arange(n) % 10
g = torch.Generator().manual_seed(1)
# Class-dependent brightness and stripes plus noise, so predictions vary from image to image.
yy = torch.arange(h).view(1, h, 1).float()
base = labels.view(n, 1, 1).float() * 20 + 40 * torch.sin(yy * (labels.view(n, 1, 1) + 1) / 5)
imgs = (base + torch.randint(0, 60, (n, h, w), generator=g)).clamp(0, 255).to(torch.uint8)
with open(d + '/t10k-images-idx3-ubyte', 'wb') as fh:
    fh.write(struct.pack('>IIII', 0x803, n, h, w)); fh.write(imgs.numpy().tobytes())
with open(d + '/t10k-labels-idx1-ubyte', 'wb') as fh:
    fh.write(struct.pack('>II', 0x801, n)); fh.write(labels.to(torch.uint8).numpy().tobytes())
x = imgs.float().div(255).unsqueeze(1).repeat(1, 3, 1, 1)
x = (x - torch.tensor([0.5, 0.4, 0.3]).view(1, 3, 1, 1)) / torch.tensor([0.25, 0.2, 0.3]).view(1, 3, 1, 1)
with torch.no_grad():
    logits = m(x)
top5 = (logits.topk(5, dim=1).indices == labels.view(n, 1)).any(1)
print(json.dumps({'labels': labels.tolist(), 'preds': logits.argmax(1).tolist(), 'top5': top5.tolist()}))
`,
      [dir],
    );
    const im = await call(modelImportCommand, runModelImport, [
      f('tv.safetensors'),
      '--arch',
      'resnet18',
      '--layers',
      '1,1,1,1',
      '--out',
      f('ours.safetensors'),
    ]);
    assert.equal(im.code, 0, im.err);
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  test('every count equals the counts of torchvision predictions on the same images and weights', async () => {
    const before = liveTensors();
    const r = await call(evaluateCommand, runEvaluate, [f('ours.safetensors'), '--data', 'idx', '--path', dir, ...NORM, '--json']);
    assert.equal(r.code, 0, r.err);
    assert.equal(liveTensors(), before, 'evaluate leaked tensors');
    const rep = JSON.parse(r.out) as EvaluationReport;
    const n = ref.labels.length;
    assert.equal(rep.data.n, n);
    assert.deepEqual(rep.preprocessing, { size: [32, 32], channels: 3, mean: [0.5, 0.4, 0.3], std: [0.25, 0.2, 0.3], normFrom: 'given' });
    const correct = ref.preds.filter((p, i) => p === ref.labels[i]).length;
    // The images do produce a spread of predictions: more than one predicted class.
    assert.ok(new Set(ref.preds).size > 1, `torch predicts one class only: ${ref.preds}`);
    assert.deepEqual([rep.top1.numerator, rep.top1.denominator], [correct, n]);
    assert.equal(rep.top1.rate, correct / n);
    assert.ok(rep.top1.interval.lo! <= rep.top1.rate! && rep.top1.rate! <= rep.top1.interval.hi!, JSON.stringify(rep.top1));
    assert.equal(rep.top1.interval.level, 0.95);
    assert.deepEqual([rep.top5!.numerator, rep.top5!.denominator], [ref.top5.filter(Boolean).length, n]);
    const confusion = Array.from({ length: 10 }, () => new Array<number>(10).fill(0));
    ref.labels.forEach((y, i) => confusion[y][ref.preds[i]]++);
    assert.deepEqual(rep.confusion, confusion);
    assert.deepEqual(
      rep.perClass.map((c) => [c.index, c.name, c.numerator, c.denominator]),
      confusion.map((row, k) => [k, String(k), row[k], row.reduce((a, b) => a + b, 0)]),
    );

    // The text form shows the same counts, the interval, and the class table.
    const text = await call(evaluateCommand, runEvaluate, [f('ours.safetensors'), '--data', 'idx', '--path', dir, ...NORM]);
    assert.equal(text.code, 0, text.err);
    assert.match(
      text.out,
      new RegExp(`^top-1: [\\d.]+% \\(${correct}/${n}\\), 95% interval [\\d.]+% to [\\d.]+% \\(bootstrap, 1000 resamples, seed 0\\)$`, 'm'),
    );
    assert.match(text.out, new RegExp(`^top-5: [\\d.]+% \\(${ref.top5.filter(Boolean).length}/${n}\\)$`, 'm'));
    assert.match(text.out, /^confusion matrix \(rows: true class, columns: predicted class, counts\):$/m);
  });

  test("a head whose class count differs from the dataset's is an error naming both; top-5 needs 5 classes", async () => {
    const r = await call(evaluateCommand, runEvaluate, [f('ours.safetensors'), '--data', 'idx', '--path', dir, '--classes', '0,1,2']);
    assert.equal(r.code, 1);
    assert.match(r.err, /ours\.safetensors: the head has 10 classes but the dataset '.*' has 3 \(0, 1, 2\)/);

    assert.equal(
      (
        await call(modelExportCommand, runModelExport, [
          '--arch',
          'small-cnn',
          '--classes',
          '3',
          '--in-channels',
          '1',
          '--out',
          f('cnn3.safetensors'),
        ])
      ).code,
      0,
    );
    const three = await call(evaluateCommand, runEvaluate, [
      f('cnn3.safetensors'),
      '--data',
      'idx',
      '--path',
      dir,
      '--classes',
      '0,1,2',
      '--json',
    ]);
    assert.equal(three.code, 0, three.err);
    const rep = JSON.parse(three.out) as EvaluationReport;
    assert.equal(rep.top5, null);
    assert.equal(rep.top1.denominator, ref.labels.filter((y) => y < 3).length);
    assert.equal(rep.preprocessing.normFrom, 'data');
    assert.equal(rep.preprocessing.channels, 1);

    const noData = await call(evaluateCommand, runEvaluate, [f('cnn3.safetensors')]);
    assert.equal(noData.code, 2);
    assert.match(noData.err, /--data is required/);
    const bare = await call(evaluateCommand, runEvaluate, [f('tv.safetensors'), '--data', 'idx', '--path', dir]);
    assert.equal(bare.code, 1);
    assert.match(bare.err, /tv\.safetensors.*model import/);
  });
});
