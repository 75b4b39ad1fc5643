/**
 * `reproduce` runs shipped configs by name, with `--quick` overrides per experiment: every name it
 * can run must be a file under experiments/, and every quick override must apply to that file's
 * config (a key that no longer exists is a config error, so a renamed key cannot silently rot).
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { MITIGATION_EXPERIMENTS, PAPER_EXPERIMENTS, QUICK_OVERRIDES, quickOverrides } from '../../src/cli/experiment.js';
import { expandSweep, loadConfig } from '../../src/experiment/config/index.js';
import { runExperiment } from '../../src/plan/index.js';

test('every experiment reproduce can run is a shipped config with quick overrides that load', () => {
  for (const name of [...PAPER_EXPERIMENTS, ...MITIGATION_EXPERIMENTS]) {
    const file = `experiments/${name}.yaml`;
    assert.ok(existsSync(file), `${file} missing`);
    assert.ok(QUICK_OVERRIDES[name], `no --quick overrides for ${name}`);
    const quick = loadConfig(file, { overrides: quickOverrides(name) }).config;
    assert.equal(quick.name, name);
    // The full size's description names its data and plateau; --quick's must not claim them.
    assert.match(quick.description, /^Quick size of the /);
    assert.doesNotMatch(quick.description, /plateau|\d,\d{3}/);
    assert.deepEqual(quick.seeds, [0], `${name}: --quick runs one seed`);
    assert.ok(expandSweep(quick).length <= 4, `${name}: --quick has at most 4 sweep points`);
  }
  assert.deepEqual(Object.keys(QUICK_OVERRIDES).sort(), [...PAPER_EXPERIMENTS, ...MITIGATION_EXPERIMENTS].sort());
});

test('reproduce --quick is a faithful miniature: its backdoor target reaches 90% clean accuracy in scratch and full fine-tuning', async () => {
  const overrides = QUICK_OVERRIDES.backdoor.map((o) =>
    // One sweep point is enough: target accuracy does not depend on the poison rate.
    o.startsWith('sweep=') ? 'sweep={"source.bias.poison.probability": [1.0]}' : o,
  );
  const loaded = loadConfig('experiments/backdoor.yaml', {
    overrides: [...overrides, 'transfer.modes=[full, scratch]', 'source.control=false'],
  });
  const root = mkdtempSync(join(tmpdir(), 'bt-quick-'));
  try {
    const out = await runExperiment({ loaded, root, log: () => {} });
    const acc = out.runs.flatMap((r) => r.rows).filter((r) => r.metric === 'accuracy' && r.condition === 'clean' && r.target === 'mnist');
    assert.deepEqual([...new Set(acc.map((r) => r.transferMode))].sort(), ['full', 'scratch']);
    for (const r of acc) assert.ok(r.value >= 0.9, `${r.transferMode}: clean accuracy ${(r.value * 100).toFixed(1)}% < 90%`);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
