/**
 * Evaluation of a backbone with its own head on a labelled dataset, before trusting an audit of
 * it: top-1 (with a 95% bootstrap interval) and top-5 accuracy, per-class accuracy under the
 * dataset's class names, and the confusion matrix, every rate with its counts. The dataset is
 * loaded as an experiment loads it (`loadExperimentDataset`: in memory, or streamed from the shard
 * cache when the spec says `stream: true`), the model as a pretrained source
 * is (the spec stored in the weights file, F16/BF16 widened exactly), and the images go through
 * the same batch transform as an experiment's evaluation (`predict` with a BatchSpec).
 */
import type { BatchSpec } from '../data/index.js';
import type { DatasetSpec } from '../experiment/config/index.js';
import { loadExperimentDataset, normalisation } from '../experiment/prepare.js';
import { bootstrapAccuracy, confusionMatrix, perClassAccuracy, accuracy, topKAccuracy, type Rate } from '../metrics/index.js';
import { createModel, loadModel, readModelSpec, type ModelSpec } from '../nn/index.js';
import { describeCast } from '../torch/index.js';
import { predict } from '../train/data.js';

/** ImageNet's normalisation as torchvision's pretrained models expect it (0..1 pixel units). */
export const IMAGENET_NORM = { mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] } as const;

/** What to evaluate and how to feed it. */
export interface EvaluateOptions {
  /** A weights file holding its model spec (written by `model import`, `model export` or a run). */
  weights: string;
  /** The dataset, as an experiment config names it (relative paths resolve against `baseDir`). */
  dataset: DatasetSpec;
  /** Folder relative dataset paths resolve against (the CLI's working directory). */
  baseDir: string;
  /** Seed of `dataset.limit`'s class-stratified subset and of the bootstrap; default 0. */
  seed?: number;
  /** Per-channel mean and std in 0..1 pixel units; default the evaluated data's own statistics. */
  norm?: { mean: number[]; std: number[] };
  /** Input [height, width] (bilinear resize); default the dataset's. */
  size?: [number, number];
  /** Images per forward pass; default 256. */
  batchSize?: number;
  /** Bootstrap resamples of the top-1 interval; default 1000. */
  resamples?: number;
  /** Shard cache folder of a streamed dataset (`dataset.stream`); default `resolveCacheRoot()`. */
  cacheRoot?: string;
  /** Progress lines of a shard cache build. */
  log?: (line: string) => void;
}

/** Accuracy of one class, under its dataset name. */
export interface ClassAccuracy extends Rate {
  /** Class index (the head's output row and the dataset label). */
  readonly index: number;
  /** The dataset's name of the class. */
  readonly name: string;
}

/** What `evaluateWeights` measures (also `evaluate --json`'s output). */
export interface EvaluationReport {
  weights: { file: string; spec: ModelSpec; cast: string | null };
  data: { name: string; n: number; shape: [number, number, number]; classes: string[] };
  /** The batch transform every image went through; `normFrom` says where mean/std came from. */
  preprocessing: { size: [number, number]; channels: number; mean: number[]; std: number[]; normFrom: 'given' | 'data' };
  /** Share of images whose arg-max class is the label, with its 95% bootstrap percentile interval. */
  top1: Rate & { interval: { lo: number | null; hi: number | null; level: number; resamples: number; seed: number } };
  /** Share of images whose label is among the 5 highest logits; null with fewer than 5 classes. */
  top5: Rate | null;
  perClass: ClassAccuracy[];
  /** Counts: `confusion[true][predicted]`. */
  confusion: number[][];
}

/**
 * Loads the weights and the dataset, predicts every image, and measures the model on it. Throws
 * an error naming the file when the head's class count differs from the dataset's, or the
 * model's input channels cannot take the images.
 * @example evaluateWeights({ weights: 'r18.safetensors', dataset, baseDir: process.cwd(), norm: IMAGENET_NORM }).top1.rate
 */
export function evaluateWeights(opts: EvaluateOptions): EvaluationReport {
  const seed = opts.seed ?? 0;
  let spec: ModelSpec;
  try {
    spec = readModelSpec(opts.weights);
  } catch (e) {
    const msg = (e as Error).message;
    throw new Error(
      /no 'model_spec' metadata/.test(msg)
        ? `${opts.weights}: a bare state dict with no model spec; bring it in first with: bias-transfer model import ${opts.weights} --arch ARCH --out imported.safetensors`
        : msg,
    );
  }
  const channels = spec.inChannels;
  if (channels !== 1 && channels !== 3) throw new Error(`${opts.weights}: the model takes ${channels} input channels; images have 1 or 3`);
  // The images are converted to the model's channels on load, as a config's `channels` does.
  const ds = loadExperimentDataset({ ...opts.dataset, channels: opts.dataset.channels ?? channels }, opts.baseDir, seed, 'evaluate', {
    cacheRoot: opts.cacheRoot,
    log: opts.log,
  });
  if (spec.numClasses !== ds.classes.length)
    throw new Error(
      `${opts.weights}: the head has ${spec.numClasses} classes but the dataset '${ds.name}' has ${ds.classes.length} ` +
        `(${ds.classes.slice(0, 12).join(', ')}${ds.classes.length > 12 ? ', ...' : ''}); ` +
        `select the head's classes in its order with --classes`,
    );
  if (ds.n === 0) throw new Error(`the dataset '${ds.name}' has no images`);
  const norm = opts.norm ?? normalisation(ds);
  const normFrom = opts.norm === undefined ? 'data' : 'given';
  if (norm.mean.length !== channels || norm.std.length !== channels)
    throw new Error(`mean and std need ${channels} value(s) (the model's input channels), got ${norm.mean.length} and ${norm.std.length}`);
  const size = opts.size ?? [ds.h, ds.w];
  const batch: BatchSpec = { mean: norm.mean, std: norm.std, size, channels: channels as 1 | 3 };

  const model = createModel(spec);
  let logits: Float32Array;
  let preds: Int32Array;
  let cast: string | null;
  try {
    cast = describeCast(loadModel(opts.weights, model, { strict: true }).cast);
    model.eval();
    const p = predict((x) => model.forward(x), ds, batch, { batchSize: opts.batchSize ?? 256, keepLogits: true });
    logits = p.logits!;
    preds = p.preds;
  } finally {
    model.dispose();
  }
  const k = ds.classes.length;
  const labeled = { labels: ds.labels, predictions: preds, numClasses: k };
  const top1 = accuracy(labeled);
  const resamples = opts.resamples ?? 1000;
  const ci = bootstrapAccuracy(labeled, { resamples, seed, alpha: 0.05 });
  return {
    weights: { file: opts.weights, spec, cast },
    data: { name: ds.name, n: ds.n, shape: [ds.c, ds.h, ds.w], classes: [...ds.classes] },
    preprocessing: { size: [size[0], size[1]], channels, mean: [...norm.mean], std: [...norm.std], normFrom },
    top1: { ...top1, interval: { lo: ci.lo, hi: ci.hi, level: 0.95, resamples, seed } },
    top5: k >= 5 ? topKAccuracy({ logits, labels: ds.labels, numClasses: k, k: 5 }) : null,
    perClass: perClassAccuracy(labeled).map((r) => ({
      index: r.cls,
      name: ds.classes[r.cls],
      rate: r.rate,
      numerator: r.numerator,
      denominator: r.denominator,
    })),
    confusion: confusionMatrix(labeled),
  };
}
