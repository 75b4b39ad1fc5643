/**
 * Data preparation for an experiment: loading datasets named by the config, building the biased
 * source and its clean control, putting target data on the source's geometry, and building the
 * evaluation conditions (clean, triggered, with/without attribute, patches).
 *
 * Everything here is a pure function of the config and the seed.
 */
import { isAbsolute, resolve } from 'node:path';
import { limit, loadDataset, channelStats, type DatasetSpec as LoaderSpec } from '../data/index.js';
import { Rng } from '../data/rng.js';
import type { ImageDataset } from '../data/types.js';
import {
  classPatch,
  composeBoth,
  composeSpurious,
  neutralPatch,
  pastePatch,
  poisonDataset,
  triggerTestSet,
  type Patch,
  type TriggerSpec as BiasTriggerSpec,
  type PoisonSpec as BiasPoisonSpec,
  type ShapeAttribute,
} from '../bias/index.js';
import type { DatasetSpec, ExperimentConfig } from './config/index.js';

/** The config's folder, to resolve relative paths. */
export interface PrepareContext {
  config: ExperimentConfig;
  configDir: string;
}

function resolvePath(p: string | null, dir: string): string | undefined {
  if (p === null) return undefined;
  return isAbsolute(p) ? p : resolve(dir, p);
}

const datasetCache = new Map<string, ImageDataset>();

/**
 * Loads a dataset as a config names it. `limit` takes a seeded, class-balanced subset (falling
 * back to a seeded random subset when a class is too small). Loaded files are cached in memory.
 */
export function loadConfiguredDataset(spec: DatasetSpec, configDir: string, seed: number, label: string): ImageDataset {
  const loaderSpec = {
    name: spec.name,
    split: spec.split,
    path: resolvePath(spec.path, configDir),
    imagesFile: spec.imagesFile ?? undefined,
    labelsFile: spec.labelsFile ?? undefined,
    size: spec.size ?? undefined,
    channels: spec.channels ?? undefined,
    classes: spec.classes ?? undefined,
  } as LoaderSpec;
  const key = JSON.stringify(loaderSpec);
  let ds = datasetCache.get(key);
  if (ds === undefined) {
    ds = loadDataset(loaderSpec);
    datasetCache.set(key, ds);
  }
  if (spec.limit !== null && spec.limit < ds.n) {
    const rng = new Rng(seed, `limit/${label}`);
    try {
      ds = limit(ds, spec.limit, { rng, perClass: true });
    } catch {
      ds = limit(ds, spec.limit, { rng });
    }
  }
  return ds;
}

/** One source training set: the biased one or its clean control. */
export interface SourceVariant {
  kind: 'biased' | 'clean';
  dataset: ImageDataset;
  /** What the bias injection did (poison or spurious record); null for a plain clean source. */
  record: unknown;
  /** Identity of the variant for cache keys. */
  identity: unknown;
}

function triggerFor(t: ExperimentConfig['evaluation']['trigger'] & object, configDir: string): BiasTriggerSpec {
  const o = { ...(t as Record<string, unknown>) };
  if (o.kind === 'image') {
    o.path = resolvePath(o.path as string, configDir);
    if (o.maskPath === null) delete o.maskPath;
    else o.maskPath = resolvePath(o.maskPath as string, configDir);
  }
  return o as unknown as BiasTriggerSpec;
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

function canvasOf(b: SpuriousBias, ds: ImageDataset): { h: number; w: number } {
  return b.canvas === null ? { h: ds.h, w: ds.w } : { h: b.canvas[0], w: b.canvas[1] };
}

/** The source dataset of a seed, before any bias. */
export function loadSource(ctx: PrepareContext, seed: number): ImageDataset {
  return loadConfiguredDataset(ctx.config.source.dataset, ctx.configDir, seed, 'source');
}

/**
 * The source variants to pretrain: the biased source (unless the bias is 'none') and, when
 * `source.control` is on or there is no bias, the clean control. For a spurious bias, the control
 * carries the attribute with the same overall rate but independently of the class.
 */
export function sourceVariants(ctx: PrepareContext, seed: number, base: ImageDataset = loadSource(ctx, seed)): SourceVariant[] {
  const c = ctx.config;
  const bias = c.source.bias;
  const out: SourceVariant[] = [];
  const cleanIdentity = { dataset: c.source.dataset, bias: { kind: 'none' } };
  switch (bias.kind) {
    case 'none':
      out.push({ kind: 'clean', dataset: base, record: null, identity: cleanIdentity });
      break;
    case 'backdoor': {
      const { dataset, record } = poisonDataset(base, triggerFor(bias.trigger, ctx.configDir), poisonFor(bias.poison), seed);
      out.push({ kind: 'biased', dataset, record, identity: { dataset: c.source.dataset, bias } });
      if (c.source.control) out.push({ kind: 'clean', dataset: base, record: null, identity: cleanIdentity });
      break;
    }
    case 'spurious': {
      const attribute = attributeFor(bias, ctx, seed);
      const layout = { main: base, attribute, canvas: canvasOf(bias, base), attributeScale: bias.attributeScale, seed };
      const biased = composeSpurious({
        ...layout,
        probabilityPerClass: bias.probabilityPerClass,
        defaultProbability: bias.defaultProbability,
      });
      out.push({ kind: 'biased', dataset: biased.dataset, record: biased.record, identity: { dataset: c.source.dataset, bias } });
      if (c.source.control) {
        // Same marginal attribute rate, independent of the class.
        const attrs = biased.dataset.attributes ?? new Uint8Array(0);
        let on = 0;
        for (const a of attrs) on += a;
        const rate = attrs.length === 0 ? 0 : on / attrs.length;
        const clean = composeSpurious({ ...layout, probabilityPerClass: {}, defaultProbability: rate });
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
  train: ImageDataset;
  /** Test sets by condition; always has 'clean'. */
  conditions: Map<string, ImageDataset>;
  /** Which condition each non-clean condition is compared with. */
  baseline: Map<string, string>;
  /** For patch conditions: a human description. */
  describe: Map<string, string>;
  numClasses: number;
  classes: readonly string[];
  /** Example patches (for the report). */
  patches: { condition: string; patch: Patch }[];
}

/**
 * Loads a target and builds its evaluation conditions. For a spurious source with a canvas the
 * target is put on the same canvas (without the attribute for training; with and without it for
 * the subgroup test).
 */
export function prepareTarget(ctx: PrepareContext, targetIndex: number, seed: number, source: ImageDataset): TargetData {
  const c = ctx.config;
  const t = c.targets[targetIndex];
  let train = loadConfiguredDataset(t.dataset, ctx.configDir, seed, `target/${t.name}/train`);
  let test = loadConfiguredDataset(t.testDataset, ctx.configDir, seed, `target/${t.name}/test`);
  const conditions = new Map<string, ImageDataset>();
  const baseline = new Map<string, string>();
  const describe = new Map<string, string>();
  const patches: TargetData['patches'] = [];
  const bias = c.source.bias;
  if (bias.kind === 'spurious') {
    const attribute = attributeFor(bias, ctx, seed);
    const canvas = canvasOf(bias, source);
    train = composeSpurious({ main: train, attribute, canvas, attributeScale: bias.attributeScale, seed, defaultProbability: 0 }).dataset;
    const both = composeBoth({ main: test, attribute, canvas, attributeScale: bias.attributeScale, seed: seed + 1 });
    test = both.withoutAttribute;
    conditions.set('clean', test);
    conditions.set('with_attribute', both.withAttribute);
    baseline.set('with_attribute', 'clean');
    describe.set('with_attribute', 'the attribute object composed into every test image');
  } else conditions.set('clean', test);

  const trig = evaluationTrigger(ctx);
  if (trig !== null) {
    conditions.set('triggered', triggerTestSet(test, trig, seed).dataset);
    baseline.set('triggered', 'clean');
    describe.set('triggered', `the ${trig.kind} trigger pasted on every test image`);
  }
  const probes = c.evaluation.patches;
  const built: (Patch | null)[] = [];
  probes.forEach((p, i) => {
    if (p.kind === 'class-patch') {
      const patch = classPatch(source, p.sourceClass, { mode: p.mode, size: p.size, seed });
      built[i] = patch;
    } else built[i] = null;
  });
  probes.forEach((p, i) => {
    let patch: Patch;
    let position;
    let label: string;
    if (p.kind === 'class-patch') {
      patch = built[i]!;
      position = p.position;
      const cls = typeof p.sourceClass === 'number' ? source.classes[p.sourceClass] : p.sourceClass;
      label = `patch of source class '${cls}' (${p.mode}, ${p.size}px)`;
    } else {
      const like = probes[p.like];
      if (like.kind !== 'class-patch') throw new Error(`evaluation.patches.${i}.like must name a class-patch probe`);
      patch = neutralPatch(built[p.like]!);
      position = like.position;
      label = `neutral grey patch mirroring probe ${p.like}`;
    }
    const name = `patch${i}`;
    conditions.set(name, pastePatch(test, patch, { position, seed: seed + 7 }).dataset);
    baseline.set(name, 'clean');
    describe.set(name, label);
    patches.push({ condition: name, patch });
  });
  return { name: t.name, train, conditions, baseline, describe, numClasses: train.classes.length, classes: train.classes, patches };
}

/** Per-channel normalisation statistics of the source training data (used for every stage). */
export function normalisation(ds: ImageDataset): { mean: number[]; std: number[] } {
  const s = channelStats(ds);
  return { mean: [...s.mean], std: [...s.std].map((v) => Math.max(v, 1e-3)) };
}
