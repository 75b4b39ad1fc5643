/**
 * A large JPEG image folder for the streaming benchmark, generated once and kept under `.cache/`:
 * Fashion-MNIST training images upscaled bilinearly from 28 to `size` px, colourised (a per-class
 * tint on a per-image colour gradient), encoded as RGB PNG (pngjs, deflate level 1), in
 * torchvision's ImageFolder layout `root/<class>/<index>.png`. PNG, not JPEG: measured here, jpeg-js
 * encodes a 224-px image in about 100 ms and decodes it in 15 ms, pngjs at level 1 in 3 ms and 1 ms,
 * so 50,000 images take minutes, not hours, on a 2-core machine (JPEG decode speed is bench:folder's
 * subject, not this one's). Deterministic in (n, size); resumable (files that
 * exist are kept; a `DONE` stamp marks a finished folder). Run alone: `npx tsx bench/stream-folder.ts N SIZE DIR`.
 */
import fs from 'node:fs';
import path from 'node:path';
import pngjs from 'pngjs';
import { FASHION_MNIST_CLASSES, loadFashionMnist } from '../src/data/loaders/fashionMnist.js';
import { resizeImage } from '../src/data/image.js';

/** Per-class tint (RGB, 0..255). */
const TINTS: readonly (readonly [number, number, number])[] = [
  [230, 80, 60],
  [60, 200, 90],
  [70, 110, 240],
  [240, 200, 50],
  [200, 70, 220],
  [60, 220, 220],
  [250, 140, 40],
  [150, 240, 120],
  [180, 180, 250],
  [250, 250, 250],
];

/** Folder-safe class names (Fashion-MNIST's 'T-shirt/top' has a slash). */
export const FOLDER_CLASSES = FASHION_MNIST_CLASSES.map((c) => c.replace(/[^A-Za-z0-9-]/g, '_'));

/** Generates (or completes) the folder; returns seconds spent and how many files were written. */
export function generateFolder(
  root: string,
  n: number,
  size: number,
  log: (s: string) => void = () => {},
): { seconds: number; written: number } {
  const done = path.join(root, 'DONE');
  const stamp = `${n} ${size}\n`;
  if (fs.existsSync(done) && fs.readFileSync(done, 'utf8') === stamp) return { seconds: 0, written: 0 };
  const t0 = performance.now();
  const fm = loadFashionMnist({ split: 'train' });
  if (n > fm.n) throw new RangeError(`generateFolder: at most ${fm.n} images (Fashion-MNIST train), asked for ${n}`);
  for (const c of FOLDER_CLASSES) fs.mkdirSync(path.join(root, c), { recursive: true });
  const png = new pngjs.PNG({ width: size, height: size });
  const rgba = png.data;
  let written = 0;
  for (let i = 0; i < n; i++) {
    const label = fm.labels[i];
    const file = path.join(root, FOLDER_CLASSES[label], `${String(i).padStart(6, '0')}.png`);
    if (fs.existsSync(file)) continue;
    const up = resizeImage(fm.images.subarray(i * 784, (i + 1) * 784), 1, [28, 28], [size, size]);
    const tint = TINTS[label];
    // Background: a gradient whose colours depend on the image index, so images differ beyond the item.
    const b0 = [(i * 37) % 128, (i * 59) % 128, (i * 83) % 128];
    for (let y = 0; y < size; y++) {
      for (let x = 0; x < size; x++) {
        const g = up[y * size + x] / 255;
        const t = (x + y) / (2 * size);
        const o = 4 * (y * size + x);
        for (let k = 0; k < 3; k++) rgba[o + k] = Math.round(g * tint[k] + (1 - g) * b0[k] * (0.5 + t));
        rgba[o + 3] = 255;
      }
    }
    const enc = pngjs.PNG.sync.write(png, { deflateLevel: 1, colorType: 2 });
    const tmp = `${file}.tmp`;
    fs.writeFileSync(tmp, enc);
    fs.renameSync(tmp, file);
    written++;
    if (written % 2000 === 0) log(`generate: ${i + 1}/${n} images (${((performance.now() - t0) / 1000).toFixed(0)} s)`);
  }
  fs.writeFileSync(done, stamp);
  return { seconds: (performance.now() - t0) / 1000, written };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const [n, size, dir] = process.argv.slice(2);
  const r = generateFolder(dir, Number(n), Number(size), (s) => console.log(s));
  console.log(JSON.stringify(r));
}
