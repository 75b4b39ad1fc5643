/**
 * Stored results are reused only for the same code version: the version is a hash of the code
 * that computes the numbers (report-only edits do not change it), results of other code rerun,
 * and `acceptStale` reuses them with the report saying so. On the real runner, tiny config.
 */
import assert from 'node:assert/strict';
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { codeVersion, numericCodeFiles } from '../../src/store/code-version.js';
import { loadConfig, stableHash } from '../../src/experiment/config/index.js';
import { sectionsFor } from '../../src/publish/publish.js';
import { codeHash, runIdFor } from '../../src/experiment/runner.js';
import { runExperiment } from '../../src/plan/index.js';
import { runIdPrefix } from '../../src/experiment/run-ids.js';
import { openStore } from '../../src/store/index.js';

const tmp = mkdtempSync(join(tmpdir(), 'bt-reuse-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

function project(name: string, files: Record<string, string>): string {
  const root = join(tmp, name);
  for (const [rel, text] of Object.entries(files)) {
    mkdirSync(join(root, rel, '..'), { recursive: true });
    writeFileSync(join(root, rel), text);
  }
  return root;
}

test('the code version changes with numeric code and dependencies, not with report, CLI or store edits', () => {
  const base = {
    'src/nn/layer.ts': 'export const w = 1;',
    'src/experiment/prepare.ts': 'export const p = 1;',
    'src/publish/report.ts': 'export const r = 1;',
    'src/publish/report-sweeps.ts': 'export const r = 1;',
    'src/store/db.ts': 'export const d = 1;',
    'src/cli/main.ts': 'export const c = 1;',
    'native/src/addon.cc': 'int x;',
    'package-lock.json': JSON.stringify({ packages: { 'node_modules/pngjs': { version: '7.0.0', integrity: 'sha512-a' } } }),
  };
  const a = codeVersion(project('a', base));
  assert.deepEqual(numericCodeFiles(join(tmp, 'a')), ['native/src/addon.cc', 'src/experiment/prepare.ts', 'src/nn/layer.ts']);
  const presentation = codeVersion(
    project('b', {
      ...base,
      'src/publish/report.ts': 'export const r = 2;',
      'src/publish/report-sweeps.ts': 'export const r = 2;',
      'src/store/db.ts': 'export const d = 2;',
      'src/cli/main.ts': 'export const c = 2;',
      'src/serve/new.ts': 'x',
    }),
  );
  assert.equal(presentation, a, 'report/CLI/store edits must not change the code version');
  assert.notEqual(codeVersion(project('c', { ...base, 'src/nn/layer.ts': 'export const w = 2;' })), a, 'a model edit');
  assert.notEqual(codeVersion(project('d', { ...base, 'native/src/addon.cc': 'int y;' })), a, 'an addon edit');
  const lock = JSON.stringify({ packages: { 'node_modules/pngjs': { version: '7.0.1', integrity: 'sha512-b' } } });
  assert.notEqual(codeVersion(project('e', { ...base, 'package-lock.json': lock })), a, 'a numeric dependency update');
  // A copy of this project has this project's version (the hash is of content, not of place or git).
  const copy = join(tmp, 'copy');
  for (const d of ['src', 'native/src']) cpSync(d, join(copy, d), { recursive: true });
  cpSync('package-lock.json', join(copy, 'package-lock.json'));
  assert.equal(codeVersion(copy), codeVersion());
});

test('results of other code rerun; with acceptStale they are reused and the report says they are stale', async () => {
  const root = join(tmp, 'runs');
  const loaded = loadConfig('test/experiment/fixtures/tiny-experiment.yaml', { overrides: ['seeds=[0]', 'sweep={}'] });
  const other = 'feedc0de12345678';
  const logs: string[] = [];
  const log = (l: string) => logs.push(l);
  const old = await runExperiment({ loaded, root, log, codeVersion: other });
  assert.equal(old.runs[0].runId, runIdFor(loaded.config, 'default', 0, loaded.dir, other));
  assert.match(old.runs[0].runId, /-cfeedc0de1234$/);

  // The report of the current code shows none of it, and says why.
  const before = sectionsFor(root, loaded, { examples: false });
  assert.equal(before.rows.length, 0);
  assert.match(before.sections[0].paragraphs!.join(' '), /1 of 1 runs exist only from other code .* --accept-stale/);

  // Accepted: reused without training, marked stale, and the report says which code made it.
  logs.length = 0;
  const accepted = await runExperiment({ loaded, root, log, acceptStale: true });
  assert.equal(accepted.runs[0].runId, old.runs[0].runId);
  assert.equal(accepted.runs[0].stale, true);
  assert.ok(accepted.runs[0].rows.length > 0);
  assert.ok(logs.some((l) => l.includes('made by other code (--accept-stale)')));
  assert.ok(!logs.some((l) => /source (biased|clean): \d+ images/.test(l)), 'nothing was trained');
  const staleReport = sectionsFor(root, loaded, { examples: false, acceptStale: true });
  assert.ok(staleReport.rows.length > 0);
  assert.match(
    staleReport.sections[0].paragraphs!.join(' '),
    /Stale results: 1 of 1 runs were made by other code \(code version feedc0de1234/,
  );

  // Not accepted: rerun under this code's version, then that run is the one reused.
  logs.length = 0;
  const rerun = await runExperiment({ loaded, root, log });
  assert.equal(rerun.runs[0].runId, runIdFor(loaded.config, 'default', 0, loaded.dir, codeHash()));
  assert.equal(rerun.runs[0].stale, undefined);
  assert.ok(
    logs.some((l) => /source (biased|clean): \d+ images/.test(l)),
    'the run trained again',
  );
  const again = await runExperiment({ loaded, root, log, acceptStale: true });
  assert.equal(again.runs[0].runId, rerun.runs[0].runId, 'the current run wins over a stale one');
  const fresh = sectionsFor(root, loaded, { examples: false, acceptStale: true });
  assert.ok(!/Stale results|other code/.test(fresh.sections[0].paragraphs!.join(' ')));
  const store = openStore(root);
  try {
    assert.deepEqual(
      store.listRuns({ name: 'tiny' }).map((r) => r.status),
      ['done', 'done'],
    );
  } finally {
    store.close();
  }
});

/** Stores a finished run with one accuracy row under `id`, as older code would have. */
function storeOldRun(root: string, id: string, config: ReturnType<typeof loadConfig>['config']): void {
  const store = openStore(root);
  try {
    store.createRun({ id, name: 'tiny', config, seed: 3, sweepId: 'default' });
    store.recordMetrics(id, [
      { condition: 'clean', transferMode: 'fixed', sourceKind: 'biased', target: 'digits', metric: 'accuracy', value: 0.9 },
    ]);
    store.setStatus(id, 'done');
  } finally {
    store.close();
  }
}

// Ids before inputs counted: `<name>-seed<s>-<stableHash(config)8>[-c<code12>]` (no -c part before code versions).
for (const [what, suffix, note] of [
  ['code versions were part of run ids', '', /code version unrecorded/],
  ["the inputs' content was part of run ids", '-c0123456789ab', /0123456789ab/],
] as const)
  test(`a run from before ${what} counts as stale`, () => {
    const root = join(tmp, `legacy${suffix}`);
    const loaded = loadConfig('test/experiment/fixtures/tiny-experiment.yaml', { overrides: ['seeds=[3]', 'sweep={}'] });
    const old = `tiny-seed3-${stableHash({ ...loaded.config, seeds: [3] }).slice(0, 8)}${suffix}`;
    assert.ok(!runIdPrefix(loaded.config, 'default', 3, loaded.dir).startsWith(old), 'the current prefix differs from the old one');
    storeOldRun(root, old, loaded.config);
    assert.equal(sectionsFor(root, loaded, { examples: false }).rows.length, 0);
    const shown = sectionsFor(root, loaded, { examples: false, acceptStale: true });
    assert.deepEqual(
      shown.rows.map((r) => [r.runId, r.metric]),
      [[old, 'accuracy']],
    );
    assert.match(shown.sections[0].paragraphs!.join(' '), note);
  });
