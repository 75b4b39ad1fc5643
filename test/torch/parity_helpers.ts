/**
 * Parity plumbing shared by test/torch/*parity*.test.ts: tensors go to PyTorch through a
 * safetensors file written by our `saveSafetensors`, the Python side (test/helpers/st_py.ts)
 * computes and writes its results the same way, and we load them back.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadSafetensors, saveSafetensors, type Tensor } from '../../src/torch/index.js';
import { runPython } from '../helpers/pytorch.js';
import { ST_PY } from '../helpers/st_py.js';

/**
 * Runs `body` in PyTorch (2 threads) with `T` = the given tensors (by name) and returns what the
 * body put in the dict `OUT`. The caller owns (and disposes) the returned tensors.
 */
export function inPyTorch(inputs: Record<string, Tensor>, body: string): Map<string, Tensor> {
  const dir = mkdtempSync(join(tmpdir(), 'bt-parity-'));
  try {
    const a = join(dir, 'in.safetensors');
    const b = join(dir, 'out.safetensors');
    saveSafetensors(a, inputs);
    const code = `${ST_PY}
import torch.nn.functional as F
torch.set_num_threads(2)
T, META = st_load(sys.argv[1])
OUT = {}
${body}
st_save(sys.argv[2], OUT)
`;
    runPython(code, [a, b]);
    return loadSafetensors(b).tensors;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Largest elementwise |a-b| / max(|b|, 1e-3 * max|b|, 1e-12). */
export function relErr(a: Tensor, b: Tensor): number {
  assert.deepEqual([...a.shape], [...b.shape], 'shapes differ');
  const x = a.toFloat32Array();
  const y = b.toFloat32Array();
  let scale = 0;
  for (const v of y) scale = Math.max(scale, Math.abs(v));
  const floor = Math.max(1e-3 * scale, 1e-12);
  let m = 0;
  for (let i = 0; i < x.length; i++) m = Math.max(m, Math.abs(x[i] - y[i]) / Math.max(Math.abs(y[i]), floor));
  return m;
}

/** Asserts `relErr(ours, theirs) <= tol`, naming what was compared. */
export function assertParity(ours: Tensor, theirs: Tensor | undefined, what: string, tol = 1e-4): void {
  assert.ok(theirs !== undefined, `${what}: PyTorch returned nothing`);
  const e = relErr(ours, theirs);
  assert.ok(e <= tol, `${what}: relative error ${e.toExponential(3)} > ${tol}`);
}
