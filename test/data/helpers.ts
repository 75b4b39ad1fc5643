/** Small in-memory datasets and temp folders for the data tests. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { ImageDataset } from '../../src/data/types.js';

/** A fresh temporary folder. */
export function tmpDir(tag: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `bt-data-${tag}-`));
}

/** A dataset whose pixel (i, k, y, x) = (i*7 + k*3 + y*w + x) mod 256, labels from `labels`. */
export function tinyDataset(opts: { labels: number[]; c?: number; h?: number; w?: number; classes?: string[] }): ImageDataset {
  const { labels, c = 1, h = 2, w = 2 } = opts;
  const n = labels.length;
  const images = new Uint8Array(n * c * h * w);
  for (let i = 0; i < n; i++)
    for (let k = 0; k < c; k++)
      for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) images[((i * c + k) * h + y) * w + x] = (i * 7 + k * 3 + y * w + x) % 256;
  const k = Math.max(...labels) + 1;
  return {
    name: 'tiny',
    images,
    labels: Int32Array.from(labels),
    classes: opts.classes ?? Array.from({ length: k }, (_, j) => `c${j}`),
    n,
    c,
    h,
    w,
  };
}

/** The first pixel of each sample (identifies it in tinyDataset when n*7 < 256). */
export function firstPixels(ds: ImageDataset): number[] {
  const s = ds.c * ds.h * ds.w;
  return Array.from({ length: ds.n }, (_, i) => ds.images[i * s]);
}
