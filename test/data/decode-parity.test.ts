/**
 * Parity of the sharp decoder + torchvision-style preprocessing with torchvision itself:
 * `Resize(256) → CenterCrop(224) → ToTensor` on PIL images, on the same files.
 *
 * torchvision's ImageFolder loader (`pil_loader`) ignores EXIF orientation; ours applies it, so the
 * reference applies `ImageOps.exif_transpose` first (what a correct pipeline does).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import sharp from 'sharp';
import { decodeImageFiles, type DecodeTransform } from '../../src/data/decode.js';
import { PYTHON, runPython } from '../helpers/pytorch.js';
import { tmpDir } from './helpers.js';

const hasTorchvision = spawnSync(PYTHON, ['-c', 'import torchvision, PIL'], { encoding: 'utf-8' }).status === 0;
const skip = hasTorchvision ? false : `${PYTHON} lacks torchvision or PIL (apt-get install python3-torchvision)`;

/** A w×h RGB photo stand-in: smooth gradients, a disc, and seeded noise (so JPEG has detail to lose). */
function photo(w: number, h: number, seed: number): Buffer {
  const raw = Buffer.alloc(w * h * 3);
  let s = seed;
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++) {
      s = (Math.imul(s, 1103515245) + 12345) >>> 0;
      const n = (s >>> 24) % 24;
      const inDisc = (x - w / 2) ** 2 + (y - h / 3) ** 2 < (Math.min(w, h) / 4) ** 2;
      const o = (y * w + x) * 3;
      raw[o] = inDisc ? 220 - n : (255 * x) / w;
      raw[o + 1] = inDisc ? 40 + n : (255 * y) / h;
      raw[o + 2] = (128 + 100 * Math.sin(x / 9) * Math.cos(y / 13) + n) & 255;
    }
  return raw;
}

const rgb = (w: number, h: number, seed: number) => sharp(photo(w, h, seed), { raw: { width: w, height: h, channels: 3 } });

/** Writes the parity files; returns [name, file] pairs. */
async function writeFiles(dir: string): Promise<string[]> {
  const f = (n: string): string => path.join(dir, n);
  await rgb(500, 375, 1).jpeg({ quality: 90 }).toFile(f('landscape.jpg'));
  await rgb(300, 400, 2).jpeg({ quality: 85 }).toFile(f('portrait.jpg'));
  await rgb(1024, 683, 3).jpeg({ quality: 92 }).toFile(f('large.jpg')); // shrink-on-load territory
  // Stored 400×300, EXIF orientation 6: displayed as 300×400 (rotated 90° clockwise).
  await rgb(400, 300, 4).jpeg({ quality: 90 }).withMetadata({ orientation: 6 }).toFile(f('exif6.jpg'));
  await rgb(320, 240, 5).toColourspace('b-w').jpeg({ quality: 90 }).toFile(f('gray.jpg'));
  const rgba = Buffer.alloc(300 * 260 * 4);
  const p = photo(300, 260, 6);
  for (let i = 0; i < 300 * 260; i++) {
    rgba.set(p.subarray(3 * i, 3 * i + 3), 4 * i);
    rgba[4 * i + 3] = (i * 37) % 256; // varying alpha: must be dropped, not composited or premultiplied
  }
  await sharp(rgba, { raw: { width: 300, height: 260, channels: 4 } })
    .png()
    .toFile(f('rgba.png'));
  await rgb(120, 90, 7).png().toFile(f('small-upscaled.png'));
  await rgb(400, 300, 8).webp({ quality: 90 }).toFile(f('photo.webp'));
  await rgb(256, 300, 9).toColourspace('cmyk').jpeg({ quality: 95 }).toFile(f('cmyk.jpg'));
  return fs.readdirSync(dir).sort();
}

/** torchvision's tensors ×255 (exact uint8 values, since ToTensor divides uint8 by 255), one .bin per file. */
const REFERENCE = `
import sys, os, numpy as np
from PIL import Image, ImageOps
import torchvision.transforms as T
src, out, resize, crop = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
tf = T.Compose([T.Resize(resize), T.CenterCrop(crop), T.ToTensor()])
for name in sorted(os.listdir(src)):
    with open(os.path.join(src, name), 'rb') as fh:
        img = ImageOps.exif_transpose(Image.open(fh)).convert('RGB')
    x = tf(img)
    np.round(x.numpy() * 255).astype(np.uint8).tofile(os.path.join(out, name + '.bin'))
`;

/** Per-file mean and max |ours − torchvision| in 0..255 units. */
async function compare(dir: string, names: string[], transform: DecodeTransform, resize: number, crop: number) {
  const out = tmpDir('parity-ref');
  runPython(REFERENCE, [dir, out, String(resize), String(crop)]);
  const ours = await decodeImageFiles(
    names.map((n) => path.join(dir, n)),
    { channels: 3, transform },
  );
  assert.deepEqual([ours.n, ours.c, ours.h, ours.w], [names.length, 3, crop, crop]);
  const size = 3 * crop * crop;
  return names.map((name, i) => {
    const ref = fs.readFileSync(path.join(out, `${name}.bin`));
    assert.equal(ref.length, size, `${name}: reference size`);
    let sum = 0;
    let max = 0;
    for (let j = 0; j < size; j++) {
      const d = Math.abs(ours.images[i * size + j] - ref[j]);
      sum += d;
      if (d > max) max = d;
    }
    return { name, mean: sum / size, max };
  });
}

// Tolerances in 0..255 units, measured on these files (sharp 0.34.5 / libvips 8.17 against
// torchvision 0.14.1 / Pillow 9.4): JPEG and downscaled PNG mean 0.10-0.22, max 2; gray JPEG and
// enlarged PNG 0 (the enlargement is a bit-exact copy of Pillow's bilinear); WebP mean 0.76, max 17
// (libwebp's chroma upsampling differs between the two builds); CMYK mean 31, max 131 (libvips
// converts through an ICC profile, Pillow by the naive 255 - C - K formula), so CMYK is only
// checked loosely. See docs/preprocessing.md.
const TOL: Record<string, { mean: number; max: number }> = {
  default: { mean: 0.3, max: 3 },
  'small-upscaled.png': { mean: 0, max: 0 },
  'gray.jpg': { mean: 0, max: 0 },
  'photo.webp': { mean: 1, max: 20 },
  'cmyk.jpg': { mean: 40, max: 160 },
};

test('sharp decode + Resize(256) + CenterCrop(224) matches torchvision on JPEG/PNG/WebP, EXIF 6, gray, RGBA, CMYK', { skip }, async () => {
  const dir = tmpDir('parity');
  const names = await writeFiles(dir);
  const diffs = await compare(dir, names, { resize: 256, centerCrop: [224, 224] }, 256, 224);
  const report = diffs.map((d) => `${d.name}: mean ${d.mean.toFixed(3)}, max ${d.max}`).join('\n');
  for (const d of diffs) {
    const tol = TOL[d.name] ?? TOL.default;
    assert.ok(
      d.mean <= tol.mean && d.max <= tol.max,
      `${d.name} differs from torchvision beyond tolerance ${JSON.stringify(tol)}:\n${report}`,
    );
  }
  console.log(report);
});

test(
  'odd sizes: Resize(100) + CenterCrop(87) (rounding of the long side and of the crop offset) matches torchvision',
  { skip },
  async () => {
    const dir = tmpDir('parity-odd');
    await rgb(333, 201, 11).png().toFile(path.join(dir, 'odd-down.png'));
    await rgb(61, 45, 12).png().toFile(path.join(dir, 'odd-up.png'));
    const names = fs.readdirSync(dir).sort();
    const diffs = await compare(dir, names, { resize: 100, centerCrop: [87, 87] }, 100, 87);
    const up = diffs.find((d) => d.name === 'odd-up.png')!;
    assert.deepEqual([up.mean, up.max], [0, 0], 'enlarged PNG must be bit-exact');
    const down = diffs.find((d) => d.name === 'odd-down.png')!;
    assert.ok(down.mean <= TOL.default.mean && down.max <= TOL.default.max, `odd-down.png: mean ${down.mean}, max ${down.max}`);
  },
);
