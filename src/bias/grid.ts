/**
 * PNG grids of example images (clean vs biased), for reports: one row per label, images left to
 * right, each scaled by an integer factor with nearest-neighbour so trigger pixels stay sharp.
 */
import fs from 'node:fs';
import path from 'node:path';
import { PNG } from 'pngjs';
import type { StreamedDataset } from '../data/types.js';
import { drawText, textHeight, textWidth } from './font.js';

/** One image to show: CHW uint8 pixels, c = 1 (gray) or 3 (RGB). */
export interface GridImage {
  readonly pixels: Uint8Array;
  readonly c: number;
  readonly h: number;
  readonly w: number;
}

/** One row: its caption and its images. */
export interface GridRow {
  readonly label: string;
  readonly images: readonly GridImage[];
}

/** Layout options of a grid. */
export interface GridOptions {
  /** Integer upscaling per image pixel (nearest neighbour), default 2. */
  readonly scale?: number;
  /** Pixels of background between cells and around the grid, default 2. */
  readonly pad?: number;
  /** Caption text scale (glyphs are 3x5 px times this), default 1; 0 hides captions. */
  readonly labelScale?: number;
  /** Background gray level, default 255 (white); captions are drawn in black. */
  readonly background?: number;
}

/** Where every cell of a grid sits, in output pixels; the image at row r, column k starts at (x0 + k*cellW, rowY[r]). */
export interface GridLayout {
  readonly width: number;
  readonly height: number;
  /** Left edge of the first image column (after the caption column). */
  readonly x0: number;
  /** Cell pitch (scaled image width + pad) and height (scaled image height + pad). */
  readonly cellW: number;
  readonly cellH: number;
  /** Top edge of each row's images. */
  readonly rowY: number[];
}

/** Computes the layout of a grid without drawing it (useful for HTML captions or tests). */
export function gridLayout(rows: readonly GridRow[], opts: GridOptions = {}): GridLayout {
  const { scale, pad, labelScale } = checkOptions(opts);
  if (rows.length === 0) throw new RangeError('example grid needs at least one row');
  let maxH = 1;
  let maxW = 1;
  let maxCols = 1;
  rows.forEach((row, r) => {
    maxCols = Math.max(maxCols, row.images.length);
    row.images.forEach((im, k) => {
      if (im.c !== 1 && im.c !== 3) throw new RangeError(`rows[${r}].images[${k}] has ${im.c} channels (need 1 or 3)`);
      if (im.pixels.length !== im.c * im.h * im.w) {
        throw new RangeError(
          `rows[${r}].images[${k}] has ${im.pixels.length} bytes but ${im.c}x${im.h}x${im.w} needs ${im.c * im.h * im.w}`,
        );
      }
      maxH = Math.max(maxH, im.h);
      maxW = Math.max(maxW, im.w);
    });
  });
  const labelW = labelScale > 0 ? Math.max(...rows.map((r) => textWidth(r.label, labelScale))) : 0;
  const x0 = pad + (labelW > 0 ? labelW + pad : 0);
  const cellW = maxW * scale + pad;
  const cellH = Math.max(maxH * scale, labelScale > 0 ? textHeight(labelScale) : 0) + pad;
  const rowY = rows.map((_, r) => pad + r * cellH);
  return { width: x0 + maxCols * cellW, height: pad + rows.length * cellH, x0, cellW, cellH, rowY };
}

function checkOptions(opts: GridOptions): { scale: number; pad: number; labelScale: number; background: number } {
  const scale = opts.scale ?? 2;
  const pad = opts.pad ?? 2;
  const labelScale = opts.labelScale ?? 1;
  const background = opts.background ?? 255;
  if (!Number.isInteger(scale) || scale < 1) throw new RangeError(`grid scale must be a positive integer, got ${scale}`);
  if (!Number.isInteger(pad) || pad < 0) throw new RangeError(`grid pad must be a non-negative integer, got ${pad}`);
  if (!Number.isInteger(labelScale) || labelScale < 0)
    throw new RangeError(`grid labelScale must be a non-negative integer, got ${labelScale}`);
  if (!(background >= 0 && background <= 255)) throw new RangeError(`grid background must be in 0..255, got ${background}`);
  return { scale, pad, labelScale, background };
}

/**
 * Encodes a grid of examples as an RGBA PNG: captions in a left column, then each row's images,
 * upscaled by `scale`. Gray images are shown as gray. Returns the PNG file bytes (e.g. for a
 * data: URL in an HTML report).
 */
export function exampleGridPng(rows: readonly GridRow[], opts: GridOptions = {}): Buffer {
  const { scale, labelScale, background } = checkOptions(opts);
  const L = gridLayout(rows, opts);
  const png = new PNG({ width: L.width, height: L.height });
  const data = png.data;
  for (let i = 0; i < L.width * L.height; i++) {
    data[4 * i] = background;
    data[4 * i + 1] = background;
    data[4 * i + 2] = background;
    data[4 * i + 3] = 255;
  }
  const rgba = new Uint8Array(data.buffer, data.byteOffset, data.length);
  rows.forEach((row, r) => {
    const top = L.rowY[r];
    if (labelScale > 0) drawText(rgba, L.width, L.height, row.label, { x: opts.pad ?? 2, y: top, scale: labelScale, rgb: [0, 0, 0] });
    row.images.forEach((im, k) => {
      const left = L.x0 + k * L.cellW;
      const plane = im.h * im.w;
      for (let y = 0; y < im.h * scale; y++) {
        const sy = Math.floor(y / scale);
        for (let x = 0; x < im.w * scale; x++) {
          const sx = Math.floor(x / scale);
          const o = 4 * ((top + y) * L.width + left + x);
          const s = sy * im.w + sx;
          data[o] = im.pixels[s];
          data[o + 1] = im.pixels[(im.c === 3 ? plane : 0) + s];
          data[o + 2] = im.pixels[(im.c === 3 ? 2 * plane : 0) + s];
          data[o + 3] = 255;
        }
      }
    });
  });
  return PNG.sync.write(png);
}

/** Writes exampleGridPng(rows, opts) to `file` (parent folders created). */
export function writeExampleGrid(file: string, rows: readonly GridRow[], opts: GridOptions = {}): void {
  const buf = exampleGridPng(rows, opts);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, buf);
}

/** The images of `indices` of a dataset, ready for a GridRow. */
export function gridImages(
  ds: { images: Uint8Array; c: number; h: number; w: number } | StreamedDataset,
  indices: readonly number[],
): GridImage[] {
  const sz = ds.c * ds.h * ds.w;
  // A streamed dataset: read just these images.
  if ('read' in ds) {
    const px = ds.read(indices);
    return indices.map((_, b) => ({ pixels: px.subarray(b * sz, (b + 1) * sz), c: ds.c, h: ds.h, w: ds.w }));
  }
  const images = ds.images;
  return indices.map((i) => ({ pixels: images.subarray(i * sz, (i + 1) * sz), c: ds.c, h: ds.h, w: ds.w }));
}
