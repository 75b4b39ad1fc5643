/**
 * Training the models an audit needs but does not have: clean reference backbones of the scanned
 * architecture (and, in the proof driver, backdoored sources with their clean twins). One seeded
 * recipe over src/train's trainer, so the same (data, spec, seed) always gives the same weights.
 */
import { batchSpecFor, channelStats, makeBatch, type ImageDataset } from '../data/index.js';
import { createModel, saveModel, type Classifier, type ModelSpec } from '../nn/index.js';
import { manualSeed, type Tensor } from '../torch/index.js';
import { accuracyOf, datasetSource, predict } from '../train/data.js';
import { prepareTransfer } from '../train/transfer.js';
import { train, type ProgressEvent } from '../train/trainer.js';
import type { Normalisation } from './search.js';

/** Metadata key under which audit-trained weights record the input normalisation (JSON `{mean, std}`). */
export const NORMALISATION_KEY = 'normalisation';

/** How to train a reference or source model. */
export interface TrainRecipe {
  /** Epochs over the training set (default 3). */
  readonly epochs?: number;
  /** Default 128. */
  readonly batchSize?: number;
  /** SGD (momentum 0.9) peak learning rate with a linear warm-up/decay over one epoch (default 0.1). */
  readonly lr?: number;
  /** SGD weight decay (default 5e-4). */
  readonly weightDecay?: number;
}

/** Per-channel normalisation of a dataset (pixel/255 units), as the experiments compute it. */
export function normalisationOf(ds: ImageDataset): Normalisation {
  return channelStats(ds);
}

/**
 * Trains a classifier of `arch` (spec without classes and channels, taken from the data) on `ds`
 * from a seeded initialisation. Returns the model in eval mode; the caller disposes it.
 *
 * @example const m = await trainClassifier(ds, { arch: 'resnet-tiny' }, norm, { epochs: 2 }, 0);
 */
export async function trainClassifier(
  ds: ImageDataset,
  arch: Omit<ModelSpec, 'numClasses' | 'inChannels'>,
  norm: Normalisation,
  recipe: TrainRecipe,
  seed: number,
  onProgress?: (e: ProgressEvent) => void,
): Promise<Classifier> {
  manualSeed(seed);
  const model = createModel({ ...arch, numClasses: ds.classes.length, inChannels: ds.c } as ModelSpec);
  const lr = recipe.lr ?? 0.1;
  const prep = prepareTransfer(model, { mode: 'scratch', lr });
  const spec = batchSpecFor(ds, norm);
  try {
    await train({
      model,
      data: datasetSource(ds, { batchSize: recipe.batchSize ?? 128, spec, seed }),
      spec: {
        epochs: recipe.epochs ?? 3,
        optimizer: { kind: 'sgd', lr, momentum: 0.9, weightDecay: recipe.weightDecay ?? 5e-4 },
        schedule: { kind: 'linear-warmup-decay', warmupEpochs: 1 },
        evalEvery: 0,
      },
      seed,
      paramGroups: prep.paramGroups,
      forward: prep.forward,
      setTraining: prep.setTraining,
      onProgress,
    });
  } catch (e) {
    model.dispose();
    throw e;
  }
  model.eval();
  return model;
}

/** Saves an audit-trained model with its normalisation in the metadata (see `NORMALISATION_KEY`). */
export function saveAuditModel(path: string, model: Classifier, norm: Normalisation, meta: Record<string, string> = {}): void {
  saveModel(path, model, { ...meta, [NORMALISATION_KEY]: JSON.stringify({ mean: norm.mean, std: norm.std }) });
}

/** Accuracy of a model on a labelled dataset (eval mode, no augmentation). */
export function accuracyOn(model: Classifier, ds: ImageDataset, norm: Normalisation): number {
  model.eval();
  return accuracyOf(predict((x) => model.forward(x), ds, batchSpecFor(ds, norm)).preds, ds.labels);
}

/** All images of `ds` (or those at `indices`) as one float tensor [N, C, H, W] in 0..1 (pixel/255). */
export function imagesTensor(ds: ImageDataset, indices?: ArrayLike<number>): Tensor {
  const idx = indices ?? Int32Array.from({ length: ds.n }, (_, i) => i);
  const c = ds.c;
  const b = makeBatch(ds, idx, { mean: new Array(c).fill(0), std: new Array(c).fill(1) });
  b.y.dispose();
  return b.x;
}
