import { test } from 'node:test';
import assert from 'node:assert/strict';
import { classPatch, maskedMean, neutralPatch, pastePatch } from '../../src/bias/index.js';
import { changedSamples, makeDataset, px } from './fixtures.js';

// Source: 10 images 6x6, label i % 2; pixel = 10*i + r*6 + q (distinct per image).
const source = () => makeDataset({ n: 10, h: 6, w: 6, classes: ['ball', 'other'], fill: (i, _c, r, q) => 10 * i + r * 6 + q, name: 'src' });

test('crop mode copies a centre square of the chosen image of the class (no resize when sizes match)', () => {
  const ds = source();
  const p = classPatch(ds, 'ball', { mode: 'crop', size: 2, crop: { side: 2 }, imageIndex: 4 });
  // Centre 2x2 of a 6x6 image starts at (2, 2).
  assert.deepEqual(Array.from(p.pixels), [40 + 14, 40 + 15, 40 + 20, 40 + 21]);
  assert.ok(p.mask.every((m) => m === 1));
  assert.equal(p.source.kind, 'class');
  if (p.source.kind === 'class') {
    assert.deepEqual(p.source.crop, { x: 2, y: 2, side: 2 });
    assert.equal(p.source.imageIndex, 4);
    assert.equal(p.source.className, 'ball');
    assert.equal(p.source.meanBrightness, (54 + 55 + 60 + 61) / 4);
  }
  assert.throws(
    () => classPatch(ds, 'ball', { mode: 'crop', size: 2, imageIndex: 3 }),
    /patch\.imageIndex 3 is not an image of class 'ball'/,
  );
});

test('crop mode picks a seeded image of the class: same seed same patch, all choices in the class', () => {
  const ds = source();
  const seen = new Set<number>();
  for (let seed = 0; seed < 12; seed++) {
    const a = classPatch(ds, 1, { mode: 'crop', size: 3, crop: { side: 3, at: 'random' }, seed });
    const b = classPatch(ds, 1, { mode: 'crop', size: 3, crop: { side: 3, at: 'random' }, seed });
    assert.deepEqual(a.pixels, b.pixels);
    assert.deepEqual(a.source, b.source);
    if (a.source.kind !== 'class') throw new Error('expected a class patch');
    assert.equal(ds.labels[a.source.imageIndex!], 1);
    seen.add(a.source.imageIndex!);
    const { x, y } = a.source.crop!;
    assert.equal(a.pixels[0], px(ds, a.source.imageIndex!, 0, y, x));
  }
  assert.ok(seen.size > 1, 'different seeds should pick different images');
});

test('mean mode is the per-pixel mean of the class images', () => {
  const ds = source();
  const p = classPatch(ds, 'other', { mode: 'mean', size: 6 });
  // Class 'other' = images 1,3,5,7,9: mean of 10*i is 50.
  for (let k = 0; k < 36; k++) assert.equal(p.pixels[k], 50 + k);
  if (p.source.kind === 'class') assert.equal(p.source.averaged, 5);
  const small = classPatch(ds, 'other', { mode: 'mean', size: 3 });
  assert.equal(small.size, 3);
  // A 2x box average of the mean image: top-left cell = mean of 50, 51, 56, 57.
  assert.equal(small.pixels[0], Math.round((50 + 51 + 56 + 57) / 4));
});

test('neutral patch is uniform gray with the same mean brightness as the class patch', () => {
  const ds = source();
  for (const mode of ['crop', 'mean'] as const) {
    const p = classPatch(ds, 'ball', { mode, size: 4, seed: 2 });
    const n = neutralPatch(p);
    assert.equal(new Set(n.pixels).size, 1, 'neutral patch is uniform');
    assert.equal(n.size, p.size);
    assert.equal(n.c, p.c);
    assert.ok(Math.abs(maskedMean(n) - maskedMean(p)) <= 0.5, `${mode}: ${maskedMean(n)} vs ${maskedMean(p)}`);
    if (n.source.kind === 'neutral') assert.equal(n.source.likeMeanBrightness, maskedMean(p));
  }
});

test('pastePatch puts the patch where the record says, only on chosen images, and converts channels', () => {
  const ds = source();
  const patch = classPatch(ds, 'ball', { mode: 'crop', size: 2, crop: { side: 2 }, imageIndex: 0 });
  const target = makeDataset({ n: 5, c: 3, h: 8, w: 8, classes: ['x'], fill: () => 0 });
  const { dataset, record } = pastePatch(target, patch, { position: 'random', seed: 7, indices: [1, 3] });
  assert.deepEqual(changedSamples(target, dataset), [1, 3]);
  assert.equal(record.count, 2);
  assert.deepEqual(
    record.positions.map((p) => p.index),
    [1, 3],
  );
  for (const p of record.positions) {
    for (let ch = 0; ch < 3; ch++) {
      assert.equal(px(dataset, p.index, ch, p.y, p.x), patch.pixels[0], 'gray patch replicated to RGB');
      assert.equal(px(dataset, p.index, ch, p.y + 1, p.x + 1), patch.pixels[3]);
    }
  }
  const again = pastePatch(target, patch, { position: 'random', seed: 7, indices: [1, 3] });
  assert.deepEqual(again.record, record);
  assert.deepEqual(JSON.parse(JSON.stringify(record)), record);
  const corner = pastePatch(target, neutralPatch(patch), { position: 'top-left' });
  assert.equal(corner.record.count, 5);
  assert.equal(corner.record.patch.kind, 'neutral');
  assert.equal(px(corner.dataset, 4, 2, 0, 0), Math.round(maskedMean(patch)));
  assert.throws(() => pastePatch(target, patch, { position: 'left' as never }), /patch\.position must be one of/);
});
