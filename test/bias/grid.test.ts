import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PNG } from 'pngjs';
import { exampleGridPng, gridImages, gridLayout, poisonDataset, writeExampleGrid } from '../../src/bias/index.js';
import { makeDataset } from './fixtures.js';

test('example grid PNG has the layout size and shows each image pixel scaled at its cell', () => {
  const gray = { pixels: Uint8Array.from({ length: 16 }, (_, k) => k * 10), c: 1, h: 4, w: 4 };
  const rgb = { pixels: new Uint8Array(3 * 16), c: 3, h: 4, w: 4 };
  rgb.pixels.fill(200, 0, 16); // red plane
  rgb.pixels.fill(30, 32, 48); // blue plane
  const rows = [
    { label: 'clean', images: [gray, gray] },
    { label: 'triggered 1', images: [rgb] },
  ];
  const opts = { scale: 3, pad: 2 };
  const L = gridLayout(rows, opts);
  const png = PNG.sync.read(exampleGridPng(rows, opts));
  assert.equal(png.width, L.width);
  assert.equal(png.height, L.height);
  // Caption column: 'triggered 1' is 11 glyphs -> 43 px, so images start at 2 + 43 + 2.
  assert.equal(L.x0, 47);
  assert.equal(png.width, 47 + 2 * (12 + 2));
  assert.equal(png.height, 2 + 2 * (12 + 2));
  const at = (x: number, y: number) => Array.from(png.data.subarray(4 * (y * png.width + x), 4 * (y * png.width + x) + 4));
  // Row 0, image 1, source pixel (row 2, col 3) = 110, covering a 3x3 block.
  const x = L.x0 + L.cellW + 3 * 3 + 2;
  const y = L.rowY[0] + 2 * 3 + 1;
  assert.deepEqual(at(x, y), [110, 110, 110, 255]);
  // Row 1, the RGB image.
  assert.deepEqual(at(L.x0 + 1, L.rowY[1] + 1), [200, 0, 30, 255]);
  // Padding is background white; some caption pixel is black.
  assert.deepEqual(at(0, 0), [255, 255, 255, 255]);
  let black = 0;
  for (let yy = 0; yy < png.height; yy++) for (let xx = 0; xx < L.x0; xx++) if (at(xx, yy)[0] === 0) black++;
  assert.ok(black > 20, 'captions drawn');
});

test('writeExampleGrid writes a decodable PNG of clean vs poisoned examples', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bias-grid-'));
  const file = path.join(dir, 'sub', 'grid.png');
  const ds = makeDataset({ n: 8, h: 8, w: 8, fill: () => 0 });
  const { dataset, record } = poisonDataset(
    ds,
    { kind: 'solid', color: 255, size: 2, position: 'bottom-right' },
    { policy: 'clean-label-count', classes: [0], count: 3 },
    0,
  );
  writeExampleGrid(
    file,
    [
      { label: 'clean', images: gridImages(ds, record.indices) },
      { label: 'poisoned', images: gridImages(dataset, record.indices) },
    ],
    { scale: 1, pad: 1, labelScale: 0 },
  );
  const png = PNG.sync.read(fs.readFileSync(file));
  assert.equal(png.width, 1 + 3 * 9);
  assert.equal(png.height, 1 + 2 * 9);
  const at = (x: number, y: number) => png.data[4 * (y * png.width + x)];
  // Bottom-right pixel of the first image: black when clean, white (trigger) when poisoned.
  assert.equal(at(1 + 7, 1 + 7), 0);
  assert.equal(at(1 + 7, 1 + 9 + 7), 255);
  assert.throws(
    () => exampleGridPng([{ label: 'x', images: [{ pixels: new Uint8Array(3), c: 1, h: 2, w: 2 }] }]),
    /rows\[0\]\.images\[0\] has 3 bytes/,
  );
  assert.throws(() => exampleGridPng([], {}), /at least one row/);
});
