/**
 * Pasting one rendered overlay (trigger or patch) onto chosen images of a dataset, recording where:
 * first where each goes (`placeOverlay`, the only step that draws random numbers), then the
 * pixels, either into a copy of an in-memory dataset (`blendAt`) or per sample as a streamed batch
 * is read (`overlayInjector`).
 */
import type { Rng } from '../data/rng.js';
import { imageSize, type AnyDataset, type ImageDataset } from '../data/types.js';
import { blendInto, convertChannels, type ImageDims, type Placement, type Rendered } from './pixels.js';
import { resolvePosition, type OverlayPosition } from './position.js';

/** What placing an overlay needs to know of a dataset (in memory or streamed). */
export type DatasetShape = Pick<AnyDataset, 'name' | 'n' | 'c' | 'h' | 'w'>;

/**
 * Where an overlay of side `size` goes on each image of `indices`, in that order: fixed positions
 * ignore `rng`; 'random' draws (x, y) per image from `rng` in the order of `indices`. Throws a
 * RangeError for an index outside the dataset or a position that does not fit.
 */
export function placeOverlay(
  ds: DatasetShape,
  indices: ArrayLike<number>,
  size: number,
  position: OverlayPosition,
  rng: Rng,
  key = 'position',
): Placement[] {
  const dims = { c: ds.c, h: ds.h, w: ds.w };
  const positions: Placement[] = [];
  for (let k = 0; k < indices.length; k++) {
    const index = indices[k];
    if (!Number.isInteger(index) || index < 0 || index >= ds.n) {
      throw new RangeError(`index ${index} is outside dataset '${ds.name}' (n=${ds.n})`);
    }
    const { x, y } = resolvePosition(position, size, dims, rng, key);
    positions.push({ index, x, y });
  }
  return positions;
}

/** `overlay` with its pixels converted to `c` channels (once, not per image). */
function toChannels(overlay: Rendered, c: number): Rendered {
  return { ...overlay, pixels: convertChannels(overlay.pixels, { c: overlay.c, h: overlay.size, w: overlay.size }, c), c };
}

/**
 * Returns a copy of `ds` where each placement's image carries `overlay` at its (x, y), applied in
 * the order given. Labels, classes and attributes are copied unchanged.
 */
export function blendAt(ds: ImageDataset, overlay: Rendered, positions: readonly Placement[]): ImageDataset {
  const dims = { c: ds.c, h: ds.h, w: ds.w };
  const sz = imageSize(ds);
  // A copy even when the images are a Node Buffer (whose slice() is a view into the same memory).
  const images = new Uint8Array(ds.images);
  const ov = toChannels(overlay, ds.c);
  for (const { index, x, y } of positions) blendInto(images.subarray(index * sz, (index + 1) * sz), dims, ov, x, y);
  return {
    ...ds,
    images,
    labels: ds.labels.slice(),
    ...(ds.attributes ? { attributes: ds.attributes.slice() } : {}),
  };
}

/**
 * The per-sample form of `blendAt`, for streamed data: a function that, given a sample's index
 * and its pixels (CHW, `dims`), blends `overlay` in place at every placement of that index, in the
 * order given. Byte-for-byte what `blendAt` writes into the same image.
 */
export function overlayInjector(
  overlay: Rendered,
  dims: ImageDims,
  positions: readonly Placement[],
): (index: number, pixels: Uint8Array) => void {
  const ov = toChannels(overlay, dims.c);
  const at = new Map<number, Placement[]>();
  for (const p of positions) {
    const list = at.get(p.index);
    if (list) list.push(p);
    else at.set(p.index, [p]);
  }
  return (index, pixels) => {
    const list = at.get(index);
    if (list) for (const { x, y } of list) blendInto(pixels, dims, ov, x, y);
  };
}

/**
 * Returns a copy of `ds` where each image in `indices` carries `overlay` at `position`
 * ('random' draws one position per image from `rng`, in the order of `indices`). Labels, classes
 * and attributes are copied unchanged. `positions[k]` is where indices[k] got the overlay.
 */
export function overlayDataset(
  ds: ImageDataset,
  indices: ArrayLike<number>,
  overlay: Rendered,
  position: OverlayPosition,
  rng: Rng,
  key = 'position',
): { dataset: ImageDataset; positions: Placement[] } {
  const positions = placeOverlay(ds, indices, overlay.size, position, rng, key);
  return { dataset: blendAt(ds, overlay, positions), positions };
}
