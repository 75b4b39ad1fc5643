/** The `serve` web app: experiments, runs, live progress, reports and comparisons in the browser. */
export { buildServer, startServer, isLoopback, type ServeOptions, type RunningServer } from './app.js';
export { ResultsReader, type CodeVersion, type RunQuery, type MetricQuery } from '../store/reader.js';
export { resolveInRoot, realRoot, HttpError, SERVED_TYPES } from './paths.js';
export { readProgress, type ProgressChunk } from './progress.js';
export {
  buildComparison,
  comparisonCharts,
  comparisonCsv,
  sweepPoints,
  HEADLINE_METRICS,
  type Comparison,
  type CompareItem,
} from './compare.js';
