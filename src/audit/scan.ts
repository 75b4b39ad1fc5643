/**
 * One backbone's scan statistics: the headless trigger search(es) on its features and, when it
 * has a source head, one Neural-Cleanse-style inversion per class through that head. The same
 * function scans the backbone under audit and each clean reference, so their numbers compare.
 */
import { batchSpecFor } from '../data/index.js';
import type { ImageDataset } from '../data/types.js';
import type { Classifier } from '../nn/index.js';
import type { Tensor } from '../torch/index.js';
import { predict } from '../train/data.js';
import {
  classObjective,
  collapseObjective,
  invertTrigger,
  withFrozen,
  type CollapseMeasure,
  type FeatureLayer,
  type Normalisation,
} from './search.js';
import type { RecoveredTrigger } from './trigger.js';

/** One headless search setting. */
export interface HeadlessSetting {
  /** `features` (the backbone's output, what a transfer head sees) or a block name. */
  readonly layer: FeatureLayer;
  readonly measure: CollapseMeasure;
  /** Collapse to reach, e.g. 0.8. */
  readonly target: number;
}

/** The default headless setting: centred cosine similarity of the backbone's output, 0.8 (see README "scan" for the measurements behind it). */
export const DEFAULT_HEADLESS: HeadlessSetting = { layer: 'features', measure: 'centred-cosine', target: 0.8 };

/** Settings of `scanModel`. */
export interface ScanSettings {
  /** Headless searches to run (default [DEFAULT_HEADLESS]). The first one enters the verdict. */
  readonly headless?: readonly HeadlessSetting[];
  /** Steps per headless search (default 200). */
  readonly headlessSteps?: number;
  /** Run the per-class inversion through the checkpoint's head (default true). */
  readonly perClass?: boolean;
  /** Steps per class (default 100). */
  readonly classSteps?: number;
  /** Share of images sent to the class that counts as success (default 0.9). */
  readonly classTarget?: number;
  /** Images per step (default 64). */
  readonly batchSize?: number;
  /** Seed of every search (default 0). */
  readonly seed?: number;
  /** Progress: what is being searched and how far. */
  readonly onProgress?: (what: string, step: number, steps: number) => void;
}

/** `ScanSettings` with every default filled in (what a cache key must hold); no progress callback. */
export type ResolvedScanSettings = Required<Omit<ScanSettings, 'onProgress' | 'headless'>> & {
  readonly headless: readonly HeadlessSetting[];
};

/** Fills in the defaults of `ScanSettings` (the values `scanModel` uses). */
export function resolveScanSettings(s: ScanSettings = {}): ResolvedScanSettings {
  return {
    headless: (s.headless ?? [DEFAULT_HEADLESS]).map((h) => ({ layer: h.layer, measure: h.measure, target: h.target })),
    headlessSteps: s.headlessSteps ?? 200,
    perClass: s.perClass ?? true,
    classSteps: s.classSteps ?? 100,
    classTarget: s.classTarget ?? 0.9,
    batchSize: s.batchSize ?? 64,
    seed: s.seed ?? 0,
  };
}

/** What one headless search found. */
export interface HeadlessFinding extends HeadlessSetting {
  readonly maskFraction: number;
  /** Collapse reached by the returned trigger on all scan images. */
  readonly similarity: number;
  readonly reached: boolean;
  readonly trigger: RecoveredTrigger;
}

/** What the inversion toward one class found. */
export interface ClassFinding {
  readonly cls: number;
  readonly name: string;
  readonly maskFraction: number;
  /** Share of the scan images (not already predicted as cls) sent to cls. */
  readonly success: number;
  readonly reached: boolean;
  readonly trigger: RecoveredTrigger;
}

/**
 * How a class is named to people in every line, caption and table: `class Dress`, or `class 3`
 * when the class has no name but its index. The one formatter of a class for the CLI, the PNG
 * captions and report.json's reasoning.
 *
 * @example classLabel(3, 'Dress') === 'class Dress'; classLabel(3, '3') === 'class 3'
 */
export function classLabel(cls: number, name: string): string {
  return name === '' || name === String(cls) ? `class ${cls}` : `class ${name}`;
}

/** Everything `scanModel` measured on one backbone. */
export interface ScanStatistics {
  readonly headless: HeadlessFinding[];
  /** Empty when per-class inversion is off. */
  readonly classes: ClassFinding[];
}

/**
 * Scans `model` with the scan images `x01` ([N, C, H, W] in 0..1, the same images for every
 * backbone compared). `data` is the same images as a dataset (for the model's clean predictions);
 * `classNames` names the head's classes (default the indices).
 */
export async function scanModel(
  model: Classifier,
  x01: Tensor,
  data: ImageDataset,
  norm: Normalisation,
  settings: ScanSettings = {},
  classNames?: readonly string[],
): Promise<ScanStatistics> {
  const headless: HeadlessFinding[] = [];
  const classes: ClassFinding[] = [];
  const r0 = resolveScanSettings(settings);
  const { seed, batchSize } = r0;
  await withFrozen(model, async () => {
    for (const h of r0.headless) {
      const obj = collapseObjective(model, x01, norm, h);
      try {
        const steps = r0.headlessSteps;
        const what = `headless ${h.measure} at ${h.layer}`;
        const r = await invertTrigger(x01, norm, obj, {
          steps,
          batchSize,
          seed,
          onStep: (s) => settings.onProgress?.(what, s.step, s.steps),
        });
        headless.push({ ...h, maskFraction: r.maskFraction, similarity: r.score, reached: r.reached, trigger: r.trigger });
      } finally {
        obj.dispose();
      }
    }
    if (r0.perClass) {
      const preds = predict((x) => model.forward(x), data, batchSpecFor(data, norm)).preds;
      const k = model.spec.numClasses;
      for (let c = 0; c < k; c++) {
        const obj = classObjective(model, c, preds, r0.classTarget);
        const name = classNames?.[c] ?? String(c);
        if ((obj.indices?.length ?? 0) < 2) continue;
        const r = await invertTrigger(x01, norm, obj, {
          steps: r0.classSteps,
          batchSize,
          seed: seed + 1 + c,
          onStep: (s) => settings.onProgress?.(classLabel(c, name), s.step, s.steps),
        });
        classes.push({ cls: c, name, maskFraction: r.maskFraction, success: r.score, reached: r.reached, trigger: r.trigger });
      }
    }
  });
  return { headless, classes };
}
