/**
 * Data preparation for an experiment: loading datasets named by the config, building the biased
 * source and its clean control, putting target data on the source's geometry, and building the
 * evaluation conditions (clean, triggered, with/without attribute, patches).
 *
 * Everything here is a pure function of the config and the seed.
 */
import { isAbsolute, resolve } from 'node:path';
import {
  filterClasses,
  limit,
  datasetFilesStamp,
  folderLayout,
  loadDataset,
  sharedImages,
  channelStats,
  selectIndices,
  resolveCacheRoot,
  selectStreamedVia,
  streamDataset,
  type DatasetSpec as LoaderSpec,
  type DecodeTransform,
} from '../data/index.js';
import { Rng } from '../data/rng.js';
import { isStreamed, type AnyDataset, type ImageDataset, type StreamedDataset } from '../data/types.js';
import {
  composeBoth,
  composeBothStreamed,
  composeSpurious,
  composeSpuriousStreamed,
  pastePatch,
  pastePatchStreamed,
  poisonDataset,
  poisonStreamed,
  triggerTestSet,
  triggerTestStreamed,
  type Patch,
  type TriggerSpec as BiasTriggerSpec,
  type PoisonSpec as BiasPoisonSpec,
  type PoisonRecord,
  type ShapeAttribute,
} from '../bias/index.js';
import type { DatasetSpec, ExperimentConfig, PretrainedSpec } from './config/index.js';
import { buildProbes } from './probes.js';
import { pretrainedWeights, type PretrainedWeights } from './pretrained.js';

/** The config's folder, to resolve relative paths, and where streamed datasets' shard caches live. */
export interface PrepareContext {
  config: ExperimentConfig;
  configDir: string;
  /**
   * The shard cache folder of datasets with `stream: true` (default `resolveCacheRoot()`:
   * $BIAS_TRANSFER_CACHE, else ./.cache; the runner passes `<results root>/.cache`).
   */
  cacheRoot?: string;
  /** Progress lines of a shard cache build (default: none). */
  log?: (line: string) => void;
}

function resolvePath(p: string, dir: string): string;
function resolvePath(p: string | null, dir: string): string | undefined;
function resolvePath(p: string | null, dir: string): string | undefined {
  if (p === null) return undefined;
  return isAbsolute(p) ? p : resolve(dir, p);
}

const datasetCache = new Map<string, { ds: ImageDataset; stamp: string }>();

/** The loader's spec (src/data/registry.ts) of a config's dataset spec, paths resolved against `configDir`. */
export function loaderSpecOf(spec: DatasetSpec, configDir: string, backbone: PretrainedSpec | null): LoaderSpec {
  const transform = decodeTransformOf(spec, backbone);
  return {
    name: spec.name,
    split: spec.split,
    path: resolvePath(spec.path, configDir),
    imagesFile: spec.imagesFile ?? undefined,
    labelsFile: spec.labelsFile ?? undefined,
    testImagesFile: spec.testImagesFile ?? undefined,
    testLabelsFile: spec.testLabelsFile ?? undefined,
    holdout: spec.holdout ?? undefined,
    holdoutSeed: spec.holdout === null ? undefined : spec.holdoutSeed,
    size: spec.size ?? undefined,
    channels: spec.channels ?? undefined,
    ...(transform ? { transform } : {}),
    // With a range, classes are filtered after the slice (the range counts positions in the split).
    classes: spec.range === null ? (spec.classes ?? undefined) : undefined,
  } as LoaderSpec;
}

/**
 * A config's `range`, `classes` (after a range) and seeded `limit` applied to a loaded dataset.
 * `via` runs a selection on the dataset: directly for one in memory, through `selectStreamedVia`
 * for a streamed one, so both paths select with the same functions in the same order.
 */
function narrow<D extends AnyDataset>(
  ds: D,
  spec: DatasetSpec,
  seed: number,
  label: string,
  via: (ds: D, op: (d: ImageDataset) => ImageDataset) => D,
): D {
  if (spec.range !== null) {
    const [start, end] = spec.range;
    if (end > ds.n)
      throw new RangeError(`${label}: range [${start}, ${end}) reaches past the end of '${ds.name}', which has ${ds.n} samples`);
    ds = via(ds, (d) =>
      selectIndices(
        d,
        Int32Array.from({ length: end - start }, (_, i) => start + i),
        { name: `${d.name}[${start}:${end}]` },
      ),
    );
    const classes = spec.classes;
    if (classes !== null) ds = via(ds, (d) => filterClasses(d, classes));
  }
  const n = spec.limit;
  if (n !== null && n < ds.n) {
    const rng = new Rng(seed, `limit/${label}`);
    ds = via(ds, (d) => {
      try {
        return limit(d, n, { rng, perClass: true });
      } catch {
        return limit(d, n, { rng });
      }
    });
  }
  return ds;
}

/**
 * Loads a dataset as a config names it, into memory. `limit` takes a seeded, class-balanced
 * subset (falling back to a seeded random subset when a class is too small). Loaded files are
 * cached in memory while their sizes and modification times stay the same (datasetFilesStamp).
 * A spec with `stream: true` is refused here (it would load what it asks not to): experiments
 * read it with `loadExperimentDataset`.
 */
export function loadConfiguredDataset(
  spec: DatasetSpec,
  configDir: string,
  seed: number,
  label: string,
  opts: { backbone?: PretrainedSpec | null } = {},
): ImageDataset {
  if (spec.stream === true)
    throw new Error(`${label}: this dataset is read into memory here, but its spec says stream: true (remove stream for this use)`);
  const loaderSpec = loaderSpecOf(spec, configDir, opts.backbone ?? null);
  const key = JSON.stringify(loaderSpec);
  // A cached load is used only while its files are unchanged (sizes and modification times).
  const stamp = datasetFilesStamp(loaderSpec);
  const hit = datasetCache.get(key);
  let ds = hit?.stamp === stamp ? hit.ds : undefined;
  if (ds === undefined) {
    ds = loadDataset(loaderSpec);
    datasetCache.set(key, { ds, stamp });
  }
  return narrow(ds, spec, seed, label, (d, op) => op(d));
}

/**
 * Loads a dataset as an experiment reads it: into memory (`loadConfiguredDataset`), or, for a
 * spec with `stream: true`, streamed from the shard cache under `opts.cacheRoot` (built on first
 * use): the same samples, order, labels and bytes, read a batch at a time.
 *
 * @example loadExperimentDataset({ ...spec, stream: true }, dir, 0, 'target/pets/train', { cacheRoot: '/data/cache' })
 */
export function loadExperimentDataset(
  spec: DatasetSpec,
  configDir: string,
  seed: number,
  label: string,
  opts: { backbone?: PretrainedSpec | null; cacheRoot?: string; log?: (line: string) => void } = {},
): AnyDataset {
  if (spec.stream !== true) return loadConfiguredDataset(spec, configDir, seed, label, opts);
  const base = streamDataset(loaderSpecOf(spec, configDir, opts.backbone ?? null), {
    cacheRoot: opts.cacheRoot ?? resolveCacheRoot(),
    log: opts.log,
  });
  return narrow<StreamedDataset>(base, spec, seed, label, selectStreamedVia);
}

/**
 * torchvision's evaluation preprocessing for a backbone's input [h, w]: Resize(floor(max(h, w) /
 * 0.875)) then CenterCrop([h, w]) (ImageNet's 256 / 224).
 *
 * @example pretrainedEvalTransform([224, 224]) // { resize: 256, centerCrop: [224, 224] }
 */
export function pretrainedEvalTransform(size: readonly [number, number]): DecodeTransform {
  return { resize: Math.floor(Math.max(size[0], size[1]) / 0.875), centerCrop: [size[0], size[1]] };
}

/**
 * The decode-time transform of a dataset spec: its own `transform`, or, for a folder without
 * `size` or `transform` read for a pretrained backbone, the backbone's evaluation transform.
 */
export function decodeTransformOf(spec: DatasetSpec, backbone: PretrainedSpec | null): DecodeTransform | undefined {
  const t = spec.transform;
  if (t !== undefined) {
    const crop = t.centerCrop;
    return {
      ...(t.resize !== null ? { resize: t.resize } : {}),
      ...(crop !== null ? { centerCrop: typeof crop === 'number' ? [crop, crop] : [crop[0], crop[1]] } : {}),
    };
  }
  if (backbone !== null && spec.name === 'folder' && spec.size === null) return pretrainedEvalTransform(backbone.size);
  return undefined;
}

/**
 * Checks that the source's training data shares no image with any target's training or test data,
 * and a target's training data none with its test data. Images are compared by content (each
 * loaded image's content id: an image file's bytes, an array format's native pixels), whatever
 * the specs say: the same folder under two paths, a test spec that names the training files, or
 * two splits that are really one are all caught. Each spec's whole pool is compared (after its
 * `range` and `classes`, before the seeded `limit`), so no seed can draw a shared image. Throws an
 * error naming both config keys, how many images they share and an example.
 *
 * @example checkDisjointData({ config, configDir }) // throws for a source and target both on fashion-mnist/train without ranges
 */
export function checkDisjointData(ctx: PrepareContext): void {
  const c = ctx.config;
  // A pretrained source is not trained on source.dataset (only probes crop from it): no overlap to check.
  const specs: { key: string; spec: DatasetSpec }[] =
    c.source.pretrained !== null ? [] : [{ key: 'source.dataset', spec: c.source.dataset }];
  c.targets.forEach((t, i) => {
    specs.push({ key: `targets[${i}].dataset`, spec: t.dataset });
    specs.push({ key: `targets[${i}].testDataset`, spec: t.testDataset });
  });
  const pools = specs.map(({ key, spec }) => ({ key, spec, ds: loadAny(ctx, { ...spec, limit: null }, 0, key) }));
  const fmt = (r: DatasetSpec['range']) => (r === null ? 'the whole split' : `[${r[0]}, ${r[1]})`);
  for (let a = 0; a < pools.length; a++)
    for (let b = a + 1; b < pools.length; b++) {
      const A = pools[a];
      const B = pools[b];
      // Checked: the source against every target set, and each target's training set against its test set.
      if (A.key !== 'source.dataset' && A.key.split('.')[0] !== B.key.split('.')[0]) continue;
      const shared = sharedImages(A.ds, B.ds);
      if (shared.count === 0) continue;
      const ex = shared.examples[0];
      const sameSplit = A.spec.name === B.spec.name && A.spec.split === B.spec.split;
      throw new Error(
        `${B.key} shares ${shared.count} of its ${B.ds.n} images with ${A.key} (compared by content, whatever the specs say; ` +
          `e.g. image ${ex.b} of ${B.ds.name} is image ${ex.a} of ${A.ds.name}). ` +
          (B.key.endsWith('testDataset') && !A.key.startsWith('source')
            ? "A test set must not hold training images: use the dataset's own test split (split: test), a holdout, or a separate folder."
            : 'Source and target images must be disjoint' +
              (sameSplit
                ? `: both read ${A.spec.name}/${A.spec.split} with ranges ${fmt(A.spec.range)} and ${fmt(B.spec.range)}; give them disjoint \`range\`s (e.g. source range: [0, 50000], target range: [50000, 60000]) or disjoint classes.`
                : '.')),
      );
    }
}

/**
 * The spec of the source's test split, on which the source's accuracy is measured: the source
 * spec with split 'test', every class it keeps, no `range` (a range counts positions in the
 * training split) and at most 2,000 images (a seeded balanced subset). Null when the source has no
 * test split (a folder of class folders or idx files without test files, and no holdout): its
 * accuracy is then not measured rather than measured on training images.
 */
export function sourceTestSpec(spec: DatasetSpec, configDir: string): DatasetSpec | null {
  if (spec.holdout === null) {
    if (spec.name === 'idx' && spec.testImagesFile === null) return null;
    if (spec.name === 'folder' && folderLayout(resolvePath(spec.path, configDir)!).kind === 'flat') return null;
  }
  return { ...spec, split: 'test', range: null, limit: Math.min(spec.limit ?? 2000, 2000) };
}

/** One source training set: the biased one or its clean control. */
export interface SourceVariant {
  kind: 'biased' | 'clean';
  /** In memory, or streamed when the source spec says `stream: true`. */
  dataset: AnyDataset;
  /** What the bias injection did (poison or spurious record); null for a plain clean source. */
  record: unknown;
  /** Identity of the variant for cache keys. */
  identity: unknown;
  /** A pretrained source (`source.pretrained`): the checked weights file, used instead of training on `dataset`. */
  pretrained?: PretrainedWeights;
}

/** `loadExperimentDataset` with the context's folder and cache. */
function loadAny(ctx: PrepareContext, spec: DatasetSpec, seed: number, label: string, backbone: PretrainedSpec | null = null): AnyDataset {
  return loadExperimentDataset(spec, ctx.configDir, seed, label, { backbone, cacheRoot: ctx.cacheRoot, log: ctx.log });
}

/**
 * The bias library's trigger of a config trigger (the config schema's output, defaults filled in):
 * the same object, keys in the same order, with an image trigger's files resolved against the
 * config's folder and a null maskPath left out. Typed, no cast: the config's output type is the
 * library's `TriggerSpec` but for `maskPath: null`.
 */
function triggerFor(t: ExperimentConfig['evaluation']['trigger'] & object, configDir: string): BiasTriggerSpec {
  if (t.kind !== 'image') return { ...t };
  const path = resolvePath(t.path, configDir);
  if (t.maskPath !== null) return { ...t, path, maskPath: resolvePath(t.maskPath, configDir) };
  const { maskPath: _none, ...rest } = t;
  return { ...rest, path };
}

/** The trigger used on target test images (evaluation.trigger, else the source trigger), or null. */
export function evaluationTrigger(ctx: PrepareContext): BiasTriggerSpec | null {
  const c = ctx.config;
  if (c.evaluation.trigger !== null) return triggerFor(c.evaluation.trigger, ctx.configDir);
  if (c.source.bias.kind === 'backdoor') return triggerFor(c.source.bias.trigger, ctx.configDir);
  return null;
}

function poisonFor(p: Extract<ExperimentConfig['source']['bias'], { kind: 'backdoor' }>['poison']): BiasPoisonSpec {
  const o: Record<string, unknown> = { ...p };
  for (const k of Object.keys(o)) if (o[k] === null || o[k] === undefined) delete o[k];
  return o as unknown as BiasPoisonSpec;
}

type SpuriousBias = Extract<ExperimentConfig['source']['bias'], { kind: 'spurious' }>;

function attributeFor(b: SpuriousBias, ctx: PrepareContext, seed: number): ImageDataset | ShapeAttribute {
  if (b.attribute.kind === 'shape') return { kind: 'shape', shape: b.attribute.shape, color: b.attribute.color } as ShapeAttribute;
  return loadConfiguredDataset(b.attribute.dataset, ctx.configDir, seed, 'attribute');
}

function canvasOf(b: SpuriousBias, ds: { h: number; w: number }): { h: number; w: number } {
  return b.canvas === null ? { h: ds.h, w: ds.w } : { h: b.canvas[0], w: b.canvas[1] };
}

/** The source dataset of a seed, before any bias (streamed when its spec says `stream: true`). */
export function loadSource(ctx: PrepareContext, seed: number): AnyDataset {
  return loadAny(ctx, ctx.config.source.dataset, seed, 'source', ctx.config.source.pretrained);
}

/**
 * The source variants to pretrain: the biased source (unless the bias is 'none') and, when
 * `source.control` is on or there is no bias, the clean control. For a spurious bias, the control
 * carries the attribute with the same overall rate but independently of the class.
 */
export function sourceVariants(ctx: PrepareContext, seed: number, base: AnyDataset = loadSource(ctx, seed)): SourceVariant[] {
  const c = ctx.config;
  const bias = c.source.bias;
  const out: SourceVariant[] = [];
  if (c.source.pretrained !== null) {
    // Not trained here: the backbone under audit ('biased') and its control ('clean') when given.
    for (const w of pretrainedWeights(c, ctx.configDir))
      out.push({ kind: w.kind, dataset: base, record: null, identity: { pretrained: w.sha256 }, pretrained: w });
    return out;
  }
  const cleanIdentity = { dataset: c.source.dataset, bias: { kind: 'none' } };
  switch (bias.kind) {
    case 'none':
      out.push({ kind: 'clean', dataset: base, record: null, identity: cleanIdentity });
      break;
    case 'backdoor': {
      const trigger = triggerFor(bias.trigger, ctx.configDir);
      // Streamed: the same plan (images, positions, labels, record), the trigger pasted as batches are read.
      const { dataset, record } = isStreamed(base)
        ? poisonStreamed(base, trigger, poisonFor(bias.poison), seed)
        : poisonDataset(base, trigger, poisonFor(bias.poison), seed);
      out.push({ kind: 'biased', dataset, record, identity: { dataset: c.source.dataset, bias } });
      if (c.source.control) out.push({ kind: 'clean', dataset: base, record: null, identity: cleanIdentity });
      break;
    }
    case 'spurious': {
      const attribute = attributeFor(bias, ctx, seed);
      const layout = { attribute, canvas: canvasOf(bias, base), attributeScale: bias.attributeScale, seed };
      // Streamed: the same layout and flags, each image composed as it is read.
      const compose = (probabilityPerClass: Record<string, number>, defaultProbability: number) =>
        isStreamed(base)
          ? composeSpuriousStreamed({ ...layout, main: base, probabilityPerClass, defaultProbability })
          : composeSpurious({ ...layout, main: base, probabilityPerClass, defaultProbability });
      const biased = compose(bias.probabilityPerClass, bias.defaultProbability);
      out.push({ kind: 'biased', dataset: biased.dataset, record: biased.record, identity: { dataset: c.source.dataset, bias } });
      if (c.source.control) {
        // Same marginal attribute rate, independent of the class.
        const attrs = biased.dataset.attributes ?? new Uint8Array(0);
        let on = 0;
        for (const a of attrs) on += a;
        const rate = attrs.length === 0 ? 0 : on / attrs.length;
        const clean = compose({}, rate);
        out.push({
          kind: 'clean',
          dataset: clean.dataset,
          record: clean.record,
          identity: { dataset: c.source.dataset, bias, control: 'independent', rate },
        });
      }
      break;
    }
  }
  return out;
}

/** Evaluation conditions of one target: named test sets over the same images. */
export interface TargetData {
  name: string;
  /** In memory, or streamed when the target's spec says `stream: true` (and so are its conditions). */
  train: AnyDataset;
  /** Test sets by condition; always has 'clean'. */
  conditions: Map<string, AnyDataset>;
  /** Which condition each non-clean condition is compared with. */
  baseline: Map<string, string>;
  /** For patch conditions: a human description. */
  describe: Map<string, string>;
  numClasses: number;
  classes: readonly string[];
  /** Example patches (for the report). */
  patches: { condition: string; patch: Patch }[];
  /** Neutral patch conditions → the probe condition each mirrors (explicit or automatic neutrals). */
  neutralOf: Map<string, string>;
  /**
   * For a spurious source: the target class that is also a source class correlated with the
   * attribute (listed in `probabilityPerClass` above `defaultProbability`, matched by name), or
   * null when the target has none (or more than one).
   */
  correlatedClass: number | null;
  /** What `targets[].bias` did to the training images (which were triggered, where), or null. */
  biasRecord: PoisonRecord | null;
}

/**
 * Applies a target's `bias` (a de-biasing mitigation): the trigger on exactly round(fraction * n)
 * training images drawn across all classes with a seed derived from `seed`, labels unchanged.
 * Returns the training set unchanged and a null record when the target has no bias.
 */
export function debiasTarget(
  ctx: PrepareContext,
  targetIndex: number,
  train: AnyDataset,
  seed: number,
): { dataset: AnyDataset; record: PoisonRecord | null } {
  const t = ctx.config.targets[targetIndex];
  if (t.bias === null) return { dataset: train, record: null };
  const trig = t.bias.trigger !== null ? triggerFor(t.bias.trigger, ctx.configDir) : evaluationTrigger(ctx);
  if (trig === null)
    throw new Error(`targets[${targetIndex}].bias needs a trigger: set targets[${targetIndex}].bias.trigger or evaluation.trigger`);
  const count = Math.round(t.bias.fraction * train.n);
  if (count === 0) return { dataset: train, record: null };
  const all = train.classes.map((_, k) => k);
  // A seed of its own (not the source poisoning's), so the choice is independent of the source's.
  // Seeds are derived four ways on purpose (docs/architecture.md, "Seeds"): do not merge them, it would change every number.
  const own = (seed * 7919 + 104729 + targetIndex) % 2147483647;
  const poison: BiasPoisonSpec = { policy: 'clean-label-count', classes: all, count };
  return isStreamed(train) ? poisonStreamed(train, trig, poison, own) : poisonDataset(train, trig, poison, own);
}

/**
 * The target class correlated with the attribute in the source (see `TargetData.correlatedClass`).
 *
 * @example correlatedTargetClass(['T-shirt/top', ..., 'Shirt', ...], { Shirt: 1 }, 0, ['T-shirt/top', 'Shirt']) // 1
 */
export function correlatedTargetClass(
  sourceClasses: readonly string[],
  probabilityPerClass: Readonly<Record<string, number>>,
  defaultProbability: number,
  targetClasses: readonly string[],
): number | null {
  const names: string[] = [];
  for (const [key, p] of Object.entries(probabilityPerClass)) {
    if (p <= defaultProbability) continue;
    const name = sourceClasses.includes(key) ? key : /^\d+$/.test(key) ? sourceClasses[Number(key)] : undefined;
    if (name !== undefined) names.push(name);
  }
  const hits = targetClasses.map((c, i) => (names.includes(c) ? i : -1)).filter((i) => i >= 0);
  return hits.length === 1 ? hits[0] : null;
}

/**
 * Loads a target and builds its evaluation conditions. For a spurious source with a canvas the
 * target is put on the same canvas (without the attribute for training; with and without it for
 * the subgroup test).
 */
export function prepareTarget(ctx: PrepareContext, targetIndex: number, seed: number, source: AnyDataset): TargetData {
  const c = ctx.config;
  const t = c.targets[targetIndex];
  let train = loadAny(ctx, t.dataset, seed, `target/${t.name}/train`, c.source.pretrained);
  let test = loadAny(ctx, t.testDataset, seed, `target/${t.name}/test`, c.source.pretrained);
  const debiased = debiasTarget(ctx, targetIndex, train, seed);
  train = debiased.dataset;
  const conditions = new Map<string, AnyDataset>();
  const baseline = new Map<string, string>();
  const describe = new Map<string, string>();
  const patches: TargetData['patches'] = [];
  const bias = c.source.bias;
  let correlatedClass: number | null = null;
  if (bias.kind === 'spurious') {
    correlatedClass = correlatedTargetClass(source.classes, bias.probabilityPerClass, bias.defaultProbability, train.classes);
    const attribute = attributeFor(bias, ctx, seed);
    const canvas = canvasOf(bias, source);
    const at = { attribute, canvas, attributeScale: bias.attributeScale };
    train = (
      isStreamed(train)
        ? composeSpuriousStreamed({ ...at, main: train, seed, defaultProbability: 0 })
        : composeSpurious({ ...at, main: train, seed, defaultProbability: 0 })
    ).dataset;
    const both = isStreamed(test)
      ? composeBothStreamed({ ...at, main: test, seed: seed + 1 })
      : composeBoth({ ...at, main: test, seed: seed + 1 });
    test = both.withoutAttribute;
    conditions.set('clean', test);
    conditions.set('with_attribute', both.withAttribute);
    baseline.set('with_attribute', 'clean');
    describe.set('with_attribute', 'the attribute object composed into every test image');
  } else conditions.set('clean', test);

  const trig = evaluationTrigger(ctx);
  if (trig !== null) {
    conditions.set('triggered', (isStreamed(test) ? triggerTestStreamed(test, trig, seed) : triggerTestSet(test, trig, seed)).dataset);
    baseline.set('triggered', 'clean');
    describe.set('triggered', `the ${trig.kind} trigger pasted on every test image`);
  }
  const neutralOf = new Map<string, string>();
  const load = (spec: DatasetSpec, label: string) => loadConfiguredDataset(spec, ctx.configDir, seed, label);
  for (const b of buildProbes({ config: c, configDir: ctx.configDir, load }, seed, source)) {
    const at = { position: b.position, seed: seed + 7 };
    conditions.set(b.condition, (isStreamed(test) ? pastePatchStreamed(test, b.patch, at) : pastePatch(test, b.patch, at)).dataset);
    baseline.set(b.condition, 'clean');
    describe.set(b.condition, b.label);
    patches.push({ condition: b.condition, patch: b.patch });
    if (b.neutralOf !== null) neutralOf.set(b.condition, b.neutralOf);
  }
  return {
    name: t.name,
    train,
    conditions,
    baseline,
    describe,
    numClasses: train.classes.length,
    classes: train.classes,
    patches,
    neutralOf,
    correlatedClass,
    biasRecord: debiased.record,
  };
}

/** Per-channel normalisation statistics of the source training data (used for every stage). */
export function normalisation(ds: AnyDataset): { mean: number[]; std: number[] } {
  const s = channelStats(ds);
  return { mean: [...s.mean], std: [...s.std].map((v) => Math.max(v, 1e-3)) };
}
