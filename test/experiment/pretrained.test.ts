/**
 * `source.pretrained` on the real pipeline: a backbone trained elsewhere (a weights file written
 * by this tool, and a torchvision ResNet-18 state dict written by Python torch and brought in
 * through `model import`) replaces source training; strict key and shape checks name the config
 * key, the file and the tensor; corrupt, truncated and mismatched files and bad target data give
 * errors naming the file and what was expected.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { PNG } from 'pngjs';
import { modelImportCommand, runModelImport } from '../../src/cli/commands/model.js';
import { parseConfigText } from '../../src/experiment/config/index.js';
import { runExperiment } from '../../src/plan/index.js';
import { sectionsFor } from '../../src/publish/publish.js';
import { loadSource, normalisation } from '../../src/experiment/prepare.js';
import { pretrainedWeights } from '../../src/experiment/pretrained.js';
import { createModel, saveModel } from '../../src/nn/index.js';
import { loadSafetensors, manualSeed, saveSafetensors, disposeAll } from '../../src/torch/index.js';
import { call } from '../helpers/cli.js';
import { runPython } from '../helpers/pytorch.js';
import { ST_PY } from '../helpers/st_py.js';

const dir = mkdtempSync(join(tmpdir(), 'bt-pretrained-'));
after(() => rmSync(dir, { recursive: true, force: true }));

const smallSpec = { arch: 'small-cnn', numClasses: 4, inChannels: 1, widthMultiplier: 0.5 } as const;

function writeSmallCnn(file: string, seed: number): void {
  manualSeed(seed);
  const m = createModel(smallSpec);
  try {
    saveModel(file, m);
  } finally {
    m.dispose();
  }
}

/** A tiny config over the bundled MNIST digits; `pretrained` and `extra` YAML lines are spliced in. */
function config(pretrained: string, opts: { model?: string; modes?: string; target?: string; extra?: string } = {}): string {
  return `
name: pre
seeds: [0]
threads: 1
source:
  dataset: { name: mnist, split: train, classes: [0, 1, 2, 3], limit: 200 }
  pretrained: ${pretrained}
model: ${opts.model ?? '{ arch: small-cnn, widthMultiplier: 0.5 }'}
sourceTraining: { epochs: 1, batchSize: 64, optimizer: { kind: sgd, lr: 0.05 } }
targets:
  - name: digits
    dataset: ${opts.target ?? '{ name: mnist, split: train, classes: [5, 6], limit: 120 }'}
    testDataset: { name: mnist, split: test, classes: [5, 6], limit: 60 }
transfer: { modes: ${opts.modes ?? '[fixed, full, scratch]'} }
targetTraining: { epochs: 1, batchSize: 32, optimizer: { kind: sgd, lr: 0.05 }, evalEvery: 0 }
evaluation:
  bootstrap: 0
${opts.extra ?? ''}
`;
}

async function run(yaml: string, root: string) {
  const loaded = parseConfigText(yaml, { file: join(dir, 'pre.yaml') });
  return runExperiment({ loaded, root, log: () => {} });
}

test('a source model written by the tool, brought back as source.pretrained, transfers exactly as when trained here', async () => {
  // 1. Train a source here (bias none) and find its weights in the cache.
  const trainedRoot = join(dir, 'root-trained');
  const trainedYaml = config('null');
  const trained = await run(trainedYaml, trainedRoot);
  const models = readdirSync(join(trainedRoot, 'cache', 'models')).filter((d) => !d.startsWith('.'));
  assert.equal(models.length, 1);
  const weights = join(trainedRoot, 'cache', 'models', models[0], 'model.safetensors');
  // Its normalisation: the source data's statistics, as the trained run used.
  const loaded = parseConfigText(trainedYaml, { file: join(dir, 'pre.yaml') });
  const norm = normalisation(loadSource({ config: loaded.config, configDir: dir }, 0));
  // 2. The same file as a pretrained source, with a control written by the tool.
  writeSmallCnn(join(dir, 'control.safetensors'), 2);
  const root = join(dir, 'root-ts');
  const lastYaml = config(
    `{ weights: ${weights}, control: control.safetensors, channels: 1, size: [28, 28], mean: [${norm.mean}], std: [${norm.std}] }`,
    {
      extra: '  patches:\n    - { kind: class-patch, sourceClass: 2, size: 10 }',
    },
  );
  const out = await run(lastYaml, root);
  const rows = out.runs[0].rows;
  const kinds = new Set(rows.filter((r) => r.transferMode === 'fixed').map((r) => r.sourceKind));
  assert.deepEqual(kinds, new Set(['biased', 'clean']), 'the backbone is transferred as "biased" and the control as "clean"');
  // Nothing was trained as a source: the cache holds no model.
  const cached = existsSync(join(root, 'cache', 'models'))
    ? readdirSync(join(root, 'cache', 'models')).filter((d) => !d.startsWith('.'))
    : [];
  assert.deepEqual(cached, []);
  const sources = JSON.parse(readFileSync(join(root, 'runs', out.runs[0].runId, 'sources.json'), 'utf-8')) as { weights: string }[];
  assert.deepEqual(
    sources.map((s) => s.weights),
    [weights, join(dir, 'control.safetensors')],
  );
  // The transferred models are the ones the trained run produced, prediction for prediction.
  const preds = (r: string, runId: string, job: string) =>
    JSON.parse(readFileSync(join(r, 'runs', runId, 'jobs', job, 'result.json'), 'utf-8')).predictions.clean as number[];
  for (const mode of ['fixed', 'full'])
    assert.deepEqual(
      preds(root, out.runs[0].runId, `digits-biased-${mode}`),
      preds(trainedRoot, trained.runs[0].runId, `digits-clean-${mode}`),
      mode,
    );
  // The probe got an automatic neutral twin, and the directional rows exist for both.
  const metrics = (cond: string) => new Set(rows.filter((r) => r.condition === cond && r.transferMode === 'fixed').map((r) => r.metric));
  for (const m of ['skew', 'skew-excess', 'skew-excess-minus-scratch', 'tv-shift']) assert.ok(metrics('patch0').has(m), m);
  assert.ok(metrics('patch0-neutral').has('skew'));
  // The report says which control there is.
  const overview = (yaml: string, r: string) =>
    sectionsFor(r, parseConfigText(yaml, { file: join(dir, 'pre.yaml') }), { examples: false }).sections[0].paragraphs!.join(' ');
  assert.match(overview(lastYaml, root), /Control: pretrained weights control\.safetensors/);
  // Nothing was injected: no before/after source pictures, no unpoisoned-source control described.
  const full = sectionsFor(root, parseConfigText(lastYaml, { file: join(dir, 'pre.yaml') })).sections;
  const text = JSON.stringify(full.map((s) => [s.paragraphs, s.images?.map((i) => i.caption)]));
  assert.doesNotMatch(text, /before and after bias injection/);
  assert.doesNotMatch(text, /unpoisoned source|clean-source control is the same pipeline/);
  assert.ok(
    full[0].images!.some((i) => /Target test images/.test(i.caption)),
    'the target examples stay',
  );
  // A pretrained config needs no sourceTraining (nothing is trained as a source); a trained one does.
  const noTraining = (yaml: string) => yaml.replace(/^sourceTraining:.*$/m, '');
  assert.equal(parseConfigText(noTraining(lastYaml), { file: join(dir, 'pre.yaml') }).config.sourceTraining, null);
  assert.throws(
    () => parseConfigText(noTraining(config('null')), { file: join(dir, 'pre.yaml') }),
    /sourceTraining: required: the source is trained here/,
  );
});

test('a torchvision ResNet-18 state dict written by Python torch goes through model import into an experiment', async () => {
  const raw = join(dir, 'tv-resnet18.safetensors');
  runPython(
    ST_PY +
      `
import torchvision
torch.manual_seed(0)
m = torchvision.models.resnet18(num_classes=7)
st_save(sys.argv[1], m.state_dict())
`,
    [raw],
  );
  const imported = join(dir, 'resnet18-bt.safetensors');
  const r = await call(modelImportCommand, runModelImport, [raw, '--arch', 'resnet18', '--out', imported]);
  assert.equal(r.code, 0, r.err);
  const yaml = config(`{ weights: ${imported}, channels: 3, size: [32, 32], mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] }`, {
    model: '{ arch: resnet18 }',
    modes: '[fixed]',
    target: '{ name: mnist, split: train, classes: [5, 6], limit: 60 }',
  });
  const out = await run(yaml, join(dir, 'root-py'));
  const rows = out.runs[0].rows;
  const acc = rows.find((x) => x.metric === 'accuracy' && x.condition === 'clean' && x.transferMode === 'fixed');
  assert.ok(acc && acc.denominator === 60, JSON.stringify(acc));
  // No control file: only the suspect is transferred.
  assert.deepEqual(new Set(rows.filter((x) => x.transferMode === 'fixed').map((x) => x.sourceKind)), new Set(['biased']));
  // ... and the report says so.
  const overview = sectionsFor(join(dir, 'root-py'), parseConfigText(yaml, { file: join(dir, 'pre.yaml') }), {
    examples: false,
  }).sections[0].paragraphs!.join(' ');
  assert.match(overview, /Control: none \(source\.pretrained\.control is not set\)/);
});

const pre = (file: string, extra = '') => `{ weights: ${file}, channels: 1, size: [28, 28], mean: [0.13], std: [0.31]${extra} }`;

test('a state dict with a missing tensor or the wrong shapes fails, naming the config key, the file and the tensor', async () => {
  writeSmallCnn(join(dir, 'ok.safetensors'), 3);
  const { tensors, metadata } = loadSafetensors(join(dir, 'ok.safetensors'));
  const key = [...tensors.keys()].find((k) => k.endsWith('running_var'))!;
  const partial = new Map(tensors);
  partial.delete(key);
  saveSafetensors(join(dir, 'missing.safetensors'), partial, metadata);
  disposeAll(tensors);
  await assert.rejects(
    run(config(pre('missing.safetensors')), join(dir, 'root-e1')),
    (e: Error) => e.message.includes('source.pretrained.weights') && e.message.includes('missing.safetensors') && e.message.includes(key),
  );
  // The config says width 1 but the file is width 0.5: every conv is named with expected vs actual shapes.
  await assert.rejects(run(config(pre('ok.safetensors'), { model: '{ arch: small-cnn }' }), join(dir, 'root-e2')), (e: Error) => {
    assert.match(e.message, /source\.pretrained\.weights/);
    assert.match(e.message, /ok\.safetensors/);
    assert.match(e.message, /\[\d+, 1, 3, 3\]/, e.message);
    return true;
  });
  // Wrong channel count: the backbone has 1 input channel, the config says 3.
  await assert.rejects(
    run(
      config(`{ weights: ok.safetensors, channels: 3, size: [28, 28], mean: [0.1, 0.1, 0.1], std: [0.3, 0.3, 0.3] }`),
      join(dir, 'root-e3'),
    ),
    (e: Error) => /source\.pretrained\.weights/.test(e.message) && /1, 3, 3\]/.test(e.message) && /3, 3, 3\]/.test(e.message),
  );
  // A control of another architecture is named as the control.
  writeFileSync(join(dir, 'bad-control.safetensors'), readFileSync(join(dir, 'missing.safetensors')));
  await assert.rejects(
    run(config(pre('ok.safetensors', ', control: bad-control.safetensors')), join(dir, 'root-e4')),
    /source\.pretrained\.control.*bad-control\.safetensors/s,
  );
});

test('checkpoints as they come: fp16 loads cast (and logged), a module. prefix and a .pt file get the fix in the error', async () => {
  writeSmallCnn(join(dir, 'ok.safetensors'), 3);
  const { tensors, metadata } = loadSafetensors(join(dir, 'ok.safetensors'));
  const half = new Map([...tensors].map(([k, t]) => [k, t.dtype === 'float32' ? t.to('float16') : t] as const));
  saveSafetensors(join(dir, 'half.safetensors'), half, metadata);
  saveSafetensors(join(dir, 'dp.safetensors'), new Map([...tensors].map(([k, t]) => [`module.${k}`, t] as const)));
  const floats = [...half.values()].filter((t) => t.dtype === 'float16').length;
  disposeAll([...new Set([...tensors.values(), ...half.values()])]);
  const loaded = parseConfigText(config(pre('half.safetensors')), { file: join(dir, 'pre.yaml') });
  const [w] = pretrainedWeights(loaded.config, dir);
  assert.equal(w.castNote, `cast ${floats} fp16 tensors to float32`);
  const lines: string[] = [];
  await runExperiment({ loaded, root: join(dir, 'root-half'), log: (l: string) => lines.push(l) });
  assert.equal(lines.filter((l) => l.includes(`cast ${floats} fp16 tensors to float32`)).length, 1, lines.join('\n'));

  await assert.rejects(run(config(pre('dp.safetensors')), join(dir, 'root-dp')), (e: Error) => {
    assert.match(e.message, /source\.pretrained\.weights: .*dp\.safetensors/);
    assert.match(e.message, /with model import --strip-prefix module\. \d+ of \d+ expected keys match \(0 without\)/);
    return true;
  });
  runPython(`import torch, sys\ntorch.save({'model': {'w': torch.zeros(2)}}, sys.argv[1])`, [join(dir, 'ckpt.pth')]);
  await assert.rejects(run(config(pre('ckpt.pth')), join(dir, 'root-pth')), (e: Error) => {
    assert.match(e.message, /source\.pretrained\.weights: .*ckpt\.pth.*PyTorch zip checkpoint/s);
    assert.match(e.message, /python3 -c .*weights_only=True.* '.*ckpt\.pth' '.*ckpt\.safetensors'/);
    return true;
  });
});

test('corrupt, truncated and absent weights files are errors naming the file and what was expected', async () => {
  const good = readFileSync(join(dir, 'ok.safetensors'));
  writeFileSync(join(dir, 'truncated.safetensors'), good.subarray(0, good.length - 100));
  writeFileSync(join(dir, 'corrupt.safetensors'), Buffer.from('this is not a safetensors file at all, just text'));
  for (const [file, what] of [
    ['truncated.safetensors', /truncated|past the end|bytes/i],
    ['corrupt.safetensors', /header|safetensors/i],
    ['absent.safetensors', /cannot read weights file/],
  ] as const)
    await assert.rejects(run(config(pre(file)), join(dir, `root-${file}`)), (e: Error) => {
      assert.match(e.message, new RegExp(`source\\.pretrained\\.weights.*${file.replace('.', '\\.')}`, 's'));
      assert.match(e.message, what);
      return true;
    });
  // The same files through model import name the file too.
  const r = await call(modelImportCommand, runModelImport, [
    join(dir, 'truncated.safetensors'),
    '--arch',
    'small-cnn',
    '--out',
    join(dir, 'x.safetensors'),
  ]);
  assert.notEqual(r.code, 0);
  assert.match(r.err, /truncated\.safetensors/);
});

test('bad target data through an experiment: an empty image folder, an empty class folder and images of mixed sizes name the folder or file', async () => {
  writeSmallCnn(join(dir, 'ok.safetensors'), 3);
  const png = (file: string, h: number, w: number) => {
    const p = new PNG({ width: w, height: h });
    p.data.fill(200);
    writeFileSync(file, PNG.sync.write(p));
  };
  const empty = join(dir, 'folder-empty');
  mkdirSync(join(empty, 'a'), { recursive: true });
  mkdirSync(join(empty, 'b'), { recursive: true });
  png(join(empty, 'a', '0.png'), 28, 28);
  await assert.rejects(
    run(config(pre('ok.safetensors'), { target: `{ name: folder, path: ${empty} }` }), join(dir, 'root-f1')),
    (e: Error) => e.message.includes(join(empty, 'b')) && /no \.png/.test(e.message),
  );
  const none = join(dir, 'folder-none');
  mkdirSync(none, { recursive: true });
  await assert.rejects(
    run(config(pre('ok.safetensors'), { target: `{ name: folder, path: ${none} }` }), join(dir, 'root-f0')),
    (e: Error) => e.message.includes(none) && /no class sub-folders found \(expected one folder per class/.test(e.message),
  );
  const mixed = join(dir, 'folder-mixed');
  mkdirSync(join(mixed, 'a'), { recursive: true });
  mkdirSync(join(mixed, 'b'), { recursive: true });
  png(join(mixed, 'a', '0.png'), 28, 28);
  png(join(mixed, 'b', '0.png'), 20, 24);
  // Without size or transform a pretrained backbone's Resize + CenterCrop brings mixed sizes to one
  // (docs/preprocessing.md); a transform that leaves them unequal (resize alone) is refused: 20×24 → 28×33.
  await assert.rejects(
    run(config(pre('ok.safetensors'), { target: `{ name: folder, path: ${mixed}, transform: { resize: 28 } }` }), join(dir, 'root-f2')),
    (e: Error) => e.message.includes(join(mixed, 'b', '0.png')) && /28×33 but earlier images are 28×28/.test(e.message),
  );
});

test('config checks: a pretrained source cannot carry an injected bias; mean/std must match the channel count', () => {
  assert.throws(
    () =>
      parseConfigText(
        config(pre('ok.safetensors')).replace(
          '  pretrained:',
          '  bias: { kind: backdoor, trigger: { kind: solid }, poison: { policy: clean-label, classes: [0], probability: 1 } }\n  pretrained:',
        ),
        { file: 'x.yaml' },
      ),
    /bias must be 'none'/,
  );
  assert.throws(
    () => parseConfigText(config('{ weights: w.safetensors, channels: 3, size: [28, 28], mean: [0.1], std: [0.3] }'), { file: 'x.yaml' }),
    /mean has 1 value\(s\) but channels is 3/,
  );
});
