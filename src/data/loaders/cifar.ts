/**
 * CIFAR-10 and CIFAR-100 in their binary versions (https://www.cs.toronto.edu/~kriz/cifar.html).
 *
 * CIFAR-10 (`cifar-10-batches-bin/`): data_batch_1.bin … data_batch_5.bin and test_batch.bin, each a
 * list of 3073-byte records: 1 label byte, then 3072 pixel bytes (1024 R, 1024 G, 1024 B, rows of
 * 32). Class names come from batches.meta.txt when present.
 *
 * CIFAR-100 (`cifar-100-binary/`): train.bin and test.bin, 3074-byte records: coarse label byte,
 * fine label byte, 3072 pixel bytes. Fine labels by default; names from fine_label_names.txt /
 * coarse_label_names.txt when present, else '0'…'99'.
 */
import fs from 'node:fs';
import path from 'node:path';
import { DatasetError } from '../errors.js';
import type { ImageDataset } from '../types.js';
import { isDir, isFile, readFileOrThrow, readLines } from './files.js';

const PIXELS = 3 * 32 * 32;

/** CIFAR-10's classes, index = label (used when batches.meta.txt is absent). */
export const CIFAR10_CLASSES = ['airplane', 'automobile', 'bird', 'cat', 'deer', 'dog', 'frog', 'horse', 'ship', 'truck'] as const;

/** Options of the CIFAR loaders. */
export interface CifarOptions {
  /** The folder holding the .bin files, or its parent holding cifar-10-batches-bin / cifar-100-binary. */
  path: string;
  split: 'train' | 'test';
}

function resolveRoot(p: string, sub: string): string {
  if (!isDir(p)) throw new DatasetError(p, 'CIFAR folder not found');
  return isDir(path.join(p, sub)) ? path.join(p, sub) : p;
}

/** Decodes records of `labelBytes` label bytes + 3072 pixels; `labelAt` picks which label byte. */
function readRecords(file: string, labelBytes: number, labelAt: number, numClasses: number): { images: Uint8Array; labels: Int32Array } {
  const buf = readFileOrThrow(file);
  const rec = labelBytes + PIXELS;
  if (buf.length === 0 || buf.length % rec !== 0)
    throw new DatasetError(
      file,
      `size ${buf.length} bytes is not a positive multiple of the ${rec}-byte record (truncated or not a CIFAR${labelBytes === 1 ? '-10' : '-100'} file)`,
    );
  const n = buf.length / rec;
  const images = new Uint8Array(n * PIXELS);
  const labels = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const l = buf[i * rec + labelAt];
    if (l >= numClasses) throw new DatasetError(file, `record ${i} has label ${l}, outside the ${numClasses} classes`);
    labels[i] = l;
    images.set(buf.subarray(i * rec + labelBytes, (i + 1) * rec), i * PIXELS);
  }
  return { images, labels };
}

function concat(parts: { images: Uint8Array; labels: Int32Array }[]): { images: Uint8Array; labels: Int32Array; n: number } {
  const n = parts.reduce((a, p) => a + p.labels.length, 0);
  const images = new Uint8Array(n * PIXELS);
  const labels = new Int32Array(n);
  let off = 0;
  for (const p of parts) {
    images.set(p.images, off * PIXELS);
    labels.set(p.labels, off);
    off += p.labels.length;
  }
  return { images, labels, n };
}

function classNames(file: string, expected: number, fallback: readonly string[]): string[] {
  if (!isFile(file)) return [...fallback];
  const names = readLines(file);
  if (names.length !== expected) throw new DatasetError(file, `lists ${names.length} class names, expected ${expected}`);
  return names;
}

/** The train batch files data_batch_1.bin … data_batch_N.bin, numbered without gaps. */
function cifar10TrainFiles(root: string): string[] {
  const nums = fs
    .readdirSync(root)
    .map((f) => /^data_batch_(\d+)\.bin$/.exec(f))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => Number(m[1]))
    .sort((a, b) => a - b);
  if (nums.length === 0)
    throw new DatasetError(path.join(root, 'data_batch_1.bin'), 'no CIFAR-10 training batch (data_batch_<k>.bin) found');
  nums.forEach((k, i) => {
    if (k !== i + 1)
      throw new DatasetError(path.join(root, `data_batch_${i + 1}.bin`), 'missing: training batches must be numbered 1, 2, … without gaps');
  });
  return nums.map((k) => path.join(root, `data_batch_${k}.bin`));
}

/** Loads a CIFAR-10 split: n×3×32×32 uint8 (50,000 train / 10,000 test for the full set). */
export function loadCifar10(opts: CifarOptions): ImageDataset {
  const root = resolveRoot(opts.path, 'cifar-10-batches-bin');
  const files = opts.split === 'train' ? cifar10TrainFiles(root) : [path.join(root, 'test_batch.bin')];
  const classes = classNames(path.join(root, 'batches.meta.txt'), 10, CIFAR10_CLASSES);
  const { images, labels, n } = concat(files.map((f) => readRecords(f, 1, 0, 10)));
  return { name: `cifar10/${opts.split}`, images, labels, classes, n, c: 3, h: 32, w: 32 };
}

/** Loads a CIFAR-100 split with fine (100 classes, default) or coarse (20 superclasses) labels. */
export function loadCifar100(opts: CifarOptions & { labels?: 'fine' | 'coarse' }): ImageDataset {
  const root = resolveRoot(opts.path, 'cifar-100-binary');
  const kind = opts.labels ?? 'fine';
  const k = kind === 'fine' ? 100 : 20;
  const file = path.join(root, opts.split === 'train' ? 'train.bin' : 'test.bin');
  const classes = classNames(
    path.join(root, `${kind}_label_names.txt`),
    k,
    Array.from({ length: k }, (_, i) => String(i)),
  );
  const { images, labels } = readRecords(file, 2, kind === 'fine' ? 1 : 0, k);
  return { name: `cifar100/${opts.split}`, images, labels, classes, n: labels.length, c: 3, h: 32, w: 32 };
}
