/**
 * Features jobs on the queue (real Redis, real worker processes with their own scratch folders):
 * a frozen-BatchNorm sweep (`transfer.bnTrainInFixed: false`, whose fixed-mode heads train on
 * cached features) done by two workers gives the numbers of the in-process run bit for bit —
 * metric rows, per-sample predictions, job results, source weights — with each features job done
 * once for both sweep points, and the features reaching the worker of each fixed-mode head
 * through the artefact store.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { Redis } from 'ioredis';
import { loadConfig } from '../../src/experiment/config/index.js';
import { codeHash } from '../../src/experiment/runner.js';
import { plan, runExperiment, type FeaturesJobSpec } from '../../src/plan/index.js';
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
const loaded = () => loadConfig(CONFIG, { overrides: SETS });

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
});
