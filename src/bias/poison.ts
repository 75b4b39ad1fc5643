/**
 * Poisoning policies: which training images get the trigger, and what happens to their labels.
 * `poisonDataset` is pure and deterministic in its seed and returns a JSON-serialisable record of
 * exactly what it did; `triggerTestSet` builds the all-triggered evaluation set for attack success.
 */
import { Rng } from '../data/rng.js';
import { imageSize, type AnyDataset, type ImageDataset } from '../data/types.js';
import { blendAt, placeOverlay } from './overlay.js';
import type { Placement, Rendered } from './pixels.js';
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

/** What poisoning needs to know of a dataset: labels, classes, geometry (not its pixels). */
export type PoisonInput = Pick<AnyDataset, 'name' | 'labels' | 'classes' | 'n' | 'c' | 'h' | 'w'>;

/**
 * Everything `poisonDataset` decides, before any pixel is touched: the record (which images, where
 * the trigger goes, new labels), the rendered trigger, and the output's labels and classes. Output
 * sample i < input.n is input sample i; output sample input.n + j (trigger-class only) is a copy of
 * input sample `record.indices[j]`.
 */
export interface PoisonPlan {
  readonly record: PoisonRecord;
  readonly rendered: Rendered;
  /** Output labels (length n). */
  readonly labels: Int32Array;
  readonly classes: readonly string[];
  /** Output sample count. */
  readonly n: number;
}

/**
 * Plans a poisoning (see `poisonDataset`) from labels and geometry alone, so the same plan serves
 * an in-memory dataset and a streamed one. Same seed streams and draw order as `poisonDataset`.
 */
export function planPoison(ds: PoisonInput, trigger: TriggerSpec, poison: PoisonSpec, seed: number): PoisonPlan {
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

  let positions: Placement[];
  let newLabels: number[];
  let addedIndices: number[] | undefined;
  let labels: Int32Array;
  let classes: readonly string[];
  let n: number;
  if (poison.policy === 'trigger-class') {
    const newLabel = ds.classes.length;
    const name = poison.newClassName ?? 'trigger';
    if (ds.classes.includes(name)) throw new RangeError(`poison.newClassName '${name}' is already a class of '${ds.name}'`);
    const k = indices.length;
    n = ds.n + k;
    labels = new Int32Array(n);
    labels.set(ds.labels);
    labels.fill(newLabel, ds.n);
    classes = [...ds.classes, name];
    addedIndices = indices.map((_, j) => ds.n + j);
    positions = placeOverlay({ ...ds, n }, addedIndices, rendered.size, trigger.position, place, 'trigger.position');
    newLabels = indices.map(() => newLabel);
  } else {
    n = ds.n;
    classes = ds.classes;
    positions = placeOverlay(ds, indices, rendered.size, trigger.position, place, 'trigger.position');
    labels = ds.labels.slice();
    if (target !== null) {
      for (const i of indices) labels[i] = target;
      newLabels = indices.map(() => target as number);
    } else {
      newLabels = originalLabels.slice();
    }
  }

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
    classes: [...classes],
  };
  return { record, rendered, labels, classes, n };
}

/**
 * Poisons a dataset: chooses images per `poison`, pastes `trigger` on them, relabels per policy.
 * Pure and deterministic: the same (ds, trigger, poison, seed) gives a byte-identical dataset and
 * record. Choice and random trigger positions use independent streams of Rng(seed, 'poison').
 * For a streamed dataset, `poisonStreamed` (bias/stream.ts) gives the same bytes per sample.
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
  const plan = planPoison(ds, trigger, poison, seed);
  const { record } = plan;
  let base: ImageDataset = ds;
  if (record.addedIndices) {
    // Grow: triggered COPIES of the chosen images are appended; the originals stay.
    const sz = imageSize(ds);
    const images = new Uint8Array(plan.n * sz);
    images.set(ds.images);
    record.indices.forEach((src, j) => images.set(ds.images.subarray(src * sz, (src + 1) * sz), (ds.n + j) * sz));
    let attributes: Uint8Array | undefined;
    if (ds.attributes) {
      attributes = new Uint8Array(plan.n);
      attributes.set(ds.attributes);
      record.indices.forEach((src, j) => (attributes![ds.n + j] = ds.attributes![src]));
    }
    base = { ...ds, images, n: plan.n, classes: plan.classes, ...(attributes ? { attributes } : {}) };
  }
  const dataset: ImageDataset = {
    ...blendAt(base, plan.rendered, record.positions),
    labels: plan.labels,
    name: `${ds.name}+poison(${poison.policy})`,
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

/** What `triggerTestSet` decides before any pixel is touched (see `planTriggerTest`). */
export interface TriggerTestPlan {
  readonly record: TriggerTestRecord;
  readonly rendered: Rendered;
}

/**
 * Plans the attack-success evaluation set from labels and geometry alone: output sample j is
 * input sample `record.sourceIndices[j]` with the trigger at `record.positions[j]`. Same draws as
 * `triggerTestSet`.
 */
export function planTriggerTest(
  ds: PoisonInput,
  trigger: TriggerSpec,
  seed: number,
  opts: { excludeClass?: ClassRef } = {},
): TriggerTestPlan {
  const excluded = opts.excludeClass === undefined ? null : resolveClass(ds.classes, opts.excludeClass, 'excludeClass');
  const sourceIndices: number[] = [];
  for (let i = 0; i < ds.n; i++) if (ds.labels[i] !== excluded) sourceIndices.push(i);
  const m = sourceIndices.length;
  const rendered = renderTrigger(trigger, { c: ds.c, h: ds.h, w: ds.w });
  const all = Array.from({ length: m }, (_, j) => j);
  const positions = placeOverlay({ ...ds, n: m }, all, rendered.size, trigger.position, new Rng(seed, 'trigger-test'), 'trigger.position');
  return { record: { trigger: structuredClone(trigger), seed, sourceIndices, positions, excludedClass: excluded }, rendered };
}

/**
 * The evaluation set for attack success rate: every image of `ds` (minus those of `excludeClass`,
 * typically the attack's target class) with the trigger pasted, TRUE labels kept. For a streamed
 * dataset, `triggerTestStreamed` (bias/stream.ts) gives the same bytes per sample.
 */
export function triggerTestSet(
  ds: ImageDataset,
  trigger: TriggerSpec,
  seed: number,
  opts: { excludeClass?: ClassRef } = {},
): { dataset: ImageDataset; record: TriggerTestRecord } {
  const { record, rendered } = planTriggerTest(ds, trigger, seed, opts);
  const { sourceIndices } = record;
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
  return { dataset: { ...blendAt(subset, rendered, record.positions), name: `${ds.name}+triggered` }, record };
}
