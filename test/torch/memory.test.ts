/**
 * Long training loops do not grow memory: 2,000 steps of a small CNN with the event loop yielding
 * between steps (as a real async trainer does) keep resident memory within 64 MB of its
 * post-warm-up value and the number of live tensors exactly flat.
 * The loop runs in a child process (test/torch/fixtures/memory_loop.ts) so its RSS is its own.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'node:test';

const LOOP = join(dirname(fileURLToPath(import.meta.url)), 'fixtures/memory_loop.ts');

interface LoopResult {
  steps: number;
  rss_warm_mb: number;
  rss_end_mb: number;
  live_warm: number;
  live_end: number;
  loss: number;
}

test('2,000 async training steps: RSS grows < 64 MB after warm-up and live tensors stay flat', () => {
  const env = { ...process.env };
  delete env.MALLOC_ARENA_MAX; // the addon's own allocator settings are what is under test
  const r = spawnSync(process.execPath, ['--import', 'tsx', LOOP, '2000'], { encoding: 'utf-8', env, timeout: 120_000 });
  assert.equal(r.status, 0, `memory loop failed: ${r.stderr}`);
  const res = JSON.parse(r.stdout.trim().split('\n').pop()!) as LoopResult;
  assert.equal(res.steps, 2000);
  assert.ok(Number.isFinite(res.loss), `training diverged: loss ${res.loss}`);
  assert.equal(res.live_end, res.live_warm, `live tensors went from ${res.live_warm} to ${res.live_end}`);
  const growth = res.rss_end_mb - res.rss_warm_mb;
  assert.ok(growth < 64, `RSS grew ${growth.toFixed(1)} MB (${res.rss_warm_mb.toFixed(1)} → ${res.rss_end_mb.toFixed(1)} MB)`);
});
