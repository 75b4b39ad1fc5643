/**
 * The plan and the executor boundary, on the real pipeline with the tiny config:
 * - `plan` makes every run id and job spec once: two sweep points that share their source models
 *   share the source jobs; each transfer job needs its variant's source job; every spec is plain
 *   data (a JSON round trip keeps it and its id); run ids are the runner's;
 * - `runExperiment` goes through the executor it is given and nothing else: the jobs it hands over
 *   are exactly the plan's jobs of each run, in the plan's order, and the rows equal those of the
 *   default in-process executor;
 * - planned again after the run, every run is done and there is nothing to do.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { loadConfig } from '../../src/experiment/config/index.js';
import { inputsHash } from '../../src/experiment/inputs.js';
import { expectedRunIds } from '../../src/experiment/run-ids.js';
import { inProcessExecutor, jobIdOf, plan, runExperiment, type Executor, type SourceJobSpec } from '../../src/plan/index.js';

const CONFIG = 'test/experiment/fixtures/tiny-experiment.yaml';
// Two sweep points that share their source models (only the target learning rate differs), one seed.
const SETS = ['seeds=[0]', 'sweep={"targetTraining.optimizer.lr": [0.05, 0.1]}'];
const tmp = mkdtempSync(join(tmpdir(), 'bt-plan-'));
after(() => rmSync(tmp, { recursive: true, force: true }));
const loaded = () => loadConfig(CONFIG, { overrides: SETS });

test('plan: run ids and job specs made once; shared source jobs; transfers need their source; specs are plain data', () => {
  const l = loaded();
  const p = plan({ loaded: l, root: join(tmp, 'empty') });
  assert.deepEqual(
    p.runs.map((r) => r.id),
    expectedRunIds(l.config, l.dir),
    "the runner's run ids",
  );
  assert.ok(p.runs.every((r) => r.status === 'todo'));
  for (const r of p.runs) assert.equal(r.inputs, inputsHash(r.config, l.dir));
  const sources = p.jobs.filter((j) => j.spec.kind === 'source');
  assert.deepEqual(sources.map((j) => (j.spec as SourceJobSpec).variantKind).sort(), ['biased', 'clean']);
  for (const s of sources) assert.deepEqual(s.runs.sort(), p.runs.map((r) => r.id).sort(), 'one source job serves both sweep points');
  // Per run: 2 sources, then scratch and fixed from each source (3 transfers).
  for (const r of p.runs) assert.equal(r.jobs.length, 5, r.jobs.join(', '));
  assert.equal(p.jobs.length, 2 + 2 * 3);
  const ids = new Set(p.jobs.map((j) => j.id));
  assert.equal(ids.size, p.jobs.length, 'job ids are unique');
  for (const j of p.jobs) {
    const spec = j.spec;
    if (spec.kind === 'transfer') {
      if (spec.sourceKind === null) assert.deepEqual(j.needs, []);
      else {
        assert.equal(j.needs.length, 1);
        const src = p.jobs.find((x) => x.id === j.needs[0])!.spec as SourceJobSpec;
        assert.equal(src.variantKind, spec.sourceKind);
        assert.equal(src.key, spec.sourceKey);
      }
    }
    const copy = JSON.parse(JSON.stringify(spec)) as typeof spec;
    assert.deepEqual(copy, spec, `${spec.label}: survives JSON`);
    assert.equal(jobIdOf(copy), j.id, `${spec.label}: its id from the copy`);
  }
  // Sources first, so an executor doing them in order never waits for one.
  const firstTransfer = p.jobs.findIndex((j) => j.spec.kind === 'transfer');
  assert.ok(p.jobs.slice(firstTransfer).every((j) => j.spec.kind === 'transfer'));
});

test('runExperiment hands the plan’s jobs of each run to its executor, in order; rows equal the default executor’s; a finished plan is empty', async () => {
  const seen: string[][] = [];
  const inner = inProcessExecutor();
  const recording: Executor = {
    execute: (jobs, ctx) => {
      seen.push(jobs.map((j) => j.id));
      assert.ok(ctx.runDir.includes(ctx.run.id));
      return inner.execute(jobs, ctx);
    },
  };
  const rootA = join(tmp, 'a');
  const expected = plan({ loaded: loaded(), root: rootA });
  const a = await runExperiment({ loaded: loaded(), root: rootA, log: () => {}, executor: recording });
  assert.deepEqual(
    seen,
    expected.runs.map((r) => r.jobs),
    "each run's jobs, as planned",
  );
  const b = await runExperiment({ loaded: loaded(), root: join(tmp, 'b'), log: () => {} });
  const rowsOf = (o: typeof a) => o.runs.map((r) => ({ sweepId: r.sweepId, rows: r.rows }));
  assert.deepEqual(rowsOf(a), rowsOf(b));
  const again = plan({ loaded: loaded(), root: rootA });
  assert.ok(
    again.runs.every((r) => r.status === 'done' && r.jobs.length === 0),
    JSON.stringify(again.runs.map((r) => r.status)),
  );
  assert.equal(again.jobs.length, 0);
});
