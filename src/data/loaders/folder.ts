/**
 * An image folder in torchvision's ImageFolder layout: one sub-folder per class (classes sorted by
 * folder name), PNG and JPEG files inside (sorted by file name; other files and hidden entries are
 * skipped). Images are decoded by src/data/decode.ts (sharp: JPEG, PNG, WebP; EXIF orientation
 * applied; alpha dropped; gray = 0.299 R + 0.587 G + 0.114 B), then resized to `size` or
 * preprocessed by `transform` (torchvision's Resize / CenterCrop).
 *
 * A dataset root either holds the class folders itself (a flat folder: one split, the training
 * one; a test split needs an explicit holdout, see src/data/registry.ts), or splits in torchvision's
 * layout: `root/train/<class>/…` and `root/test/<class>/…` or `root/val/<class>/…`
 * (`folderSplitDir`).
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { decodeImageFilesSync, type DecodeTransform } from '../decode.js';
import { DatasetError } from '../errors.js';
import type { ImageDataset } from '../types.js';
import { isDir, readFileOrThrow } from './files.js';

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

/** Sub-folder names that mark torchvision's split layout, and which split each serves. */
const SPLIT_DIRS = { train: ['train'], test: ['test', 'val'] } as const;

/** How a dataset root is laid out: flat class folders, or train/test (val) split folders. */
export interface FolderLayout {
  kind: 'flat' | 'splits';
  /** For 'splits': the folder of each split present (absolute or as given). */
  splits: { train?: string; test?: string };
}

function subDirs(root: string): string[] {
  return listDir(root)
    .filter((d) => d.isDirectory() || (d.isSymbolicLink() && isDir(path.join(root, d.name))))
    .map((d) => d.name)
    .sort();
}

/**
 * The layout of an image-folder root. A root holding a `train`, `test` or `val` folder is in
 * split layout, and must then hold nothing but split folders (a class really named 'train' next
 * to other classes would be ambiguous: an error naming the folders). `test` wins over `val` when
 * both exist.
 *
 * @example folderLayout('data/pets') // { kind: 'splits', splits: { train: 'data/pets/train', test: 'data/pets/val' } }
 */
export function folderLayout(root: string): FolderLayout {
  if (!isDir(root)) throw new DatasetError(root, 'image folder not found');
  const dirs = subDirs(root);
  const splitNames = new Set<string>([...SPLIT_DIRS.train, ...SPLIT_DIRS.test]);
  const marked = dirs.filter((d) => splitNames.has(d));
  if (marked.length === 0) return { kind: 'flat', splits: {} };
  const others = dirs.filter((d) => !splitNames.has(d));
  if (others.length > 0)
    throw new DatasetError(
      root,
      `holds split folder(s) ${marked.map((d) => `'${d}/'`).join(', ')} next to other folders (${others.slice(0, 5).join(', ')}${others.length > 5 ? ', …' : ''}): ` +
        'use either train/ and test/ (or val/) folders each holding one folder per class, or one folder per class at the top',
    );
  const pick = (names: readonly string[]) => names.find((n) => dirs.includes(n));
  const train = pick(SPLIT_DIRS.train);
  const test = pick(SPLIT_DIRS.test);
  return {
    kind: 'splits',
    splits: { ...(train ? { train: path.join(root, train) } : {}), ...(test ? { test: path.join(root, test) } : {}) },
  };
}

/**
 * The class-folder root that serves `split` of a dataset root, or an error when the layout has no
 * such split. A flat root serves only 'train' here (its test split is a holdout, applied by
 * `loadDataset`): asking it for 'test' is an error that says how to get one.
 */
export function folderSplitDir(root: string, split: 'train' | 'test'): string {
  const layout = folderLayout(root);
  if (layout.kind === 'flat') {
    if (split === 'train') return root;
    throw new DatasetError(
      root,
      "has no test split: it holds class folders directly, with no 'test/' or 'val/' sub-folder. " +
        'Hold out a seeded share of it as the test split (holdout: 0.2, on both the training and the test spec), ' +
        'or lay it out as train/<class>/… and test/<class>/…, or name a separate test folder',
    );
  }
  const dir = layout.splits[split];
  if (dir === undefined)
    throw new DatasetError(
      root,
      split === 'train' ? "has a test/val folder but no 'train/' folder" : "has a 'train/' folder but no 'test/' or 'val/' folder",
    );
  return dir;
}

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
  const splitNames = classDirs.filter((d) => d.name === 'train' || d.name === 'test' || d.name === 'val');
  if (splitNames.length > 0)
    throw new DatasetError(
      root,
      `is in split layout (${splitNames.map((d) => `${d.name}/`).join(', ')}), not a folder of classes: load it through loadDataset with a split`,
    );
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
  // Content ids are the files' bytes, so they do not depend on the decoder, the size or the transform.
  const contentIds = files.map((f) => createHash('sha256').update(readFileOrThrow(f.file)).digest('hex').slice(0, 24));
  return {
    name: opts.name ?? path.basename(path.resolve(root)),
    images,
    labels,
    classes: classDirs.map((d) => d.name),
    contentIds,
    n,
    c,
    h,
    w,
  };
}
