/**
 * Test helpers for parity with PyTorch. The reference is Debian's python3-torch, run by
 * /usr/bin/python3 (the PATH's python3 may be another interpreter without torch).
 * Override with BIAS_TRANSFER_PYTHON.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { after } from 'node:test';
import { disposeAll, loadSafetensors, type Tensor } from '../../src/torch/index.js';

/** The interpreter that has Debian's torch. */
export const PYTHON = process.env.BIAS_TRANSFER_PYTHON ?? '/usr/bin/python3';

/**
 * Runs a Python script (source text) with the given argv, returns its stdout.
 * Throws with the script's stderr when it fails.
 */
export function runPython(
  code: string,
  args: readonly string[] = [],
  opts: { timeoutMs?: number; env?: Record<string, string> } = {},
): string {
  const r = spawnSync(PYTHON, ['-c', code, ...args], {
    encoding: 'utf-8',
    timeout: opts.timeoutMs ?? 300_000,
    maxBuffer: 1 << 28,
    env: { ...process.env, OMP_NUM_THREADS: process.env.OMP_NUM_THREADS ?? '2', ...opts.env },
  });
  if (r.error) throw r.error;
  if (r.status !== 0) throw new Error(`python failed (${r.status}):\n${r.stderr}`);
  return r.stdout;
}

/** Runs a Python script and parses the last line of its stdout as JSON. */
export function runPythonJson<T = unknown>(code: string, args: readonly string[] = []): T {
  const out = runPython(code, args).trim().split('\n');
  return JSON.parse(out[out.length - 1]) as T;
}

/**
 * Runs a Python script that saves tensors to the safetensors file given as its argument
 * (`st_save(sys.argv[1], ...)`), loads them, and disposes them when the test file ends.
 * `get(key)` fails the test with the key when the reference lacks it.
 */
export function pytorchReference(code: string, file: string): { tensors: Map<string, Tensor>; get: (key: string) => Tensor } {
  runPython(code, [file]);
  const tensors = loadSafetensors(file).tensors;
  after(() => disposeAll(tensors));
  return {
    tensors,
    get: (key) => {
      const t = tensors.get(key);
      assert.ok(t !== undefined, `reference lacks ${key}`);
      return t;
    },
  };
}
