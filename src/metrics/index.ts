/**
 * Bias metrics on plain typed arrays (predictions and labels as Int32Array class indices,
 * attributes as Uint8Array 0/1). Every rate carries its counts; undefined rates are null.
 */
export { makeRate, diffOrNull, type Rate } from './rate.js';
export { accuracy, perClassAccuracy, confusionMatrix, topKAccuracy, type LabeledPredictions, type ClassRate } from './accuracy.js';
export { untargetedAsr, targetedAsr, type TriggeredPredictions, type TargetedAsrOptions } from './asr.js';
export { subgroupAccuracy, type SubgroupAccuracy, type SubgroupRates, type SubgroupInput } from './subgroup.js';
export {
  predictionHistogram,
  totalVariation,
  klDivergence,
  histogramShift,
  shiftAgainstScratch,
  DEFAULT_KL_EPSILON,
  type PredictionHistogram,
  type HistogramShift,
  type HistogramShiftInput,
  type TargetShift,
  type AgainstScratch,
  type AgainstScratchInput,
} from './histogram.js';
export {
  bootstrap,
  bootstrapAccuracy,
  bootstrapAsr,
  bootstrapTargetedAsr,
  bootstrapSubgroupGap,
  bootstrapTvShift,
  quantileSorted,
  type BootstrapOptions,
  type BootstrapInterval,
} from './bootstrap.js';
export { aggregateSeeds, type SeedAggregate } from './seeds.js';
export { studentTQuantile, studentTCdf } from './studentT.js';
export {
  validatePredictionRecord,
  writePredictionsCsv,
  readPredictionsCsv,
  writePredictionsJson,
  readPredictionsJson,
  PREDICTIONS_JSON_FORMAT,
  type PredictionRecord,
} from './predictions.js';
export { metricsFromPredictions, type RunMetrics, type ConditionMetrics, type MetricsFromPredictionsOptions } from './fromPredictions.js';
export {
  directionalSkew,
  dominantShiftClass,
  skewExcess,
  skewContrast,
  bootstrapSkew,
  bootstrapSkewExcess,
  bootstrapSkewContrast,
  type SkewInput,
  type DirectionalSkew,
  type ProbePredictions,
  type SkewContrastInput,
  type SkewContrast,
} from './skew.js';
