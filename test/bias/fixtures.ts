/** Small synthetic ImageDatasets for the bias tests. */
import type { ImageDataset } from '../../src/data/types.js';

/**
 * A dataset of n images whose pixel (sample i, channel ch, row r, column q) is fill(i, ch, r, q)
 * and whose label is labelOf(i) (default i % classes.length).
 */
export function makeDataset(o: {
  n: number;
  c?: number;
  h: number;
  w: number;
  classes?: string[];
  fill?: (i: number, ch: number, r: number, q: number) => number;
  labelOf?: (i: number) => number;
  name?: string;
}): ImageDataset {
  const c = o.c ?? 1;
  const classes = o.classes ?? ['a', 'b'];
  const fill = o.fill ?? ((i, ch, r, q) => (i * 7 + ch * 31 + r * 5 + q * 3) % 200);
  const images = new Uint8Array(o.n * c * o.h * o.w);
  let k = 0;
  for (let i = 0; i < o.n; i++)
    for (let ch = 0; ch < c; ch++) for (let r = 0; r < o.h; r++) for (let q = 0; q < o.w; q++) images[k++] = fill(i, ch, r, q);
  const labels = Int32Array.from({ length: o.n }, (_, i) => (o.labelOf ? o.labelOf(i) : i % classes.length));
  return { name: o.name ?? 'synthetic', images, labels, classes, n: o.n, c, h: o.h, w: o.w };
}

/** Pixel (channel ch, row r, column q) of sample i. */
export function px(ds: ImageDataset, i: number, ch: number, r: number, q: number): number {
  return ds.images[((i * ds.c + ch) * ds.h + r) * ds.w + q];
}

/** Indices of samples whose pixels differ between two same-shaped datasets. */
export function changedSamples(a: ImageDataset, b: ImageDataset): number[] {
  const sz = a.c * a.h * a.w;
  const out: number[] = [];
  for (let i = 0; i < a.n; i++) {
    for (let k = 0; k < sz; k++) {
      if (a.images[i * sz + k] !== b.images[i * sz + k]) {
        out.push(i);
        break;
      }
    }
  }
  return out;
}
