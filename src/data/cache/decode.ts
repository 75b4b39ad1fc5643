/**
 * The one place the shard cache turns an image file into pixels, so a different decoder (sharp,
 * torchvision-style resize and crop) can be swapped in here alone. Today it is exactly what
 * `loadImageFolder` does per file, so a cached folder holds the bytes the in-memory loader would.
 */
import { decodeImage } from '../loaders/folder.js';
import { resizeImage, rgbaToPlanar } from '../image.js';

/** Settings that decide the decoded bytes; part of the cache key. */
export interface DecodeSettings {
  /** Output channels. */
  readonly channels: 1 | 3;
  /** Output [height, width]. */
  readonly size: readonly [number, number];
}

/**
 * Name and version of the decoding recipe, hashed into the cache key: change it whenever
 * `decodeFile` would give other bytes for the same file (another decoder, resize rule or crop).
 */
export const DECODE_RECIPE = 'folder.decodeImage+rgbaToPlanar+bilinear/v1';

/** Decodes one PNG/JPEG file to CHW uint8 of `settings` (c·h·w bytes). */
export function decodeFile(file: string, settings: DecodeSettings): Uint8Array {
  const img = decodeImage(file);
  const planar = rgbaToPlanar(img.rgba, img.height, img.width, settings.channels);
  return resizeImage(planar, settings.channels, [img.height, img.width], settings.size);
}
