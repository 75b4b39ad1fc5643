import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import zlib from 'node:zlib';
import { DatasetError } from '../../src/data/errors.js';
import { loadIdxPair, readIdx } from '../../src/data/loaders/idx.js';
import { loadDataset } from '../../src/data/registry.js';
import { tmpDir } from './helpers.js';

function idx(magic: number, dims: number[], data: number[]): Buffer {
  const head = Buffer.alloc(4 + 4 * dims.length);
  head.writeUInt32BE(magic, 0);
  dims.forEach((d, i) => head.writeUInt32BE(d, 4 + 4 * i));
  return Buffer.concat([head, Buffer.from(data)]);
}

const N = 3;
const pixels = Array.from({ length: N * 16 }, (_, i) => (i * 5) % 256);
const labelBytes = [2, 0, 1];

/** Asserts fn throws a DatasetError whose file is `file` and whose message matches `re`. */
function throwsFor(fn: () => unknown, file: string, re: RegExp): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof DatasetError, `expected DatasetError, got ${String(e)}`);
    assert.equal(e.file, file);
    assert.match(e.message, re);
    assert.ok(e.message.includes(file), 'message names the file');
    return true;
  });
}

test('readIdx and loadIdxPair decode plain and gzipped 4x4 images exactly', () => {
  const dir = tmpDir('idx');
  const img = path.join(dir, 'img-idx3-ubyte');
  const lab = path.join(dir, 'lab-idx1-ubyte');
  fs.writeFileSync(img, idx(0x803, [N, 4, 4], pixels));
  fs.writeFileSync(lab, idx(0x801, [N], labelBytes));
  // gzipped copies, one under a name without .gz: detection is by magic, not name
  fs.writeFileSync(`${img}.gz`, zlib.gzipSync(fs.readFileSync(img)));
  fs.writeFileSync(path.join(dir, 'lab-gz-no-ext'), zlib.gzipSync(fs.readFileSync(lab)));
  assert.deepEqual(readIdx(img).dims, [N, 4, 4]);
  for (const [i, l] of [
    [img, lab],
    [`${img}.gz`, path.join(dir, 'lab-gz-no-ext')],
  ]) {
    const ds = loadIdxPair(i, l);
    assert.deepEqual([ds.n, ds.c, ds.h, ds.w], [N, 1, 4, 4]);
    assert.deepEqual(Array.from(ds.images), pixels);
    assert.deepEqual(Array.from(ds.labels), labelBytes);
    assert.equal(ds.classes.length, 10);
  }
  const viaSpec = loadDataset({ name: 'idx', split: 'train', path: dir, imagesFile: 'img-idx3-ubyte.gz', labelsFile: 'lab-idx1-ubyte' });
  assert.deepEqual(Array.from(viaSpec.images), pixels);
});

test('IDX errors name the file: wrong magic, truncation, trailing bytes, count mismatch, bad gzip, missing', () => {
  const dir = tmpDir('idx-bad');
  const good = path.join(dir, 'good-images');
  const lab = path.join(dir, 'good-labels');
  fs.writeFileSync(good, idx(0x803, [N, 4, 4], pixels));
  fs.writeFileSync(lab, idx(0x801, [N], labelBytes));

  const magic = path.join(dir, 'magic');
  fs.writeFileSync(magic, idx(0x802, [N, 4, 4], pixels));
  throwsFor(() => readIdx(magic), magic, /wrong IDX magic number 0x00000802/);

  const trunc = path.join(dir, 'trunc');
  fs.writeFileSync(trunc, idx(0x803, [N, 4, 4], pixels.slice(0, 40)));
  throwsFor(() => readIdx(trunc), trunc, /truncated: dims \[3, 4, 4\] need 48 data bytes, file has 40/);

  const header = path.join(dir, 'header');
  fs.writeFileSync(header, idx(0x803, [N], []));
  throwsFor(() => readIdx(header), header, /truncated IDX header/);

  const extra = path.join(dir, 'extra');
  fs.writeFileSync(extra, idx(0x801, [N], [...labelBytes, 9]));
  throwsFor(() => readIdx(extra), extra, /1 unexpected trailing bytes/);

  const fewer = path.join(dir, 'fewer-labels');
  fs.writeFileSync(fewer, idx(0x801, [2], [0, 1]));
  throwsFor(() => loadIdxPair(good, fewer), fewer, /has 2 labels but .* has 3 images/);

  throwsFor(() => loadIdxPair(lab, lab), lab, /expected an idx3 images file/);

  const badGz = path.join(dir, 'bad.gz');
  fs.writeFileSync(badGz, zlib.gzipSync(fs.readFileSync(good)).subarray(0, 30));
  throwsFor(() => readIdx(badGz), badGz, /corrupt or truncated gzip/);

  const missing = path.join(dir, 'nope');
  throwsFor(() => readIdx(missing), missing, /file not found/);
});
