/**
 * `datasets show --trigger` draws the trigger on the triggered rows only: every clean row's
 * pixels are exactly the dataset's images (issue 10: the README's example showed the trigger in
 * both rows, because IDX data arrived as a Node Buffer whose slice() is a view, so pasting the
 * trigger wrote into the loaded dataset itself).
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { PNG } from 'pngjs';
import { gridLayout } from '../../src/bias/index.js';
import { datasetsShowCommand, runDatasetsShow } from '../../src/cli/commands/index.js';
import { fashionMnistAvailable, loadDataset, type DatasetSpec } from '../../src/data/index.js';
import type { ImageDataset } from '../../src/data/types.js';
import { capture, parse } from '../helpers/cli.js';

function writeIdxPair(dir: string, n: number, h: number, w: number): void {
  const head = (magic: number, dims: number[]) => {
    const b = Buffer.alloc(4 + 4 * dims.length);
    b.writeUInt32BE(magic, 0);
    dims.forEach((d, i) => b.writeUInt32BE(d, 4 + 4 * i));
    return b;
  };
  const px = Buffer.alloc(n * h * w);
  for (let i = 0; i < px.length; i++) px[i] = (i * 7) % 50; // dark, so a white trigger shows
  const labels = Buffer.from(Array.from({ length: n }, (_, i) => i % 3));
  fs.writeFileSync(path.join(dir, 'images.idx'), Buffer.concat([head(0x803, [n, h, w]), px]));
  fs.writeFileSync(path.join(dir, 'labels.idx'), Buffer.concat([head(0x801, [n]), labels]));
}

/** Runs `datasets show` with a trigger and checks every clean cell against the dataset (loaded afresh). */
async function checkCleanRows(args: string[], spec: DatasetSpec, trigger: object): Promise<void> {
  const out = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'bt-show-')), 'grid.png');
  const p = parse(datasetsShowCommand, [...args, '--per-class', '2', '--scale', '1', '--out', out, '--trigger', JSON.stringify(trigger)]);
  const c = capture();
  assert.equal(await runDatasetsShow(p.flags, p.positionals, c.io), 0, c.err());
  const ds: ImageDataset = loadDataset(spec);
  const sz = ds.h * ds.w;
  const png = PNG.sync.read(fs.readFileSync(out));
  const present = [...new Set(ds.labels)].sort((a, b) => a - b);
  const img = { pixels: new Uint8Array(sz), c: 1, h: ds.h, w: ds.w };
  const labels = present.flatMap((k) => [ds.classes[k], `${ds.classes[k]}+T`]);
  const L = gridLayout(
    labels.map((label) => ({ label, images: [img, img] })),
    { scale: 1 },
  );
  assert.deepEqual([png.width, png.height], [L.width, L.height]);
  const cell = (row: number, col: number): Uint8Array => {
    const o = new Uint8Array(sz);
    for (let y = 0; y < ds.h; y++)
      for (let x = 0; x < ds.w; x++) o[y * ds.w + x] = png.data[4 * ((L.rowY[row] + y) * png.width + L.x0 + col * L.cellW + x)];
    return o;
  };
  const sameAsSome = (pixels: Uint8Array, cls: number): boolean => {
    for (let i = 0; i < ds.n; i++) {
      if (ds.labels[i] !== cls) continue;
      const im = ds.images.subarray(i * sz, (i + 1) * sz);
      if (im.every((v, j) => v === pixels[j])) return true;
    }
    return false;
  };
  present.forEach((cls, r) => {
    for (let col = 0; col < 2; col++) {
      const clean = cell(2 * r, col);
      const triggered = cell(2 * r + 1, col);
      assert.ok(sameAsSome(clean, cls), `class ${ds.classes[cls]} example ${col}: the clean row is not an image of the dataset`);
      assert.ok(!clean.every((v, j) => v === triggered[j]), `class ${ds.classes[cls]} example ${col}: the triggered row shows no trigger`);
    }
  });
}

test('datasets show --trigger: clean rows are the dataset pixels (IDX files, the Buffer path)', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bt-idx-'));
  writeIdxPair(dir, 30, 8, 8);
  const files = ['--images', path.join(dir, 'images.idx'), '--labels', path.join(dir, 'labels.idx')];
  await checkCleanRows(
    ['idx', ...files],
    { name: 'idx', split: 'train', imagesFile: path.join(dir, 'images.idx'), labelsFile: path.join(dir, 'labels.idx') } as DatasetSpec,
    { kind: 'solid', color: 255, size: 3, position: 'bottom-right' },
  );
});

test(
  'datasets show fashion-mnist --trigger: clean rows are the dataset pixels (the README example)',
  { skip: !fashionMnistAvailable() && 'dataset-fashion-mnist not installed' },
  async () => {
    await checkCleanRows(['fashion-mnist', '--split', 'test'], { name: 'fashion-mnist', split: 'test' } as DatasetSpec, {
      kind: 'checkerboard',
      size: 5,
      position: 'bottom-right',
    });
  },
);
