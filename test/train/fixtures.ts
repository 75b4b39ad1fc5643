/** Shared fixtures of the training tests: an easy synthetic dataset, a tiny model, snapshots of weights. */
import { Rng } from '../../src/data/rng.js';
import type { BatchSpec } from '../../src/data/transforms.js';
import type { ImageDataset } from '../../src/data/types.js';
import { createModel, type Classifier } from '../../src/nn/index.js';
import { manualSeed, type Tensor } from '../../src/torch/index.js';

/** Normalisation used by every training test (grayscale). */
export const SPEC: BatchSpec = { mean: [0.5], std: [0.5] };

/**
 * `n` grayscale `size`x`size` images of 4 texture classes (0 horizontal stripes, 1 vertical
 * stripes, 2 diagonal stripes, 3 checkerboard) at a random phase, with uniform noise: a small CNN
 * with global pooling learns them in a few epochs. Labels cycle 0,1,2,3,... so classes are balanced.
 */
export function stripesDataset(opts: { n: number; seed: number; size?: number; name?: string }): ImageDataset {
  const size = opts.size ?? 12;
  const rng = new Rng(opts.seed, 'stripes');
  const images = new Uint8Array(opts.n * size * size);
  const labels = new Int32Array(opts.n);
  for (let i = 0; i < opts.n; i++) {
    const k = i % 4;
    labels[i] = k;
    const phase = rng.int(3);
    for (let r = 0; r < size; r++)
      for (let c = 0; c < size; c++) {
        let on: boolean;
        if (k === 0) on = (r + phase) % 3 === 0;
        else if (k === 1) on = (c + phase) % 3 === 0;
        else if (k === 2) on = (r + c + phase) % 3 === 0;
        else on = ((r >> 1) + (c >> 1) + phase) % 2 === 0;
        images[i * size * size + r * size + c] = (on ? 170 : 20) + rng.int(80);
      }
  }
  return {
    name: opts.name ?? `stripes/${opts.seed}`,
    images,
    labels,
    classes: ['h', 'v', 'd', 'check'],
    n: opts.n,
    c: 1,
    h: size,
    w: size,
  };
}

/** A seeded SmallCNN for 1-channel 12x12 inputs with conv widths `layers` (default [8, 16]). */
export function tinyModel(opts: { seed: number; numClasses?: number; layers?: number[] }): Classifier {
  manualSeed(opts.seed);
  return createModel({ arch: 'small-cnn', numClasses: opts.numClasses ?? 4, inChannels: 1, layers: opts.layers ?? [8, 16] });
}

/** Copies of every state-dict tensor's values (parameters and buffers), by name. */
export function snapshot(model: { stateDict(): Map<string, Tensor> }): Map<string, Float32Array> {
  const out = new Map<string, Float32Array>();
  for (const [k, t] of model.stateDict()) out.set(k, Float32Array.from(t.toArray()));
  return out;
}

/** Whether two arrays hold bitwise-identical floats (NaN-safe, -0 ≠ +0). */
export function sameBits(a: Float32Array, b: Float32Array): boolean {
  if (a.length !== b.length) return false;
  const ua = new Uint32Array(a.buffer, a.byteOffset, a.length);
  const ub = new Uint32Array(b.buffer, b.byteOffset, b.length);
  for (let i = 0; i < ua.length; i++) if (ua[i] !== ub[i]) return false;
  return true;
}

/** Names of state-dict entries whose values differ between two snapshots. */
export function changedKeys(before: Map<string, Float32Array>, after: Map<string, Float32Array>): string[] {
  return [...before.keys()].filter((k) => !sameBits(before.get(k)!, after.get(k)!));
}
