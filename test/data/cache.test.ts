import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import {
  buildShardCache,
  cachedImageFolder,
  listImageFolder,
  openShardCache,
  resolveCacheRoot,
  type ShardDataset,
} from '../../src/data/cache/index.js';
import { DatasetError } from '../../src/data/errors.js';
import { BatchIterator } from '../../src/data/loader.js';
import { loadImageFolder } from '../../src/data/loaders/folder.js';
import type { BatchSpec } from '../../src/data/transforms.js';
import type { ImageDataset } from '../../src/data/types.js';
import { accuracyOf, predict } from '../../src/train/data.js';
import { liveTensors, setNumThreads } from '../../src/torch/index.js';
import { FIXTURE_CLASSES, writeImageFolder } from './folder-fixture.js';
import { tmpDir } from './helpers.js';
import { tinyModel } from '../train/fixtures.js';

setNumThreads(1);

const SIZE: [number, number] = [8, 10];
const SPEC: BatchSpec = { size: [12, 12], mean: [0.5, 0.4, 0.3], std: [0.25, 0.3, 0.35], augment: { cropPadding: 2, hflip: true } };

/** Every sample's bytes, read in one call. */
function readAll(ds: ShardDataset): Uint8Array {
  return ds.read(Int32Array.from({ length: ds.n }, (_, i) => i));
}

/** The tensors of every batch of an epoch, as plain arrays. */
function epochValues(ds: ImageDataset | ShardDataset, epoch: number): { x: Float32Array[]; y: number[][]; idx: number[][] } {
  const out = { x: [] as Float32Array[], y: [] as number[][], idx: [] as number[][] };
  for (const b of new BatchIterator(ds, { batchSize: 4, spec: SPEC, shuffle: true, seed: 9, epoch })) {
    out.x.push(b.x.toFloat32Array());
    out.y.push(Array.from(b.y.toInt32Array()));
    out.idx.push(Array.from(b.indices));
    b.x.dispose();
    b.y.dispose();
  }
  return out;
}

test('a cached folder holds exactly the bytes, labels and classes loadImageFolder gives, across shard boundaries', () => {
  const root = writeImageFolder({ perClass: 5 });
  const cacheRoot = tmpDir('cache-root');
  for (const channels of [3, 1] as const) {
    const mem = loadImageFolder({ path: root, size: SIZE, channels });
    using ds = cachedImageFolder({ path: root, size: SIZE, channels, cacheRoot, shardSize: 4 });
    assert.equal(ds.n, 15);
    assert.deepEqual([ds.c, ds.h, ds.w], [channels, ...SIZE]);
    assert.deepEqual(ds.classes, FIXTURE_CLASSES);
    assert.deepEqual(Array.from(ds.labels), Array.from(mem.labels));
    assert.deepEqual(readAll(ds), mem.images, `${channels}-channel cache bytes differ from loadImageFolder's`);
    // Any order, repeats included, reads the same images.
    const pick = [14, 3, 4, 3, 0, 8];
    const sz = ds.imageBytes;
    const got = ds.read(pick);
    pick.forEach((i, b) => assert.deepEqual(got.subarray(b * sz, (b + 1) * sz), mem.images.subarray(i * sz, (i + 1) * sz), `image ${i}`));
    assert.equal(ds.manifest.shards.length, 4, '15 images in shards of 4');
  }
});

test('the cache key follows content, not paths or times: a copied folder reuses the cache, one changed byte does not', () => {
  const root = writeImageFolder({ perClass: 3, tag: 'key-a' });
  const cacheRoot = tmpDir('cache-root');
  const settings = { channels: 3 as const, size: SIZE };
  const first = buildShardCache(listImageFolder(root), { cacheRoot, settings });
  assert.equal(first.decodedShards, 1);
  assert.equal(first.hashedFiles, 9);
  const again = buildShardCache(listImageFolder(root), { cacheRoot, settings });
  assert.deepEqual([again.key, again.decodedShards, again.hashedFiles], [first.key, 0, 0], 'second build: nothing hashed or decoded');

  const copy = tmpDir('key-b');
  fs.cpSync(root, copy, { recursive: true });
  const copied = buildShardCache(listImageFolder(copy), { cacheRoot, settings });
  assert.equal(copied.key, first.key, 'same content elsewhere: same key');
  assert.equal(copied.decodedShards, 0);

  const other = buildShardCache(listImageFolder(root), { cacheRoot, settings: { channels: 3, size: [8, 8] } });
  assert.notEqual(other.key, first.key, 'another size: another key');

  const f = path.join(copy, 'bee', 'img0.png');
  fs.writeFileSync(f, fs.readFileSync(f)); // same bytes, new mtime: re-hashed, same key
  assert.equal(buildShardCache(listImageFolder(copy), { cacheRoot, settings }).key, first.key);
  fs.cpSync(path.join(root, 'ant', 'img0.png'), f); // other content
  const changed = buildShardCache(listImageFolder(copy), { cacheRoot, settings });
  assert.notEqual(changed.key, first.key);
  assert.equal(changed.hashedFiles, 1, 'only the file whose stat stamp changed is hashed again');
});

test('an interrupted build leaves finished shards and no manifest or temporary file; the next build decodes only the rest', () => {
  const root = writeImageFolder({ perClass: 4 });
  const cacheRoot = tmpDir('cache-root');
  const settings = { channels: 3 as const, size: SIZE };
  // Stop the build after its second shard, as a killed process would.
  const stop = (line: string): void => {
    if (line.includes('shard 2/3')) throw new Error('interrupted');
  };
  assert.throws(() => buildShardCache(listImageFolder(root), { cacheRoot, settings, shardSize: 4, log: stop }), /interrupted/);
  const dirs = fs.readdirSync(path.join(cacheRoot, 'shards'));
  assert.equal(dirs.length, 1);
  assert.deepEqual(fs.readdirSync(path.join(cacheRoot, 'shards', dirs[0])).sort(), ['shard-00000.u8', 'shard-00001.u8']);
  const lines: string[] = [];
  const built = buildShardCache(listImageFolder(root), { cacheRoot, settings, shardSize: 4, log: (l) => lines.push(l) });
  assert.equal(built.dir, path.join(cacheRoot, 'shards', dirs[0]));
  assert.deepEqual([built.reusedShards, built.decodedShards], [2, 1]);
  assert.match(lines.at(-1)!, /shard 3\/3 \(12\/12 images, \d+ img\/s\)/);
  using ds = openShardCache(built.dir);
  assert.deepEqual(readAll(ds), loadImageFolder({ path: root, size: SIZE }).images);

  // A corrupt file fails the build with an error naming it, leaving no temporary file behind.
  const bad = path.join(root, 'cat', 'img1.png');
  fs.writeFileSync(bad, Buffer.concat([fs.readFileSync(bad).subarray(0, 40), Buffer.alloc(20)]));
  assert.throws(
    () => buildShardCache(listImageFolder(root), { cacheRoot, settings, shardSize: 4 }),
    (e: unknown) => e instanceof DatasetError && e.file === bad,
  );
  for (const d of fs.readdirSync(path.join(cacheRoot, 'shards')))
    assert.ok(!fs.readdirSync(path.join(cacheRoot, 'shards', d)).some((f) => f.includes('.tmp')), `temporary file left in ${d}`);
});

test('batches and predictions from the cache equal the in-memory ones (order, augmentation draws, floats), with and without prefetch', () => {
  const root = writeImageFolder({ perClass: 5 });
  const cacheRoot = tmpDir('cache-root');
  const mem = loadImageFolder({ path: root, size: SIZE });
  using pre = cachedImageFolder({ path: root, size: SIZE, cacheRoot, shardSize: 4 });
  using plain = cachedImageFolder({ path: root, size: SIZE, cacheRoot, shardSize: 4, prefetch: false });
  const before = liveTensors();
  for (const epoch of [0, 1]) {
    const want = epochValues(mem, epoch);
    assert.deepEqual(epochValues(pre, epoch), want, `epoch ${epoch}: prefetched streamed batches differ`);
    assert.deepEqual(epochValues(plain, epoch), want, `epoch ${epoch}: streamed batches differ`);
  }
  // 4 batches per epoch: the first read on the spot, the next three prefetched on the worker.
  assert.deepEqual(pre.stats, { prefetched: 6, direct: 2 });
  assert.equal(plain.stats.prefetched, 0);
  const model = tinyModel({ seed: 2, numClasses: 3 });
  const fwd = (x: Parameters<typeof model.forward>[0]) => model.forward(x);
  const graySpec: BatchSpec = { size: [12, 12], channels: 1, mean: [0.5], std: [0.5] };
  model.eval();
  const a = predict(fwd, mem, graySpec, { batchSize: 4, keepLogits: true });
  const b = predict(fwd, pre, graySpec, { batchSize: 4, keepLogits: true });
  assert.deepEqual(b, a);
  assert.equal(accuracyOf(b.preds, pre.labels), accuracyOf(a.preds, mem.labels));
  model.dispose();
  assert.equal(liveTensors(), before, 'streamed batches leaked tensors');
});

test('bad use of a cache fails with a clear error: an index out of range, a closed cache, a damaged manifest or shard', () => {
  const root = writeImageFolder({ perClass: 2 });
  const cacheRoot = tmpDir('cache-root');
  const ds = cachedImageFolder({ path: root, size: SIZE, cacheRoot });
  assert.throws(() => ds.read([0, 6]), /index 6 is outside 0\.\.5/);
  ds.close();
  ds.close();
  assert.throws(() => ds.read([0]), /was closed/);
  const manifest = path.join(ds.dir, 'manifest.json');
  const shard = path.join(ds.dir, 'shard-00000.u8');
  fs.truncateSync(shard, 10);
  assert.throws(
    () => openShardCache(ds.dir),
    (e: unknown) => e instanceof DatasetError && e.file === shard && /10 bytes, 1440 expected/.test(e.message),
  );
  const m = JSON.parse(fs.readFileSync(manifest, 'utf8'));
  fs.writeFileSync(manifest, JSON.stringify({ ...m, c: 4 }));
  assert.throws(
    () => openShardCache(ds.dir),
    (e: unknown) => e instanceof DatasetError && e.file === manifest && /at 'c'/.test(e.message),
  );
  assert.throws(() => openShardCache(tmpDir('empty')), /no shard cache manifest/);
});

test('the cache folder is --cache, else $BIAS_TRANSFER_CACHE, else <results root>/.cache', () => {
  const saved = process.env.BIAS_TRANSFER_CACHE;
  try {
    process.env.BIAS_TRANSFER_CACHE = '/tmp/env-cache';
    assert.equal(resolveCacheRoot({ explicit: '/tmp/flag-cache' }), '/tmp/flag-cache');
    assert.equal(resolveCacheRoot({ resultsRoot: '/tmp/runs' }), '/tmp/env-cache');
    delete process.env.BIAS_TRANSFER_CACHE;
    assert.equal(resolveCacheRoot({ resultsRoot: '/tmp/runs' }), '/tmp/runs/.cache');
  } finally {
    if (saved === undefined) delete process.env.BIAS_TRANSFER_CACHE;
    else process.env.BIAS_TRANSFER_CACHE = saved;
  }
});
