/**
 * Backdoor triggers: small patterns pasted onto images. A TriggerSpec is plain JSON so configs can
 * hold it; `renderTrigger` turns it into pixels + blend mask for given image dims, and
 * `applyTrigger` pastes it onto chosen images of a dataset, recording where.
 */
import fs from 'node:fs';
import { PNG } from 'pngjs';
import { Rng } from '../data/rng.js';
import type { ImageDataset } from '../data/types.js';
import { overlayDataset } from './overlay.js';
import {
  convertChannels,
  normalizeColor,
  pasteOverlay,
  resizeImage,
  resizeMask,
  type ImageDims,
  type Placement,
  type Rendered,
} from './pixels.js';
import { checkPosition, resolveSize, type OverlayPosition, type OverlaySize } from './position.js';

/** Fields every trigger has: side (pixels or fraction of the smaller image side), where, blend. */
export interface TriggerCommon {
  readonly size: OverlaySize;
  readonly position: OverlayPosition;
  /** 0..1 blend of trigger over image; default 1 (opaque). */
  readonly opacity?: number;
}

/** One colour (per channel 0..255, or one gray value) over the whole square. */
export interface SolidTrigger extends TriggerCommon {
  readonly kind: 'solid';
  readonly color: number | readonly number[];
}
/** Alternating cells; colors[0] at the top-left cell. Default black/white, 1 px cells. */
export interface CheckerboardTrigger extends TriggerCommon {
  readonly kind: 'checkerboard';
  readonly colors?: readonly [number | readonly number[], number | readonly number[]];
  /** Pixels per cell side, default 1. */
  readonly cell?: number;
}
/** A fixed Gaussian pattern (same on every image): N(mean, scale^2) per pixel, clipped to 0..255. */
export interface NoiseTrigger extends TriggerCommon {
  readonly kind: 'noise';
  readonly seed: number;
  /** Standard deviation in pixel units (0..255 scale). */
  readonly scale: number;
  /** Default 127.5. */
  readonly mean?: number;
}
/** A user PNG resized to the trigger side; mask from its alpha, or from a grayscale mask PNG. */
export interface ImageTrigger extends TriggerCommon {
  readonly kind: 'image';
  readonly path: string;
  readonly maskPath?: string;
}

/** A trigger description, plain JSON. */
export type TriggerSpec = SolidTrigger | CheckerboardTrigger | NoiseTrigger | ImageTrigger;

/** A trigger rendered for particular image dims (see Rendered in pixels.ts). */
export type RenderedTrigger = Rendered;

/**
 * Checks fields that do not depend on the image (kind, opacity, position, noise numbers, cell);
 * throws a message naming the key, prefixed by `key` (default 'trigger').
 */
export function validateTriggerSpec(spec: TriggerSpec, key = 'trigger'): void {
  if (!spec || typeof spec !== 'object') throw new TypeError(`${key} must be an object, got ${JSON.stringify(spec)}`);
  const kinds = ['solid', 'checkerboard', 'noise', 'image'];
  if (!kinds.includes((spec as { kind: string }).kind)) {
    throw new RangeError(`${key}.kind must be one of ${kinds.join(', ')}; got ${JSON.stringify((spec as { kind: unknown }).kind)}`);
  }
  if (spec.opacity !== undefined && !(typeof spec.opacity === 'number' && spec.opacity >= 0 && spec.opacity <= 1)) {
    throw new RangeError(`${key}.opacity must be in [0, 1], got ${spec.opacity}`);
  }
  checkPosition(spec.position, `${key}.position`);
  if (spec.kind === 'checkerboard' && spec.cell !== undefined && !(Number.isInteger(spec.cell) && spec.cell >= 1)) {
    throw new RangeError(`${key}.cell must be a positive integer (pixels), got ${spec.cell}`);
  }
  if (spec.kind === 'noise') {
    if (!Number.isInteger(spec.seed) || spec.seed < 0) throw new RangeError(`${key}.seed must be a non-negative integer, got ${spec.seed}`);
    if (!(Number.isFinite(spec.scale) && spec.scale >= 0))
      throw new RangeError(`${key}.scale must be >= 0 (pixel units), got ${spec.scale}`);
    if (spec.mean !== undefined && !Number.isFinite(spec.mean)) throw new RangeError(`${key}.mean must be a number, got ${spec.mean}`);
  }
  if (spec.kind === 'image' && (typeof spec.path !== 'string' || spec.path === '')) {
    throw new TypeError(`${key}.path must name a PNG file`);
  }
}

/**
 * Renders a trigger for images of `dims`: pixels c*s*s (CHW uint8), mask s*s (0..1, opacity
 * included), side s. Throws if the trigger is larger than the image, a colour has the wrong
 * number of values, or a PNG cannot be read (the message names the file).
 *
 * @example renderTrigger({ kind: 'solid', color: 255, size: 2, position: 'bottom-right' }, { c: 1, h: 8, w: 8 })
 */
export function renderTrigger(spec: TriggerSpec, dims: ImageDims, key = 'trigger'): RenderedTrigger {
  validateTriggerSpec(spec, key);
  const s = resolveSize(spec.size, dims, `${key}.size`);
  const { c } = dims;
  const opacity = spec.opacity ?? 1;
  const pixels = new Uint8Array(c * s * s);
  const mask = new Float32Array(s * s).fill(opacity);
  const plane = s * s;
  switch (spec.kind) {
    case 'solid': {
      const col = normalizeColor(spec.color, c, `${key}.color`);
      for (let ch = 0; ch < c; ch++) pixels.fill(col[ch], ch * plane, (ch + 1) * plane);
      break;
    }
    case 'checkerboard': {
      const colors = spec.colors ?? [0, 255];
      if (!Array.isArray(colors) || colors.length !== 2) throw new TypeError(`${key}.colors must be a pair of colours`);
      const a = normalizeColor(colors[0], c, `${key}.colors[0]`);
      const b = normalizeColor(colors[1], c, `${key}.colors[1]`);
      const cell = spec.cell ?? 1;
      for (let r = 0; r < s; r++) {
        for (let q = 0; q < s; q++) {
          const col = (Math.floor(r / cell) + Math.floor(q / cell)) % 2 === 0 ? a : b;
          for (let ch = 0; ch < c; ch++) pixels[ch * plane + r * s + q] = col[ch];
        }
      }
      break;
    }
    case 'noise': {
      const rng = new Rng(spec.seed, 'trigger-noise');
      const mean = spec.mean ?? 127.5;
      for (let i = 0; i < pixels.length; i++) {
        pixels[i] = Math.min(255, Math.max(0, Math.round(mean + spec.scale * rng.normal())));
      }
      break;
    }
    case 'image': {
      const png = readPng(spec.path, `${key}.path`);
      const rgb = new Uint8Array(3 * png.width * png.height);
      const alpha = new Float32Array(png.width * png.height);
      const pp = png.width * png.height;
      for (let i = 0; i < pp; i++) {
        rgb[i] = png.data[4 * i];
        rgb[pp + i] = png.data[4 * i + 1];
        rgb[2 * pp + i] = png.data[4 * i + 2];
        alpha[i] = png.data[4 * i + 3] / 255;
      }
      const from = { h: png.height, w: png.width };
      const resized = resizeImage(rgb, { c: 3, ...from }, { h: s, w: s });
      pixels.set(convertChannels(resized, { c: 3, h: s, w: s }, c));
      let m: Float32Array;
      if (spec.maskPath !== undefined) {
        const mp = readPng(spec.maskPath, `${key}.maskPath`);
        const mm = new Float32Array(mp.width * mp.height);
        // Grayscale mask: the red channel (= gray for grayscale PNGs) times its own alpha.
        for (let i = 0; i < mm.length; i++) mm[i] = (mp.data[4 * i] / 255) * (mp.data[4 * i + 3] / 255);
        m = resizeMask(mm, { h: mp.height, w: mp.width }, { h: s, w: s });
      } else {
        m = resizeMask(alpha, from, { h: s, w: s });
      }
      for (let i = 0; i < plane; i++) mask[i] = Math.min(1, Math.max(0, m[i])) * opacity;
      break;
    }
  }
  return { pixels, mask, size: s, c };
}

function readPng(file: string, key: string): PNG {
  let buf: Buffer;
  try {
    buf = fs.readFileSync(file);
  } catch (e) {
    throw new Error(`${key}: cannot read PNG file '${file}': ${(e as Error).message}`);
  }
  try {
    return PNG.sync.read(buf);
  } catch (e) {
    throw new Error(`${key}: '${file}' is not a readable PNG: ${(e as Error).message}`);
  }
}

/**
 * Pastes a rendered trigger onto a copy of one image (CHW uint8 of `dims`) at column x, row y.
 * Returns the new image; the input is not modified.
 */
export function pasteTrigger(image: Uint8Array, dims: ImageDims, rendered: RenderedTrigger, x: number, y: number): Uint8Array {
  return pasteOverlay(image, dims, rendered, x, y);
}

/**
 * Returns a copy of `ds` with the trigger on every image in `indices` (labels unchanged).
 * Random positions are drawn from `rng` in the order of `indices`; fixed positions ignore it.
 * `positions[k]` records where indices[k] got it.
 */
export function applyTrigger(
  ds: ImageDataset,
  indices: ArrayLike<number>,
  spec: TriggerSpec,
  rng: Rng,
): { dataset: ImageDataset; positions: Placement[] } {
  const rendered = renderTrigger(spec, { c: ds.c, h: ds.h, w: ds.w });
  return overlayDataset(ds, indices, rendered, spec.position, rng, 'trigger.position');
}
