/**
 * `bias-transfer … | head` is normal use: when the reader closes the pipe before the command is
 * done writing, the real CLI (bin/bias-transfer.js, a separate process) exits quietly with
 * status 0, with no EPIPE stack trace on stderr.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { createModel, saveModel } from '../../src/nn/index.js';

const BIN = path.resolve(import.meta.dirname, '../../bin/bias-transfer.js');

function runClosingEarly(args: string[]): Promise<{ code: number | null; signal: string | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    // The reader goes away before the first line arrives, as `| head -0` would.
    child.stdout.destroy();
    let stderr = '';
    child.stderr.setEncoding('utf-8').on('data', (d: string) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stderr }));
  });
}

test('model inspect into a reader that closes early exits 0 without a stack trace', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bt-epipe-'));
  const file = path.join(dir, 'w.safetensors');
  const m = createModel({ arch: 'resnet-tiny', numClasses: 3, inChannels: 1 });
  saveModel(file, m);
  m.dispose();
  const r = await runClosingEarly(['model-inspect', file]);
  assert.equal(r.signal, null);
  assert.equal(r.code, 0, `exit status ${r.code}; stderr:\n${r.stderr}`);
  assert.doesNotMatch(r.stderr, /EPIPE|Error|at /, r.stderr);
  // --help writes too: same rule.
  const h = await runClosingEarly(['--help']);
  assert.equal(h.code, 0, h.stderr);
  assert.equal(h.stderr, '');
  fs.rmSync(dir, { recursive: true, force: true });
});
