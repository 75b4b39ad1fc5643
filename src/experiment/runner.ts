/**
 * What a run (one sweep point and seed) is computed from and what it keeps: `runInputs` (the
 * source side of its data, a pure function of the config and the seed) and `storeRunResults`
 * (its jobs' results → metric rows, per-sample predictions, the facts its report reads, all
 * written under the run's folder and indexed in the store). Planning and executing the jobs in
 * between is src/plan's (`runExperiment`).
 */
import { formatPercent } from '../report/format.js';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { writePredictionsCsv } from '../metrics/index.js';
import type { ExperimentConfig } from './config/index.js';
import type { MetricRow, RunRecord, RunStore } from '../store/index.js';
import type { SourceModelInfo, TransferJobResult } from './jobs.js';
import type { AnyDataset } from '../data/types.js';
import {
  sourceTestSpec,
  loadExperimentDataset,
  normalisation,
  sourceVariants,
  loadSource,
  type PrepareContext,
  type SourceVariant,
  type TargetData,
} from './prepare.js';
import { jobMetricRows } from './results.js';
import { selectMetricRows } from './metric-families.js';
import { accuracyOf } from '../train/data.js';

// Run ids and code versions live in ./run-ids.ts (re-exported here, where callers found them).
export { codeHash, runIdFor, expectedRunIds } from './run-ids.js';

/** What every job of a run (a sweep point and seed) is computed from; a pure function of the config and the seed. */
export interface RunInputs {
  sourceBase: AnyDataset;
  variants: SourceVariant[];
  /** Normalisation of every stage: the clean source's statistics (as ImageNet statistics in practice). */
  norm: { mean: number[]; std: number[] };
  geometry: { c: number; h: number; w: number };
  /** The source's test split (for source accuracy), or null when there is none. */
  sourceTest: AnyDataset | null;
}

/**
 * The inputs of a run's jobs: the source dataset, its variants, the normalisation, the geometry
 * and the source test set. The runner and a queue worker (which rebuilds them from the config
 * and seed in a job) both call this, so a job gives the same numbers wherever it runs.
 */
export function runInputs(pctx: PrepareContext, seed: number): RunInputs {
  const config = pctx.config;
  const sourceBase = loadSource(pctx, seed);
  const variants = sourceVariants(pctx, seed, sourceBase);
  const pre = config.source.pretrained;
  if (pre !== null) {
    // A pretrained backbone expects its own input: its normalisation and geometry, not the reference data's.
    const geometry = { c: pre.channels, h: pre.size[0], w: pre.size[1] };
    return { sourceBase, variants, norm: { mean: [...pre.mean], std: [...pre.std] }, geometry, sourceTest: null };
  }
  const norm = normalisation(variants.find((v) => v.kind === 'clean')?.dataset ?? variants[0].dataset);
  const geometry = { c: variants[0].dataset.c, h: variants[0].dataset.h, w: variants[0].dataset.w };
  let sourceTest: AnyDataset | null = null;
  // The source's own test split (never its training images); none for a spurious source, whose
  // test images would need the attribute composed, and none when the source has no test split.
  const testSpec = config.source.bias.kind === 'spurious' ? null : sourceTestSpec(config.source.dataset, pctx.configDir);
  if (testSpec !== null)
    sourceTest = loadExperimentDataset(testSpec, pctx.configDir, seed, 'source/test', { cacheRoot: pctx.cacheRoot, log: pctx.log });
  return { sourceBase, variants, norm, geometry, sourceTest };
}

/** What `storeRunResults` is given: a run's data and its jobs' results, in the order a single process does them. */
export interface RunResults {
  config: ExperimentConfig;
  seed: number;
  variants: readonly SourceVariant[];
  /** The source model of each variant (same order as `variants`). */
  sources: readonly SourceModelInfo[];
  /** Every target's data (config order). */
  targets: readonly TargetData[];
  /** Every transfer job's result: per target, scratch first, then each variant in each mode. */
  jobs: readonly TransferJobResult[];
}

/**
 * Stores a finished run's results under its folder and in the index: each target's bias record
 * (target-bias-<name>.json), the per-sample predictions of every job, sources.json, and the
 * metric rows (every job's rows, the source accuracies, the poisoned-image count; only the
 * families `evaluation.metrics` lists), recorded once. Logs each job's accuracy. Returns the rows.
 */
export function storeRunResults(store: RunStore, run: RunRecord, r: RunResults, log: (line: string) => void): MetricRow[] {
  const { config, seed } = r;
  const rows: MetricRow[] = [];
  const byKind = new Map<string, SourceModelInfo>();
  r.variants.forEach((v, i) => byKind.set(v.kind, r.sources[i]));
  for (const target of r.targets) {
    if (target.biasRecord !== null) {
      // The de-biased target: which training images carry the trigger, and where.
      writeFileSync(join(run.paths.dir, `target-bias-${target.name}.json`), JSON.stringify(target.biasRecord));
      const ti = config.targets.findIndex((t) => t.name === target.name);
      log(`${target.name}: trigger on ${target.biasRecord.indices.length} of ${target.train.n} training images (targets.${ti}.bias)`);
    }
    const jobs = r.jobs.filter((x) => x.target === target.name);
    const scratch = jobs.find((j) => j.mode === 'scratch') ?? null;
    for (const j of jobs) log(`${j.job}: accuracy ${formatPercent(accuracyOfJob(j))}`);
    for (const j of jobs) {
      rows.push(
        ...jobMetricRows(j, {
          resamples: config.evaluation.bootstrap,
          seed,
          scratch,
          alpha: 1 - config.evaluation.confidence,
          correlatedClass: target.correlatedClass,
          neutralOf: target.neutralOf,
        }),
      );
      writeJobPredictions(run.paths.predictions, j);
    }
  }
  for (const s of r.sources)
    if (s.sourceAccuracy !== null)
      rows.push({
        condition: 'clean',
        transferMode: null,
        sourceKind: s.key === byKind.get('biased')?.key ? 'biased' : 'clean',
        target: null,
        metric: 'source-accuracy',
        value: s.sourceAccuracy,
      });
  for (const v of r.variants) {
    const rec = v.record as { count?: number } | null;
    if (v.kind === 'biased' && rec && typeof rec.count === 'number')
      rows.push({
        condition: 'source',
        transferMode: null,
        sourceKind: 'biased',
        target: null,
        metric: 'poisoned-images',
        value: rec.count,
      });
  }
  // Only the families evaluation.metrics lists (./metric-families.ts).
  const kept = selectMetricRows(rows, config.evaluation.metrics);
  if (store.queryMetrics({ runId: run.id }).length === 0) store.recordMetrics(run.id, kept);
  writeFileSync(
    join(run.paths.dir, 'sources.json'),
    JSON.stringify(
      r.sources.map((s) => ({ ...s, train: s.train.history })),
      null,
      1,
    ),
  );
  return kept;
}

function accuracyOfJob(r: TransferJobResult): number {
  return accuracyOf(Int32Array.from(r.predictions.clean), Int32Array.from(r.labels));
}

function writeJobPredictions(dir: string, j: TransferJobResult): void {
  mkdirSync(dir, { recursive: true });
  const stem = `${j.target}-${j.sourceKind ?? 'none'}-${j.mode.replace(':', '')}`;
  const ids = Int32Array.from(j.labels, (_, i) => i);
  const labels = Int32Array.from(j.labels);
  const clean = Int32Array.from(j.predictions.clean);
  for (const [cond, p] of Object.entries(j.predictions)) {
    const file = join(dir, `${stem}-${cond}.csv`);
    if (existsSync(file)) continue;
    writePredictionsCsv(file, {
      ids,
      labels,
      clean,
      ...(cond === 'clean' ? {} : { biased: Int32Array.from(p) }),
      numClasses: j.numClasses,
    });
  }
}
