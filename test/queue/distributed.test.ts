/**
 * Distributed sweeps on real Redis (a private redis-server with a password) and real worker
 * processes, each with its own scratch folder as separate machines would have:
 * - a sweep on the queue gives the numbers of a local run, bit for bit, and trains each source
 *   model once although two sweep points need it; the password never shows in any output;
 * - a worker SIGKILLed mid-job: another worker takes the job over (stalled-job detection) and
 *   the numbers are those of an uninterrupted run;
 * - Redis restarted mid-sweep: nothing finished is lost or redone;
 * - a job that fails deterministically (bad config value) fails once, not again and again, and
 *   its error reaches the submitter.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { Redis } from 'ioredis';
import { loadConfig, type LoadedConfig } from '../../src/experiment/config/index.js';
import { codeHash } from '../../src/experiment/runner.js';
import { runExperiment, type RunExperimentOptions } from '../../src/plan/index.js';
import { openQueue, redisOptions, PASSWORD_ENV } from '../../src/queue/names.js';
import { startRedisServer, type RedisServer } from '../../src/queue/redis-server.js';
import { queueExecutor, type QueueExecutorOptions } from '../../src/queue/executor.js';
import { QueueJobError } from '../../src/queue/submit.js';
import { numbersOf, startWorkerProcess, stopWorkers, type WorkerProcess } from './helpers.js';

const CONFIG = 'test/experiment/fixtures/tiny-experiment.yaml';
// Two sweep points that share their source models (only the target learning rate differs), one seed.
const SETS = ['seeds=[0]', 'sweep={"targetTraining.optimizer.lr": [0.05, 0.1]}'];
const PASSWORD = 'q-Secret-4b1d';
const ENV = { [PASSWORD_ENV]: PASSWORD };

// Others may edit the numeric code while this runs: pin its version for this process and the workers it starts.
process.env.BIAS_TRANSFER_CODE_HASH = codeHash();

const tmp = mkdtempSync(join(tmpdir(), 'bt-queue-'));
let redis: RedisServer;
let reference: Record<string, unknown>;
const loaded = (): LoadedConfig => loadConfig(CONFIG, { overrides: SETS });
// The fault tests run one sweep point (5 jobs: 2 sources, scratch, 2 fixed) to stay short.
const POINT = 'lr=0.05';

/** The numbers of a root that ran only POINT equal the reference's for that point. */
function assertSameAsReferencePoint(root: string): void {
  const got = numbersOf(root);
  const keys = Object.keys(got);
  assert.ok(keys.some((k) => k.includes(POINT)) && keys.every((k) => k.startsWith('cache/') || k.includes(POINT)), keys.join(', '));
  for (const k of keys) assert.deepEqual(got[k], reference[k], `${k} differs from the local run`);
}

before(async () => {
  redis = await startRedisServer({ password: PASSWORD });
  // The reference: the same sweep run locally, in this process.
  const root = join(tmp, 'local');
  await runExperiment({ loaded: loaded(), root, log: () => {} });
  reference = numbersOf(root);
});
after(async () => {
  await redis?.stop();
  rmSync(tmp, { recursive: true, force: true });
});

/** `runExperiment` with the BullMQ executor on `url` (what `run --queue` does). */
async function runExperimentOnQueue(o: Omit<RunExperimentOptions, 'executor'> & QueueExecutorOptions): Promise<unknown> {
  const { url, env, onStatus, pollMs, ...run } = o;
  const executor = queueExecutor({ url, env, onStatus: onStatus ?? (() => {}), pollMs, log: () => {} });
  try {
    return await runExperiment({ ...run, executor });
  } finally {
    await executor.close?.();
  }
}

/** Empties Redis between tests (every job runs again). */
async function flush(): Promise<void> {
  const r = new Redis(redisOptions(redis.url, ENV));
  await r.flushall();
  r.disconnect();
}

function workers(tag: string, n = 2, extra: string[] = []): WorkerProcess[] {
  return Array.from({ length: n }, (_, i) => startWorkerProcess(redis.url, join(tmp, `${tag}-w${i}`), ENV, extra));
}

/** Runs the CLI (through tsx) with the password only in its environment. */
function cli(args: string[]): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, ...ENV },
    });
    let out = '';
    let err = '';
    p.stdout.on('data', (d) => (out += d));
    p.stderr.on('data', (d) => (err += d));
    p.on('exit', (code) => resolve({ code, out, err }));
  });
}

test('a sweep on the queue gives the local numbers bit for bit, trains each source once, and never prints the password', async () => {
  await flush();
  const ws = workers('equal');
  try {
    const root = join(tmp, 'equal');
    const sub = await cli(['sweep', CONFIG, ...SETS.flatMap((s) => ['--set', s]), '--root', root, '--queue', redis.url]);
    assert.equal(sub.code, 0, sub.err);
    assert.deepEqual(numbersOf(root), reference);
    // The workers' training events reached each run's logs/progress.jsonl (what `serve` follows).
    const runIds = readdirSync(join(root, 'runs'));
    assert.equal(runIds.length, 2, 'two sweep points, one seed');
    for (const id of runIds) {
      const events = readFileSync(join(root, 'runs', id, 'logs', 'progress.jsonl'), 'utf-8')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as { kind: string; label: string });
      assert.ok(
        events.some((e) => e.kind === 'done' && /source/.test(e.label)),
        `${id}: the source model's training events:\n${JSON.stringify(events)}`,
      );
      assert.ok(
        events.some((e) => e.kind === 'done' && !/source/.test(e.label)),
        `${id}: the target jobs' training events:\n${JSON.stringify(events)}`,
      );
    }
    assert.match(sub.err, /queue: \d+ queued · \d+ running · \d+ done · 0 failed/, 'a progress line');
    assert.match(sub.err, /running · \d+ done · 0 failed \(\d+s\) \| tiny .*(epoch|preparing)/, "the running jobs' own progress");
    await stopWorkers(ws);
    const logs = ws.map((w) => w.output()).join('\n');
    const sourceStarts = logs.split('\n').filter((l) => /^start .* source (biased|clean) /.test(l));
    assert.equal(sourceStarts.length, 2, `two source models (biased, clean), each trained once for both sweep points:\n${logs}`);
    assert.ok(
      ws.every((w) => /^done /m.test(w.output())),
      'both workers did jobs',
    );
    for (const text of [sub.out, sub.err, logs]) assert.ok(!text.includes(PASSWORD), 'the password is never printed');
  } finally {
    await stopWorkers(ws);
  }
});

test('a worker SIGKILLed mid-job: another worker takes the job over and the numbers are unchanged', async () => {
  await flush();
  // A short lock so that the dead worker's job is found stalled in seconds.
  const ws = workers('kill', 2, ['--lock-seconds', '2']);
  try {
    const root = join(tmp, 'kill');
    const run = runExperimentOnQueue({
      url: redis.url,
      env: ENV,
      loaded: loaded(),
      points: [POINT],
      root,
      log: () => {},
      onStatus: () => {},
      pollMs: 200,
    });
    // Kill whichever worker starts a source job first, as soon as it starts.
    const line = await Promise.race(ws.map((w, i) => w.waitFor(/^start .* source /).then((l) => ({ i, l }))));
    ws[line.i].child.kill('SIGKILL');
    const label = / (tiny .* source \w+) \(/.exec(line.l.replace(/^start/, ' '))?.[1] ?? line.l;
    await run;
    const other = ws[1 - line.i];
    assert.match(
      other.output(),
      new RegExp(`start ${label.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} \\(job \\S+, attempt`),
      'the other worker ran the job',
    );
    assertSameAsReferencePoint(root);
  } finally {
    await stopWorkers(ws);
  }
});

test('Redis restarted mid-sweep: nothing finished is lost or done again', async () => {
  await flush();
  const ws = workers('restart');
  try {
    const root = join(tmp, 'restart');
    let doneBefore = -1;
    let restarted: Promise<void> | null = null;
    const run = runExperimentOnQueue({
      url: redis.url,
      env: ENV,
      loaded: loaded(),
      points: [POINT],
      root,
      log: () => {},
      pollMs: 200,
      onStatus: (c) => {
        if (restarted === null && c.done >= 2 && c.queued + c.running > 0) {
          doneBefore = c.done;
          restarted = redis.restart({ downMs: 500 });
        }
      },
    });
    await run;
    assert.ok(restarted !== null, 'Redis was restarted while jobs were left');
    await restarted;
    assert.ok(doneBefore >= 2);
    assertSameAsReferencePoint(root);
    // Every job ran once: the finished ones survived the restart (append-only file) and were not redone.
    await stopWorkers(ws);
    const starts = ws.flatMap((w) => w.output().split('\n')).filter((l) => l.startsWith('start '));
    const labels = starts.map((l) => l.replace(/ \(job .*$/, ''));
    assert.equal(new Set(labels).size, labels.length, `a job ran twice:\n${starts.join('\n')}`);
    const q = openQueue(redis.url, ENV);
    assert.equal((await q.getJobCounts('completed')).completed, 5, 'all 5 jobs completed (2 sources, 3 transfers)');
    await q.close();
  } finally {
    await stopWorkers(ws);
  }
});

test('a deterministic failure (bad config value) fails once and its error reaches the submitter', async () => {
  // No flush: the source models of the previous test are reused, the transfer jobs fail.
  const ws = workers('fail');
  try {
    // Class 9 is not a class of the 3-class source: the worker finds out when it builds the patch probe.
    const bad = loadConfig(CONFIG, {
      overrides: ['seeds=[0]', 'sweep={}', 'evaluation.patches=[{kind: class-patch, sourceClass: 9, size: 4}]'],
    });
    const err = await runExperimentOnQueue({
      url: redis.url,
      env: ENV,
      loaded: bad,
      root: join(tmp, 'fail'),
      log: () => {},
      onStatus: () => {},
      pollMs: 200,
    }).then(
      () => null,
      (e: unknown) => e,
    );
    assert.ok(err instanceof QueueJobError, `expected a QueueJobError, got ${String(err)}`);
    assert.match(err.message, /9/, 'the error names the bad value');
    assert.equal(err.attempts, 1, 'not retried: a retry cannot change it');
    const q = openQueue(redis.url, ENV);
    const failed = await q.getJobs(['failed']);
    await q.close();
    assert.ok(failed.length >= 1 && failed.every((j) => j.attemptsMade === 1));
  } finally {
    await stopWorkers(ws);
  }
});

test('--workers 2 without --queue: a private Redis and two local worker processes give the local numbers', async () => {
  const root = join(tmp, 'workers');
  const r = await cli(['run', CONFIG, ...SETS.flatMap((s) => ['--set', s]), '--point', POINT, '--root', root, '--workers', '2']);
  assert.equal(r.code, 0, r.err);
  assert.match(r.err, /queue: private redis-server on redis:\/\/127\.0\.0\.1:\d+/);
  assert.match(r.err, /queue: 2 local worker\(s\)/);
  assert.match(r.err, /\[worker 1\] done /);
  assertSameAsReferencePoint(root);
});
