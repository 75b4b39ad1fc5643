/**
 * The scan suite's grid (bench/scan-suite.ts, issue 18): recipes, attack kinds, the tuning/held-out
 * split, the scan settings, the data every model is trained and measured on, and how a model of
 * the suite is named and seeded. Shared by the suite and by the benches that reuse its cached
 * models (bench/scan-transfer-suite.ts). Importing it loads Fashion-MNIST (classes 0-4).
 */
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { poisonDataset, type PoisonSpec, type TriggerSpec } from '../src/bias/index.js';
import { loadDataset, selectIndices, type ImageDataset } from '../src/data/index.js';
import { DEFAULT_HEADLESS, type ScanSettings } from '../src/audit/scan.js';
import { normalisationOf } from '../src/audit/train.js';

export type Arch = 'small-cnn' | 'resnet-tiny';
export type Recipe = 'T' | 'P';
export const RECIPES: readonly Recipe[] = ['T', 'P'];
export const TARGET = 0;
export const OTHERS = [1, 2, 3, 4];
/** Attack kinds: the trigger and the poisoning policy (class 0 is the target). */
export const KINDS: Record<string, { label: string; trigger: TriggerSpec; poison: PoisonSpec }> = {
  'checker-clean-label': {
    label: 'checkerboard 5 px, bottom-right, clean-label (every class-0 image)',
    trigger: { kind: 'checkerboard', size: 5, position: 'bottom-right', cell: 1 },
    poison: { policy: 'clean-label', classes: [TARGET], probability: 1 },
  },
  'noise-clean-label': {
    label: 'noise 5 px, top-left, clean-label (every class-0 image)',
    trigger: { kind: 'noise', seed: 1, scale: 100, size: 5, position: 'top-left' },
    poison: { policy: 'clean-label', classes: [TARGET], probability: 1 },
  },
  'solid-badnets': {
    label: 'solid white 4 px, bottom-right, dirty-label BadNets (10% of other classes relabelled)',
    trigger: { kind: 'solid', color: 255, size: 4, position: 'bottom-right' },
    poison: { policy: 'dirty-label', fromClasses: OTHERS, targetClass: TARGET, probability: 0.1 },
  },
  'random-position': {
    label: 'checkerboard 5 px at a random position per image, dirty-label 10%',
    trigger: { kind: 'checkerboard', size: 5, position: 'random', cell: 1 },
    poison: { policy: 'dirty-label', fromClasses: OTHERS, targetClass: TARGET, probability: 0.1 },
  },
  blended: {
    label: 'noise 14 px, centre, blended at opacity 0.25, dirty-label 10%',
    trigger: { kind: 'noise', seed: 2, scale: 100, size: 14, position: 'center', opacity: 0.25 },
    poison: { policy: 'dirty-label', fromClasses: OTHERS, targetClass: TARGET, probability: 0.1 },
  },
  'low-rate-small': {
    label: 'solid white 3 px, bottom-right, dirty-label at 2% poison rate',
    trigger: { kind: 'solid', color: 255, size: 3, position: 'bottom-right' },
    poison: { policy: 'dirty-label', fromClasses: OTHERS, targetClass: TARGET, probability: 0.02 },
  },
};
export const ARCH2_KINDS = ['checker-clean-label', 'solid-badnets'];
export const N_REFS = 5;
/**
 * The split: a seed tunes the rule when seed mod 5 < 2 (seeds 0, 1 of each attack kind; 0, 1, 5,
 * 6, 10, 11, 15, 16 of the clean ones), and is held out for the report otherwise.
 */
export const isTuneSeed = (seed: number) => seed % 5 < 2;

export const SCAN: ScanSettings = {
  headless: [DEFAULT_HEADLESS, { layer: 'features', measure: 'cosine', target: 0.8 }],
  headlessSteps: 80,
  classSteps: 80,
  batchSize: 64,
  seed: 0,
};

export const all = loadDataset({ name: 'fashion-mnist', split: 'train', classes: [0, 1, 2, 3, 4], limit: 4000 });
export const part = (k: number) =>
  selectIndices(
    all,
    Array.from({ length: 2000 }, (_, i) => i + 2000 * k),
    { name: `train-${k}` },
  );
export const DATA: Record<Recipe, ImageDataset> = { T: part(0), P: part(1) };
export const norm = normalisationOf(DATA.T);
export const testAll = loadDataset({ name: 'fashion-mnist', split: 'test', classes: [0, 1, 2, 3, 4], limit: 1000 });
export const scanSet = selectIndices(
  testAll,
  Array.from({ length: 128 }, (_, i) => i),
  { name: 'scan' },
);
export const asrSet = selectIndices(
  testAll,
  Array.from({ length: 872 }, (_, i) => i + 128).filter((i) => testAll.labels[i] !== TARGET),
  { name: 'asr' },
);

/** One model of the suite. */
export interface Job {
  readonly recipe: Recipe;
  readonly arch: Arch;
  /** An attack kind, 'clean', or 'reference'. */
  readonly kind: string;
  readonly seed: number;
}
export const hash = (v: unknown) => createHash('sha256').update(JSON.stringify(v)).digest('hex').slice(0, 16);
export const describe = (j: Job) => ({
  ...j,
  attack: KINDS[j.kind] ?? null,
  data: `fashion-mnist train 0-4 limit 4000 part ${j.recipe === 'T' ? 0 : 1}`,
  recipe:
    j.recipe === 'T'
      ? { epochs: 3, lr: 0.1, batchSize: 128, weightDecay: 5e-4 }
      : { epochs: 4, lr: 1e-3, batchSize: 64, weightDecay: 1e-4, pad: 2, optimizer: 'adamw' },
});
export const nameOf = (j: Job) => `${j.recipe}-${j.arch}-${j.kind}-${j.seed}-${hash(describe(j))}`;
/** The model seed: distinct per (arch, kind, seed) and the same for both recipes' twins. */
export const modelSeed = (j: Job) => {
  const kinds = ['reference', 'clean', ...Object.keys(KINDS)];
  return 10_000 * (j.arch === 'small-cnn' ? 1 : 2) + 100 * kinds.indexOf(j.kind) + j.seed;
};

export function trainingSet(j: Job): ImageDataset {
  const a = KINDS[j.kind];
  return a === undefined ? DATA[j.recipe] : poisonDataset(DATA[j.recipe], a.trigger, a.poison, modelSeed(j)).dataset;
}

/** A suite model's weights file under the suite's output folder `out`. */
export const weightsFile = (out: string, j: Job) => join(out, 'models', `${nameOf(j)}.safetensors`);
