/**
 * The experiment commands refuse silent no-ops: an unknown --point, a report with nothing to
 * report, and a --root that is not the root. Runs the tiny fixture experiment (seconds) for real.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { renderHelp } from '../../src/cli/help.js';
import {
  REPRODUCE_QUICK_ROOT,
  REPRODUCE_ROOT,
  reportCommand,
  reproduceCommand,
  reproduceRoot,
  runCommand,
  runReport,
  runRun,
} from '../../src/cli/experiment.js';
import { expandSweep, loadConfig } from '../../src/experiment/config/index.js';
import { call, parse } from '../helpers/cli.js';

const TINY = path.resolve('test/experiment/fixtures/tiny-experiment.yaml');
const tmp = (): string => fs.mkdtempSync(path.join(os.tmpdir(), 'bt-cli-exp-'));

test('run --point with a point that is not in the sweep fails listing the real points, and runs nothing', async () => {
  const root = tmp();
  for (const bad of ['probability=0.25', 'nonsense']) {
    await assert.rejects(call(runCommand, runRun, [TINY, '--root', root, '--point', bad, '-q']), (e: Error) => {
      assert.match(e.message, new RegExp(`'${bad}' is not a sweep point of .*tiny-experiment\\.yaml`));
      assert.match(e.message, /its points: probability=0\.5, probability=1\b/);
      return true;
    });
  }
  assert.ok(!fs.existsSync(path.join(root, 'reports')), 'no report written');
});

test("run --help's --point example names a real point of experiments/backdoor.yaml", () => {
  const help = renderHelp(runCommand, { program: 'bias-transfer' });
  const m = /run experiments\/backdoor\.yaml --point (\S+)/.exec(help);
  assert.ok(m, help);
  const ids = expandSweep(loadConfig('experiments/backdoor.yaml').config).map((p) => p.id);
  assert.ok(ids.includes(m[1]), `example point ${m[1]} not in ${ids.join(', ')}`);
});

test('report with no matching finished runs fails naming the config and the root', async () => {
  const empty = tmp();
  await assert.rejects(call(reportCommand, runReport, [TINY, '--root', empty]), (e: Error) => {
    assert.match(e.message, /no results index under .*bt-cli-exp-/);
    assert.match(e.message, /tiny-experiment\.yaml/);
    return true;
  });
  assert.ok(!fs.existsSync(path.join(empty, 'index.sqlite')) && fs.readdirSync(empty).length === 0, 'nothing created');

  const root = tmp();
  const ran = await call(runCommand, runRun, [TINY, '--root', root, '--set', 'seeds=[0]', '-q']);
  assert.equal(ran.code, 0, ran.err);
  // Same name, another config (as after --quick, or other --set overrides): nothing matches.
  await assert.rejects(call(reportCommand, runReport, [TINY, '--root', root, '--set', 'targetTraining.epochs=2']), (e: Error) => {
    assert.match(e.message, new RegExp(`no finished runs of .*tiny-experiment\\.yaml \\(experiment 'tiny'\\) under ${root}`));
    assert.match(e.message, /of another config/);
    return true;
  });
  const ok = await call(reportCommand, runReport, [TINY, '--root', root, '--set', 'seeds=[0]']);
  assert.equal(ok.code, 0, ok.err);
});

test('reproduce --root is the root itself, --quick or not; the defaults stay runs/reproduce and runs/reproduce/quick', () => {
  const f = (argv: string[]) => reproduceRoot(parse(reproduceCommand, argv).flags);
  assert.equal(f(['--quick', '--root', 'X']), 'X');
  assert.equal(f(['--root', 'X']), 'X');
  assert.equal(f([]), REPRODUCE_ROOT);
  assert.equal(f(['--quick']), REPRODUCE_QUICK_ROOT);
  assert.equal(REPRODUCE_ROOT, 'runs/reproduce');
  assert.equal(REPRODUCE_QUICK_ROOT, 'runs/reproduce/quick');
});

test('run --set seeds=[1] after seed 0 writes a report pooling both seeds, and says which; report CONFIG shows the same', async () => {
  const root = tmp();
  for (const seeds of ['[0]', '[1]']) {
    const r = await call(runCommand, runRun, [TINY, '--root', root, '--set', `seeds=${seeds}`, '-q']);
    assert.equal(r.code, 0, r.err);
  }
  const dir = path.join(root, 'reports', 'tiny');
  const nSeeds = (): Set<string> => {
    const rows = JSON.parse(fs.readFileSync(path.join(dir, 'aggregate.json'), 'utf8')) as { metric: string; n_seeds: number }[];
    return new Set(rows.filter((r) => r.metric === 'accuracy').map((r) => String(r.n_seeds)));
  };
  assert.deepEqual(nSeeds(), new Set(['2']), 'every accuracy row pools seeds 0 and 1');
  assert.match(
    fs.readFileSync(path.join(dir, 'report.html'), 'utf8'),
    /Seeds in this report: 0, 1 \(every finished run of this config under [^;]*; seed 0 from earlier runs\)/,
  );
  // The tiny models (1 epoch on 200 images, about 50% on 2 classes) are a smoke test, and the report says so.
  const html = fs.readFileSync(path.join(dir, 'report.html'), 'utf8');
  assert.match(
    html,
    /<div class="banner" role="alert"><strong>Smoke test: not a measurement\.<\/strong> Most target models of tiny \(\d+ of \d+\)/,
  );
  assert.match(
    html,
    /As run: source mnist \(3 classes, 300 images\), 1 epoch; target digits \(mnist\): 2 classes, 200 training and 100 test images, 1 epoch; modes fixed, scratch; seeds 0, 1\./,
  );
  const json = JSON.parse(fs.readFileSync(path.join(dir, 'report.json'), 'utf8')) as {
    smokeTest: boolean;
    experiments: { name: string; setup: string; seeds: number[]; smokeTest: boolean; belowFloor: string[] }[];
  };
  assert.equal(json.smokeTest, true);
  assert.equal(json.experiments[0].name, 'tiny');
  assert.deepEqual(json.experiments[0].seeds, [0, 1]);
  assert.match(json.experiments[0].setup, /^As run: source mnist/);
  assert.ok(json.experiments[0].belowFloor.every((b) => /under-trained: \d+\.\d% clean accuracy/.test(b)));
  const rep = await call(reportCommand, runReport, [TINY, '--root', root, '--set', 'seeds=[0]']);
  assert.equal(rep.code, 0, rep.err);
  assert.deepEqual(nSeeds(), new Set(['2']));
  assert.match(fs.readFileSync(path.join(dir, 'report.html'), 'utf8'), /Seeds in this report: 0, 1 /);
});
