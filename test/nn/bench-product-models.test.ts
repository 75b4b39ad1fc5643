/**
 * bench/product.py races PyTorch models written to be the zoo's (src/nn): same state-dict keys,
 * shapes and order for every architecture bench/product.ts times, and loading our weights there
 * gives our evaluation logits. Otherwise the benchmark would compare different networks.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PRODUCT_ARCHS } from '../../bench/product.js';
import { createModel, saveModel, type ModelSpec } from '../../src/nn/index.js';
import { inferenceMode, loadSafetensors, manualSeed, randn, saveSafetensors, setNumThreads } from '../../src/torch/index.js';
import { runPython } from '../helpers/pytorch.js';
import { ST_PY } from '../helpers/st_py.js';
import { assertClose } from '../helpers/tensors.js';

setNumThreads(2);
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bench-product-'));
const BENCH = path.resolve('bench');

const PY = `${ST_PY}
import sys, json, torch
sys.path.insert(0, ${JSON.stringify(BENCH)})
import product
arch, d = sys.argv[1], sys.argv[2]
m = product.make_model(arch)
sd, _ = st_load(d + '/ours.safetensors')
m.load_state_dict(sd, strict=True)
m.eval()
x = st_load(d + '/x.safetensors')[0]['x']
with torch.inference_mode():
    st_save(d + '/logits.safetensors', {'logits': m(x).clone()})
print(json.dumps([[k, list(v.shape)] for k, v in m.state_dict().items()]))
`;

for (const arch of Object.keys(PRODUCT_ARCHS)) {
  test(`bench/product.py's ${arch} is src/nn's: same state-dict keys and shapes, same eval logits`, () => {
    manualSeed(1);
    const model = createModel({ ...PRODUCT_ARCHS[arch], numClasses: 10, inChannels: 1 } as ModelSpec);
    const x = randn([3, 1, 28, 28]);
    try {
      saveModel(path.join(dir, 'ours.safetensors'), model);
      const ours = [...model.stateDict()].map(([k, v]) => [k, v.shape]);
      saveSafetensors(path.join(dir, 'x.safetensors'), new Map([['x', x]]));
      const out = runPython(PY, [arch, dir]).trim().split('\n');
      const theirs = JSON.parse(out[out.length - 1]) as [string, number[]][];
      assert.deepEqual(theirs, ours);
      const ref = loadSafetensors(path.join(dir, 'logits.safetensors')).tensors.get('logits')!;
      const logits = inferenceMode(() => model.eval().forward(x));
      assertClose(logits.toFloat32Array(), ref.toFloat32Array(), 1e-4, `${arch} eval logits`);
      logits.dispose();
      ref.dispose();
    } finally {
      x.dispose();
      model.dispose();
    }
  });
}
