/** A small real image folder (PNG and JPEG files of mixed sizes, three classes) for cache tests. */
import fs from 'node:fs';
import path from 'node:path';
import jpeg from 'jpeg-js';
import pngjs from 'pngjs';
import { Rng } from '../../src/data/rng.js';
import { tmpDir } from './helpers.js';

/** Class names of the fixture, in folder (= label) order. */
export const FIXTURE_CLASSES = ['ant', 'bee', 'cat'];

/**
 * Writes `perClass` images per class into a fresh temporary folder: random-looking pixels (seeded),
 * sizes between 9 and 16 px a side, every third one a JPEG. Returns the folder.
 */
export function writeImageFolder(opts: { perClass: number; seed?: number; tag?: string }): string {
  const root = tmpDir(opts.tag ?? 'cache');
  const rng = new Rng(opts.seed ?? 0, 'fixture');
  FIXTURE_CLASSES.forEach((cls, label) => {
    fs.mkdirSync(path.join(root, cls));
    for (let i = 0; i < opts.perClass; i++) {
      const w = 9 + rng.int(8);
      const h = 9 + rng.int(8);
      const data = Buffer.alloc(w * h * 4);
      for (let p = 0; p < w * h; p++) data.set([rng.int(256), (label * 80 + rng.int(40)) & 255, rng.int(256), 255], 4 * p);
      if (i % 3 === 2) {
        fs.writeFileSync(path.join(root, cls, `img${i}.jpg`), jpeg.encode({ width: w, height: h, data }, 90).data);
      } else {
        const png = new pngjs.PNG({ width: w, height: h });
        data.copy(png.data);
        fs.writeFileSync(path.join(root, cls, `img${i}.png`), pngjs.PNG.sync.write(png));
      }
    }
  });
  return root;
}
