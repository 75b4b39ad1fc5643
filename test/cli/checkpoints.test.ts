/**
 * Checkpoints as users bring them, written by PyTorch in the test: a torchvision ResNet state dict
 * saved as fp16 and bf16 safetensors (cast to float32 on import, bit for bit as torch's
 * `.float()`), as `.pt` files (zip and legacy pickle: refused with a conversion command that
 * works), with DataParallel's `module.` prefix (the exact flag suggested), and a resnet34 imported
 * as resnet18 (named as resnet34, keys sampled, not listed in full).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { modelImportCommand, modelInspectCommand, runModelImport, runModelInspect } from '../../src/cli/commands/model.js';
import { loadModelFromFile } from '../../src/nn/index.js';
import { liveTensors, readSafetensors } from '../../src/torch/index.js';
import { call } from '../helpers/cli.js';
import { PYTHON, runPython } from '../helpers/pytorch.js';
import { ST_PY } from '../helpers/st_py.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bt-ckpt-'));
const f = (name: string): string => path.join(dir, name);
// torchvision's ResNet with one BasicBlock per stage = our resnet18 --layers 1,1,1,1.
const ARCH = ['--arch', 'resnet18', '--layers', '1,1,1,1'];

describe('checkpoints as they come', () => {
  before(() => {
    runPython(
      `${ST_PY}
import torch
from torchvision.models.resnet import ResNet, BasicBlock, resnet34
torch.manual_seed(0)
m = ResNet(BasicBlock, [1, 1, 1, 1], num_classes=5)
for mod in m.modules():
    if isinstance(mod, torch.nn.BatchNorm2d):  # non-trivial statistics, so a wrong cast shows
        mod.running_mean.uniform_(-1, 1); mod.running_var.uniform_(0.5, 2)
sd = m.state_dict()
d = sys.argv[1]
half = lambda dt: {k: (v.to(dt) if v.is_floating_point() else v) for k, v in sd.items()}
st_save(d + '/fp16.safetensors', half(torch.float16))
st_save(d + '/fp16_ref.safetensors', {k: v.float() for k, v in half(torch.float16).items() if v.is_floating_point()})
st_save(d + '/bf16.safetensors', half(torch.bfloat16))
st_save(d + '/bf16_ref.safetensors', {k: v.float() for k, v in half(torch.bfloat16).items() if v.is_floating_point()})
st_save(d + '/dp.safetensors', {'module.' + k: v for k, v in sd.items()})
torch.save({'state_dict': sd, 'epoch': 3}, d + '/wrapped.pt')
torch.save(sd, d + '/legacy.pth', _use_new_zipfile_serialization=False)
st_save(d + '/r34.safetensors', {k: (v.half() if v.is_floating_point() else v) for k, v in resnet34(num_classes=5).state_dict().items()})
`,
      [dir],
    );
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  for (const kind of ['fp16', 'bf16'] as const)
    test(`an ${kind} safetensors state dict imports, cast exactly to float32 and said once`, async () => {
      const out = f(`${kind}-ours.safetensors`);
      const before = liveTensors();
      const r = await call(modelImportCommand, runModelImport, [f(`${kind}.safetensors`), ...ARCH, '--out', out]);
      assert.equal(r.code, 0, r.err);
      assert.equal(liveTensors(), before, 'model import leaked tensors');
      const casts = r.out.split('\n').filter((l) => l.startsWith('cast '));
      const halves = [...readSafetensors(f(`${kind}.safetensors`)).entries.values()].filter(
        (e) => e.dtype === (kind === 'fp16' ? 'F16' : 'BF16'),
      ).length;
      assert.deepEqual(casts, [`cast ${halves} ${kind} tensors to float32`]);
      const ref = readSafetensors(f(`${kind}_ref.safetensors`));
      const model = loadModelFromFile(out);
      try {
        const sd = model.stateDict();
        for (const [k, e] of ref.entries) {
          const t = sd.get(k);
          assert.ok(t !== undefined, k);
          assert.equal(t.dtype, 'float32', k);
          assert.ok(Buffer.from(t.bytes()).equals(Buffer.from(e.bytes)), `${k}: not bit-identical to torch's .float()`);
        }
      } finally {
        model.dispose();
      }
    });

  for (const [name, kind] of [
    ['wrapped.pt', 'zip'],
    ['legacy.pth', 'pickle'],
  ] as const)
    test(`a PyTorch ${kind} checkpoint (${name}) is refused by name with a conversion command that works`, async () => {
      const r = await call(modelImportCommand, runModelImport, [f(name), ...ARCH, '--out', f('never.safetensors')]);
      assert.equal(r.code, 1);
      assert.ok(r.err.includes(f(name)), r.err);
      assert.match(r.err, new RegExp(`PyTorch ${kind} checkpoint`));
      assert.doesNotMatch(r.err, /header length \d+ exceeds/);
      assert.ok(!fs.existsSync(f('never.safetensors')));
      const inspect = await call(modelInspectCommand, runModelInspect, [f(name)]);
      assert.equal(inspect.code, 1);
      assert.match(inspect.err, /not safetensors; pickle runs code on load/);

      // Run the suggested command as written (Debian's torch has no `safetensors` package, so a
      // stand-in `safetensors.torch.save_file` writing through st_py is put on PYTHONPATH).
      const cmd = r.err.split('\n').find((l) => l.trim().startsWith('python3 -c'));
      assert.ok(cmd !== undefined, r.err);
      const shim = f('shim/safetensors');
      fs.mkdirSync(shim, { recursive: true });
      fs.writeFileSync(path.join(shim, '__init__.py'), '');
      fs.writeFileSync(path.join(shim, 'torch.py'), `${ST_PY}\ndef save_file(tensors, path):\n    st_save(path, tensors)\n`);
      const run = spawnSync('bash', ['-c', cmd.trim().replace(/^python3 /, `${PYTHON} `)], {
        encoding: 'utf-8',
        env: { ...process.env, PYTHONPATH: f('shim') },
      });
      assert.equal(run.status, 0, run.stderr);
      const converted = f(name.replace(/\.pth?$/, '.safetensors'));
      const im = await call(modelImportCommand, runModelImport, [converted, ...ARCH, '--out', f(`${name}-ours.safetensors`)]);
      assert.equal(im.code, 0, im.err);
    });

  test("a DataParallel file ('module.' on every key) suggests the exact --strip-prefix flag, which then works", async () => {
    const r = await call(modelImportCommand, runModelImport, [f('dp.safetensors'), ...ARCH, '--out', f('dp-ours.safetensors')]);
    assert.equal(r.code, 1);
    const keys = readSafetensors(f('dp.safetensors')).entries.size;
    assert.match(r.err, new RegExp(`with --strip-prefix module\\. ${keys} of ${keys} expected keys match \\(0 without\\)`));
    // Keys are sampled, never listed in full.
    assert.ok(r.out.length + r.err.length < 1500, `${r.out.length + r.err.length} characters:\n${r.out}\n${r.err}`);
    assert.match(r.out, new RegExp(`missing keys \\(${keys}\\): conv1\\.weight, .*\\.\\.\\. \\(${keys} in all\\)`));
    const ok = await call(modelImportCommand, runModelImport, [
      f('dp.safetensors'),
      ...ARCH,
      '--strip-prefix',
      'module.',
      '--out',
      f('dp-ours.safetensors'),
    ]);
    assert.equal(ok.code, 0, ok.err);
  });

  test('a resnet34 imported as resnet18 is named as resnet34, with a short sample of keys', async () => {
    const r = await call(modelImportCommand, runModelImport, [f('r34.safetensors'), '--arch', 'resnet18', '--out', f('r18.safetensors')]);
    assert.equal(r.code, 1);
    const keys = readSafetensors(f('r34.safetensors')).entries.size;
    assert.match(r.err, new RegExp(`this looks like resnet34: ${keys} of ${keys} keys match \\(use --arch resnet34\\)`));
    assert.match(r.out, /unexpected keys \(96\): layer1\.2\.[^,]+, .*\.\.\. \(96 in all\)/);
    assert.ok(r.out.length + r.err.length < 1500, `${r.out.length + r.err.length} characters:\n${r.out}\n${r.err}`);
    assert.ok(!fs.existsSync(f('r18.safetensors')));
    const ok = await call(modelImportCommand, runModelImport, [
      f('r34.safetensors'),
      '--arch',
      'resnet34',
      '--out',
      f('r34-ours.safetensors'),
    ]);
    assert.equal(ok.code, 0, ok.err);
    assert.match(ok.out, new RegExp(`^cast ${keys - 36} fp16 tensors to float32$`, 'm'));
  });
});
