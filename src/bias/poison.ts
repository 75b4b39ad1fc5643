/**
 * Poisoning policies: which training images get the trigger, and what happens to their labels.
 * `poisonDataset` is pure and deterministic in its seed and returns a JSON-serialisable record of
 * exactly what it did; `triggerTestSet` builds the all-triggered evaluation set for attack success.
 */
import { Rng } from '../data/rng.js';
import { imageSize, type ImageDataset } from '../data/types.js';
import { overlayDataset } from './overlay.js';
import type { Placement } from './pixels.js';
import { renderTrigger, type TriggerSpec } from './trigger.js';
import { resolveClass, type ClassRef } from './classes.js';

/** How many images: each candidate independently with `probability`, or exactly `count`. */
export type PoisonAmount =
  { readonly probability: number; readonly count?: undefined } | { readonly count: number; readonly probability?: undefined };

/** The paper's policy: each image of `classes` gets the trigger with `probability`; labels kept. */
export interface CleanLabelPolicy {
  readonly policy: 'clean-label';
  readonly classes: readonly ClassRef[];
  readonly probability: number;
}
/** Exactly `count` images of `classes` (seeded choice) get the trigger; labels kept. */
export interface CleanLabelCountPolicy {
  readonly policy: 'clean-label-count';
  readonly classes: readonly ClassRef[];
  readonly count: number;
}
/** BadNets: trigger added and label set to `targetClass`. fromClasses defaults to every class but the target. */
export type DirtyLabelPolicy = {
  readonly policy: 'dirty-label';
  readonly fromClasses?: readonly ClassRef[];
  readonly targetClass: ClassRef;
} & PoisonAmount;
/**
 * An added class: triggered COPIES of chosen images are appended with label = old class count
 * (named `newClassName`, default 'trigger'); the originals stay. fromClasses defaults to all.
 */
export type TriggerClassPolicy = {
  readonly policy: 'trigger-class';
  readonly fromClasses?: readonly ClassRef[];
  readonly newClassName?: string;
} & PoisonAmount;

/** A poisoning policy, plain JSON. */
export type PoisonSpec = CleanLabelPolicy | CleanLabelCountPolicy | DirtyLabelPolicy | TriggerClassPolicy;

/** What poisonDataset did; JSON-serialisable. */
export interface PoisonRecord {
  readonly policy: PoisonSpec['policy'];
  readonly trigger: TriggerSpec;
  readonly poison: PoisonSpec;
  readonly seed: number;
  /** Source-dataset indices that were triggered (or copied, for trigger-class), ascending. */
  readonly indices: number[];
  /** Label of each indices[k] before poisoning. */
  readonly originalLabels: number[];
  /** Label the triggered image carries in the output (same as original for clean-label). */
  readonly newLabels: number[];
  /** Where each trigger went; `index` is the image's index in the OUTPUT dataset. */
  readonly positions: Placement[];
  /** Number of triggered images. */
  readonly count: number;
  /** Triggered images per ORIGINAL class name (every class listed, zeros included). */
  readonly classCounts: Record<string, number>;
  /** How many images were eligible. */
  readonly candidates: number;
  /** trigger-class only: output index of the copy of indices[k]. */
  readonly addedIndices?: number[];
  /** Class names of the output dataset. */
  readonly classes: string[];
}

function resolveClasses(classes: readonly string[], refs: readonly ClassRef[], key: string): Set<number> {
  if (!Array.isArray(refs) || refs.length === 0) throw new RangeError(`${key} must list at least one class`);
  return new Set(refs.map((r, i) => resolveClass(classes, r, `${key}[${i}]`)));
}

function select(candidates: number[], amount: { probability?: number; count?: number }, rng: Rng): number[] {
  const { probability, count } = amount;
  if ((probability === undefined) === (count === undefined)) {
    throw new RangeError('poison: give exactly one of poison.probability or poison.count');
  }
  if (probability !== undefined) {
    if (!(probability >= 0 && probability <= 1)) throw new RangeError(`poison.probability must be in [0, 1], got ${probability}`);
    return candidates.filter(() => rng.bernoulli(probability));
  }
  if (!Number.isInteger(count) || (count as number) < 0) {
    throw new RangeError(`poison.count must be a non-negative integer, got ${count}`);
  }
  if ((count as number) > candidates.length) {
    throw new RangeError(`poison.count ${count} exceeds the ${candidates.length} eligible images`);
  }
  return Array.from(rng.sample(candidates.length, count as number), (k) => candidates[k]).sort((a, b) => a - b);
}

/**
 * Poisons a dataset: chooses images per `poison`, pastes `trigger` on them, relabels per policy.
 * Pure and deterministic: the same (ds, trigger, poison, seed) gives a byte-identical dataset and
 * record. Choice and random trigger positions use independent streams of Rng(seed, 'poison').
 *
 * @example poisonDataset(ds, { kind: 'solid', color: 255, size: 3, position: 'bottom-right' },
 *   { policy: 'clean-label', classes: ['dog'], probability: 0.1 }, 0)
 */
export function poisonDataset(
  ds: ImageDataset,
  trigger: TriggerSpec,
  poison: PoisonSpec,
  seed: number,
): { dataset: ImageDataset; record: PoisonRecord } {
  const rendered = renderTrigger(trigger, { c: ds.c, h: ds.h, w: ds.w });
  const rng = new Rng(seed, 'poison');
  const pick = rng.fork('select');
  const place = rng.fork('place');
  const all = (set: Set<number> | null) => {
    const out: number[] = [];
    for (let i = 0; i < ds.n; i++) if (set === null || set.has(ds.labels[i])) out.push(i);
    return out;
  };

  let candidates: number[];
  let indices: number[];
  let target: number | null = null;
  switch (poison.policy) {
    case 'clean-label':
      candidates = all(resolveClasses(ds.classes, poison.classes, 'poison.classes'));
      indices = select(candidates, { probability: poison.probability }, pick);
      break;
    case 'clean-label-count':
      candidates = all(resolveClasses(ds.classes, poison.classes, 'poison.classes'));
      indices = select(candidates, { count: poison.count }, pick);
      break;
    case 'dirty-label': {
      target = resolveClass(ds.classes, poison.targetClass, 'poison.targetClass');
      const from = poison.fromClasses
        ? resolveClasses(ds.classes, poison.fromClasses, 'poison.fromClasses')
        : new Set(ds.classes.map((_, i) => i).filter((i) => i !== target));
      candidates = all(from);
      indices = select(candidates, poison, pick);
      break;
    }
    case 'trigger-class':
      candidates = all(poison.fromClasses ? resolveClasses(ds.classes, poison.fromClasses, 'poison.fromClasses') : null);
      indices = select(candidates, poison, pick);
      break;
    default:
      throw new RangeError(
        `poison.policy must be clean-label, clean-label-count, dirty-label or trigger-class; got ${JSON.stringify((poison as { policy: unknown }).policy)}`,
      );
  }

  const originalLabels = indices.map((i) => ds.labels[i]);
  const classCounts: Record<string, number> = Object.fromEntries(ds.classes.map((c) => [c, 0]));
  for (const l of originalLabels) classCounts[ds.classes[l]]++;

  let dataset: ImageDataset;
  let positions: Placement[];
  let newLabels: number[];
  let addedIndices: number[] | undefined;
  if (poison.policy === 'trigger-class') {
    const newLabel = ds.classes.length;
    const name = poison.newClassName ?? 'trigger';
    if (ds.classes.includes(name)) throw new RangeError(`poison.newClassName '${name}' is already a class of '${ds.name}'`);
    const sz = imageSize(ds);
    const k = indices.length;
    const images = new Uint8Array((ds.n + k) * sz);
    images.set(ds.images);
    const labels = new Int32Array(ds.n + k);
    labels.set(ds.labels);
    addedIndices = indices.map((_, j) => ds.n + j);
    indices.forEach((src, j) => {
      images.set(ds.images.subarray(src * sz, (src + 1) * sz), (ds.n + j) * sz);
      labels[ds.n + j] = newLabel;
    });
    let attributes: Uint8Array | undefined;
    if (ds.attributes) {
      attributes = new Uint8Array(ds.n + k);
      attributes.set(ds.attributes);
      indices.forEach((src, j) => (attributes![ds.n + j] = ds.attributes![src]));
    }
    const grown: ImageDataset = {
      ...ds,
      name: ds.name,
      images,
      labels,
      n: ds.n + k,
      classes: [...ds.classes, name],
      ...(attributes ? { attributes } : {}),
    };
    ({ dataset, positions } = overlayDataset(grown, addedIndices, rendered, trigger.position, place, 'trigger.position'));
    newLabels = indices.map(() => newLabel);
  } else {
    ({ dataset, positions } = overlayDataset(ds, indices, rendered, trigger.position, place, 'trigger.position'));
    if (target !== null) {
      const labels = dataset.labels as Int32Array;
      for (const i of indices) labels[i] = target;
      newLabels = indices.map(() => target as number);
    } else {
      newLabels = originalLabels.slice();
    }
  }
  dataset = { ...dataset, name: `${ds.name}+poison(${poison.policy})` };

  const record: PoisonRecord = {
    policy: poison.policy,
    trigger: structuredClone(trigger),
    poison: structuredClone(poison),
    seed,
    indices,
    originalLabels,
    newLabels,
    positions,
    count: indices.length,
    classCounts,
    candidates: candidates.length,
    ...(addedIndices ? { addedIndices } : {}),
    classes: [...dataset.classes],
  };
  return { dataset, record };
}

/** What triggerTestSet did; JSON-serialisable. */
export interface TriggerTestRecord {
  readonly trigger: TriggerSpec;
  readonly seed: number;
  /** Source index of each output image, ascending. */
  readonly sourceIndices: number[];
  /** Trigger positions; `index` refers to the output dataset. */
  readonly positions: Placement[];
  readonly excludedClass: number | null;
}

/**
 * The evaluation set for attack success rate: every image of `ds` (minus those of `excludeClass`,
 * typically the attack's target class) with the trigger pasted, TRUE labels kept.
 */
export function triggerTestSet(
  ds: ImageDataset,
  trigger: TriggerSpec,
  seed: number,
  opts: { excludeClass?: ClassRef } = {},
): { dataset: ImageDataset; record: TriggerTestRecord } {
  const excluded = opts.excludeClass === undefined ? null : resolveClass(ds.classes, opts.excludeClass, 'excludeClass');
  const sourceIndices: number[] = [];
  for (let i = 0; i < ds.n; i++) if (ds.labels[i] !== excluded) sourceIndices.push(i);
  const sz = imageSize(ds);
  const m = sourceIndices.length;
  const images = new Uint8Array(m * sz);
  const labels = new Int32Array(m);
  const attributes = ds.attributes ? new Uint8Array(m) : undefined;
  sourceIndices.forEach((src, j) => {
    images.set(ds.images.subarray(src * sz, (src + 1) * sz), j * sz);
    labels[j] = ds.labels[src];
    if (attributes) attributes[j] = ds.attributes![src];
  });
  const subset: ImageDataset = { ...ds, images, labels, n: m, ...(attributes ? { attributes } : {}) };
  const all = Array.from({ length: m }, (_, j) => j);
  const { dataset, positions } = overlayDataset(
    subset,
    all,
    renderTrigger(trigger, { c: ds.c, h: ds.h, w: ds.w }),
    trigger.position,
    new Rng(seed, 'trigger-test'),
    'trigger.position',
  );
  return {
    dataset: { ...dataset, name: `${ds.name}+triggered` },
    record: { trigger: structuredClone(trigger), seed, sourceIndices, positions, excludedClass: excluded },
  };
}
