/**
 * The results folder layout, in one place:
 *
 *   ROOT/index.sqlite                 runs, metrics and job claims (SQLite, WAL)
 *   ROOT/runs/<runId>/config.json     the resolved config of the run
 *   ROOT/runs/<runId>/meta.json       code version, package versions, seeds, runtime versions
 *   ROOT/runs/<runId>/logs/           run.log and progress.jsonl (training progress events)
 *   ROOT/runs/<runId>/checkpoints/    weights (safetensors)
 *   ROOT/runs/<runId>/predictions/    per-sample predictions
 *   ROOT/runs/<runId>/metrics.json    every metric row of the run (also metrics.csv)
 *   ROOT/runs/<runId>/report.html     the run's report
 *   ROOT/cache/models/<key>/          cached source models, keyed by a content hash
 */
import * as path from 'node:path';

/** Absolute paths of one run's folder and files. */
export interface RunPaths {
  readonly dir: string;
  readonly config: string;
  readonly meta: string;
  readonly logs: string;
  readonly log: string;
  /** logs/progress.jsonl: every training progress event, one JSON line each (followed live by `serve`). */
  readonly progress: string;
  readonly checkpoints: string;
  readonly predictions: string;
  readonly metricsJson: string;
  readonly metricsCsv: string;
  readonly report: string;
}

const SAFE_ID = /^[A-Za-z0-9][A-Za-z0-9._=,+-]*$/;

/** Throws unless `id` is safe as a single folder name (no '/', no '..', no spaces). */
export function assertSafeId(id: string, what: string): void {
  if (!SAFE_ID.test(id) || id.includes('..') || id.length > 200) {
    throw new Error(`invalid ${what} '${id}': use letters, digits and . _ = , + - (at most 200 characters, not starting with a symbol)`);
  }
}

/** Paths of run `runId` under results root `root`. */
export function runPaths(root: string, runId: string): RunPaths {
  assertSafeId(runId, 'run id');
  const dir = path.join(path.resolve(root), 'runs', runId);
  return {
    dir,
    config: path.join(dir, 'config.json'),
    meta: path.join(dir, 'meta.json'),
    logs: path.join(dir, 'logs'),
    log: path.join(dir, 'logs', 'run.log'),
    progress: path.join(dir, 'logs', 'progress.jsonl'),
    checkpoints: path.join(dir, 'checkpoints'),
    predictions: path.join(dir, 'predictions'),
    metricsJson: path.join(dir, 'metrics.json'),
    metricsCsv: path.join(dir, 'metrics.csv'),
    report: path.join(dir, 'report.html'),
  };
}

/** Folder holding the cached source models. */
export function modelCacheDir(root: string): string {
  return path.join(path.resolve(root), 'cache', 'models');
}

/** Path of the SQLite index. */
export function indexPath(root: string): string {
  return path.join(path.resolve(root), 'index.sqlite');
}
