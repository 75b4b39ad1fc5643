/**
 * Bias injection on streamed datasets: the same plans as the in-memory functions (poisonDataset,
 * triggerTestSet, pastePatch: which images, where, which labels, all decided from labels and
 * geometry), applied per sample by index as a batch is read, so no copy of the pixels is ever made.
 * For the same dataset, seed and spec, every sample's bytes, every label and the record equal the
 * in-memory function's (tested in test/bias/stream.test.ts).
 */
import { checkIndices, type StreamedDataset } from '../data/types.js';
import type { ClassRef } from './classes.js';
import { overlayInjector } from './overlay.js';
import { planPatch, type PastePatchOptions, type Patch, type PatchRecord } from './patch.js';
import { planPoison, planTriggerTest, type PoisonRecord, type PoisonSpec, type TriggerTestRecord } from './poison.js';
import type { TriggerSpec } from './trigger.js';

/** Options of `injectSamples`: what the derived dataset changes about its base. */
export interface InjectOptions {
  readonly name: string;
  /** Sample count of the result (default: the base's). */
  readonly n?: number;
  /** Labels of the result (default: the base's). */
  readonly labels?: Int32Array;
  readonly classes?: readonly string[];
  readonly attributes?: Uint8Array;
  /** Base sample each result sample is read from (default: the same index). */
  readonly sourceOf?: (index: number) => number;
  /** Changes a result sample's pixels (CHW, the base's geometry) in place, given its index. */
  readonly apply?: (index: number, pixels: Uint8Array) => void;
}

/**
 * A streamed dataset derived from `base` sample by sample: sample i reads base sample
 * `sourceOf(i)` and then runs `apply(i, pixels)`. Prefetch hints are passed on to the base.
 */
export function injectSamples(base: StreamedDataset, opts: InjectOptions): StreamedDataset {
  const n = opts.n ?? base.n;
  const sourceOf = opts.sourceOf ?? ((i: number) => i);
  const labels = opts.labels ?? base.labels;
  if (labels.length !== n) throw new RangeError(`injectSamples '${opts.name}': ${labels.length} labels for ${n} samples`);
  const attributes = opts.attributes ?? (opts.n === undefined ? base.attributes : undefined);
  const sz = base.c * base.h * base.w;
  const ds: StreamedDataset = {
    name: opts.name,
    labels,
    classes: opts.classes ?? base.classes,
    n,
    c: base.c,
    h: base.h,
    w: base.w,
    ...(attributes ? { attributes } : {}),
    read(indices) {
      checkIndices(ds, indices);
      const pixels = base.read(Int32Array.from(indices, sourceOf));
      if (opts.apply) for (let b = 0; b < indices.length; b++) opts.apply(indices[b], pixels.subarray(b * sz, (b + 1) * sz));
      return pixels;
    },
    prefetch(indices) {
      for (let b = 0; b < indices.length; b++) if (!Number.isInteger(indices[b]) || indices[b] < 0 || indices[b] >= n) return;
      base.prefetch?.(Int32Array.from(indices, sourceOf));
    },
  };
  return ds;
}

/**
 * `poisonDataset` for a streamed dataset: the same record and labels, the trigger pasted on the
 * chosen samples as they are read (trigger-class: the appended copies read their source image).
 */
export function poisonStreamed(
  ds: StreamedDataset,
  trigger: TriggerSpec,
  poison: PoisonSpec,
  seed: number,
): { dataset: StreamedDataset; record: PoisonRecord } {
  const plan = planPoison(ds, trigger, poison, seed);
  const { record } = plan;
  const added = record.addedIndices !== undefined;
  let attributes: Uint8Array | undefined;
  if (ds.attributes) {
    attributes = new Uint8Array(plan.n);
    attributes.set(ds.attributes);
    if (added) record.indices.forEach((src, j) => (attributes![ds.n + j] = ds.attributes![src]));
  }
  const dataset = injectSamples(ds, {
    name: `${ds.name}+poison(${poison.policy})`,
    n: plan.n,
    labels: plan.labels,
    classes: plan.classes,
    ...(attributes ? { attributes } : {}),
    ...(added ? { sourceOf: (i: number) => (i < ds.n ? i : record.indices[i - ds.n]) } : {}),
    apply: overlayInjector(plan.rendered, ds, record.positions),
  });
  return { dataset, record };
}

/** `triggerTestSet` for a streamed dataset: every kept sample read with the trigger pasted. */
export function triggerTestStreamed(
  ds: StreamedDataset,
  trigger: TriggerSpec,
  seed: number,
  opts: { excludeClass?: ClassRef } = {},
): { dataset: StreamedDataset; record: TriggerTestRecord } {
  const { record, rendered } = planTriggerTest(ds, trigger, seed, opts);
  const src = record.sourceIndices;
  const attributes = ds.attributes ? Uint8Array.from(src, (i) => ds.attributes![i]) : undefined;
  const dataset = injectSamples(ds, {
    name: `${ds.name}+triggered`,
    n: src.length,
    labels: Int32Array.from(src, (i) => ds.labels[i]),
    ...(attributes ? { attributes } : {}),
    sourceOf: (j) => src[j],
    apply: overlayInjector(rendered, ds, record.positions),
  });
  return { dataset, record };
}

/** `pastePatch` for a streamed dataset: the patch pasted on the chosen samples as they are read. */
export function pastePatchStreamed(
  ds: StreamedDataset,
  patch: Patch,
  opts: PastePatchOptions,
): { dataset: StreamedDataset; record: PatchRecord } {
  const record = planPatch(ds, patch, opts);
  const dataset = injectSamples(ds, {
    name: `${ds.name}+patch(${patch.source.kind})`,
    apply: overlayInjector(patch, ds, record.positions),
  });
  return { dataset, record };
}
