/**
 * Fashion-MNIST (Xiao et al. 2017) from Debian's `dataset-fashion-mnist` package: 60,000 train and
 * 10,000 test 28×28 grayscale images in IDX files under /usr/share/datasets/fashion-mnist.
 * The folder can be changed with the `path` option or the BIAS_TRANSFER_FASHION_MNIST variable.
 */
import path from 'node:path';
import { DatasetError } from '../errors.js';
import type { ImageDataset } from '../types.js';
import { isFile } from './files.js';
import { loadIdxPair } from './idx.js';

/** Class names, index = label. */
export const FASHION_MNIST_CLASSES = [
  'T-shirt/top',
  'Trouser',
  'Pullover',
  'Dress',
  'Coat',
  'Sandal',
  'Shirt',
  'Sneaker',
  'Bag',
  'Ankle boot',
] as const;

/** Where Debian's package installs the files. */
export const FASHION_MNIST_DEBIAN_ROOT = '/usr/share/datasets/fashion-mnist';

const HINT =
  'install it with `apt-get install dataset-fashion-mnist`, or set BIAS_TRANSFER_FASHION_MNIST (or the dataset path) to a folder holding {train,t10k}-{images-idx3,labels-idx1}-ubyte[.gz]';

/** The folder used: `explicit`, else $BIAS_TRANSFER_FASHION_MNIST, else Debian's. */
export function fashionMnistRoot(explicit?: string): string {
  return explicit ?? process.env.BIAS_TRANSFER_FASHION_MNIST ?? FASHION_MNIST_DEBIAN_ROOT;
}

function pick(root: string, base: string): string {
  const gz = path.join(root, `${base}.gz`);
  const plain = path.join(root, base);
  return isFile(gz) || !isFile(plain) ? gz : plain;
}

/** The images and labels files of a split (the .gz name unless only the plain one exists). */
export function fashionMnistFiles(split: 'train' | 'test', root = fashionMnistRoot()): { images: string; labels: string } {
  const prefix = split === 'train' ? 'train' : 't10k';
  return { images: pick(root, `${prefix}-images-idx3-ubyte`), labels: pick(root, `${prefix}-labels-idx1-ubyte`) };
}

/** Whether both files of the test and train splits exist. */
export function fashionMnistAvailable(root = fashionMnistRoot()): boolean {
  return (['train', 'test'] as const).every((s) => {
    const f = fashionMnistFiles(s, root);
    return isFile(f.images) && isFile(f.labels);
  });
}

/**
 * Loads a Fashion-MNIST split: n×1×28×28 uint8, labels 0..9 (names in FASHION_MNIST_CLASSES).
 * Missing files throw a DatasetError telling how to install them.
 */
export function loadFashionMnist(opts: { split: 'train' | 'test'; path?: string }): ImageDataset {
  const root = fashionMnistRoot(opts.path);
  const f = fashionMnistFiles(opts.split, root);
  for (const file of [f.images, f.labels]) if (!isFile(file)) throw new DatasetError(file, `Fashion-MNIST file not found; ${HINT}`);
  return loadIdxPair(f.images, f.labels, { name: `fashion-mnist/${opts.split}`, classes: FASHION_MNIST_CLASSES, hint: HINT });
}
