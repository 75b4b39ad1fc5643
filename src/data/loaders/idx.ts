/**
 * The IDX format of MNIST and Fashion-MNIST (http://yann.lecun.com/exdb/mnist/): a big-endian
 * header (magic 0x00000801 for label files, 0x00000803 for image files, i.e. unsigned bytes with 1
 * or 3 dimensions), the dimension sizes as uint32, then the bytes. Files may be gzipped.
 */
import path from 'node:path';
import { DatasetError } from '../errors.js';
import type { ImageDataset } from '../types.js';
import { readMaybeGzip } from './files.js';

/** A decoded IDX file: dimension sizes and the bytes (length = product of dims). */
export interface IdxArray {
  dims: number[];
  data: Uint8Array;
}

const MAGIC_LABELS = 0x00000801;
const MAGIC_IMAGES = 0x00000803;

/**
 * Reads an idx1-ubyte (labels, dims [n]) or idx3-ubyte (images, dims [n, h, w]) file, gzipped or
 * not. Wrong magic, zero or truncated dimensions and missing or extra data bytes throw a
 * `DatasetError` naming the file. The data is a view into the decoded buffer (no copy).
 */
export function readIdx(file: string, hint = ''): IdxArray {
  const buf = readMaybeGzip(file, hint);
  if (buf.length < 4) throw new DatasetError(file, `too short for an IDX header (${buf.length} bytes)`);
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const magic = view.getUint32(0, false);
  if (magic !== MAGIC_LABELS && magic !== MAGIC_IMAGES)
    throw new DatasetError(
      file,
      `wrong IDX magic number 0x${magic.toString(16).padStart(8, '0')}; expected 0x00000801 (labels) or 0x00000803 (images)`,
    );
  const ndim = magic & 0xff;
  const header = 4 + 4 * ndim;
  if (buf.length < header)
    throw new DatasetError(file, `truncated IDX header: ${buf.length} bytes, ${header} needed for ${ndim} dimension(s)`);
  const dims: number[] = [];
  for (let d = 0; d < ndim; d++) {
    const v = view.getUint32(4 + 4 * d, false);
    if (v === 0 && d > 0) throw new DatasetError(file, `dimension ${d} is 0`);
    dims.push(v);
  }
  const need = dims.reduce((a, b) => a * b, 1);
  const have = buf.length - header;
  if (have < need) throw new DatasetError(file, `truncated: dims [${dims.join(', ')}] need ${need} data bytes, file has ${have}`);
  if (have > need) throw new DatasetError(file, `${have - need} unexpected trailing bytes after dims [${dims.join(', ')}]`);
  return { dims, data: buf.subarray(header, header + need) };
}

/** Options of `loadIdxPair`. */
export interface IdxPairOptions {
  /** Dataset name for logs (default: the images file name). */
  name?: string;
  /** Class names; default '0'..'9' or up to the largest label. Labels must index it. */
  classes?: readonly string[];
  /** Hint appended to a missing-file error (e.g. how to install the data). */
  hint?: string;
}

/**
 * An image dataset (1 channel) from an idx3 images file and an idx1 labels file. The counts must
 * agree and each label must index `classes`.
 */
export function loadIdxPair(imagesFile: string, labelsFile: string, opts: IdxPairOptions = {}): ImageDataset {
  const img = readIdx(imagesFile, opts.hint);
  if (img.dims.length !== 3)
    throw new DatasetError(imagesFile, `expected an idx3 images file (magic 0x00000803), got ${img.dims.length} dimension(s)`);
  const lab = readIdx(labelsFile, opts.hint);
  if (lab.dims.length !== 1)
    throw new DatasetError(labelsFile, `expected an idx1 labels file (magic 0x00000801), got ${lab.dims.length} dimension(s)`);
  const [n, h, w] = img.dims;
  if (lab.dims[0] !== n) throw new DatasetError(labelsFile, `has ${lab.dims[0]} labels but ${imagesFile} has ${n} images`);
  const labels = Int32Array.from(lab.data);
  let maxLabel = -1;
  for (let i = 0; i < n; i++) if (labels[i] > maxLabel) maxLabel = labels[i];
  const classes = opts.classes ? [...opts.classes] : Array.from({ length: Math.max(10, maxLabel + 1) }, (_, i) => String(i));
  if (maxLabel >= classes.length) throw new DatasetError(labelsFile, `label ${maxLabel} is outside the ${classes.length} classes`);
  // A plain Uint8Array copy: the file's data is a Buffer, whose slice() is a view, so code that
  // copies images with slice() (overlays, poisoning) would write into shared memory.
  return { name: opts.name ?? path.basename(imagesFile), images: new Uint8Array(img.data), labels, classes, n, c: 1, h, w };
}
