import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PNG } from 'pngjs';
import { Rng } from '../../src/data/rng.js';
import { applyTrigger, pasteTrigger, renderTrigger, type TriggerSpec } from '../../src/bias/index.js';
import { changedSamples, makeDataset, px } from './fixtures.js';

const gray8 = { c: 1, h: 8, w: 8 };

test('a 2x2 solid trigger at bottom-right of an 8x8 image changes exactly those 4 pixels', () => {
  const img = new Uint8Array(64).fill(10);
  const before = img.slice();
  const r = renderTrigger({ kind: 'solid', color: 250, size: 2, position: 'bottom-right' }, gray8);
  const out = pasteTrigger(img, gray8, r, 6, 6);
  assert.deepEqual(img, before, 'input image was modified');
  const changed: number[] = [];
  for (let k = 0; k < 64; k++) if (out[k] !== img[k]) changed.push(k);
  assert.deepEqual(changed, [6 * 8 + 6, 6 * 8 + 7, 7 * 8 + 6, 7 * 8 + 7]);
  for (const k of changed) assert.equal(out[k], 250);
});

test('applyTrigger places named positions at the right corners and leaves other images alone', () => {
  const ds = makeDataset({ n: 3, h: 8, w: 8, fill: () => 0 });
  const cases: Array<[TriggerSpec['position'], number, number]> = [
    ['top-left', 0, 0],
    ['top-right', 5, 0],
    ['bottom-left', 0, 5],
    ['bottom-right', 5, 5],
    ['center', 2, 2],
    [{ x: 1, y: 4 }, 1, 4],
  ];
  for (const [position, x, y] of cases) {
    const { dataset, positions } = applyTrigger(ds, [1], { kind: 'solid', color: 255, size: 3, position }, new Rng(0));
    assert.deepEqual(positions, [{ index: 1, x, y }], `position ${JSON.stringify(position)}`);
    assert.deepEqual(changedSamples(ds, dataset), [1]);
    let count = 0;
    for (let r = 0; r < 8; r++)
      for (let q = 0; q < 8; q++) {
        const inside = r >= y && r < y + 3 && q >= x && q < x + 3;
        assert.equal(px(dataset, 1, 0, r, q), inside ? 255 : 0, `pixel (${r},${q}) for ${JSON.stringify(position)}`);
        count += inside ? 1 : 0;
      }
    assert.equal(count, 9);
  }
});

test('opacity 0.5 blends trigger and image half and half', () => {
  const img = new Uint8Array(64).fill(100);
  const r = renderTrigger({ kind: 'solid', color: 200, size: 2, position: 'top-left', opacity: 0.5 }, gray8);
  assert.equal(r.mask[0], 0.5);
  const out = pasteTrigger(img, gray8, r, 0, 0);
  assert.equal(out[0], 150);
  assert.equal(out[9], 150);
  assert.equal(out[2], 100);
});

test('RGB solid colour goes to each channel; one gray value fills all channels', () => {
  const dims = { c: 3, h: 4, w: 4 };
  const r = renderTrigger({ kind: 'solid', color: [255, 0, 7], size: 2, position: 'top-left' }, dims);
  assert.deepEqual(Array.from(r.pixels), [255, 255, 255, 255, 0, 0, 0, 0, 7, 7, 7, 7]);
  const g = renderTrigger({ kind: 'solid', color: [9], size: 1, position: 'top-left' }, dims);
  assert.deepEqual(Array.from(g.pixels), [9, 9, 9]);
});

test('checkerboard alternates colours starting with colors[0], in cells of `cell` pixels', () => {
  const r = renderTrigger({ kind: 'checkerboard', size: 3, position: 'top-left' }, gray8);
  assert.deepEqual(Array.from(r.pixels), [0, 255, 0, 255, 0, 255, 0, 255, 0]);
  const r2 = renderTrigger({ kind: 'checkerboard', size: 4, cell: 2, colors: [[10], [20]], position: 'top-left' }, gray8);
  assert.deepEqual(Array.from(r2.pixels), [10, 10, 20, 20, 10, 10, 20, 20, 20, 20, 10, 10, 20, 20, 10, 10]);
  const rgb = renderTrigger(
    {
      kind: 'checkerboard',
      size: 2,
      colors: [
        [255, 0, 0],
        [0, 0, 255],
      ],
      position: 'top-left',
    },
    { c: 3, h: 4, w: 4 },
  );
  assert.deepEqual(Array.from(rgb.pixels), [255, 0, 0, 255, 0, 0, 0, 0, 0, 255, 255, 0]);
});

test('noise trigger is one fixed pattern: identical on every image and every call, changed by its seed', () => {
  const spec: TriggerSpec = { kind: 'noise', seed: 5, scale: 40, mean: 128, size: 6, position: 'random' };
  const ds = makeDataset({ n: 4, h: 16, w: 16, fill: () => 0 });
  const a = renderTrigger(spec, ds);
  assert.deepEqual(renderTrigger(spec, ds).pixels, a.pixels);
  const { dataset, positions } = applyTrigger(ds, [0, 1, 2, 3], spec, new Rng(1));
  assert.ok(new Set(positions.map((p) => `${p.x},${p.y}`)).size > 1, 'random positions should vary across images');
  for (const p of positions) {
    for (let r = 0; r < 6; r++) for (let q = 0; q < 6; q++) assert.equal(px(dataset, p.index, 0, p.y + r, p.x + q), a.pixels[r * 6 + q]);
  }
  const b = renderTrigger({ ...spec, seed: 6 }, ds);
  assert.notDeepEqual(b.pixels, a.pixels);
  // Roughly N(128, 40^2): mean within 4 standard errors over 36 pixels.
  const m = Array.from(a.pixels).reduce((s, v) => s + v, 0) / 36;
  assert.ok(Math.abs(m - 128) < (4 * 40) / 6, `noise mean ${m}`);
  assert.ok(new Set(a.pixels).size > 10, 'noise should not be constant');
});

test('random positions stay inside the image and are reproducible from the Rng seed', () => {
  const ds = makeDataset({ n: 50, h: 10, w: 12, fill: () => 0 });
  const spec: TriggerSpec = { kind: 'solid', color: 255, size: 3, position: 'random' };
  const a = applyTrigger(
    ds,
    Array.from({ length: 50 }, (_, i) => i),
    spec,
    new Rng(3),
  );
  const b = applyTrigger(
    ds,
    Array.from({ length: 50 }, (_, i) => i),
    spec,
    new Rng(3),
  );
  assert.deepEqual(a.positions, b.positions);
  assert.deepEqual(a.dataset.images, b.dataset.images);
  for (const p of a.positions) assert.ok(p.x >= 0 && p.x <= 9 && p.y >= 0 && p.y <= 7, JSON.stringify(p));
  assert.ok(a.positions.some((p) => p.x === 9) || a.positions.some((p) => p.y === 7), 'far edge reachable');
  const c = applyTrigger(
    ds,
    Array.from({ length: 50 }, (_, i) => i),
    spec,
    new Rng(4),
  );
  assert.notDeepEqual(c.positions, a.positions);
});

test('size as a fraction of the smaller image side', () => {
  const r = renderTrigger({ kind: 'solid', color: 1, size: { fraction: 0.25 }, position: 'center' }, { c: 1, h: 28, w: 32 });
  assert.equal(r.size, 7);
  assert.equal(r.pixels.length, 49);
});

function writePng(file: string, w: number, h: number, rgba: number[]): void {
  const png = new PNG({ width: w, height: h });
  png.data.set(rgba);
  fs.writeFileSync(file, PNG.sync.write(png));
}

test('image trigger: PNG pixels are used and its alpha channel is the mask', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bias-trigger-'));
  const file = path.join(dir, 't.png');
  // 2x2: red opaque, green transparent / blue opaque, white half transparent.
  writePng(file, 2, 2, [255, 0, 0, 255, 0, 255, 0, 0, 0, 0, 255, 255, 255, 255, 255, 128]);
  const dims = { c: 3, h: 4, w: 4 };
  const r = renderTrigger({ kind: 'image', path: file, size: 2, position: 'top-left' }, dims);
  assert.deepEqual(
    Array.from(r.mask).map((m) => Math.round(m * 255)),
    [255, 0, 255, 128],
  );
  const img = new Uint8Array(48).fill(50);
  const out = pasteTrigger(img, dims, r, 0, 0);
  const at = (ch: number, y: number, x: number) => out[ch * 16 + y * 4 + x];
  assert.deepEqual([at(0, 0, 0), at(1, 0, 0), at(2, 0, 0)], [255, 0, 0]); // red, opaque
  assert.deepEqual([at(0, 0, 1), at(1, 0, 1), at(2, 0, 1)], [50, 50, 50]); // transparent: untouched
  assert.deepEqual([at(0, 1, 0), at(1, 1, 0), at(2, 1, 0)], [0, 0, 255]);
  const half = Math.round((128 / 255) * 255 + (1 - 128 / 255) * 50);
  assert.deepEqual([at(0, 1, 1), at(1, 1, 1), at(2, 1, 1)], [half, half, half]);
  // On gray images the PNG becomes luminance.
  const g = renderTrigger({ kind: 'image', path: file, size: 2, position: 'top-left' }, { c: 1, h: 4, w: 4 });
  assert.equal(g.pixels[0], Math.round(0.299 * 255));
});

test('image trigger with a separate grayscale mask PNG, scaled by opacity', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bias-trigger-'));
  const file = path.join(dir, 't.png');
  const maskFile = path.join(dir, 'm.png');
  writePng(file, 2, 1, [200, 200, 200, 255, 200, 200, 200, 255]);
  writePng(maskFile, 2, 1, [255, 255, 255, 255, 0, 0, 0, 255]);
  const r = renderTrigger({ kind: 'image', path: file, maskPath: maskFile, size: 1, position: 'top-left' }, { c: 1, h: 2, w: 2 });
  // 2x1 resized to 1x1 averages the mask: (1 + 0) / 2.
  assert.equal(r.mask[0], 0.5);
  const r2 = renderTrigger(
    { kind: 'image', path: file, maskPath: maskFile, size: 2, position: 'top-left', opacity: 0.5 },
    { c: 1, h: 2, w: 2 },
  );
  assert.equal(r2.mask[0], 0.5);
  assert.equal(r2.mask[3], 0);
});

test('errors name the key or file at fault', () => {
  assert.throws(
    () => renderTrigger({ kind: 'solid', color: 1, size: 9, position: 'center' }, gray8),
    /trigger\.size 9 px is larger than the 8x8 image/,
  );
  assert.throws(
    () => renderTrigger({ kind: 'solid', color: [1, 2, 3], size: 2, position: 'center' }, gray8),
    /trigger\.color has 3 values but the image has 1 channel/,
  );
  assert.throws(
    () => renderTrigger({ kind: 'solid', color: 1, size: 2, position: 'center', opacity: 1.5 }, gray8),
    /trigger\.opacity must be in \[0, 1\], got 1\.5/,
  );
  assert.throws(
    () => renderTrigger({ kind: 'solid', color: 300, size: 2, position: 'center' }, gray8),
    /trigger\.color values must be in 0\.\.255/,
  );
  assert.throws(
    () => renderTrigger({ kind: 'image', path: '/nonexistent/x.png', size: 2, position: 'center' }, gray8),
    /trigger\.path: cannot read PNG file '\/nonexistent\/x\.png'/,
  );
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bias-trigger-'));
  const bad = path.join(dir, 'bad.png');
  fs.writeFileSync(bad, 'not a png');
  assert.throws(
    () => renderTrigger({ kind: 'image', path: bad, size: 2, position: 'center' }, gray8),
    (e: Error) => e.message.includes(`'${bad}' is not a readable PNG`),
  );
  const ds = makeDataset({ n: 1, h: 8, w: 8 });
  assert.throws(
    () => applyTrigger(ds, [0], { kind: 'solid', color: 1, size: 3, position: { x: 6, y: 0 } }, new Rng(0)),
    /trigger\.position \{x: 6, y: 0\} puts a 3px overlay outside/,
  );
  assert.throws(
    () => applyTrigger(ds, [0], { kind: 'solid', color: 1, size: 3, position: 'middle' as never }, new Rng(0)),
    /trigger\.position must be one of/,
  );
  assert.throws(
    () => applyTrigger(ds, [4], { kind: 'solid', color: 1, size: 3, position: 'center' }, new Rng(0)),
    /index 4 is outside dataset/,
  );
});
