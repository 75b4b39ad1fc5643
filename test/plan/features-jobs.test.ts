/**
 * Features jobs in the plan (src/plan/spec.ts `FeaturesJobSpec`): cached backbone features are a
 * job kind of their own, planned exactly where a fixed-mode head trains on them.
 * - with `transfer.bnTrainInFixed: false` and no augmentation, one features job per (source
 *   variant, target), needed by the fixed-mode transfers of that source and target (and by
 *   nothing else), shared by the sweep points whose heads differ only in their training;
 * - none with the paper-like default (`bnTrainInFixed: true`), with augmentation, or for
 *   scratch / full / partial transfers: the plan of such a config is the plan it was before
 *   features jobs existed (sources and transfers only, no `features` on any transfer spec);
 * - run in this process, each feature set is computed once (by its features job) and every head
 *   that needs it reads it from the cache.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { loadConfig } from '../../src/experiment/config/index.js';
import {
  featuresJobId,
  jobIdOf,
  plan,
  runExperiment,
  type FeaturesJobSpec,
  type Plan,
  type SourceJobSpec,
  type TransferJobSpec,
} from '../../src/plan/index.js';

const CONFIG = 'test/experiment/fixtures/tiny-experiment.yaml';
// One seed, two sweep points that differ only in the heads' learning rate (so they share sources and features).
const BASE = ['seeds=[0]', 'sweep={"targetTraining.optimizer.lr": [0.05, 0.1]}'];
const FROZEN = [...BASE, 'transfer.bnTrainInFixed=false'];
const tmp = mkdtempSync(join(tmpdir(), 'bt-features-jobs-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

const planOf = (sets: string[]): Plan => plan({ loaded: loadConfig(CONFIG, { overrides: sets }), root: join(tmp, 'empty') });
const kinds = (p: Plan): string[] => p.jobs.map((j) => j.spec.kind);

test('frozen BatchNorm, no augmentation: one features job per (source, target), shared by the sweep points; fixed transfers need it', () => {
  const p = planOf(FROZEN);
  const features = p.jobs.filter((j) => j.spec.kind === 'features');
  assert.equal(features.length, 2, 'biased and clean source, one target');
  assert.deepEqual(kinds(p), ['source', 'source', 'features', 'features', ...Array<string>(6).fill('transfer')]);
  for (const f of features) {
    const spec = f.spec as FeaturesJobSpec;
    assert.equal(f.id, featuresJobId(spec.keys));
    assert.deepEqual(f.runs.sort(), p.runs.map((r) => r.id).sort(), `${spec.label}: one job for both sweep points`);
    const src = p.jobs.find((j) => j.id === f.needs[0])!;
    assert.deepEqual(f.needs, [src.id], `${spec.label}: needs its source job only`);
    assert.equal((src.spec as SourceJobSpec).variantKind, spec.sourceKind);
    assert.equal(spec.sourceKey, (src.spec as SourceJobSpec).key);
    assert.equal(spec.weights, spec.sourceKey, 'a trained source: its cache key names the weights');
    assert.deepEqual(Object.keys(spec.keys.conditions), ['clean', 'triggered']);
    assert.equal(new Set([spec.keys.train, ...Object.values(spec.keys.conditions)]).size, 3, 'a key per dataset');
    const copy = JSON.parse(JSON.stringify(spec)) as FeaturesJobSpec;
    assert.equal(jobIdOf(copy), f.id, 'survives JSON');
  }
  assert.notDeepEqual((features[0].spec as FeaturesJobSpec).keys, (features[1].spec as FeaturesJobSpec).keys, 'other source, other keys');
  for (const j of p.jobs.filter((x) => x.spec.kind === 'transfer')) {
    const s = j.spec as TransferJobSpec;
    if (s.mode === 'fixed') {
      const f = features.find((x) => (x.spec as FeaturesJobSpec).sourceKind === s.sourceKind)!;
      assert.deepEqual(j.needs, [f.needs[0], f.id], `${s.label}: needs its source and its features`);
      assert.deepEqual(s.features, (f.spec as FeaturesJobSpec).keys);
    } else {
      assert.equal(s.features, undefined, `${s.label}: scratch trains no head on features`);
      assert.deepEqual(j.needs, []);
    }
  }
  // In a run's own order, each features job comes just before the first transfer that needs it.
  for (const r of p.runs) {
    const order = r.jobs.map((id) => p.jobs.find((j) => j.id === id)!.spec);
    assert.deepEqual(
      order.map((s) => (s.kind === 'transfer' ? `${s.sourceKind ?? 'scratch'}/${s.mode}` : `${s.kind}`)),
      ['source', 'source', 'scratch/scratch', 'features', 'biased/fixed', 'features', 'clean/fixed'],
    );
  }
});

test('no features jobs with BatchNorm adapting (the default), augmentation, or without fixed mode; the plan is sources and transfers only', () => {
  const cases: [string, string[]][] = [
    ['bnTrainInFixed true (default)', BASE],
    ['hflip', [...FROZEN, 'targetTraining.augment.hflip=true']],
    ['crop padding', [...FROZEN, 'targetTraining.augment.cropPadding=2']],
    ['scratch and full only', [...FROZEN, 'transfer.modes=[scratch, full]']],
  ];
  for (const [name, sets] of cases) {
    const p = planOf(sets);
    assert.ok(
      p.jobs.every((j) => j.spec.kind !== 'features'),
      `${name}: ${kinds(p).join(', ')}`,
    );
    for (const j of p.jobs) if (j.spec.kind === 'transfer') assert.ok(!('features' in j.spec), `${name}: ${j.spec.label} has no features`);
    for (const r of p.runs)
      assert.ok(
        r.jobs.every((id) => !id.startsWith('features-')),
        name,
      );
  }
  // The default plan: exactly 2 sources, and per sweep point scratch + fixed per source (the jobs of before).
  assert.deepEqual(kinds(planOf(BASE)), ['source', 'source', ...Array<string>(6).fill('transfer')]);
});

test('run in this process: each feature set computed once by its features job, then read by every head that needs it', async () => {
  const root = join(tmp, 'run');
  const lines: string[] = [];
  const out = await runExperiment({ loaded: loadConfig(CONFIG, { overrides: FROZEN }), root, log: (l) => lines.push(l) });
  assert.equal(out.runs.length, 2);
  const computed = lines.filter((l) => /features [0-9a-f]{32}: \d+ images x \d+ computed and cached/.test(l));
  assert.equal(
    computed.length,
    2 * 3,
    `2 sources x (train, clean, triggered), once although two heads each need them:\n${computed.join('\n')}`,
  );
  const p = planOf(FROZEN);
  const keys = p.jobs.flatMap((j) => (j.spec.kind === 'features' ? [j.spec.keys.train, ...Object.values(j.spec.keys.conditions)] : []));
  const cached = readdirSync(join(root, 'cache', 'models'));
  for (const k of keys) assert.ok(cached.includes(k), `features ${k} in the model cache under the planned key`);
  for (const r of out.runs) {
    assert.equal(r.jobs.length, 3, 'scratch and two fixed transfers: features jobs give no result rows');
    assert.ok(r.rows.some((m) => m.transferMode === 'fixed' && m.metric === 'accuracy'));
  }
});
