/**
 * `stream: true` on a folder dataset: an experiment reads its source and target images from the
 * on-disk shard cache a batch at a time instead of into memory, and gets the very numbers the
 * in-memory path gets (bit-identical: the cache holds the bytes the in-memory loader decodes, the
 * selection runs the same functions, and bias injection is per sample with the same plans). Also:
 * a second results root reuses the cache (nothing decoded again), a first run reads and hashes
 * each file once (the run id and the shard cache share the file-digest memo under the results
 * root), and bad values are config errors naming the key.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, test } from 'node:test';
import { createHash } from 'node:crypto';
import { fileDigestCount } from '../../src/data/index.js';
import { isStreamed } from '../../src/data/types.js';
import { loadConfig } from '../../src/experiment/config/index.js';
import { loadSource, prepareTarget, sourceVariants } from '../../src/experiment/prepare.js';
import { runExperiment } from '../../src/plan/index.js';
import type { MetricRow } from '../../src/store/index.js';
import { writeImageFolder } from '../data/folder-fixture.js';
import { tmpDir } from '../data/helpers.js';

const dir = tmpDir('stream-exp');
after(() => fs.rmSync(dir, { recursive: true, force: true }));

/** A folder in torchvision's split layout (train/ and test/, three classes of mixed-size PNGs and JPEGs). */
function splitFolder(name: string, seed: number, perClass: number): void {
  fs.mkdirSync(path.join(dir, name));
  for (const [split, s] of [
    ['train', seed],
    ['test', seed + 100],
  ] as const)
    fs.renameSync(writeImageFolder({ perClass, seed: s, tag: `${name}-${split}` }), path.join(dir, name, split));
}
splitFolder('src', 1, 24);
splitFolder('tgt', 2, 20);

const CONFIG = `
name: streamed
seeds: [0]
threads: 1
source:
  dataset: { name: folder, path: src, split: train, size: [16, 16] }
  bias:
    kind: backdoor
    trigger: { kind: checkerboard, size: 4, position: bottom-right, cell: 1 }
    poison: { policy: dirty-label, targetClass: 0, probability: 0.25 }
model: { arch: small-cnn, widthMultiplier: 0.5 }
sourceTraining: { epochs: 1, batchSize: 16, optimizer: { kind: sgd, lr: 0.05 } }
targets:
  - name: t
    dataset: { name: folder, path: tgt, split: train, size: [16, 16], classes: [cat, ant], limit: 30 }
    testDataset: { name: folder, path: tgt, split: test, size: [16, 16], classes: [cat, ant] }
    bias: { fraction: 0.2 }
transfer: { modes: [fixed, full, scratch] }
targetTraining: { epochs: 1, batchSize: 16, optimizer: { kind: sgd, lr: 0.05 } }
evaluation:
  bootstrap: 0
  patches:
    - { kind: class-patch, sourceClass: bee, size: 4, dataset: { name: folder, path: src, split: test, size: [16, 16] } }
`;
const file = path.join(dir, 'streamed.yaml');
fs.writeFileSync(file, CONFIG);
const STREAM = ['source.dataset.stream=true', 'targets.0.dataset.stream=true', 'targets.0.testDataset.stream=true'];

/** Metric rows without run ids, in a stable order. */
const numbers = (rows: MetricRow[]) =>
  rows
    .map((r) => ({ ...r }))
    .sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)))
    .map((r) => JSON.stringify(r));

test('a streamed experiment reads the same samples, labels and bytes as the in-memory one', () => {
  const mem = loadConfig(file);
  const str = loadConfig(file, { overrides: STREAM });
  const cacheRoot = path.join(dir, 'cache-a');
  const ctxM = { config: mem.config, configDir: mem.dir };
  const ctxS = { config: str.config, configDir: str.dir, cacheRoot };
  // Content ids (the files' sha256) from the cache's manifest, as the loader computes them: the disjointness check's input.
  assert.deepEqual(loadSource(ctxS, 0).contentIds, loadSource(ctxM, 0).contentIds);
  const [vm, vs] = [sourceVariants(ctxM, 0), sourceVariants(ctxS, 0)];
  assert.deepEqual(
    vs.map((v) => v.kind),
    vm.map((v) => v.kind),
  );
  for (let k = 0; k < vm.length; k++) {
    const m = vm[k].dataset;
    const s = vs[k].dataset;
    assert.ok(isStreamed(s) && !isStreamed(m), 'streamed vs in memory');
    assert.deepEqual(s.labels, m.labels, `${vm[k].kind} labels`);
    assert.deepEqual(s.read(Int32Array.from({ length: s.n }, (_, i) => i)), m.images, `${vm[k].kind} pixels`);
    assert.deepEqual(vs[k].record, vm[k].record, `${vm[k].kind} poisoning record`);
  }
  const tm = prepareTarget(ctxM, 0, 0, loadSource(ctxM, 0));
  const ts = prepareTarget(ctxS, 0, 0, loadSource(ctxS, 0));
  assert.deepEqual([...ts.conditions.keys()], [...tm.conditions.keys()]);
  assert.deepEqual(ts.biasRecord, tm.biasRecord, 'target bias record');
  for (const [name, m] of [['train', tm.train] as const, ...tm.conditions]) {
    const s = name === 'train' ? ts.train : ts.conditions.get(name)!;
    assert.ok(isStreamed(s) && !isStreamed(m));
    assert.equal(s.n, m.n, name);
    assert.deepEqual(s.labels, m.labels, `${name} labels`);
    assert.deepEqual(s.classes, m.classes, `${name} classes`);
    assert.deepEqual(s.read(Int32Array.from({ length: s.n }, (_, i) => s.n - 1 - i)), reversed(m), `${name} pixels, read in reverse`);
  }
});

/** An in-memory dataset's pixels in reverse sample order. */
function reversed(m: { images: Uint8Array; n: number; c: number; h: number; w: number } | object): Uint8Array {
  const d = m as { images: Uint8Array; n: number; c: number; h: number; w: number };
  const s = d.c * d.h * d.w;
  const out = new Uint8Array(d.images.length);
  for (let i = 0; i < d.n; i++) out.set(d.images.subarray((d.n - 1 - i) * s, (d.n - i) * s), i * s);
  return out;
}

test('streamed and in-memory runs give bit-identical numbers (accuracy, ASR, source accuracy); a second root reuses the cache', async () => {
  const memRoot = path.join(dir, 'runs-mem');
  const strRoot = path.join(dir, 'runs-stream');
  const mem = await runExperiment({ loaded: loadConfig(file), root: memRoot, log: () => {} });
  const lines: string[] = [];
  const str = await runExperiment({ loaded: loadConfig(file, { overrides: STREAM }), root: strRoot, log: (l) => lines.push(l) });
  const rowsM = mem.runs.flatMap((r) => r.rows);
  const rowsS = str.runs.flatMap((r) => r.rows);
  assert.ok(rowsM.some((r) => r.metric === 'accuracy') && rowsM.some((r) => r.metric === 'asr'), 'accuracy and ASR rows');
  assert.ok(
    rowsM.some((r) => r.metric === 'source-accuracy'),
    'source accuracy (on the folder test split)',
  );
  assert.deepEqual(numbers(rowsS), numbers(rowsM));
  // The cache lives under the results root by default, and was built there (one line per shard).
  const shards = path.join(strRoot, '.cache', 'shards');
  assert.ok(fs.readdirSync(shards).length >= 3, 'caches of the source train/test and target train/test splits');
  assert.ok(
    lines.some((l) => /cache [0-9a-f]{12}: shard 1\/1/.test(l)),
    'build progress logged',
  );
  // Another results root with $BIAS_TRANSFER_CACHE at the first cache: nothing is decoded again, the same numbers.
  const before = process.env.BIAS_TRANSFER_CACHE;
  process.env.BIAS_TRANSFER_CACHE = path.join(strRoot, '.cache');
  try {
    const again: string[] = [];
    const other = await runExperiment({
      loaded: loadConfig(file, { overrides: STREAM }),
      root: path.join(dir, 'runs-other'),
      log: (l) => again.push(l),
    });
    assert.deepEqual(
      again.filter((l) => /: shard \d+\//.test(l)),
      [],
      'no shard decoded again',
    );
    assert.deepEqual(numbers(other.runs.flatMap((r) => r.rows)), numbers(rowsM));
    assert.ok(!fs.existsSync(path.join(dir, 'runs-other', '.cache', 'shards')), 'no second cache under the new root');
  } finally {
    if (before === undefined) delete process.env.BIAS_TRANSFER_CACHE;
    else process.env.BIAS_TRANSFER_CACHE = before;
  }
  // Resumed on its own root: the finished run is reused.
  const resumed: string[] = [];
  await runExperiment({ loaded: loadConfig(file, { overrides: STREAM }), root: strRoot, log: (l) => resumed.push(l) });
  assert.ok(
    resumed.some((l) => /already done/.test(l)),
    resumed.join('\n'),
  );
});

test('stream: a bad value, a format that cannot stream, a folder without a size, a streamed attribute or probe dataset are config errors naming the key', () => {
  const err = (overrides: string[], key: RegExp, why: RegExp) =>
    assert.throws(
      () => loadConfig(file, { overrides }),
      (e: Error) => key.test(e.message) && why.test(e.message),
    );
  err(['source.dataset.stream="yes"'], /source\.dataset\.stream/, /boolean/);
  err(['source.dataset={name: mnist, split: train, stream: true}'], /source\.dataset\.stream/, /only 'folder' datasets can be streamed/);
  err(['targets.0.dataset.size=null', 'targets.0.dataset.stream=true'], /targets\.0\.dataset\.stream/, /fixed image size/);
  err(
    [
      'source.bias={kind: spurious, attribute: {kind: dataset, dataset: {name: folder, path: src, split: test, size: [8, 8], stream: true}}, probabilityPerClass: {ant: 0.9}}',
      'targets.0.bias=null',
    ],
    /source\.bias\.attribute\.dataset\.stream/,
    /attribute images are read into memory/,
  );
  err(['evaluation.patches.0.dataset.stream=true'], /evaluation\.patches\.0\.dataset\.stream/, /in-memory dataset/);
});

test('the disjointness check compares streamed images by content too: a streamed test set holding source images is refused', async () => {
  const loaded = loadConfig(file, { overrides: [...STREAM, 'targets.0.testDataset.path=src', 'targets.0.testDataset.split=train'] });
  await assert.rejects(
    runExperiment({ loaded, root: path.join(dir, 'runs-overlap'), log: () => {} }),
    /targets\[0\]\.testDataset shares \d+ of its \d+ images with source\.dataset/,
  );
});

test('a spurious bias composes streamed images per sample: the same numbers as in memory (accuracy, subgroup rows)', async () => {
  const spurious = [
    'source.bias={kind: spurious, attribute: {kind: shape, shape: square, color: [255, 0, 0]}, canvas: [20, 20], attributeScale: 0.3, probabilityPerClass: {ant: 0.9}, defaultProbability: 0.1}',
    'targets.0.bias=null',
    'evaluation.patches=[]',
    'transfer.modes=[fixed, full]',
  ];
  const mem = await runExperiment({ loaded: loadConfig(file, { overrides: spurious }), root: path.join(dir, 'sp-mem'), log: () => {} });
  const str = await runExperiment({
    loaded: loadConfig(file, { overrides: [...spurious, ...STREAM] }),
    root: path.join(dir, 'sp-stream'),
    log: () => {},
  });
  const rowsM = mem.runs.flatMap((r) => r.rows);
  assert.ok(
    rowsM.some((r) => r.condition === 'with_attribute'),
    'subgroup rows (with the attribute)',
  );
  assert.deepEqual(numbers(str.runs.flatMap((r) => r.rows)), numbers(rowsM));
  assert.ok(fs.existsSync(path.join(dir, 'sp-stream', '.cache', 'shards')), 'read through the cache');
});

test('a first streamed run hashes each file once: the run id and the shard cache share one digest memo, under the results root', async () => {
  // Fresh folders (no memo anywhere yet), $BIAS_TRANSFER_CACHE unset: the default cache is <root>/.cache.
  splitFolder('hsrc', 5, 6);
  splitFolder('htgt', 6, 6);
  const yaml = CONFIG.replaceAll('path: src', 'path: hsrc')
    .replaceAll('path: tgt', 'path: htgt')
    .replace('name: streamed', 'name: hashed-once');
  const f = path.join(dir, 'hashed-once.yaml');
  fs.writeFileSync(f, yaml);
  const root = path.join(dir, 'runs-hashed-once');
  const env = process.env.BIAS_TRANSFER_CACHE;
  delete process.env.BIAS_TRANSFER_CACHE;
  const before = fileDigestCount.hashed;
  try {
    await runExperiment({ loaded: loadConfig(f, { overrides: STREAM }), root, log: () => {} });
  } finally {
    if (env !== undefined) process.env.BIAS_TRANSFER_CACHE = env;
  }
  const hashed = fileDigestCount.hashed - before;
  const memoOf = (cacheRoot: string, folder: string) =>
    path.join(cacheRoot, 'digests', `${createHash('sha256').update(path.resolve(folder)).digest('hex').slice(0, 32)}.json`);
  const streamed = ['hsrc/train', 'hsrc/test', 'htgt/train', 'htgt/test'].map((d) => path.join(dir, d));
  let files = 0;
  for (const folder of streamed) {
    const memo = memoOf(path.join(root, '.cache'), folder);
    if (!fs.existsSync(memo)) continue;
    files += Object.keys((JSON.parse(fs.readFileSync(memo, 'utf8')) as { files: object }).files).length;
    assert.ok(!fs.existsSync(memoOf(path.resolve('.cache'), folder)), `${folder}: no second memo under ./.cache`);
  }
  assert.ok(files >= 3 * 6 * 2, `the streamed splits' files are in the memo under the results root (${files})`);
  assert.equal(hashed, files, `${hashed} file hashings for ${files} files`);
});
