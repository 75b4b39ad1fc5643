/**
 * Features jobs on the queue (real Redis, real worker processes with their own scratch folders):
 * a frozen-BatchNorm sweep (`transfer.bnTrainInFixed: false`, whose fixed-mode heads train on
 * cached features) done by two workers gives the numbers of the in-process run bit for bit —
 * metric rows, per-sample predictions, job results, source weights — with each features job done
 * once for both sweep points, and the features reaching the worker of each fixed-mode head
 * through the artefact store. Then a fresh worker that never ran a features job takes a new sweep
 * point sharing them: it fetches every feature set from the artefact store (its cache entries
 * name the features job they came from) and its numbers equal the in-process run's.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { Redis } from 'ioredis';
import { loadConfig } from '../../src/experiment/config/index.js';
import { codeHash } from '../../src/experiment/runner.js';
import { featuresJobId, plan, runExperiment, type FeaturesJobSpec } from '../../src/plan/index.js';
import { featuresArtefactKey } from '../../src/queue/artefacts.js';
import { queueExecutor } from '../../src/queue/executor.js';
import { PASSWORD_ENV, redisOptions } from '../../src/queue/names.js';
import { startRedisServer, type RedisServer } from '../../src/queue/redis-server.js';
import { numbersOf, startWorkerProcess, stopWorkers } from './helpers.js';

const CONFIG = 'test/experiment/fixtures/tiny-experiment.yaml';
// Two sweep points that share their sources and features (only the heads' learning rate differs), one seed, BatchNorm frozen.
const SETS = ['seeds=[0]', 'sweep={"targetTraining.optimizer.lr": [0.05, 0.1]}', 'transfer.bnTrainInFixed=false', 'model.arch=resnet-tiny'];
const PASSWORD = 'f-Secret-77ac';
const ENV = { [PASSWORD_ENV]: PASSWORD };

// Others may edit the numeric code while this runs: pin its version for this process and the workers it starts.
process.env.BIAS_TRANSFER_CODE_HASH = codeHash();

const tmp = mkdtempSync(join(tmpdir(), 'bt-queue-features-'));
let redis: RedisServer;
const loaded = (sets = SETS) => loadConfig(CONFIG, { overrides: sets });

/** Every model-cache entry (entry.json) under a folder, with its info. */
function cacheEntries(dir: string): { key: string; info: Record<string, unknown> }[] {
  const out: { key: string; info: Record<string, unknown> }[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true, recursive: true }))
    if (e.isFile() && e.name === 'entry.json') {
      const folder = e.parentPath;
      out.push({ key: folder.split(/[\\/]/).pop()!, info: JSON.parse(readFileSync(join(folder, e.name), 'utf8')).info });
    }
  return out;
}

before(async () => {
  redis = await startRedisServer({ password: PASSWORD });
});
after(async () => {
  await redis?.stop();
  rmSync(tmp, { recursive: true, force: true });
});

test('a frozen-BatchNorm sweep on the queue: the in-process numbers bit for bit; each features job done once; features travel through Redis', async () => {
  const local = join(tmp, 'local');
  await runExperiment({ loaded: loaded(), root: local, log: () => {} });
  const p = plan({ loaded: loaded(), root: join(tmp, 'empty') });
  const features = p.jobs.filter((j) => j.spec.kind === 'features');
  assert.equal(features.length, 2, 'one features job per source (biased, clean)');

  const ws = [0, 1].map((i) => startWorkerProcess(redis.url, join(tmp, `w${i}`), ENV));
  const root = join(tmp, 'queue');
  const executor = queueExecutor({ url: redis.url, env: ENV, onStatus: () => {}, log: () => {} });
  try {
    await runExperiment({ loaded: loaded(), root, log: () => {}, executor });
  } finally {
    await executor.close?.();
    await stopWorkers(ws);
  }
  assert.deepEqual(numbersOf(root), numbersOf(local));
  const logs = ws.map((w) => w.output()).join('\n');
  const starts = logs.split('\n').filter((l) => /^start .* digits\/(biased|clean)\/features /.test(l));
  assert.equal(starts.length, 2, `each features job once for both sweep points:\n${logs}`);
  const fixed = logs.split('\n').filter((l) => /^start .* digits\/(biased|clean)\/fixed /.test(l));
  assert.equal(fixed.length, 4, 'two fixed-mode heads per sweep point');
  const r = new Redis(redisOptions(redis.url, ENV));
  try {
    for (const f of features) {
      const keys = (f.spec as FeaturesJobSpec).keys;
      for (const k of [keys.train, ...Object.values(keys.conditions)])
        assert.ok((await r.exists(featuresArtefactKey(k))) === 1, `features ${k} in the artefact store`);
    }
  } finally {
    r.disconnect();
  }

  // A worker that never ran a features job: a fresh process with an empty scratch folder takes a
  // new sweep point (another head learning rate) whose heads share the features already done, so
  // it must fetch them from the artefact store; its numbers still equal the in-process run's.
  const sets2 = [...SETS.filter((s) => !s.startsWith('sweep=')), 'sweep={"targetTraining.optimizer.lr": [0.2]}'];
  await runExperiment({ loaded: loaded(sets2), root: local, log: () => {} });
  const w2 = startWorkerProcess(redis.url, join(tmp, 'w2'), ENV);
  const executor2 = queueExecutor({ url: redis.url, env: ENV, onStatus: () => {}, log: () => {} });
  try {
    await runExperiment({ loaded: loaded(sets2), root, log: () => {}, executor: executor2 });
  } finally {
    await executor2.close?.();
    await stopWorkers([w2]);
  }
  assert.deepEqual(numbersOf(root), numbersOf(local));
  const log2 = w2.output().split('\n');
  assert.equal(log2.filter((l) => /^start .*\/features /.test(l)).length, 0, `no features job on the new worker:\n${w2.output()}`);
  assert.equal(log2.filter((l) => /^start .* digits\/(biased|clean)\/fixed /.test(l)).length, 2, w2.output());
  const ids = new Set(features.map((f) => featuresJobId((f.spec as FeaturesJobSpec).keys)));
  const fetched = cacheEntries(join(tmp, 'w2')).filter((e) => e.info.kind === 'backbone-features');
  const expected = features.flatMap((f) => {
    const keys = (f.spec as FeaturesJobSpec).keys;
    return [keys.train, ...Object.values(keys.conditions)];
  });
  assert.deepEqual(fetched.map((e) => e.key).sort(), [...expected].sort(), 'every feature set fetched into the new worker');
  for (const e of fetched) assert.ok(ids.has(String(e.info.from)), `${e.key} fetched from a features job (from: ${String(e.info.from)})`);
});
