/**
 * Weight files: save/load round trips (outputs identical, spec recorded and rebuilt), and clear
 * errors for a file of another architecture or class count, a truncated file, a wrong dtype and
 * a file without a spec.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { manualSeed, noGrad, randn, saveSafetensors, SafetensorsError, setNumThreads, tidy, zeros } from '../../src/torch/index.js';
import {
  createModel,
  loadModel,
  loadModelFromFile,
  readModelSpec,
  readWeightsMetadata,
  saveModel,
  StateDictError,
  type ModelSpec,
} from '../../src/nn/index.js';

setNumThreads(2);
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'nn-weights-'));
const tinySpec: ModelSpec = { arch: 'resnet-tiny', numClasses: 4, inChannels: 3, smallInput: true };

test('saveModel → loadModelFromFile rebuilds the same model with identical outputs and metadata', () => {
  manualSeed(11);
  const m = createModel(tinySpec);
  const file = path.join(dir, 'tiny.safetensors');
  saveModel(file, m, { note: 'hello' });
  assert.deepEqual(readModelSpec(file), tinySpec);
  assert.equal(readWeightsMetadata(file).note, 'hello');
  manualSeed(99);
  const back = loadModelFromFile(file);
  assert.deepEqual(back.spec, tinySpec);
  const x = randn([2, 3, 16, 16]);
  const [a, b] = tidy(() => noGrad(() => [m.eval().forward(x), back.eval().forward(x)]));
  assert.ok(a.allclose(b, { rtol: 0, atol: 0 }), 'outputs differ after a round trip');
  for (const t of [x, a, b]) t.dispose();
  m.dispose();
  back.dispose();
});

test('loading another architecture or class count names the keys, shapes and both specs', () => {
  const tiny = createModel(tinySpec);
  const file = path.join(dir, 'tiny2.safetensors');
  saveModel(file, tiny);
  const cnn = createModel({ arch: 'small-cnn', numClasses: 4, inChannels: 3 });
  assert.throws(
    () => loadModel(file, cnn),
    (e: unknown) =>
      e instanceof StateDictError &&
      e.message.startsWith(file) &&
      /"arch":"resnet-tiny"/.test(e.message) &&
      /"arch":"small-cnn"/.test(e.message) &&
      /missing keys: block1\.0\.weight/.test(e.message),
  );
  // Same backbone, 10 classes instead of 4: strict fails on the head, lenient loads the backbone.
  const ten = createModel({ ...tinySpec, numClasses: 10 });
  assert.throws(
    () => loadModel(file, ten),
    /fc\.weight expected float32\[10, 128\] but got float32\[4, 128\]; fc\.bias expected float32\[10\] but got float32\[4\]/,
  );
  const r = loadModel(file, ten, { strict: false });
  assert.deepEqual(
    r.mismatched.map((m) => m.key),
    ['fc.weight', 'fc.bias'],
  ); // in the model's key order
  assert.ok(ten.stateDict().get('layer4.0.conv2.weight')!.allclose(tiny.stateDict().get('layer4.0.conv2.weight')!, { rtol: 0, atol: 0 }));
  for (const m of [tiny, cnn, ten]) m.dispose();
});

test('a truncated file, a wrong dtype and a file without spec give errors naming the problem', () => {
  const m = createModel(tinySpec);
  const file = path.join(dir, 'full.safetensors');
  saveModel(file, m);
  const cut = path.join(dir, 'cut.safetensors');
  const bytes = fs.readFileSync(file);
  fs.writeFileSync(cut, bytes.subarray(0, bytes.length - 1000));
  assert.throws(
    () => loadModel(cut, m),
    (e: unknown) => e instanceof SafetensorsError && e.message.includes(cut) && /truncated/.test(e.message),
  );
  fs.writeFileSync(cut, bytes.subarray(0, 4));
  assert.throws(() => readModelSpec(cut), /truncated/);

  const sd = new Map(m.stateDict());
  const f64 = zeros([16], { dtype: 'float64' });
  sd.set('bn1.running_var', f64);
  const wrong = path.join(dir, 'f64.safetensors');
  saveSafetensors(wrong, sd);
  assert.throws(() => loadModel(wrong, m), /bn1\.running_var expected dtype float32 but got float64/);
  assert.throws(() => readModelSpec(wrong), /no 'model_spec' metadata/);
  const badSpec = path.join(dir, 'badspec.safetensors');
  saveSafetensors(badSpec, m.stateDict(), { model_spec: JSON.stringify({ ...tinySpec, depth: 3 }) });
  assert.throws(() => readModelSpec(badSpec), /invalid model spec/);
  f64.dispose();
  m.dispose();
});
