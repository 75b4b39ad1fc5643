/**
 * An image folder in torchvision's ImageFolder layout: one sub-folder per class (classes sorted by
 * folder name), PNG and JPEG files inside (sorted by file name; other files and hidden entries are
 * skipped). Images are decoded by src/data/decode.ts (sharp: JPEG, PNG, WebP; EXIF orientation
 * applied; alpha dropped; gray = 0.299 R + 0.587 G + 0.114 B), then resized to `size` or
 * preprocessed by `transform` (torchvision's Resize / CenterCrop).
 */
import fs from 'node:fs';
import path from 'node:path';
import { decodeImageFilesSync, type DecodeTransform } from '../decode.js';
import { DatasetError } from '../errors.js';
import type { ImageDataset } from '../types.js';
import { isDir } from './files.js';

const IMAGE_EXT = /\.(png|jpe?g|webp)$/i;

/** Options of `loadImageFolder`. */
export interface ImageFolderOptions {
  path: string;
  /** Output [height, width]; default: every image must already share one size. */
  size?: readonly [number, number];
  /** Output channels (default 3). */
  channels?: 1 | 3;
  /** torchvision-style resize / centre crop applied while decoding (src/data/decode.ts); not with `size`. */
  transform?: DecodeTransform;
  /** Dataset name for logs (default: the folder's name). */
  name?: string;
}

function listDir(dir: string): fs.Dirent[] {
  try {
    return fs.readdirSync(dir, { withFileTypes: true }).filter((d) => !d.name.startsWith('.'));
  } catch (e) {
    throw new DatasetError(dir, `cannot read folder (${(e as Error).message})`, { cause: e });
  }
}

const byName = (a: fs.Dirent, b: fs.Dirent): number => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);

/** Loads an image folder as an ImageDataset (labels = index of the sorted class folder). */
export function loadImageFolder(opts: ImageFolderOptions): ImageDataset {
  const root = opts.path;
  if (!isDir(root)) throw new DatasetError(root, 'image folder not found');
  const c = opts.channels ?? 3;
  if (c !== 1 && c !== 3) throw new DatasetError(root, `channels must be 1 or 3, got ${String(c)}`);
  const classDirs = listDir(root)
    .filter((d) => d.isDirectory() || (d.isSymbolicLink() && isDir(path.join(root, d.name))))
    .sort(byName);
  if (classDirs.length === 0)
    throw new DatasetError(root, 'no class sub-folders found (expected one folder per class holding .png/.jpg images)');
  const files: { file: string; label: number }[] = [];
  classDirs.forEach((d, label) => {
    const dir = path.join(root, d.name);
    const imgs = listDir(dir)
      .filter((f) => !f.isDirectory() && IMAGE_EXT.test(f.name))
      .sort(byName);
    if (imgs.length === 0) throw new DatasetError(dir, 'class folder holds no .png/.jpg/.jpeg images');
    for (const f of imgs) files.push({ file: path.join(dir, f.name), label });
  });
  const size = opts.size;
  if (size !== undefined && !(size.length === 2 && size.every((v) => Number.isInteger(v) && v > 0)))
    throw new DatasetError(root, `size must be [height, width] of positive integers, got ${JSON.stringify(size)}`);
  if (size !== undefined && opts.transform !== undefined)
    throw new DatasetError(root, 'give either size (stretch) or a transform (resize / centerCrop), not both');
  // Decoding and preprocessing: src/data/decode.ts (sharp), many files at once.
  const decoded = decodeImageFilesSync(
    files.map((f) => f.file),
    { channels: c, transform: opts.transform ?? (size ? { size } : undefined) },
  );
  const n = files.length;
  const images = decoded.images;
  const labels = Int32Array.from(files, (f) => f.label);
  const [h, w] = [decoded.h, decoded.w];
  return {
    name: opts.name ?? path.basename(path.resolve(root)),
    images,
    labels,
    classes: classDirs.map((d) => d.name),
    n,
    c,
    h,
    w,
  };
}
