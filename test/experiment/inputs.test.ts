/**
 * Run ids, source-model cache keys and queue job ids follow the content of what a config reads,
 * not its paths: on a project of IDX files (MNIST digits written out) and a PNG trigger, a changed
 * pixel or label behind an unchanged path starts new runs (and retrains the source only when the
 * source's data changed), while the same project copied elsewhere keeps its run ids. On the real
 * runner, with files rewritten in place in one process (the dataset cache must notice).
 */
import assert from 'node:assert/strict';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { PNG } from 'pngjs';
import { datasetDigest, loadDataset, type ImageDataset } from '../../src/data/index.js';
import { loadConfig } from '../../src/experiment/config/index.js';
import { inputDigests, inputsHash } from '../../src/experiment/inputs.js';
import { sourceModelKey } from '../../src/experiment/jobs.js';
import { expectedRunIds, runInputs } from '../../src/experiment/runner.js';
import { runExperiment } from '../../src/plan/index.js';
import { UnrecoverableError } from 'bullmq';
import { transferJobId, type TransferJobSpec } from '../../src/plan/index.js';
import { checkJobInputs } from '../../src/queue/worker.js';

const tmp = mkdtempSync(join(tmpdir(), 'bt-inputs-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

const digits = loadDataset({ name: 'mnist', split: 'train' });

/** Writes samples `from..from+n` of the bundled digits whose label is in `classes` as an IDX pair. */
function writeIdx(dir: string, stem: string, classes: number[], n: number, from = 0): void {
  const idx: number[] = [];
  for (let i = from; idx.length < n; i++) if (classes.includes(digits.labels[i])) idx.push(i);
  const px = 28 * 28;
  const images = Buffer.alloc(16 + n * px);
  images.writeUInt32BE(0x803, 0);
  images.writeUInt32BE(n, 4);
  images.writeUInt32BE(28, 8);
  images.writeUInt32BE(28, 12);
  const labels = Buffer.alloc(8 + n);
  labels.writeUInt32BE(0x801, 0);
  labels.writeUInt32BE(n, 4);
  idx.forEach((k, j) => {
    images.set(digits.images.subarray(k * px, (k + 1) * px), 16 + j * px);
    labels[8 + j] = digits.labels[k];
  });
  writeFileSync(join(dir, `${stem}-images.idx`), images);
  writeFileSync(join(dir, `${stem}-labels.idx`), labels);
}

function writeTrigger(file: string, value: number): void {
  const p = new PNG({ width: 4, height: 4 });
  for (let i = 0; i < 16; i++) p.data.set([value, value, value, 255], 4 * i);
  writeFileSync(file, PNG.sync.write(p));
}

/** A tiny backdoor project: source digits 0-2, target digits 3-4, an image trigger. */
function project(name: string): string {
  const dir = join(tmp, name);
  mkdirSync(join(dir, 'data'), { recursive: true });
  writeIdx(join(dir, 'data'), 'source', [0, 1, 2], 300);
  writeIdx(join(dir, 'data'), 'target', [3, 4], 120);
  writeIdx(join(dir, 'data'), 'target-test', [3, 4], 60, 4000);
  writeTrigger(join(dir, 'trigger.png'), 250);
  const idx = (stem: string) => `{ name: idx, split: train, path: data, imagesFile: ${stem}-images.idx, labelsFile: ${stem}-labels.idx }`;
  writeFileSync(
    join(dir, 'exp.yaml'),
    `name: inputs
seeds: [0]
threads: 1
source:
  dataset: ${idx('source')}
  bias:
    kind: backdoor
    trigger: { kind: image, path: trigger.png, size: 4, position: bottom-right }
    poison: { policy: clean-label, classes: [0], probability: 1.0 }
model: { arch: small-cnn, widthMultiplier: 0.5 }
sourceTraining: { epochs: 1, batchSize: 64, optimizer: { kind: sgd, lr: 0.05 } }
targets:
  - name: digits
    dataset: ${idx('target')}
    testDataset: { name: idx, split: test, path: data, imagesFile: target-images.idx, labelsFile: target-labels.idx, testImagesFile: target-test-images.idx, testLabelsFile: target-test-labels.idx }
transfer: { modes: [fixed] }
targetTraining: { epochs: 1, batchSize: 32, optimizer: { kind: sgd, lr: 0.05 }, evalEvery: 0 }
evaluation: { bootstrap: 0 }
`,
  );
  return dir;
}

/** Flips one byte of a file in place (same size), as an edit of the data behind an unchanged path would. */
function flipByte(file: string, at: number): void {
  const b = readFileSync(file);
  b[at] = 255 - b[at];
  writeFileSync(file, b);
}

interface Ids {
  run: string;
  sourceKeys: string[];
  transferJob: string;
}

function ids(dir: string): Ids {
  const loaded = loadConfig(join(dir, 'exp.yaml'));
  const config = loaded.config;
  const { variants } = runInputs({ config, configDir: loaded.dir }, 0);
  const sourceKeys = variants.map((v) => sourceModelKey({ config, codeHash: 'c0de' }, v, 0));
  const transferJob = transferJobId({
    config,
    seed: 0,
    targetIndex: 0,
    mode: 'fixed',
    sourceKind: 'biased',
    sourceKey: sourceKeys[0],
    inputs: inputsHash(config, loaded.dir),
    codeHash: 'c0de',
  });
  return { run: expectedRunIds(config, loaded.dir)[0], sourceKeys, transferJob };
}

test('datasetDigest follows content: equal for a copy under another name, different for one pixel or one label', () => {
  const a: ImageDataset = { ...digits, images: digits.images.slice(0, 10 * 784), labels: digits.labels.slice(0, 10), n: 10 };
  const copy: ImageDataset = { ...a, name: 'elsewhere', images: a.images.slice(), labels: a.labels.slice() };
  assert.equal(datasetDigest(copy), datasetDigest(a));
  const pixel = { ...copy, images: copy.images.slice() };
  pixel.images[123] ^= 1;
  const label = { ...copy, labels: copy.labels.slice() };
  label.labels[3] = (label.labels[3] + 1) % 10;
  assert.notEqual(datasetDigest(pixel), datasetDigest(a));
  assert.notEqual(datasetDigest(label), datasetDigest(a));
  assert.match(datasetDigest(a), /^[0-9a-f]{32}$/);
});

test('inputDigests names every dataset and file a config reads by its config key', () => {
  const dir = project('keys');
  const loaded = loadConfig(join(dir, 'exp.yaml'));
  assert.deepEqual(Object.keys(inputDigests(loaded.config, loaded.dir)).sort(), [
    'source.bias.trigger.path',
    'source.dataset',
    'targets[0].dataset',
    'targets[0].testDataset',
  ]);
});

test('changed data behind unchanged paths changes the run id; the source model key changes only with source inputs', () => {
  const dir = project('edits');
  const before = ids(dir);
  // The same project at another path: same ids (paths do not count, content does).
  const moved = join(tmp, 'moved');
  cpSync(dir, moved, { recursive: true });
  assert.deepEqual(ids(moved), before);
  // A target test pixel: new run and transfer job, same source model.
  flipByte(join(dir, 'data', 'target-test-images.idx'), 16 + 400);
  const target = ids(dir);
  assert.notEqual(target.run, before.run);
  assert.notEqual(target.transferJob, before.transferJob);
  assert.deepEqual(target.sourceKeys, before.sourceKeys);
  // The trigger image: a new run and a new biased source model (its poisoned images differ); the clean control keeps its key.
  writeTrigger(join(dir, 'trigger.png'), 200);
  const trigger = ids(dir);
  assert.notEqual(trigger.run, target.run);
  assert.notEqual(trigger.sourceKeys[0], target.sourceKeys[0]);
  assert.equal(trigger.sourceKeys[1], target.sourceKeys[1]);
  // A source label: every source model changes.
  const labels = readFileSync(join(dir, 'data', 'source-labels.idx'));
  labels[8 + 5] = (labels[8 + 5] + 1) % 3;
  writeFileSync(join(dir, 'data', 'source-labels.idx'), labels);
  const source = ids(dir);
  assert.notEqual(source.run, trigger.run);
  assert.notEqual(source.sourceKeys[0], trigger.sourceKeys[0]);
  assert.notEqual(source.sourceKeys[1], trigger.sourceKeys[1]);
});

test('an unreadable input fails the run id with the config key and the file', () => {
  const dir = project('missing');
  rmSync(join(dir, 'trigger.png'));
  const loaded = loadConfig(join(dir, 'exp.yaml'));
  assert.throws(() => expectedRunIds(loaded.config, loaded.dir), /source\.bias\.trigger\.path: cannot read file '.*trigger\.png'/);
});

test('the runner reruns a finished experiment whose target data changed in place, reusing the unchanged source model', async () => {
  const dir = project('rerun');
  const root = join(tmp, 'rerun-root');
  const lines: string[] = [];
  const run = () => runExperiment({ loaded: loadConfig(join(dir, 'exp.yaml')), root, log: (l) => lines.push(l) });
  const first = await run();
  lines.length = 0;
  const again = await run();
  assert.equal(again.runs[0].runId, first.runs[0].runId);
  assert.ok(
    lines.some((l) => /already done, reusing its results/.test(l)),
    lines.join('\n'),
  );
  flipByte(join(dir, 'data', 'target-images.idx'), 16 + 300);
  lines.length = 0;
  const changed = await run();
  assert.notEqual(changed.runs[0].runId, first.runs[0].runId);
  assert.ok(!lines.some((l) => /already done/.test(l)), lines.join('\n'));
  assert.ok(
    lines.some((l) => /source biased seed 0: cached model/.test(l)),
    `the source model is reused:\n${lines.join('\n')}`,
  );
  assert.ok(changed.runs[0].rows.length > 0);
});

test('a queue worker refuses a transfer job whose files read differently here than on the submitter', () => {
  // The submitter's files, and a worker's copy of the same project in which one label differs.
  const dir = project('worker');
  const loaded = loadConfig(join(dir, 'exp.yaml'));
  const job: TransferJobSpec = {
    kind: 'transfer',
    config: loaded.config,
    configDir: loaded.dir,
    seed: 0,
    codeHash: 'c0de',
    label: 'inputs seed0 digits/biased/fixed',
    targetIndex: 0,
    mode: 'fixed',
    sourceKind: 'biased',
    sourceKey: null,
    inputs: inputsHash(loaded.config, loaded.dir),
  };
  checkJobInputs(job);
  const other = project('worker-other');
  flipByte(join(other, 'data', 'target-labels.idx'), 8);
  const there = loadConfig(join(other, 'exp.yaml'));
  const moved = { ...job, config: there.config, configDir: there.dir };
  assert.throws(
    () => checkJobInputs(moved),
    (e: Error) =>
      e instanceof UnrecoverableError &&
      e.message.includes(`differ from the submitter's`) &&
      e.message.includes(there.dir) &&
      e.message.includes(job.inputs),
  );
});
