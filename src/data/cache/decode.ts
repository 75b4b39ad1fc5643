/**
 * The one place the shard cache turns image files into pixels: exactly what `loadImageFolder`
 * does (src/data/decode.ts: sharp, stretched to `size`), so a cached folder holds the bytes the
 * in-memory loader would.
 */
import { decodeImageFilesSync, type DecodeTransform } from '../decode.js';

/** Settings that decide the decoded bytes; part of the cache key. */
export interface DecodeSettings {
  /** Output channels. */
  readonly channels: 1 | 3;
  /** Output [height, width]. */
  readonly size: readonly [number, number];
  /**
   * torchvision-style preprocessing instead of stretching to `size` (resize of the shorter side,
   * then a centre crop whose [height, width] must equal `size`). Absent: stretched to `size`.
   */
  readonly transform?: DecodeTransform;
}

/**
 * Name and version of the decoding recipe, hashed into the cache key: change it whenever
 * `decodeFiles` would give other bytes for the same file (another decoder, resize rule or crop).
 */
export const DECODE_RECIPE = 'sharp.decodeImageFiles+size/v2';

/** Decodes PNG/JPEG/WebP files to CHW uint8 of `settings`, one image after another (n·c·h·w bytes). */
export function decodeFiles(files: readonly string[], settings: DecodeSettings): Uint8Array {
  return decodeImageFilesSync(files, { channels: settings.channels, transform: settings.transform ?? { size: settings.size } }).images;
}
