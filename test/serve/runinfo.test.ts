/**
 * What the run browser reads from a run's folder: every job's curves (progress log and saved
 * histories, never a file outside the root), job counts, the config keys that differ, class names,
 * the run's ETA; and how metric values read (percentages with intervals, percentage points, class
 * names).
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { FACTS_VERSION, openStore, writeRunFacts } from '../../src/store/index.js';
import { realRoot } from '../../src/serve/paths.js';
import {
  differingKeys,
  factClassNames,
  flattenConfig,
  jobCount,
  runCurves,
  runEta,
  sourceKinds,
  targetClassNames,
} from '../../src/serve/runinfo.js';
import { metricName, metricText } from '../../src/serve/views.js';
import { createProgressLog } from '../../src/train/progress.js';

const root = mkdtempSync(join(tmpdir(), 'bt-serve-runinfo-'));
const outside = mkdtempSync(join(tmpdir(), 'bt-serve-outside-'));
after(() => {
  rmSync(root, { recursive: true, force: true });
  rmSync(outside, { recursive: true, force: true });
});

const cfg = (over: Record<string, unknown> = {}) => ({
  name: 'x',
  source: { bias: { kind: 'backdoor' }, control: true, pretrained: null },
  targets: [{ name: 't', dataset: { name: 'mnist', classes: [3, 4] } }],
  transfer: { modes: ['fixed', 'full', 'scratch'] },
  ...over,
});

test('metric values: percentages with intervals, percentage points, class names, other numbers as they are', () => {
  assert.equal(metricText({ metric: 'asr', value: 0.8125, lo: 0.75, hi: 0.875 }), '81.3% [75.0%, 87.5%]');
  assert.equal(metricText({ metric: 'accuracy', value: 0.5 }), '50.0%');
  assert.equal(metricText({ metric: 'attribute-gap', value: 0.031, lo: -0.01, hi: 0.07 }), '+3.1 pp [-1.0 pp, +7.0 pp]');
  assert.equal(metricText({ metric: 'targeted-asr-class', value: 1 }, ['3', '4']), '4');
  assert.equal(metricText({ metric: 'targeted-asr-class', value: 7 }, null), 'class 7');
  assert.equal(metricText({ metric: 'poisoned-images', value: 150 }), '150');
  assert.equal(metricText({ metric: 'asr', value: null }), '—');
  assert.equal(metricName('class-accuracy:1', ['T-shirt', 'Trouser']), 'class-accuracy: Trouser');
  assert.equal(metricName('class-accuracy:5', ['T-shirt']), 'class-accuracy:5');
});

test('class names from the config: given names, built-in datasets by index, unknown datasets not guessed', () => {
  assert.deepEqual(targetClassNames(cfg(), 't'), ['3', '4']);
  const fashion = cfg({ targets: [{ name: 'f', dataset: { name: 'fashion-mnist', classes: [0, 'Sandal'] } }] });
  assert.deepEqual(targetClassNames(fashion, 'f'), ['T-shirt', 'Sandal']);
  assert.equal(targetClassNames(cfg({ targets: [{ name: 'f', dataset: { name: 'folder' } }] }), 'f'), null);
  assert.equal(targetClassNames(cfg(), 'other'), null);
});

test('class names from the run facts: the names of the data the run loaded, before any guess from the config', () => {
  const store = openStore(root);
  const config = cfg({ targets: [{ name: 'f', dataset: { name: 'folder' } }] });
  const run = store.createRun({ name: 'x', config, seed: 0, id: 'x-seed0-facts' });
  const rootReal = realRoot(root);
  assert.equal(factClassNames(rootReal, run, 'f'), null, 'no facts yet (older code or unfinished)');
  assert.equal(targetClassNames(config, 'f'), null, 'a folder dataset: not known from the config');
  const target = { name: 'f', classes: ['cat', 'dog'], trainImages: 10, testImages: 4, conditionLabels: {}, neutralOf: {} };
  const facts = {
    version: FACTS_VERSION,
    seed: 0,
    source: { classes: ['a'], images: 1 },
    sourceTest: null,
    targets: [target],
    examples: [],
    probeExamples: {},
  };
  writeRunFacts(run.paths.dir, { facts, images: new Map() });
  assert.deepEqual(factClassNames(rootReal, run, 'f'), ['cat', 'dog']);
  assert.equal(factClassNames(rootReal, run, 'other'), null);
  store.close();
});

test('job counts and source kinds follow the runner: control, no bias, pretrained', () => {
  assert.deepEqual(sourceKinds(cfg()), ['biased', 'clean']);
  assert.equal(jobCount(cfg()), 2 + (1 + 2 * 2));
  assert.equal(jobCount(cfg({ source: { bias: { kind: 'backdoor' }, control: false, pretrained: null } })), 1 + (1 + 2));
  assert.equal(jobCount(cfg({ source: { bias: { kind: 'none' }, control: true, pretrained: null } })), 1 + (1 + 2));
  assert.equal(jobCount(cfg({ source: { bias: { kind: 'none' }, pretrained: { control: null } } })), 0 + (1 + 2));
  assert.equal(jobCount(null), null);
});

test('differing config keys leave out identity keys and count a missing key as different', () => {
  const a = flattenConfig({ name: 'a', seeds: [0], x: { p: 0.5, q: 1 }, m: [1, 2] });
  const b = flattenConfig({ name: 'b', seeds: [1], x: { p: 1, q: 1 }, m: [1, 2], extra: true });
  assert.deepEqual(a, { name: '"a"', seeds: '[0]', 'x.p': '0.5', 'x.q': '1', m: '[1,2]' });
  assert.deepEqual(differingKeys([a, b]), ['extra', 'x.p']);
  assert.deepEqual(differingKeys([a]), []);
});

test('curves merge the progress log with saved histories, and nothing outside the root is read', () => {
  const store = openStore(root);
  const run = store.createRun({ name: 'x', config: cfg(), seed: 0, id: 'x-seed0-a' });
  store.setStatus(run.id, 'running');
  const log = createProgressLog(run.paths.progress);
  const ev = { step: 0, stepsPerEpoch: 5, epochs: 2 };
  log('source biased seed 0', { kind: 'epoch', epoch: 0, ...ev, loss: 0.9, accuracy: 0.5 });
  log('source biased seed 0', { kind: 'epoch', epoch: 1, ...ev, loss: 0.5, accuracy: 0.8, evalAccuracy: 0.75 });
  log('source clean seed 0', { kind: 'step', epoch: 0, ...ev, step: 2, etaSeconds: 4 });
  const h = [{ epoch: 1, loss: 0.4, accuracy: 0.9, evalAccuracy: 0.85, lr: 0.1, seconds: 1 }];
  mkdirSync(join(run.paths.dir, 'jobs', 't-scratch'), { recursive: true });
  writeFileSync(join(run.paths.dir, 'jobs', 't-scratch', 'result.json'), JSON.stringify({ job: 't/scratch', train: { history: h } }));
  // A job folder whose result.json links outside the root: not read.
  mkdirSync(join(run.paths.dir, 'jobs', 't-biased-fixed'), { recursive: true });
  writeFileSync(join(outside, 'result.json'), JSON.stringify({ job: 'secret', train: { history: h } }));
  symlinkSync(join(outside, 'result.json'), join(run.paths.dir, 'jobs', 't-biased-fixed', 'result.json'));
  const rootReal = realRoot(root);
  const curves = runCurves(rootReal, run);
  assert.deepEqual(
    curves.map((c) => [c.label, c.epochs, c.points.length]),
    [
      ['source biased seed 0', 2, 2],
      ['source clean seed 0', 2, 0],
      ['t/scratch', 1, 1],
    ],
  );
  assert.deepEqual(curves[0].points[1], { epoch: 2, loss: 0.5, accuracy: 0.8, evalAccuracy: 0.75 });
  const eta = runEta(rootReal, run);
  assert.equal(eta.jobsTotal, 7);
  assert.equal(eta.jobsDone, 0);
  assert.equal(eta.current, 'source clean seed 0');
  // The clean source: 4 s left; the 5 target jobs at a quarter of a source (4 s) each.
  assert.ok(eta.seconds !== null && eta.seconds > 8 && eta.seconds <= 9, `ETA ${eta.seconds}`);
  store.close();
});
