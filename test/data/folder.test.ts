import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import jpeg from 'jpeg-js';
import pngjs from 'pngjs';
import { DatasetError } from '../../src/data/errors.js';
import { loadImageFolder } from '../../src/data/loaders/folder.js';
import { loadDataset } from '../../src/data/registry.js';
import { tmpDir } from './helpers.js';

/** RGBA bytes of a w×h image whose pixel (y, x) = rgb(y, x), alpha 128. */
function rgba(w: number, h: number, rgb: (y: number, x: number) => [number, number, number]): Buffer {
  const b = Buffer.alloc(w * h * 4);
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++) {
      const [r, g, bl] = rgb(y, x);
      b.set([r, g, bl, 128], (y * w + x) * 4);
    }
  return b;
}
function writePng(file: string, w: number, h: number, rgb: (y: number, x: number) => [number, number, number]): void {
  const png = new pngjs.PNG({ width: w, height: h });
  rgba(w, h, rgb).copy(png.data);
  fs.writeFileSync(file, pngjs.PNG.sync.write(png));
}
function writeJpeg(file: string, w: number, h: number, rgb: (y: number, x: number) => [number, number, number]): void {
  fs.writeFileSync(file, jpeg.encode({ width: w, height: h, data: rgba(w, h, rgb) }, 100).data);
}
function throwsFor(fn: () => unknown, file: string, re: RegExp): void {
  assert.throws(fn, (e: unknown) => e instanceof DatasetError && e.file === file && re.test(e.message) && e.message.includes(file));
}

test('image folder: sorted classes, PNG pixels exact (alpha dropped), JPEG close, gray by luminance', () => {
  const root = tmpDir('folder');
  fs.mkdirSync(path.join(root, 'zebra'));
  fs.mkdirSync(path.join(root, 'apple'));
  writePng(path.join(root, 'zebra', 'b.png'), 3, 2, (y, x) => [10 * x, 100 + y, 200]);
  writePng(path.join(root, 'zebra', 'a.png'), 3, 2, () => [1, 2, 3]);
  writeJpeg(path.join(root, 'apple', 'x.JPG'), 3, 2, () => [200, 50, 20]);
  fs.writeFileSync(path.join(root, 'apple', 'notes.txt'), 'ignored');
  const ds = loadImageFolder({ path: root });
  assert.deepEqual(ds.classes, ['apple', 'zebra']);
  assert.deepEqual([ds.n, ds.c, ds.h, ds.w], [3, 3, 2, 3]);
  assert.deepEqual(Array.from(ds.labels), [0, 1, 1]);
  // sample 0: JPEG constant (200, 50, 20) within JPEG error
  for (let k = 0; k < 3; k++)
    for (let j = 0; j < 6; j++) assert.ok(Math.abs(ds.images[k * 6 + j] - [200, 50, 20][k]) <= 3, `jpeg channel ${k}`);
  // sample 1: a.png constant (1, 2, 3); sample 2: b.png planar R, G, B
  assert.deepEqual(Array.from(ds.images.subarray(18, 36)), [1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2, 3, 3, 3, 3, 3, 3]);
  assert.deepEqual(
    Array.from(ds.images.subarray(36, 54)),
    [0, 10, 20, 0, 10, 20, 100, 100, 100, 101, 101, 101, 200, 200, 200, 200, 200, 200],
  );
  const gray = loadImageFolder({ path: root, channels: 1 });
  assert.equal(gray.c, 1);
  const px = (r: number, g: number, b: number): number => Math.round(0.299 * r + 0.587 * g + 0.114 * b);
  assert.deepEqual(Array.from(gray.images.subarray(12, 18)), [
    px(0, 100, 200),
    px(10, 100, 200),
    px(20, 100, 200),
    px(0, 101, 200),
    px(10, 101, 200),
    px(20, 101, 200),
  ]);
});

test('image folder resizes to the requested size (constant image stays constant) via the registry', () => {
  const root = tmpDir('folder-resize');
  fs.mkdirSync(path.join(root, 'one'));
  writePng(path.join(root, 'one', 'big.png'), 7, 5, () => [90, 90, 90]);
  writePng(path.join(root, 'one', 'small.png'), 2, 2, (y, x) => [x * 100, 0, 0]);
  const ds = loadDataset({ name: 'folder', split: 'train', path: root, size: [4, 4], channels: 1 });
  assert.deepEqual([ds.n, ds.c, ds.h, ds.w], [2, 1, 4, 4]);
  assert.ok(ds.images.subarray(0, 16).every((v) => v === 90));
  // Pillow's bilinear 2 → 4 (half-pixel centres) turns R = 0, 100 into 0, 25, 75, 100; the gray
  // conversion follows the resize (torchvision's Resize → Grayscale order): round(0.299 R) = 0, 7, 22, 30
  assert.deepEqual(Array.from(ds.images.subarray(16, 20)), [0, 7, 22, 30]);
  throwsFor(
    () => loadImageFolder({ path: root }),
    path.join(root, 'one', 'small.png'),
    /image is 2×2 but earlier images are 5×7; set a size/,
  );
});

test('image folder errors name the path: missing root, no classes, empty class, corrupt and unknown images', () => {
  const root = tmpDir('folder-bad');
  throwsFor(() => loadImageFolder({ path: path.join(root, 'nope') }), path.join(root, 'nope'), /image folder not found/);
  throwsFor(() => loadImageFolder({ path: root }), root, /no class sub-folders/);
  fs.mkdirSync(path.join(root, 'a'));
  fs.mkdirSync(path.join(root, 'b'));
  writePng(path.join(root, 'a', '1.png'), 2, 2, () => [0, 0, 0]);
  throwsFor(() => loadImageFolder({ path: root }), path.join(root, 'b'), /class folder holds no .png/);
  const corrupt = path.join(root, 'b', 'bad.png');
  fs.writeFileSync(corrupt, Buffer.concat([fs.readFileSync(path.join(root, 'a', '1.png')).subarray(0, 30)]));
  throwsFor(() => loadImageFolder({ path: root }), corrupt, /corrupt or unreadable PNG/);
  fs.rmSync(corrupt);
  const fake = path.join(root, 'b', 'fake.jpg');
  fs.writeFileSync(fake, 'hello, not an image');
  throwsFor(() => loadImageFolder({ path: root }), fake, /not a PNG, JPEG or WebP/);
  fs.writeFileSync(fake, Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0, 16, 1, 2, 3]));
  throwsFor(() => loadImageFolder({ path: root }), fake, /corrupt or unreadable JPEG/);
});
