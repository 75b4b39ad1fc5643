import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import sharp from 'sharp';
import { decodeImageFile, decodeImageFiles, decodeImageFilesSync } from '../../src/data/decode.js';
import { DatasetError } from '../../src/data/errors.js';
import { centerCropBox, pyRound, randomResizedCropBox, resizeShorterSide } from '../../src/data/geometry.js';
import { BatchIterator } from '../../src/data/loader.js';
import { pilResizeBilinear } from '../../src/data/pil-resize.js';
import { Rng } from '../../src/data/rng.js';
import { makeBatch } from '../../src/data/transforms.js';
import { decodeTransformOf, pretrainedEvalTransform } from '../../src/experiment/prepare.js';
import { DatasetSpecSchema } from '../../src/experiment/config/dataset.js';
import { TrainingSchema } from '../../src/experiment/config/training.js';
import { runPythonJson } from '../helpers/pytorch.js';
import { tmpDir } from './helpers.js';

test("torchvision's geometry: Resize truncates the long side, CenterCrop rounds half to even, pads when larger", () => {
  assert.deepEqual([pyRound(0.5), pyRound(1.5), pyRound(2.5), pyRound(2.4), pyRound(2.6)], [0, 2, 2, 2, 3]);
  assert.deepEqual(resizeShorterSide(375, 500, 256), [256, 341]);
  assert.deepEqual(resizeShorterSide(500, 333, 256), [384, 256]);
  assert.deepEqual(resizeShorterSide(201, 333, 100), [100, 165]); // 165.67 truncated
  assert.deepEqual(centerCropBox(256, 341, 224, 224), { top: 16, left: 58, height: 224, width: 224 }); // 58.5 → 58
  assert.deepEqual(centerCropBox(100, 165, 87, 87), { top: 6, left: 39, height: 87, width: 87 }); // 6.5 → 6, 39 exact
  // Larger than the image: torchvision pads (left, top) = ((8-4)//2, (6-3)//2) = (2, 1) first.
  assert.deepEqual(centerCropBox(3, 4, 6, 8), { top: -1, left: -2, height: 6, width: 8 });
});

test('randomResizedCropBox: boxes inside the image with area and ratio in range; impossible ranges fall back to the clamped centre crop', () => {
  const rng = new Rng(3, 'rrc');
  for (let i = 0; i < 200; i++) {
    const b = randomResizedCropBox(300, 400, rng);
    assert.ok(b.top >= 0 && b.left >= 0 && b.top + b.height <= 300 && b.left + b.width <= 400, JSON.stringify(b));
    const area = (b.width * b.height) / (300 * 400);
    assert.ok(area > 0.07 && area <= 1.01, `area ${area}`);
  }
  // A scale no box satisfies (area > the image): ten failed tries, then torchvision's fallback.
  // Image ratio 4 > 4/3: height kept, width round(100 · 4/3) = 133, centred.
  assert.deepEqual(randomResizedCropBox(100, 400, new Rng(0), { scale: [2, 3] }), { top: 0, left: 133, height: 100, width: 133 });
  // Ratio 0.25 < 3/4: width kept, height round(100 / 0.75) = 133.
  assert.deepEqual(randomResizedCropBox(400, 100, new Rng(0), { scale: [2, 3] }), { top: 133, left: 0, height: 133, width: 100 });
});

test("pilResizeBilinear is bit-exact with Pillow's BILINEAR, enlarging and reducing", () => {
  const h = 13;
  const w = 17;
  const src = Uint8Array.from({ length: h * w * 3 }, (_, i) => (i * 37 + (i >> 3) * 11) & 255);
  const cases: [number, number][] = [
    [29, 40],
    [5, 6],
    [13, 40],
    [30, 7],
  ];
  const ref = runPythonJson<number[][]>(
    `
import sys, json
from PIL import Image
h, w = 13, 17
b = bytes([(i * 37 + (i >> 3) * 11) & 255 for i in range(h * w * 3)])
im = Image.frombytes('RGB', (w, h), b)
print(json.dumps([list(im.resize((ow, oh), Image.BILINEAR).tobytes()) for oh, ow in ${JSON.stringify(cases)}]))
`,
  );
  cases.forEach(([oh, ow], i) => assert.deepEqual(Array.from(pilResizeBilinear(src, 3, h, w, oh, ow)), ref[i], `${h}×${w} → ${oh}×${ow}`));
});

test('decoder: EXIF orientation applied, gray kept as one channel, RGBA alpha dropped, errors name the file; sync = async', async () => {
  const dir = tmpDir('decode');
  const raw = Buffer.alloc(4 * 2 * 3);
  raw.set([255, 0, 0], 0); // stored top-left pixel red
  await sharp(raw, { raw: { width: 4, height: 2, channels: 3 } })
    .png()
    .toFile(path.join(dir, 'plain.png'));
  // Orientation 6 (rotate 90° clockwise to display): 2×4 displayed, red top-right.
  await sharp(raw, { raw: { width: 4, height: 2, channels: 3 } })
    .withMetadata({ orientation: 6 })
    .png()
    .toFile(path.join(dir, 'rot.png'));
  const rot = await decodeImageFile(path.join(dir, 'rot.png'));
  assert.deepEqual([rot.c, rot.h, rot.w], [3, 4, 2]);
  assert.equal(rot.data[0 * 8 + 1], 255, 'red moved to the top-right');
  const rgba = Buffer.from([10, 20, 30, 0, 40, 50, 60, 255]);
  await sharp(rgba, { raw: { width: 2, height: 1, channels: 4 } })
    .png()
    .toFile(path.join(dir, 'rgba.png'));
  assert.deepEqual(Array.from((await decodeImageFile(path.join(dir, 'rgba.png'))).data), [10, 40, 20, 50, 30, 60]);
  await sharp(Buffer.from([7, 9]), { raw: { width: 2, height: 1, channels: 1 } })
    .png()
    .toFile(path.join(dir, 'gray.png'));
  assert.deepEqual(Array.from((await decodeImageFile(path.join(dir, 'gray.png'), { channels: 1 })).data), [7, 9]);
  assert.deepEqual(Array.from((await decodeImageFile(path.join(dir, 'gray.png'))).data), [7, 9, 7, 9, 7, 9]);
  const bad = path.join(dir, 'bad.webp');
  fs.writeFileSync(bad, Buffer.concat([Buffer.from('RIFF\x10\0\0\0WEBPVP8 ', 'latin1'), Buffer.alloc(8)]));
  await assert.rejects(
    decodeImageFile(bad),
    (e: unknown) => e instanceof DatasetError && e.file === bad && /corrupt or unreadable WebP/.test(e.message),
  );
  const files = ['plain.png', 'rgba.png', 'gray.png'].map((f) => path.join(dir, f));
  const opts = { transform: { size: [3, 5] as [number, number] } };
  const a = await decodeImageFiles(files, opts);
  const s = decodeImageFilesSync(files, opts);
  assert.deepEqual([s.n, s.c, s.h, s.w], [3, 3, 3, 5]);
  assert.deepEqual(Buffer.from(s.images), Buffer.from(a.images));
  assert.throws(
    () => decodeImageFilesSync([files[0], bad], opts),
    (e: unknown) => e instanceof DatasetError && e.file === bad,
  );
  // The decode worker is kept across calls, also after a call that failed.
  assert.deepEqual(Buffer.from(decodeImageFilesSync(files, opts).images), Buffer.from(a.images));
  // `into`: the pixels land in the array given (a batch slot), which must be exactly c·h·w long.
  const slot = new Uint8Array(2 * 3 * 15).fill(7);
  const one = await decodeImageFile(files[0], { ...opts, into: slot.subarray(45, 90) });
  assert.equal(one.data.buffer, slot.buffer);
  assert.deepEqual(Array.from(slot.subarray(45, 90)), Array.from(a.images.subarray(0, 45)));
  assert.ok(
    slot.subarray(0, 45).every((v) => v === 7),
    'the rest of the array is untouched',
  );
  await assert.rejects(
    decodeImageFile(files[0], { ...opts, into: new Uint8Array(44) }),
    (e: unknown) => e instanceof RangeError && /into: output is 3×3×5 but the array given for it holds 44 bytes/.test(e.message),
  );
});

test('randomResizedCrop in batches: per (seed, epoch, index), whatever the batch; full-image box = a plain resize', () => {
  const n = 6;
  const ds = {
    name: 'rrc',
    images: Uint8Array.from({ length: n * 3 * 20 * 24 }, (_, i) => (i * 7) & 255),
    labels: new Int32Array(n),
    classes: ['a'],
    n,
    c: 3,
    h: 20,
    w: 24,
  };
  const spec = { mean: [0, 0, 0], std: [1, 1, 1], size: [8, 8] as [number, number], augment: { randomResizedCrop: {}, hflip: true } };
  const big = makeBatch(ds, [0, 1, 2, 3, 4, 5], spec, new Rng(1), { seed: 5, epoch: 2 });
  const one = makeBatch(ds, [4], spec, new Rng(99), { seed: 5, epoch: 2 });
  const other = makeBatch(ds, [4], spec, new Rng(99), { seed: 5, epoch: 3 });
  try {
    const s = 3 * 64;
    assert.deepEqual(Array.from(big.x.toFloat32Array().subarray(4 * s, 5 * s)), Array.from(one.x.toFloat32Array()));
    assert.notDeepEqual(Array.from(one.x.toFloat32Array()), Array.from(other.x.toFloat32Array()));
  } finally {
    for (const b of [big, one, other]) {
      b.x.dispose();
      b.y.dispose();
    }
  }
  // The loader hands its seed and epoch over.
  const it = new BatchIterator(ds, { batchSize: 2, spec, seed: 5, epoch: 2 });
  const b0 = it.batch(0);
  const ref = makeBatch(ds, [0, 1], spec, new Rng(0), { seed: 5, epoch: 2 });
  try {
    assert.deepEqual(Array.from(b0.x.toFloat32Array()), Array.from(ref.x.toFloat32Array()));
  } finally {
    for (const b of [b0, ref]) {
      b.x.dispose();
      b.y.dispose();
    }
  }
  // scale [1, 1] and the image's own ratio: the box is the whole image, so the crop is Pillow's resize
  // in float; Pillow rounds after each pass (≤ 0.5 carried through convex weights, ≤ 0.5 at the end): within 1.
  const whole = makeBatch(ds, [2], { ...spec, augment: { randomResizedCrop: { scale: [1, 1], ratio: [1.2, 1.2] } } }, new Rng(0), {
    seed: 1,
    epoch: 0,
  });
  try {
    const img = ds.images.subarray(2 * 3 * 480, 3 * 3 * 480);
    const hwc = new Uint8Array(480 * 3);
    for (let k = 0; k < 3; k++) for (let j = 0; j < 480; j++) hwc[j * 3 + k] = img[k * 480 + j];
    const pil = pilResizeBilinear(hwc, 3, 20, 24, 8, 8);
    const got = whole.x.toFloat32Array();
    for (let k = 0; k < 3; k++)
      for (let j = 0; j < 64; j++)
        assert.ok(
          Math.abs(got[k * 64 + j] * 255 - pil[j * 3 + k]) <= 1 + 1e-3,
          `pixel ${k}/${j}: ${got[k * 64 + j] * 255} vs ${pil[j * 3 + k]}`,
        );
  } finally {
    whole.x.dispose();
    whole.y.dispose();
  }
});

test('config: transform only for folders and not with size; training randomResizedCrop not with cropPadding; a backbone sets the eval transform', () => {
  const ok = DatasetSpecSchema.parse({ name: 'folder', path: 'x', transform: { resize: 256, centerCrop: 224 } });
  assert.deepEqual(decodeTransformOf(ok, null), { resize: 256, centerCrop: [224, 224] });
  assert.equal(DatasetSpecSchema.safeParse({ name: 'mnist', transform: { resize: 32 } }).success, false);
  assert.equal(DatasetSpecSchema.safeParse({ name: 'folder', path: 'x', size: [8, 8], transform: { resize: 32 } }).success, false);
  assert.equal(DatasetSpecSchema.safeParse({ name: 'folder', path: 'x', transform: { resise: 32 } }).success, false);
  assert.equal('transform' in DatasetSpecSchema.parse({ name: 'mnist' }), false, 'absent stays absent (config hashes unchanged)');
  const backbone = { size: [224, 224] as [number, number] } as Parameters<typeof decodeTransformOf>[1];
  const plain = DatasetSpecSchema.parse({ name: 'folder', path: 'x' });
  assert.deepEqual(decodeTransformOf(plain, backbone), { resize: 256, centerCrop: [224, 224] });
  assert.deepEqual(pretrainedEvalTransform([299, 299]), { resize: 341, centerCrop: [299, 299] });
  assert.equal(decodeTransformOf(DatasetSpecSchema.parse({ name: 'folder', path: 'x', size: [32, 32] }), backbone), undefined);
  const t = TrainingSchema.parse({ epochs: 1, augment: { randomResizedCrop: {}, hflip: true } });
  assert.deepEqual(t.augment.randomResizedCrop, { scale: [0.08, 1], ratio: [3 / 4, 4 / 3] });
  assert.equal(TrainingSchema.safeParse({ epochs: 1, augment: { randomResizedCrop: {}, cropPadding: 4 } }).success, false);
  assert.equal('randomResizedCrop' in TrainingSchema.parse({ epochs: 1 }).augment, false);
});
