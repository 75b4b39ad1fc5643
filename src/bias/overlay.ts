/**
 * Pasting one rendered overlay (trigger or patch) onto chosen images of a dataset, recording where.
 */
import type { Rng } from '../data/rng.js';
import { imageSize, type ImageDataset } from '../data/types.js';
import { blendInto, convertChannels, type Placement, type Rendered } from './pixels.js';
import { resolvePosition, type OverlayPosition } from './position.js';

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
  const dims = { c: ds.c, h: ds.h, w: ds.w };
  const sz = imageSize(ds);
  // A copy even when the images are a Node Buffer (whose slice() is a view into the same memory).
  const images = new Uint8Array(ds.images);
  const positions: Placement[] = [];
  // Convert the overlay's channels once, not per image.
  const ov: Rendered = {
    ...overlay,
    pixels: convertChannels(overlay.pixels, { c: overlay.c, h: overlay.size, w: overlay.size }, ds.c),
    c: ds.c,
  };
  for (let k = 0; k < indices.length; k++) {
    const index = indices[k];
    if (!Number.isInteger(index) || index < 0 || index >= ds.n) {
      throw new RangeError(`index ${index} is outside dataset '${ds.name}' (n=${ds.n})`);
    }
    const { x, y } = resolvePosition(position, overlay.size, dims, rng, key);
    blendInto(images.subarray(index * sz, (index + 1) * sz), dims, ov, x, y);
    positions.push({ index, x, y });
  }
  return {
    dataset: {
      ...ds,
      images,
      labels: ds.labels.slice(),
      ...(ds.attributes ? { attributes: ds.attributes.slice() } : {}),
    },
    positions,
  };
}
