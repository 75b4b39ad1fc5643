/**
 * The biased source and its clean control start from the same initial weights (paired), on the
 * real runner with the tiny config; different seeds start from different weights.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { loadConfig } from '../../src/experiment/config/index.js';
import { runExperiment } from '../../src/plan/index.js';

const root = mkdtempSync(join(tmpdir(), 'bt-paired-'));
after(() => rmSync(root, { recursive: true, force: true }));

test('biased source and control of a seed share their initial weights; seeds differ; the trained weights differ', async () => {
  const loaded = loadConfig('test/experiment/fixtures/tiny-experiment.yaml', {
    overrides: ['sweep={}', 'transfer.modes=[fixed]'],
  });
  const out = await runExperiment({ loaded, root, log: () => {} });
  const bySeed = new Map(out.runs.map((r) => [r.seed, r.sources]));
  assert.deepEqual([...bySeed.keys()].sort(), [0, 1]);
  for (const [seed, sources] of bySeed) {
    assert.equal(sources.length, 2, `seed ${seed}: a biased source and its control`);
    const [a, b] = sources;
    assert.ok(a.initHash && b.initHash, 'init hashes recorded');
    assert.equal(a.initHash, b.initHash, `seed ${seed}: biased and control start from the same weights`);
    assert.notEqual(a.key, b.key, 'two different models');
  }
  assert.notEqual(bySeed.get(0)![0].initHash, bySeed.get(1)![0].initHash, 'each seed has its own initial weights');
});
