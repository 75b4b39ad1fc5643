/** Every metric of a run, recomputed from its saved per-sample predictions. */
import { accuracy, confusionMatrix, perClassAccuracy, type ClassRate } from './accuracy.js';
import { targetedAsr, untargetedAsr } from './asr.js';
import {
  bootstrapAccuracy,
  bootstrapAsr,
  bootstrapSubgroupGap,
  bootstrapTargetedAsr,
  bootstrapTvShift,
  type BootstrapInterval,
  type BootstrapOptions,
} from './bootstrap.js';
import { histogramShift, type HistogramShift } from './histogram.js';
import { validatePredictionRecord, type PredictionRecord } from './predictions.js';
import type { Rate } from './rate.js';
import { subgroupAccuracy, type SubgroupAccuracy } from './subgroup.js';
import { checkClass } from './validate.js';

/** Accuracy, per-class accuracy and confusion matrix of one condition. */
export interface ConditionMetrics {
  readonly accuracy: Rate;
  readonly perClass: ClassRate[];
  /** m[true][predicted]. */
  readonly confusion: number[][];
}

/** Everything {@link metricsFromPredictions} computes; fields absent when their inputs are. */
export interface RunMetrics {
  readonly n: number;
  readonly numClasses: number;
  /** Predictions on clean test images. */
  readonly clean: ConditionMetrics;
  /** Predictions on biased (triggered / patched) test images. */
  readonly biased?: ConditionMetrics;
  /** Untargeted ASR (needs `biased`). */
  readonly asr?: Rate;
  /** Targeted ASR toward `targetClass`, conditioned on f(x) = y (needs `biased` and a target). */
  readonly targetedAsr?: Rate;
  /** Clean vs biased predicted-class histograms (needs `biased`). */
  readonly histogramShift?: HistogramShift;
  /** Clean accuracy with vs without the attribute (needs `attributes`). */
  readonly subgroup?: SubgroupAccuracy;
  /** Bootstrap intervals (when requested). */
  readonly intervals?: {
    readonly accuracy: BootstrapInterval;
    readonly asr?: BootstrapInterval;
    readonly targetedAsr?: BootstrapInterval;
    readonly subgroupGap?: BootstrapInterval;
    readonly tvShift?: BootstrapInterval;
  };
}

/** Options of {@link metricsFromPredictions}. */
export interface MetricsFromPredictionsOptions {
  /** Class the trigger/patch pushes toward; enables targeted ASR and the target share shift. */
  readonly targetClass?: number;
  /** Bootstrap intervals: options, or true for the defaults (1000 resamples, seed 0, 95%). */
  readonly bootstrap?: BootstrapOptions | boolean;
}

function condition(rec: PredictionRecord, predictions: Int32Array): ConditionMetrics {
  const p = { labels: rec.labels, predictions, numClasses: rec.numClasses };
  return { accuracy: accuracy(p), perClass: perClassAccuracy(p), confusion: confusionMatrix(p) };
}

/**
 * Recomputes every metric from a {@link PredictionRecord}: accuracy (clean and biased), ASR,
 * targeted ASR, histogram shift, subgroup accuracies and, optionally, bootstrap intervals.
 * @example metricsFromPredictions(readPredictionsCsv('run/predictions.csv'), { targetClass: 0, bootstrap: true })
 */
export function metricsFromPredictions(rec: PredictionRecord, opts: MetricsFromPredictionsOptions = {}): RunMetrics {
  validatePredictionRecord(rec, 'metricsFromPredictions');
  const t = opts.targetClass;
  if (t !== undefined) checkClass('metricsFromPredictions', 'targetClass', t, rec.numClasses);
  const bs: BootstrapOptions | undefined = opts.bootstrap === true ? {} : opts.bootstrap || undefined;
  const trig = rec.biased ? { labels: rec.labels, clean: rec.clean, triggered: rec.biased } : undefined;
  const out: {
    -readonly [K in keyof RunMetrics]: RunMetrics[K];
  } = { n: rec.labels.length, numClasses: rec.numClasses, clean: condition(rec, rec.clean) };
  if (rec.biased && trig) {
    out.biased = condition(rec, rec.biased);
    out.asr = untargetedAsr(trig);
    if (t !== undefined) out.targetedAsr = targetedAsr(trig, { targetClass: t });
    out.histogramShift = histogramShift({ clean: rec.clean, patched: rec.biased, numClasses: rec.numClasses, targetClass: t });
  }
  if (rec.attributes) {
    out.subgroup = subgroupAccuracy({ labels: rec.labels, predictions: rec.clean, attributes: rec.attributes, numClasses: rec.numClasses });
  }
  if (bs) {
    out.intervals = {
      accuracy: bootstrapAccuracy({ labels: rec.labels, predictions: rec.clean }, bs),
      ...(trig ? { asr: bootstrapAsr(trig, bs) } : {}),
      ...(trig && t !== undefined ? { targetedAsr: bootstrapTargetedAsr(trig, { targetClass: t }, bs) } : {}),
      ...(rec.attributes
        ? {
            subgroupGap: bootstrapSubgroupGap(
              { labels: rec.labels, predictions: rec.clean, attributes: rec.attributes, numClasses: rec.numClasses },
              bs,
            ),
          }
        : {}),
      ...(rec.biased ? { tvShift: bootstrapTvShift({ clean: rec.clean, patched: rec.biased, numClasses: rec.numClasses }, bs) } : {}),
    };
  }
  return out;
}
