/**
 * A run writes the facts its report needs (class names, image counts, probe names, example
 * pictures) into the store, and the report takes them from there: a report from the facts equals
 * the report on the same runs with the facts removed (older runs: the facts are recomputed from
 * the data, as reports did before), and an edited fact shows up in the report (it is not reloaded
 * from the data). On the real runner, tiny config.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { loadConfig } from '../../src/experiment/config/index.js';
import { runExperiment } from '../../src/plan/index.js';
import { sectionsFor } from '../../src/publish/publish.js';
import { readRunFacts, runPaths } from '../../src/store/index.js';

const tmp = mkdtempSync(join(tmpdir(), 'bt-facts-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

test('every run writes its facts; the report reads them, and falls back to recomputing them for runs without', async () => {
  const root = join(tmp, 'root');
  // Two sweep points (poison probability 0.5 and the base config's 1.0), one seed.
  const loaded = loadConfig('test/experiment/fixtures/tiny-experiment.yaml', { overrides: ['seeds=[0]'] });
  const out = await runExperiment({ loaded, root, log: () => {} });
  assert.equal(out.runs.length, 2);
  for (const r of out.runs) {
    const got = readRunFacts(runPaths(root, r.runId).dir);
    assert.ok(got !== null, `${r.runId} wrote no facts`);
    const { facts, images } = got;
    assert.equal(facts.seed, 0);
    assert.equal(facts.source.images, 300);
    assert.equal(facts.source.classes.length, 3);
    assert.deepEqual(
      facts.targets.map((t) => [t.name, t.classes.length, t.trainImages, t.testImages]),
      [['digits', 2, 200, 100]],
    );
    assert.equal(facts.sourceTest?.split, 'test', 'the source accuracy is measured on the test split');
    assert.deepEqual(
      facts.examples.map((e) => e.file),
      ['facts/example-source.png', 'facts/example-target.png'],
    );
    for (const e of facts.examples) assert.deepEqual([...images.get(e.file)!.subarray(1, 4)], [0x50, 0x4e, 0x47], `${e.file} is a PNG`);
  }

  const fromFacts = sectionsFor(root, loaded);
  assert.match(fromFacts.setup, /300 images\).*200 training and 100 test images.*\(sizes above are the base config's\)/);
  assert.ok(
    fromFacts.sections.some((s) => (s.images?.length ?? 0) > 0),
    'the example pictures are in the report',
  );

  // The report shows the facts of the base config's run (probability 1.0): an edited count shows up.
  const base = out.runs.find((r) => r.sweepId === 'probability=1');
  assert.ok(base, `no run of the base point among ${out.runs.map((r) => r.sweepId).join(', ')}`);
  const file = join(runPaths(root, base.runId).dir, 'facts.json');
  const text = readFileSync(file, 'utf8');
  writeFileSync(file, text.replace('"images": 300', '"images": 12345'));
  assert.match(sectionsFor(root, loaded, { examples: false }).setup, /12,345 images/);

  // Without facts (runs of older code), the report is computed from the data: the same report.
  for (const r of out.runs) unlinkSync(join(runPaths(root, r.runId).dir, 'facts.json'));
  const recomputed = sectionsFor(root, loaded);
  assert.equal(recomputed.setup, fromFacts.setup);
  assert.deepEqual(recomputed.data, fromFacts.data);
  assert.deepEqual(recomputed.sections, fromFacts.sections);
});
