import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseCommandLine } from '../../src/cli/tree.js';
import {
  compareMetric,
  runRunsCompare,
  runRunsList,
  runRunsMetrics,
  runsCompareCommand,
  runsGroup,
  runsListCommand,
  runsMetricsCommand,
  type Comparison,
} from '../../src/cli/commands/runs.js';
import { openStore, type MetricRecord, type MetricRow } from '../../src/store/index.js';
import { call } from '../helpers/cli.js';

const ASR: Record<string, [number, number]> = {
  // seed → [fixed/biased/triggered, full/biased/triggered]
  '0': [0.9, 0.5],
  '1': [0.7, 0.25],
};

/** A results folder with runs of experiment 'backdoor' (seeds 0, 1; done) and one queued run of 'other'. */
function populate(): { root: string; ids: string[] } {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'bt-cli-runs-'));
  const store = openStore(root);
  try {
    const ids: string[] = [];
    for (const seed of [0, 1]) {
      const run = store.createRun({ name: 'backdoor', config: { name: 'backdoor', seed }, seed });
      store.setStatus(run.id, 'running');
      const [fixed, full] = ASR[String(seed)];
      const rows: MetricRow[] = [
        { condition: 'clean', metric: 'accuracy', value: 0.95, transferMode: null, sourceKind: 'biased', target: null },
        {
          condition: 'triggered',
          metric: 'asr',
          transferMode: 'fixed',
          sourceKind: 'biased',
          target: 'mnist',
          value: fixed,
          numerator: fixed * 100,
          denominator: 100,
        },
        { condition: 'triggered', metric: 'asr', transferMode: 'fixed', sourceKind: 'clean', target: 'mnist', value: 0.1 },
        { condition: 'triggered', metric: 'asr', transferMode: 'full', sourceKind: 'biased', target: 'mnist', value: full },
      ];
      store.recordMetrics(run.id, rows);
      store.setStatus(run.id, 'done');
      ids.push(run.id);
    }
    ids.push(store.createRun({ name: 'other', config: { name: 'other' }, seed: 5 }).id);
    return { root, ids };
  } finally {
    store.close();
  }
}

test('runs list prints the runs of a store as a table, filtered by name and status', async () => {
  const { root, ids } = populate();
  const all = await call(runsListCommand, runRunsList, ['--root', root]);
  assert.equal(all.code, 0, all.err);
  for (const id of ids) assert.match(all.out, new RegExp(`^${id}\\s`, 'm'));
  assert.match(all.out, new RegExp(`^${ids[0]}\\s+backdoor\\s+done\\s+0\\s`, 'm'));
  assert.match(all.out, new RegExp(`^${ids[2]}\\s+other\\s+queued\\s+5\\s`, 'm'));
  assert.match(all.out, /^3 run\(s\)$/m);

  const done = await call(runsListCommand, runRunsList, ['--root', root, '--status', 'done', '--json']);
  const runs = JSON.parse(done.out) as { id: string; status: string; seed: number }[];
  assert.deepEqual(
    runs.map((r) => r.id),
    ids.slice(0, 2),
  );
  assert.ok(runs.every((r) => r.status === 'done'));
  const other = await call(runsListCommand, runRunsList, ['--root', root, '--name', 'other', '--json']);
  assert.deepEqual(
    (JSON.parse(other.out) as { id: string }[]).map((r) => r.id),
    [ids[2]],
  );
});

test('runs list refuses a folder without an index instead of creating one', async () => {
  const root = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'bt-cli-runs-')), 'nothing');
  const r = await call(runsListCommand, runRunsList, ['--root', root]);
  assert.equal(r.code, 2);
  assert.match(r.err, /no results index in '.*nothing'/);
  assert.ok(!fs.existsSync(root));
});

test('runs metrics prints the rows of one run, filtered by metric, and names an unknown run', async () => {
  const { root, ids } = populate();
  const r = await call(runsMetricsCommand, runRunsMetrics, [ids[1], '--root', root, '--json']);
  assert.equal(r.code, 0, r.err);
  const rows = JSON.parse(r.out) as MetricRecord[];
  assert.equal(rows.length, 4);
  assert.ok(rows.every((m) => m.runId === ids[1]));
  const asr = await call(runsMetricsCommand, runRunsMetrics, [ids[1], '--root', root, '--metric', 'asr']);
  assert.match(asr.out, /^asr\s+triggered\s+fixed\s+biased\s+mnist\s+0\.7\s+-\s+-\s+70\s+100$/m);
  assert.match(asr.out, /^asr\s+triggered\s+full\s+biased\s+mnist\s+0\.25\s/m);
  assert.doesNotMatch(asr.out, /accuracy/);
  const bad = await call(runsMetricsCommand, runRunsMetrics, [ids[1].slice(0, -1), '--root', root]);
  assert.equal(bad.code, 2);
  assert.match(bad.err, new RegExp(`no run '.*' in .*did you mean ${ids[1]}`));
});

test('runs compare tabulates a metric per run and (mode, source kind, condition), with the mean', async () => {
  const { root, ids } = populate();
  const j = await call(runsCompareCommand, runRunsCompare, ['--root', root, '--metric', 'asr', '--json']);
  assert.equal(j.code, 0, j.err);
  const c = JSON.parse(j.out) as Comparison;
  assert.deepEqual(
    c.columns.map((col) => col.label),
    ['fixed/biased/triggered', 'fixed/clean/triggered', 'full/biased/triggered'],
  );
  assert.deepEqual(
    c.rows.map((r) => [r.runId, ...r.values]),
    [
      [ids[0], 0.9, 0.1, 0.5],
      [ids[1], 0.7, 0.1, 0.25],
    ],
  );
  assert.ok(Math.abs(c.mean[0]! - 0.8) < 1e-12 && Math.abs(c.mean[2]! - 0.375) < 1e-12);

  const t = await call(runsCompareCommand, runRunsCompare, ['--root', root, '--metric', 'asr']);
  assert.match(t.out, /^run\s+seed\s+fixed\/biased\/triggered\s+fixed\/clean\/triggered\s+full\/biased\/triggered$/m);
  assert.match(t.out, /^mean\s+-\s+0\.8\s+0\.1\s+0\.375$/m);

  const none = await call(runsCompareCommand, runRunsCompare, ['--root', root, '--metric', 'asr2']);
  assert.equal(none.code, 2);
  assert.match(none.err, /no 'asr2' values .*metrics present: accuracy, asr/);
  const missing = await call(runsCompareCommand, runRunsCompare, ['--root', root]);
  assert.equal(missing.code, 2);
  assert.match(missing.err, /--metric is required/);
});

test('runs compare does not average two different backbones of the same name: one mean per weights sha256', async () => {
  const { root, ids } = populate();
  // As the runner writes it for a source.pretrained run: the audited backbone keyed by its file's sha256.
  const store = openStore(root);
  const sha = ['a'.repeat(32), 'b'.repeat(32)];
  try {
    ids
      .slice(0, 2)
      .forEach((id, i) =>
        fs.writeFileSync(
          path.join(store.getRun(id)!.paths.dir, 'sources.json'),
          JSON.stringify([{ kind: 'biased', key: `pretrained-${sha[i]}`, weights: 'resnet18.safetensors' }]),
        ),
      );
  } finally {
    store.close();
  }
  const j = await call(runsCompareCommand, runRunsCompare, ['--root', root, '--metric', 'asr', '--json']);
  const c = JSON.parse(j.out) as Comparison;
  assert.deepEqual(
    c.rows.map((r) => r.backbone),
    sha,
  );
  assert.deepEqual(
    c.means.map((m) => [m.backbone, m.runs, m.values[0]]),
    [
      [sha[0], 1, 0.9],
      [sha[1], 1, 0.7],
    ],
  );
  const t = await call(runsCompareCommand, runRunsCompare, ['--root', root, '--metric', 'asr']);
  assert.match(t.out, /^run\s+seed\s+backbone sha256\s+fixed\/biased\/triggered/m);
  assert.match(t.out, /^mean \(1 runs\)\s+-\s+aaaaaaaaaaaa\s+0\.9\s/m);
  assert.match(t.out, /^mean \(1 runs\)\s+-\s+bbbbbbbbbbbb\s+0\.7\s/m);
  assert.doesNotMatch(t.out, /^mean\s+-\s+0\.8/m, 'no mean over both backbones');
  assert.match(t.out, /2 different backbones: one mean per backbone/);
});

test('compareMetric adds the target to column names only when records span several targets, and leaves gaps empty', () => {
  const rec = (runId: string, target: string, value: number): MetricRecord => ({
    runId,
    runName: 'x',
    seed: 0,
    sweepId: null,
    condition: 'triggered',
    transferMode: 'fixed',
    sourceKind: 'biased',
    target,
    metric: 'asr',
    value,
    lo: null,
    hi: null,
    numerator: null,
    denominator: null,
  });
  const c = compareMetric('asr', [rec('a', 'mnist', 0.5), rec('b', 'cifar', 0.25)]);
  assert.deepEqual(
    c.columns.map((col) => col.label),
    ['fixed/biased/triggered@mnist', 'fixed/biased/triggered@cifar'],
  );
  assert.deepEqual(
    c.rows.map((r) => r.values),
    [
      [0.5, null],
      [null, 0.25],
    ],
  );
  assert.deepEqual(c.mean, [0.5, 0.25]);
});

test('runs commands parse as sub-commands of the runs group, and as their dashed aliases', () => {
  for (const argv of [
    ['runs', 'compare', '--metric', 'asr'],
    ['runs-compare', '--metric', 'asr'],
  ]) {
    const r = parseCommandLine(argv, [runsGroup]);
    assert.ok(r.kind === 'command' && r.command === 'compare', argv.join(' '));
    assert.equal(r.flags.root, 'runs');
    assert.equal(r.flags.metric, 'asr');
  }
  const help = parseCommandLine(['runs', '--help'], [runsGroup]);
  assert.ok(help.kind === 'help');
  assert.match(help.text, /^Usage: bias-transfer runs <command> \[options\]/);
});
