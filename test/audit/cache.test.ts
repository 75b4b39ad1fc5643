/**
 * The reference cache through the command users run: a second scan of another backbone against
 * the same reference files reads their statistics from the cache (and gives the same report as
 * a scan without the cache); a reference file rewritten in place is scanned again; entries are
 * whole files (no temporaries left), and an unreadable entry is a miss, not an error.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { AuditReport } from '../../src/audit/audit.js';
import { ScanCache, scanCacheInputs, scanCacheKey } from '../../src/audit/cache.js';
import { resolveScanSettings } from '../../src/audit/scan.js';
import { runScan, scanCommand } from '../../src/cli/commands/scan.js';
import { loadDataset } from '../../src/data/index.js';
import { createModel, saveModel } from '../../src/nn/index.js';
import { liveTensors, manualSeed } from '../../src/torch/index.js';
import { call } from '../helpers/cli.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bt-scan-cache-'));
function weights(name: string, seed: number): string {
  manualSeed(seed);
  const m = createModel({ arch: 'small-cnn', numClasses: 3, inChannels: 1, layers: [4, 8] });
  const f = path.join(dir, `${name}.safetensors`);
  saveModel(f, m);
  m.dispose();
  return f;
}
const DATA = '{name: mnist, split: test, limit: 40}';
const FAST = ['--images', '12', '--steps', '4', '--class-steps', '3', '--quiet', '--json'];
const cacheDir = path.join(dir, 'cache');
const refs = [1, 2, 3].map((s) => weights(`ref${s}`, s));
const refArgs = refs.flatMap((r) => ['--reference', r]);
const entries = () => fs.readdirSync(cacheDir).sort();
/** The report without what legitimately differs between runs (timing, cache bookkeeping, files). */
const comparable = (r: AuditReport) => ({ ...r, seconds: 0, files: {}, cache: null, references: { ...r.references, cached: 0 } });

test('a second scan against the same references reads their statistics from the cache and reports the same as an uncached scan', async () => {
  const before = liveTensors();
  const a = weights('suspect-a', 10);
  const b = weights('suspect-b', 11);
  const scan = async (w: string, extra: string[]) => {
    const r = await call(scanCommand, runScan, [w, '--data', DATA, ...refArgs, ...FAST, '--out', path.join(dir, 'out'), ...extra]);
    assert.equal(r.code, 0, r.err);
    return JSON.parse(r.out) as AuditReport;
  };
  const first = await scan(a, ['--cache', cacheDir]);
  assert.equal(first.references.cached, 0);
  assert.equal(first.cache, cacheDir);
  assert.equal(entries().length, 3, `one entry per reference: ${entries().join(', ')}`);
  assert.ok(
    entries().every((e) => /^[0-9a-f]{32}\.json$/.test(e)),
    `no temporary files left: ${entries().join(', ')}`,
  );

  const second = await scan(b, ['--cache', cacheDir]);
  assert.equal(second.references.cached, 3);
  const uncached = await scan(b, ['--no-cache']);
  assert.equal(uncached.references.cached, 0);
  assert.equal(uncached.cache, null);
  assert.deepEqual(comparable(second), comparable(uncached));
  assert.equal(entries().length, 3);

  // A reference rewritten in place (same path, other weights) is a new entry and is scanned again.
  const kept = fs.readFileSync(refs[0]);
  try {
    fs.rmSync(refs[0]);
    manualSeed(99);
    const m = createModel({ arch: 'small-cnn', numClasses: 3, inChannels: 1, layers: [4, 8] });
    saveModel(refs[0], m);
    m.dispose();
    const third = await scan(b, ['--cache', cacheDir]);
    assert.equal(third.references.cached, 2);
    assert.equal(entries().length, 4);
    assert.notDeepEqual(
      third.references.headless.references[0],
      second.references.headless.references[0],
      'the rewritten reference was scanned, not read from its old entry',
    );
  } finally {
    fs.writeFileSync(refs[0], kept);
  }
  assert.equal(liveTensors(), before);
});

test('the cache key changes with the data, every setting and the weights; an unreadable entry is a miss', () => {
  const data = loadDataset({ name: 'mnist', split: 'test', limit: 12 });
  const other = loadDataset({ name: 'mnist', split: 'test', limit: 13 });
  const norm = { mean: [0.13], std: [0.3] };
  const base = scanCacheInputs(refs[1], data, norm, resolveScanSettings({}), 'code');
  const keys = new Set([
    scanCacheKey(base),
    scanCacheKey(scanCacheInputs(refs[2], data, norm, resolveScanSettings({}), 'code')),
    scanCacheKey(scanCacheInputs(refs[1], other, norm, resolveScanSettings({}), 'code')),
    scanCacheKey(scanCacheInputs(refs[1], data, { mean: [0.1], std: [0.3] }, resolveScanSettings({}), 'code')),
    scanCacheKey(scanCacheInputs(refs[1], data, norm, resolveScanSettings({ classSteps: 101 }), 'code')),
    scanCacheKey(scanCacheInputs(refs[1], data, norm, resolveScanSettings({ seed: 1 }), 'code')),
    scanCacheKey(scanCacheInputs(refs[1], data, norm, resolveScanSettings({ perClass: false }), 'code')),
  ]);
  assert.equal(keys.size, 7);
  // Defaults spelled out are the same key as defaults left out.
  assert.equal(
    scanCacheKey(scanCacheInputs(refs[1], data, norm, resolveScanSettings({ classSteps: 100, seed: 0 }), 'code')),
    scanCacheKey(base),
  );

  const c = new ScanCache(path.join(dir, 'cache-unit'));
  assert.equal(c.get(base), null);
  const stats = { headless: [], classes: [{ cls: 0, name: '0', maskFraction: 0.1, success: 1, reached: true }] };
  const f = c.put(base, stats, 3, refs[1]);
  assert.deepEqual(c.get(base), { statistics: stats, numClasses: 3 });
  fs.writeFileSync(f, '{"key": "trunc');
  assert.equal(c.get(base), null);
});
