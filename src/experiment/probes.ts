/**
 * Natural-bias probes of an experiment (`evaluation.patches`): crops or class means of a class of
 * the source or of any reference dataset, PNG stencils with a mask or alpha, and for every probe
 * a neutral patch of the same shape and mean brightness (given explicitly with `kind: neutral`,
 * or added automatically as condition `patch<i>-neutral`).
 */
import { isAbsolute, resolve } from 'node:path';
import { isStreamed, type AnyDataset, type ImageDataset } from '../data/types.js';
import {
  classPatch,
  exampleGridPng,
  gridImages,
  maskedMean,
  neutralPatch,
  renderTrigger,
  type GridRow,
  type OverlayPosition,
  type Patch,
} from '../bias/index.js';
import type { ReportImage } from '../report/index.js';
import { neutralName, probeName } from './probe-names.js';
import type { ExperimentConfig, PatchProbeSpec, Position } from './config/index.js';

/** One probe condition, ready to paste. */
export interface BuiltProbe {
  /** Condition name: `patch<i>` for `evaluation.patches[i]`, `patch<i>-neutral` for an automatic neutral. */
  condition: string;
  /** What the probe is, for reports ("3 crop", "neutral grey like 3 crop"; ./probe-names.ts). */
  label: string;
  patch: Patch;
  position: Position;
  /** For a neutral patch: the condition of the probe it mirrors; null for a probe. */
  neutralOf: string | null;
}

/** Where relative probe paths resolve, and how reference datasets are loaded. */
export interface ProbeContext {
  config: ExperimentConfig;
  configDir: string;
  /** Loads a dataset spec (the experiment's loader, with its cache and limit rules). */
  load: (spec: NonNullable<Extract<PatchProbeSpec, { kind: 'class-patch' }>['dataset']>, label: string) => ImageDataset;
}

/**
 * Builds every probe of `evaluation.patches` for one seed (the crop image is a seeded choice),
 * plus an automatic neutral for each probe that has no explicit one. `source` is the source
 * dataset (needed by class-patch probes without their own `dataset`). Errors name the probe's
 * config key.
 *
 * @example buildProbes(ctx, 0, mnistTrain) // [{ condition: 'patch0', label: '3 crop', ... }, { condition: 'patch0-neutral', ... }]
 */
export function buildProbes(ctx: ProbeContext, seed: number, source: AnyDataset | null): BuiltProbe[] {
  const probes = ctx.config.evaluation.patches;
  const out: BuiltProbe[] = [];
  const built = new Map<number, BuiltProbe>();
  const refs = new Map<number, AnyDataset | null>();
  const name = (i: number) => probeName(probes, i, (j) => (refs.get(j) ?? source)?.classes ?? []);
  probes.forEach((p, i) => {
    const key = `evaluation.patches[${i}]`;
    if (p.kind === 'neutral') return;
    let patch: Patch;
    let ref: AnyDataset | null = null;
    try {
      if (p.kind === 'class-patch') {
        if (p.dataset !== null) {
          ref = ctx.load(p.dataset, `probe/${i}`);
        } else ref = source;
        refs.set(i, ref);
        if (ref === null) throw new Error('needs a `dataset` (the source has no dataset to crop from)');
        if (isStreamed(ref))
          throw new Error(`cannot crop from '${ref.name}', which is streamed: give the probe a small in-memory \`dataset\``);
        patch = classPatch(ref, p.sourceClass, { mode: p.mode, size: p.size, seed });
      } else {
        const path = isAbsolute(p.path) ? p.path : resolve(ctx.configDir, p.path);
        const maskPath = p.maskPath === null ? undefined : isAbsolute(p.maskPath) ? p.maskPath : resolve(ctx.configDir, p.maskPath);
        const channels = ctx.config.source.pretrained?.channels ?? source?.c ?? 3;
        const r = renderTrigger(
          { kind: 'image', path, maskPath, size: p.size, position: p.position as OverlayPosition, opacity: 1 },
          { c: channels, h: p.size, w: p.size },
          `${key}`,
        );
        patch = {
          ...r,
          source: { kind: 'stencil', file: path, ...(maskPath ? { maskFile: maskPath } : {}), meanBrightness: maskedMean(r) },
        };
      }
    } catch (e) {
      throw new Error(`${key}: ${(e as Error).message}`);
    }
    const b: BuiltProbe = { condition: `patch${i}`, label: name(i), patch, position: p.position, neutralOf: null };
    built.set(i, b);
  });
  probes.forEach((p, i) => {
    if (p.kind !== 'neutral') {
      out.push(built.get(i)!);
      return;
    }
    const like = built.get(p.like);
    if (like === undefined) throw new Error(`evaluation.patches[${i}].like: ${p.like} is not the index of a class-patch or image probe`);
    out.push({
      condition: `patch${i}`,
      label: name(i),
      patch: neutralPatch(like.patch),
      position: like.position,
      neutralOf: like.condition,
    });
  });
  const mirrored = new Set(out.filter((b) => b.neutralOf !== null).map((b) => b.neutralOf));
  for (const b of [...built.values()])
    if (!mirrored.has(b.condition))
      out.push({
        condition: `${b.condition}-neutral`,
        label: neutralName(b.label),
        patch: neutralPatch(b.patch),
        position: b.position,
        neutralOf: b.condition,
      });
  return out;
}

/**
 * Pictures for the probe-bank section: for every probe with a neutral twin, the first six test
 * images of a target clean, with the probe, and with its neutral twin (condition → PNG).
 */
export function probeExampleImages(t: {
  name: string;
  conditions: ReadonlyMap<string, AnyDataset>;
  neutralOf: ReadonlyMap<string, string>;
  describe: ReadonlyMap<string, string>;
}): Record<string, ReportImage> {
  const out: Record<string, ReportImage> = {};
  const clean = t.conditions.get('clean');
  if (clean === undefined) return out;
  const idx = Array.from({ length: Math.min(6, clean.n) }, (_, i) => i);
  for (const [neutral, probe] of t.neutralOf) {
    const p = t.conditions.get(probe);
    const n = t.conditions.get(neutral);
    if (p === undefined || n === undefined) continue;
    const rows: GridRow[] = [
      { label: 'clean', images: gridImages(clean, idx) },
      { label: 'probe', images: gridImages(p, idx) },
      { label: 'neutral', images: gridImages(n, idx) },
    ];
    out[probe] = {
      png: exampleGridPng(rows, { scale: 3 }),
      caption: `${t.describe.get(probe) ?? probe} on test images of ${t.name}, and its neutral twin (${t.describe.get(neutral) ?? neutral}).`,
    };
  }
  return out;
}
