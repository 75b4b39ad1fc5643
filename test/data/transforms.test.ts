import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Rng } from '../../src/data/rng.js';
import { channelStats, makeBatch, type BatchSpec } from '../../src/data/transforms.js';
import type { ImageDataset } from '../../src/data/types.js';
import { assertNoLeaks, assertClose } from '../helpers/tensors.js';
import { runPythonJson } from '../helpers/pytorch.js';

function ds(pixels: number[], opts: { n?: number; c: number; h: number; w: number; labels?: number[] }): ImageDataset {
  const n = opts.n ?? 1;
  return {
    name: 't',
    images: Uint8Array.from(pixels),
    labels: Int32Array.from(opts.labels ?? Array(n).fill(0)),
    classes: ['a', 'b', 'c'],
    n,
    c: opts.c,
    h: opts.h,
    w: opts.w,
  };
}

/** Runs makeBatch and returns x as numbers, its shape and y, disposing both tensors. */
function batchValues(
  d: ImageDataset,
  idx: number[],
  spec: BatchSpec,
  rng?: Rng,
): { x: number[]; shape: readonly number[]; y: number[]; ydtype: string } {
  return assertNoLeaks(() => {
    const { x, y } = makeBatch(d, idx, spec, rng);
    const out = { x: Array.from(x.toFloat32Array()), shape: x.shape, y: y.toArray(), ydtype: y.dtype };
    x.dispose();
    y.dispose();
    return out;
  });
}

test('normalisation is (pixel/255 - mean)/std per channel; y is int64 labels', () => {
  const d = ds([0, 51, 102, 255, 10, 20, 30, 40], { n: 2, c: 1, h: 2, w: 2, labels: [2, 1] });
  const r = batchValues(d, [1, 0], { mean: [0.5], std: [0.25] });
  assert.deepEqual(r.shape, [2, 1, 2, 2]);
  assertClose(
    r.x,
    [10, 20, 30, 40, 0, 51, 102, 255].map((p) => (p / 255 - 0.5) / 0.25),
    1e-6,
  );
  assert.deepEqual(r.y, [1, 2]);
  assert.equal(r.ydtype, 'int64');
  const rgb = ds([0, 255, 0, 255, 0, 255], { c: 3, h: 1, w: 2 });
  assertClose(batchValues(rgb, [0], { mean: [0, 0.5, 1], std: [1, 0.5, 2] }).x, [0, 1, -1, 1, -0.5, 0], 1e-6);
});

/** Independent reference: pad with zeros, take the window shifted by (dy, dx), flip, normalise. */
function reference(img: number[], h: number, w: number, dy: number, dx: number, flip: boolean, mean: number, std: number): number[] {
  const out: number[] = [];
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++) {
      const cx = flip ? w - 1 - x : x;
      const sy = y + dy;
      const sx = cx + dx;
      const v = sy >= 0 && sy < h && sx >= 0 && sx < w ? img[sy * w + sx] : 0;
      out.push((v / 255 - mean) / std);
    }
  return out;
}

test('random crop with zero padding and horizontal flip match a pad-crop-flip reference draw by draw', () => {
  const img = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]; // 3 rows × 4 columns
  const d = ds(img, { c: 1, h: 3, w: 4 });
  const spec: BatchSpec = { mean: [0.1], std: [0.2], augment: { cropPadding: 2, hflip: true } };
  // padding 5 exceeds the 4-pixel width: whole rows/columns come from the padding
  for (const pad of [2, 5]) {
    const B = 40;
    const r = batchValues(d, Array(B).fill(0), { ...spec, augment: { cropPadding: pad, hflip: true } }, new Rng(3));
    const draws = new Rng(3);
    const seen = new Set<string>();
    for (let b = 0; b < B; b++) {
      const dy = draws.int(2 * pad + 1) - pad;
      const dx = draws.int(2 * pad + 1) - pad;
      const flip = draws.next() < 0.5;
      seen.add(`${dy},${dx},${flip}`);
      assertClose(
        r.x.slice(b * 12, (b + 1) * 12),
        reference(img, 3, 4, dy, dx, flip, 0.1, 0.2),
        1e-6,
        `pad ${pad}, sample ${b} (dy=${dy}, dx=${dx}, flip=${flip})`,
      );
    }
    assert.ok(seen.size > 10, 'the draws cover many crops and both flips');
  }
  // pure flip, no crop: a flipped sample is the exact mirror
  const f = batchValues(d, Array(8).fill(0), { mean: [0], std: [1], augment: { hflip: true } }, new Rng(1));
  const mirror = [4, 3, 2, 1, 8, 7, 6, 5, 12, 11, 10, 9].map((v) => v / 255);
  const kinds = new Set<string>();
  for (let b = 0; b < 8; b++) {
    const s = f.x.slice(b * 12, (b + 1) * 12);
    const isMirror = s.every((v, i) => Math.abs(v - mirror[i]) < 1e-7);
    const isSame = s.every((v, i) => Math.abs(v - img[i] / 255) < 1e-7);
    assert.ok(isMirror || isSame, `sample ${b} is neither the image nor its mirror`);
    kinds.add(isMirror ? 'm' : 's');
  }
  assert.equal(kinds.size, 2);
  assert.throws(() => makeBatch(d, [0], spec), /needs an rng/);
});

test('gray to RGB replicates, RGB to gray uses 0.299/0.587/0.114 luminance', () => {
  const gray = ds([0, 100, 200, 255], { c: 1, h: 2, w: 2 });
  const r = batchValues(gray, [0], { channels: 3, mean: [0, 0, 0], std: [1, 1, 1] });
  assert.deepEqual(r.shape, [1, 3, 2, 2]);
  const g = [0, 100, 200, 255].map((v) => v / 255);
  assertClose(r.x, [...g, ...g, ...g], 1e-6);
  const rgb = ds([255, 0, 10, 0, 255, 20, 0, 0, 30], { c: 3, h: 1, w: 3 });
  const y = batchValues(rgb, [0], { channels: 1, mean: [0], std: [1] });
  assertClose(
    y.x,
    [0.299 * 255, 0.587 * 255, 0.299 * 10 + 0.587 * 20 + 0.114 * 30].map((v) => v / 255),
    1e-6,
  );
});

test('resize: a constant image stays constant and bilinear matches torch interpolate(align_corners=False)', () => {
  const constant = ds(Array(3 * 5 * 7).fill(77), { c: 3, h: 5, w: 7 });
  const c = batchValues(constant, [0], { size: [9, 4], mean: [0, 0, 0], std: [1, 1, 1] });
  assert.deepEqual(c.shape, [1, 3, 9, 4]);
  assertClose(c.x, Array(3 * 36).fill(77 / 255), 1e-6);
  const px = Array.from({ length: 2 * 5 * 6 }, (_, i) => (i * 37) % 256);
  const d = ds(px, { c: 2, h: 5, w: 6 });
  const sizes: [number, number][] = [
    [8, 3],
    [3, 11],
  ];
  const refs = runPythonJson<number[][]>(
    `import json, sys, torch
px = torch.tensor(json.loads(sys.argv[1]), dtype=torch.float32).reshape(1, 2, 5, 6) / 255
out = [torch.nn.functional.interpolate(px, size=tuple(s), mode='bilinear', align_corners=False).flatten().tolist() for s in json.loads(sys.argv[2])]
print(json.dumps(out))`,
    [JSON.stringify(px), JSON.stringify(sizes)],
  );
  sizes.forEach((size, k) => assertClose(batchValues(d, [0], { size, mean: [0, 0], std: [1, 1] }).x, refs[k], 1e-5, `resize to ${size}`));
});

test('channelStats gives per-channel mean and population std of pixel/255', () => {
  const d = ds([0, 255, 51, 51, 0, 255, 51, 51], { n: 2, c: 2, h: 1, w: 2 });
  const s = channelStats(d);
  assertClose(s.mean, [0.5, 0.2], 1e-9);
  assertClose(s.std, [0.5, 0], 1e-9);
});

test('makeBatch rejects mismatched mean/std, bad indices and bad padding', () => {
  const d = ds([1, 2, 3, 4], { c: 1, h: 2, w: 2 });
  assert.throws(() => makeBatch(d, [0], { mean: [0, 0, 0], std: [1] }), /mean has 3 values for 1 channel/);
  assert.throws(() => makeBatch(d, [0], { mean: [0], std: [0] }), /std\[0\] must be > 0/);
  assert.throws(() => makeBatch(d, [1], { mean: [0], std: [1] }), /index 1 is outside 0..0/);
  assert.throws(
    () => makeBatch(d, [0], { mean: [0], std: [1], augment: { cropPadding: 1.5 } }, new Rng(0)),
    /cropPadding must be a non-negative integer/,
  );
});
