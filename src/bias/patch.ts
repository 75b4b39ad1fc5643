/**
 * Natural-bias patches (the paper's tennis ball): a patch cut from one class of a source dataset
 * (a crop of one image, or the class's mean image), its control (a uniform gray square of the
 * same mean brightness), and pasting either onto a dataset with a record of where.
 */
import { Rng } from '../data/rng.js';
import { imageSize, type AnyDataset, type ImageDataset } from '../data/types.js';
import { blendAt, placeOverlay } from './overlay.js';
import { maskedMean, resizeImage, type Placement, type Rendered } from './pixels.js';
import { checkPosition, resolveSize, type OverlayPosition, type OverlaySize } from './position.js';
import { resolveClass, type ClassRef } from './classes.js';

/** Where a patch came from; JSON-serialisable. */
export type PatchSource =
  | {
      readonly kind: 'class';
      readonly dataset: string;
      readonly classIndex: number;
      readonly className: string;
      readonly mode: 'crop' | 'mean';
      /** crop mode: the source image's index in the dataset. */
      readonly imageIndex?: number;
      /** crop mode: the cropped square in source pixels (x = column, y = row of its top-left). */
      readonly crop?: { readonly x: number; readonly y: number; readonly side: number };
      /** mean mode: how many images were averaged. */
      readonly averaged?: number;
      readonly seed: number;
      /** Mask-weighted mean pixel value of the patch, 0..255. */
      readonly meanBrightness: number;
    }
  | {
      /** A user stencil (PNG; its alpha or a mask says which pixels are pasted). */
      readonly kind: 'stencil';
      readonly file: string;
      readonly maskFile?: string;
      /** Mask-weighted mean pixel value of the patch, 0..255. */
      readonly meanBrightness: number;
    }
  | {
      readonly kind: 'neutral';
      /** The gray level used (all channels). */
      readonly gray: number;
      readonly meanBrightness: number;
      /** Mean brightness of the patch it imitates. */
      readonly likeMeanBrightness: number;
    };

/** A rendered patch plus its provenance. */
export interface Patch extends Rendered {
  readonly source: PatchSource;
}

/** Options of classPatch. */
export interface ClassPatchOptions {
  /** 'crop': a square crop of one seeded-chosen image of the class; 'mean': the class's mean image. */
  readonly mode: 'crop' | 'mean';
  /** Output patch side: pixels, or a fraction of the SOURCE dataset's smaller side. */
  readonly size: OverlaySize;
  /** crop mode: square side taken from the source (default: the image's smaller side) and where (default 'center'). */
  readonly crop?: { readonly side?: OverlaySize; readonly at?: 'center' | 'random' };
  /** Chooses the image (and random crop); default 0. */
  readonly seed?: number;
  /** crop mode: use this dataset index instead of a seeded choice (must be of the class). */
  readonly imageIndex?: number;
}

/**
 * Builds a patch from class `cls` of `ds`: pixels c*s*s, full mask. In crop mode a square region
 * of one image is resized to `size`; in mean mode the class's per-pixel mean image (its centre
 * square) is resized to `size`.
 *
 * @example classPatch(cifar, 'tennis ball', { mode: 'crop', size: 8, seed: 3 })
 */
export function classPatch(ds: ImageDataset, cls: ClassRef, opts: ClassPatchOptions): Patch {
  const classIndex = resolveClass(ds.classes, cls, 'patch.class');
  const size = resolveSize(opts.size, ds, 'patch.size');
  const seed = opts.seed ?? 0;
  const members: number[] = [];
  for (let i = 0; i < ds.n; i++) if (ds.labels[i] === classIndex) members.push(i);
  if (members.length === 0) throw new RangeError(`patch.class '${ds.classes[classIndex]}' has no images in '${ds.name}'`);
  const rng = new Rng(seed, 'class-patch');
  const sz = imageSize(ds);
  const { c, h, w } = ds;
  const square = (img: Uint8Array, x: number, y: number, side: number) => {
    const out = new Uint8Array(c * side * side);
    for (let ch = 0; ch < c; ch++) {
      for (let r = 0; r < side; r++) {
        const src = ch * h * w + (y + r) * w + x;
        out.set(img.subarray(src, src + side), ch * side * side + r * side);
      }
    }
    return out;
  };
  let pixels: Uint8Array;
  let extra: { imageIndex?: number; crop?: { x: number; y: number; side: number }; averaged?: number };
  if (opts.mode === 'crop') {
    let imageIndex: number;
    if (opts.imageIndex !== undefined) {
      if (!members.includes(opts.imageIndex)) {
        throw new RangeError(`patch.imageIndex ${opts.imageIndex} is not an image of class '${ds.classes[classIndex]}'`);
      }
      imageIndex = opts.imageIndex;
    } else imageIndex = members[rng.int(members.length)];
    const side = opts.crop?.side === undefined ? Math.min(h, w) : resolveSize(opts.crop.side, ds, 'patch.crop.side');
    const at = opts.crop?.at ?? 'center';
    if (at !== 'center' && at !== 'random') throw new RangeError(`patch.crop.at must be 'center' or 'random', got '${at as string}'`);
    const x = at === 'center' ? Math.floor((w - side) / 2) : rng.int(w - side + 1);
    const y = at === 'center' ? Math.floor((h - side) / 2) : rng.int(h - side + 1);
    const cut = square(ds.images.subarray(imageIndex * sz, (imageIndex + 1) * sz), x, y, side);
    pixels = resizeImage(cut, { c, h: side, w: side }, { h: size, w: size });
    extra = { imageIndex, crop: { x, y, side } };
  } else if (opts.mode === 'mean') {
    const acc = new Float64Array(sz);
    for (const i of members) {
      const base = i * sz;
      for (let k = 0; k < sz; k++) acc[k] += ds.images[base + k];
    }
    const mean = new Uint8Array(sz);
    for (let k = 0; k < sz; k++) mean[k] = Math.round(acc[k] / members.length);
    const side = Math.min(h, w);
    const cut = square(mean, Math.floor((w - side) / 2), Math.floor((h - side) / 2), side);
    pixels = resizeImage(cut, { c, h: side, w: side }, { h: size, w: size });
    extra = { averaged: members.length };
  } else {
    throw new RangeError(`patch.mode must be 'crop' or 'mean', got '${(opts as { mode: string }).mode}'`);
  }
  const mask = new Float32Array(size * size).fill(1);
  const rendered: Rendered = { pixels, mask, size, c };
  return {
    ...rendered,
    source: {
      kind: 'class',
      dataset: ds.name,
      classIndex,
      className: ds.classes[classIndex],
      mode: opts.mode,
      ...extra,
      seed,
      meanBrightness: maskedMean(rendered),
    },
  };
}

/**
 * The control for a patch: same size, channels and mask, every pixel the gray level
 * round(mean brightness of `like`), so it adds the same amount of light but no shape.
 */
export function neutralPatch(like: Rendered): Patch {
  const likeMean = maskedMean(like);
  const gray = Math.min(255, Math.max(0, Math.round(likeMean)));
  const pixels = new Uint8Array(like.c * like.size * like.size).fill(gray);
  const rendered: Rendered = { pixels, mask: like.mask.slice(), size: like.size, c: like.c };
  return {
    ...rendered,
    source: { kind: 'neutral', gray, meanBrightness: maskedMean(rendered), likeMeanBrightness: likeMean },
  };
}

/** Options of pastePatch. */
export interface PastePatchOptions {
  readonly position: OverlayPosition;
  /** Seeds 'random' positions; default 0. */
  readonly seed?: number;
  /** Which images get the patch; default all. */
  readonly indices?: readonly number[];
}

/** What pastePatch did; JSON-serialisable. */
export interface PatchRecord {
  readonly patch: PatchSource;
  readonly size: number;
  readonly position: OverlayPosition;
  readonly seed: number;
  /** Where the patch went, per image (index into the dataset). */
  readonly positions: Placement[];
  readonly count: number;
}

/**
 * The record of pasting `patch` onto `ds` per `opts`, decided from geometry alone (which images,
 * where): the plan both `pastePatch` and `pastePatchStreamed` (bias/stream.ts) apply.
 */
export function planPatch(ds: Pick<AnyDataset, 'name' | 'n' | 'c' | 'h' | 'w'>, patch: Patch, opts: PastePatchOptions): PatchRecord {
  checkPosition(opts.position, 'patch.position');
  const seed = opts.seed ?? 0;
  const indices = opts.indices ?? Array.from({ length: ds.n }, (_, i) => i);
  const positions = placeOverlay(ds, indices, patch.size, opts.position, new Rng(seed, 'patch-position'), 'patch.position');
  return {
    patch: structuredClone(patch.source),
    size: patch.size,
    position: structuredClone(opts.position),
    seed,
    positions,
    count: positions.length,
  };
}

/**
 * Returns a copy of `ds` with `patch` pasted onto the chosen images (labels unchanged). A gray
 * patch on RGB images is replicated per channel; an RGB patch on gray images becomes luminance.
 */
export function pastePatch(ds: ImageDataset, patch: Patch, opts: PastePatchOptions): { dataset: ImageDataset; record: PatchRecord } {
  const record = planPatch(ds, patch, opts);
  return { dataset: { ...blendAt(ds, patch, record.positions), name: `${ds.name}+patch(${patch.source.kind})` }, record };
}
