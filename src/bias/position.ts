/**
 * Where and how large an overlay goes: size (pixels or a fraction of the image's smaller side) and
 * position (a named corner, the centre, explicit coordinates, or random per image).
 */
import type { Rng } from '../data/rng.js';
import type { ImageDims } from './pixels.js';

/** Overlay side: pixels, or a fraction (0..1] of the image's smaller side (rounded, at least 1). */
export type OverlaySize = number | { readonly fraction: number };

/**
 * Overlay position. Named corners sit flush with the image border; 'center' rounds down;
 * `{x, y}` is the top-left corner (x = column, y = row); 'random' draws a fresh uniform position
 * per image from the seeded Rng.
 */
export type OverlayPosition =
  'top-left' | 'top-right' | 'bottom-left' | 'bottom-right' | 'center' | 'random' | { readonly x: number; readonly y: number };

/**
 * Resolves an OverlaySize against image dims and checks it fits. `key` names the config key in errors.
 *
 * @example resolveSize({ fraction: 0.25 }, { c: 1, h: 28, w: 28 }) // 7
 */
export function resolveSize(size: OverlaySize, dims: ImageDims, key = 'size'): number {
  let s: number;
  if (typeof size === 'number') {
    if (!Number.isInteger(size) || size < 1) throw new RangeError(`${key} must be a positive integer (pixels), got ${size}`);
    s = size;
  } else if (size && typeof size === 'object' && typeof size.fraction === 'number') {
    if (!(size.fraction > 0 && size.fraction <= 1)) {
      throw new RangeError(`${key}.fraction must be in (0, 1], got ${size.fraction}`);
    }
    s = Math.max(1, Math.round(size.fraction * Math.min(dims.h, dims.w)));
  } else {
    throw new TypeError(`${key} must be a number of pixels or { fraction }, got ${JSON.stringify(size)}`);
  }
  if (s > dims.h || s > dims.w) {
    throw new RangeError(`${key} ${s} px is larger than the ${dims.h}x${dims.w} image`);
  }
  return s;
}

/** Checks a position value's shape (not its fit); throws naming `key`. */
export function checkPosition(position: OverlayPosition, key = 'position'): void {
  const named = ['top-left', 'top-right', 'bottom-left', 'bottom-right', 'center', 'random'];
  if (typeof position === 'string') {
    if (!named.includes(position)) throw new RangeError(`${key} must be one of ${named.join(', ')} or {x, y}; got '${position}'`);
    return;
  }
  if (!position || typeof position !== 'object' || !Number.isInteger(position.x) || !Number.isInteger(position.y)) {
    throw new TypeError(`${key} must be a named position or {x, y} with integer pixels, got ${JSON.stringify(position)}`);
  }
}

/**
 * The top-left corner for an overlay of side `size` on an image of `dims`. Only 'random' consumes
 * the Rng (two draws: x then y).
 */
export function resolvePosition(
  position: OverlayPosition,
  size: number,
  dims: ImageDims,
  rng: Rng,
  key = 'position',
): { x: number; y: number } {
  const maxX = dims.w - size;
  const maxY = dims.h - size;
  if (maxX < 0 || maxY < 0) throw new RangeError(`overlay of side ${size} is larger than the ${dims.h}x${dims.w} image`);
  switch (position) {
    case 'top-left':
      return { x: 0, y: 0 };
    case 'top-right':
      return { x: maxX, y: 0 };
    case 'bottom-left':
      return { x: 0, y: maxY };
    case 'bottom-right':
      return { x: maxX, y: maxY };
    case 'center':
      return { x: Math.floor(maxX / 2), y: Math.floor(maxY / 2) };
    case 'random': {
      const x = rng.int(maxX + 1);
      const y = rng.int(maxY + 1);
      return { x, y };
    }
    default: {
      checkPosition(position, key);
      const { x, y } = position;
      if (x < 0 || y < 0 || x > maxX || y > maxY) {
        throw new RangeError(
          `${key} {x: ${x}, y: ${y}} puts a ${size}px overlay outside the ${dims.h}x${dims.w} image (x <= ${maxX}, y <= ${maxY})`,
        );
      }
      return { x, y };
    }
  }
}
