/**
 * The experiment runner on the real pipeline with a tiny config: two processes started at once
 * on one results root split the runs (each run and each source model done once, no duplicated
 * metric rows, database intact), and a second invocation reuses everything.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { loadConfig } from '../../src/experiment/config/index.js';
import { expectedRunIds } from '../../src/experiment/runner.js';
import { runExperiment } from '../../src/plan/index.js';
import { openStore } from '../../src/store/index.js';

const root = mkdtempSync(join(tmpdir(), 'bt-runner-'));
after(() => rmSync(root, { recursive: true, force: true }));

function child(): Promise<{ code: number; out: string; err: string }> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, ['--import', 'tsx', 'test/experiment/fixtures/run-tiny.ts', root], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    p.stdout.on('data', (d) => (out += d));
    p.stderr.on('data', (d) => (err += d));
    p.on('close', (code) => resolve({ code: code ?? 1, out, err }));
  });
}

test('two processes on one root split the runs: every run and source model once, no duplicate metric rows', async () => {
  const [a, b] = await Promise.all([child(), child()]);
  assert.equal(a.code, 0, a.err);
  assert.equal(b.code, 0, b.err);
  const loaded = loadConfig('test/experiment/fixtures/tiny-experiment.yaml');
  const ids = expectedRunIds(loaded.config, loaded.dir);
  assert.equal(ids.length, 4, 'two sweep points x two seeds');
  // Both report every run (one ran it, the other waited for it or reused it).
  for (const r of [a, b]) assert.deepEqual(new Set(JSON.parse(r.out.trim().split('\n').pop()!).runs), new Set(ids));
  const store = openStore(root);
  try {
    assert.equal(store.integrityCheck(), 'ok');
    const runs = store.listRuns({ name: 'tiny' });
    assert.equal(runs.length, 4);
    for (const r of runs) assert.equal(r.status, 'done', `${r.id} is ${r.status}`);
    // Metric rows recorded once per run: (run, source, mode, condition, metric) unique.
    const rows = store.queryMetrics({ name: 'tiny' });
    const keys = rows.map((r) => [r.runId, r.sourceKind, r.transferMode, r.target, r.condition, r.metric].join('|'));
    assert.equal(new Set(keys).size, keys.length, 'duplicated metric rows');
    assert.ok(rows.some((r) => r.metric === 'asr'));
  } finally {
    store.close();
  }
  // Source models: per seed one clean control (shared by both points) and one biased per point.
  const cached = readdirSync(join(root, 'cache', 'models')).filter((d) => !d.startsWith('.'));
  assert.equal(cached.length, 2 * (1 + 2));
});

test('running the finished experiment again reuses every run without training', async () => {
  const loaded = loadConfig('test/experiment/fixtures/tiny-experiment.yaml');
  const logs: string[] = [];
  const out = await runExperiment({ loaded, root, log: (l) => logs.push(l) });
  assert.equal(out.runs.length, 4);
  assert.equal(logs.filter((l) => l.includes('already done')).length, 4);
  assert.ok(out.runs.every((r) => r.rows.length > 0));
});
