import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { openStore, type RunMeta } from '../../src/store/index.js';
import { stableHash } from '../../src/experiment/config/index.js';

const tmpRoot = () => fs.mkdtempSync(path.join(os.tmpdir(), 'store-'));
const config = { name: 'exp', seeds: [0], model: { arch: 'small-cnn' } };

test('createRun writes the run folder, resolved config and metadata, and indexes the run as queued', () => {
  const store = openStore(tmpRoot());
  try {
    const run = store.createRun({ name: 'exp', config, seed: 3, sweepId: 'probability=0.1', libtorch: '1.13.1', extra: { note: 'x' } });
    assert.equal(run.id, `exp-probability=0.1-seed3-${stableHash(config).slice(0, 8)}`);
    assert.equal(run.status, 'queued');
    assert.equal(run.configHash, stableHash(config));
    for (const d of [run.paths.logs, run.paths.checkpoints, run.paths.predictions]) assert.ok(fs.statSync(d).isDirectory(), d);
    assert.deepEqual(JSON.parse(fs.readFileSync(run.paths.config, 'utf8')), config);
    const meta = JSON.parse(fs.readFileSync(run.paths.meta, 'utf8')) as RunMeta;
    assert.equal(meta.codeVersion.package, 'bias-transfer');
    assert.match(meta.codeVersion.version, /^\d+\.\d+\.\d+/);
    assert.match(meta.codeVersion.srcHash, /^[0-9a-f]{64}$/);
    assert.ok(meta.codeVersion.gitCommit === null || /^[0-9a-f]{40}$/.test(meta.codeVersion.gitCommit));
    assert.match(meta.packages.zod ?? '', /^4\./);
    assert.match(meta.packages['better-sqlite3'] ?? '', /^12\./);
    assert.deepEqual(meta.seeds, [3]);
    assert.equal(meta.runtime.node, process.version);
    assert.equal(meta.runtime.libtorch, '1.13.1');
    assert.deepEqual(meta.extra, { note: 'x' });
    assert.throws(
      () => store.createRun({ name: 'exp', config, seed: 3, sweepId: 'probability=0.1' }),
      /already exists .*ifExists: 'replace'/,
    );
    assert.throws(() => store.createRun({ name: 'exp', config, seed: 0, id: '../evil' }), /invalid run id/);
  } finally {
    store.close();
  }
});

test('setStatus stamps start and finish times and keeps the error of a failed run', () => {
  const store = openStore(tmpRoot());
  try {
    const { id } = store.createRun({ name: 'exp', config, seed: 0 });
    store.setStatus(id, 'running');
    const running = store.getRun(id)!;
    assert.equal(running.status, 'running');
    assert.ok(running.startedAt && !running.finishedAt);
    store.setStatus(id, 'failed', { error: 'out of memory' });
    const failed = store.getRun(id)!;
    assert.equal(failed.status, 'failed');
    assert.equal(failed.error, 'out of memory');
    assert.ok(failed.finishedAt! >= failed.startedAt!);
    assert.throws(() => store.setStatus('nope', 'done'), /no run 'nope'/);
    assert.throws(() => store.setStatus(id, 'finished' as 'done'), /unknown run status 'finished'/);
  } finally {
    store.close();
  }
});

test('recordMetrics indexes rows by condition and rewrites metrics.json and metrics.csv', () => {
  const store = openStore(tmpRoot());
  try {
    const a = store.createRun({ name: 'exp', config, seed: 0 });
    const b = store.createRun({ name: 'exp', config: { ...config, seeds: [1] }, seed: 1 });
    store.recordMetrics(a.id, [
      {
        condition: 'clean',
        transferMode: 'fixed',
        sourceKind: 'biased',
        target: 'mnist',
        metric: 'accuracy',
        value: 0.9,
        lo: 0.88,
        hi: 0.92,
        numerator: 900,
        denominator: 1000,
      },
      { condition: 'triggered', transferMode: 'fixed', sourceKind: 'biased', target: 'mnist', metric: 'asr', value: 0.7 },
    ]);
    store.recordMetrics(a.id, [
      { condition: 'triggered', transferMode: 'fixed', sourceKind: 'clean', target: 'mnist', metric: 'asr', value: 0.1 },
    ]);
    store.recordMetrics(b.id, [
      { condition: 'triggered', transferMode: 'full', sourceKind: 'biased', target: 'mnist', metric: 'asr', value: 0.5 },
    ]);

    const asr = store.queryMetrics({ metric: 'asr', sourceKind: 'biased' });
    assert.deepEqual(
      asr.map((r) => [r.runId, r.transferMode, r.value, r.seed]),
      [
        [a.id, 'fixed', 0.7, 0],
        [b.id, 'full', 0.5, 1],
      ],
    );
    const acc = store.queryMetrics({ runId: a.id, condition: 'clean' });
    assert.equal(acc.length, 1);
    assert.deepEqual(
      { lo: acc[0].lo, hi: acc[0].hi, n: acc[0].numerator, d: acc[0].denominator, name: acc[0].runName },
      { lo: 0.88, hi: 0.92, n: 900, d: 1000, name: 'exp' },
    );

    const json = JSON.parse(fs.readFileSync(a.paths.metricsJson, 'utf8')) as { metric: string; condition: string; value: number }[];
    assert.deepEqual(
      json.map((r) => `${r.metric}/${r.condition}=${r.value}`),
      ['accuracy/clean=0.9', 'asr/triggered=0.7', 'asr/triggered=0.1'],
    );
    const csv = fs.readFileSync(a.paths.metricsCsv, 'utf8').trim().split('\n');
    assert.equal(csv[0], 'run_id,condition,transfer_mode,source_kind,target,metric,value,lo,hi,numerator,denominator');
    assert.equal(csv.length, 4);
    assert.equal(csv[1], `${a.id},clean,fixed,biased,mnist,accuracy,0.9,0.88,0.92,900,1000`);

    assert.throws(() => store.recordMetrics(a.id, [{ condition: 'clean', metric: 'accuracy', value: NaN }]), /non-finite value NaN/);
    assert.throws(() => store.recordMetrics('missing', [{ condition: 'clean', metric: 'accuracy', value: 1 }]), /no run 'missing'/);
    assert.equal(store.queryMetrics({ runId: a.id }).length, 3, 'a rejected batch adds nothing');

    // Replacing a run drops its old metric rows and folder contents.
    fs.writeFileSync(path.join(a.paths.checkpoints, 'old.safetensors'), 'x');
    store.createRun({ name: 'exp', config, seed: 0, ifExists: 'replace' });
    assert.equal(store.queryMetrics({ runId: a.id }).length, 0);
    assert.equal(fs.existsSync(path.join(a.paths.checkpoints, 'old.safetensors')), false);
  } finally {
    store.close();
  }
});

test('listRuns filters by name, status, sweep and seed; a reopened store sees the same index', () => {
  const root = tmpRoot();
  const store = openStore(root);
  const r0 = store.createRun({ name: 'exp', config, seed: 0, sweepId: 'p=1' });
  const r1 = store.createRun({ name: 'exp', config, seed: 1, sweepId: 'p=2' });
  store.createRun({ name: 'other', config, seed: 0 });
  store.setStatus(r1.id, 'done');
  assert.deepEqual(
    store
      .listRuns({ name: 'exp' })
      .map((r) => r.id)
      .sort(),
    [r0.id, r1.id].sort(),
  );
  assert.deepEqual(
    store.listRuns({ status: 'done' }).map((r) => r.id),
    [r1.id],
  );
  assert.deepEqual(
    store.listRuns({ sweepId: 'p=1', seed: 0 }).map((r) => r.id),
    [r0.id],
  );
  assert.equal(store.listRuns().length, 3);
  store.close();
  store.close(); // safe twice
  assert.throws(() => store.listRuns(), /is closed/);
  const again = openStore(root);
  try {
    assert.equal(again.listRuns().length, 3);
    assert.equal(again.integrityCheck(), 'ok');
    assert.equal(fs.existsSync(path.join(root, 'index.sqlite')), true);
  } finally {
    again.close();
  }
});
