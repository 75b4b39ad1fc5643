/**
 * An image folder in torchvision's ImageFolder layout: one sub-folder per class (classes sorted by
 * folder name), PNG and JPEG files inside (sorted by file name; other files and hidden entries are
 * skipped). Images are decoded to RGBA (pngjs, jpeg-js), converted to 1 or 3 channels (alpha
 * dropped; gray = 0.299 R + 0.587 G + 0.114 B) and resized bilinearly to `size`.
 */
import fs from 'node:fs';
import path from 'node:path';
import jpeg from 'jpeg-js';
import pngjs from 'pngjs';
import { DatasetError } from '../errors.js';
import { resizeImage, rgbaToPlanar } from '../image.js';
import type { ImageDataset } from '../types.js';
import { isDir, readFileOrThrow } from './files.js';

const IMAGE_EXT = /\.(png|jpe?g)$/i;

/** Options of `loadImageFolder`. */
export interface ImageFolderOptions {
  path: string;
  /** Output [height, width]; default: every image must already share one size. */
  size?: readonly [number, number];
  /** Output channels (default 3). */
  channels?: 1 | 3;
  /** Dataset name for logs (default: the folder's name). */
  name?: string;
}

/** Decodes a PNG or JPEG (told apart by magic bytes) to interleaved RGBA. */
export function decodeImage(file: string): { width: number; height: number; rgba: Uint8Array } {
  const buf = readFileOrThrow(file);
  const isPng = buf.length >= 8 && buf[0] === 0x89 && buf[1] === 0x50 && buf[2] === 0x4e && buf[3] === 0x47;
  const isJpeg = buf.length >= 3 && buf[0] === 0xff && buf[1] === 0xd8 && buf[2] === 0xff;
  try {
    if (isPng) {
      const png = pngjs.PNG.sync.read(buf);
      return { width: png.width, height: png.height, rgba: new Uint8Array(png.data.buffer, png.data.byteOffset, png.data.length) };
    }
    if (isJpeg) {
      const img = jpeg.decode(buf, { useTArray: true, formatAsRGBA: true, maxMemoryUsageInMB: 1024 });
      return { width: img.width, height: img.height, rgba: img.data };
    }
  } catch (e) {
    throw new DatasetError(file, `corrupt or unreadable ${isPng ? 'PNG' : 'JPEG'} image (${(e as Error).message})`, { cause: e });
  }
  throw new DatasetError(file, 'not a PNG or JPEG image (unrecognised file signature)');
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
  let size = opts.size;
  if (size !== undefined && !(size.length === 2 && size.every((v) => Number.isInteger(v) && v > 0)))
    throw new DatasetError(root, `size must be [height, width] of positive integers, got ${JSON.stringify(size)}`);
  const n = files.length;
  let images: Uint8Array | undefined;
  const labels = new Int32Array(n);
  files.forEach(({ file, label }, i) => {
    const img = decodeImage(file);
    if (size === undefined) size = [img.height, img.width];
    else if (opts.size === undefined && (img.height !== size[0] || img.width !== size[1]))
      throw new DatasetError(
        file,
        `image is ${img.height}×${img.width} but earlier images are ${size[0]}×${size[1]}; set a size to resize them all`,
      );
    const planar = rgbaToPlanar(img.rgba, img.height, img.width, c);
    const resized = resizeImage(planar, c, [img.height, img.width], size);
    images ??= new Uint8Array(n * resized.length);
    images.set(resized, i * resized.length);
    labels[i] = label;
  });
  const [h, w] = size!;
  return {
    name: opts.name ?? path.basename(path.resolve(root)),
    images: images!,
    labels,
    classes: classDirs.map((d) => d.name),
    n,
    c,
    h,
    w,
  };
}
