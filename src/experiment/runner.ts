/**
 * Runs an experiment: for every sweep point and seed, pretrain the source variants (biased and
 * clean control; cached), transfer each to every target in every mode (scratch once per seed and
 * target), evaluate every condition, save per-sample predictions and metric rows, and index them
 * in the store. Killed at any moment and started again, it redoes only what is missing.
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { writePredictionsCsv } from '../metrics/index.js';
import { buildInfo, setNumThreads } from '../torch/index.js';
import { expandSweep, type ExperimentConfig, type LoadedConfig } from './config/index.js';
import { codeHash, runIdFor, staleRun } from './run-ids.js';
import { openStore, writeRunFacts, type MetricRow, type RunRecord, type RunStore } from '../store/index.js';
import { RunFactsBuilder } from './facts.js';
import { LOCAL_JOBS, type JobContext, type JobExecutor, type SourceModelInfo, type TransferJobResult } from './jobs.js';
import type { AnyDataset } from '../data/types.js';
import { resolveCacheRoot } from '../data/index.js';
import {
  checkDisjointData,
  sourceTestSpec,
  loadExperimentDataset,
  normalisation,
  prepareTarget,
  sourceVariants,
  loadSource,
  type PrepareContext,
  type SourceVariant,
} from './prepare.js';
import { jobMetricRows } from './results.js';
import { selectMetricRows } from './metric-families.js';
import { accuracyOf } from '../train/data.js';
import type { ProgressEvent } from '../train/trainer.js';
import { createProgressLog } from '../train/progress.js';
import type { TransferMode } from '../train/transfer.js';

/** Options of `runExperiment`. */
export interface RunExperimentOptions {
  loaded: LoadedConfig;
  /** Results root (holds runs/, cache/, index.sqlite). */
  root: string;
  /** Progress of training steps. */
  onProgress?: (label: string, e: ProgressEvent) => void;
  /** Log lines (also appended to each run's log). */
  log?: (line: string) => void;
  /** Only these sweep point ids (default all). */
  points?: readonly string[];
  /** Who does the source and transfer jobs: this process (default) or a queue's workers (src/queue). */
  executor?: JobExecutor;
  /**
   * Reuse a finished run of the same config made by other code (a different code version, see
   * src/store/code-version.ts) instead of rerunning it; the outcome and the report say which. Default false.
   */
  acceptStale?: boolean;
  /**
   * The code version to file results under (default `codeHash()`, this code's). Tests use it to
   * make results "of other code"; nothing else should.
   */
  codeVersion?: string;
}

/** One finished run (a sweep point and seed). */
export interface RunOutcome {
  runId: string;
  sweepId: string;
  seed: number;
  config: ExperimentConfig;
  jobs: TransferJobResult[];
  rows: MetricRow[];
  sources: SourceModelInfo[];
  /** Set when the results are a stale run's (other code), reused with `acceptStale`. */
  stale?: boolean;
}

/** What `runExperiment` returns. */
export interface ExperimentOutcome {
  name: string;
  runs: RunOutcome[];
  seconds: number;
}

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

/**
 * The run record of one sweep point and seed under code version `code`, created if it does not
 * exist (by this process or, in a race, another). Used by the runner and by the queue submitter,
 * which opens runs while their jobs train on workers so their progress can be followed live.
 */
export function openRun(
  store: RunStore,
  loaded: LoadedConfig,
  config: ExperimentConfig,
  sweepId: string,
  seed: number,
  code: string = codeHash(),
): RunRecord {
  const runId = runIdFor(config, sweepId, seed, loaded.dir, code);
  const existing = store.getRun(runId);
  if (existing) return existing;
  try {
    return store.createRun({
      id: runId,
      name: config.name,
      config,
      seed,
      sweepId,
      libtorch: buildInfo().torchVersion,
      extra: { configFile: loaded.file, threads: config.threads, codeVersion: code },
    });
  } catch (e) {
    // Another process created it first.
    const run = store.getRun(runId);
    if (!run) throw e;
    return run;
  }
}

async function runOne(
  store: RunStore,
  base: Omit<JobContext, 'config' | 'store'>,
  loaded: LoadedConfig,
  config: ExperimentConfig,
  sweepId: string,
  seed: number,
): Promise<RunOutcome> {
  const run = openRun(store, loaded, config, sweepId, seed, base.codeHash);
  const runId = run.id;
  store.setStatus(runId, 'running');
  const log = (line: string) => {
    base.log(`[${runId}] ${line}`);
    store.appendLog(runId, line);
  };
  // Every progress event also goes to the run's logs/progress.jsonl, so `serve` can follow it live.
  const toProgressLog = createProgressLog(run.paths.progress, {
    onError: (e) => base.log(`[${runId}] progress log not written: ${e.message}`),
  });
  const onProgress = (label: string, e: ProgressEvent) => {
    base.onProgress(label, e);
    toProgressLog(label, e);
  };
  const ctx: JobContext = { ...base, config, store, log, onProgress };
  const pctx: PrepareContext = { config, configDir: loaded.dir, cacheRoot: resolveCacheRoot({ resultsRoot: base.root }), log };
  try {
    const { sourceBase, variants, norm, geometry, sourceTest } = runInputs(pctx, seed);
    // What the report needs to know about this data (classes, counts, pictures), written with the results.
    const facts = new RunFactsBuilder(pctx, seed, sourceBase, variants);
    const jobsOf = ctx.executor ?? LOCAL_JOBS;
    const sources: SourceModelInfo[] = [];
    const byKind = new Map<string, SourceModelInfo>();
    for (const v of variants) {
      if (v.pretrained)
        log(
          `source ${v.kind}: pretrained ${v.pretrained.file} (${v.pretrained.key}, sha256 ${v.pretrained.sha256}${v.pretrained.castNote !== null ? `; ${v.pretrained.castNote}` : ''})`,
        );
      else log(`source ${v.kind}: ${v.dataset.n} images ${v.dataset.c}x${v.dataset.h}x${v.dataset.w}`);
      const info = await jobsOf.source(ctx, v, seed, norm, sourceTest);
      sources.push(info);
      byKind.set(v.kind, info);
      if (info.sourceAccuracy !== null) log(`source ${v.kind}: test accuracy ${(info.sourceAccuracy * 100).toFixed(1)}%`);
    }
    const jobs: TransferJobResult[] = [];
    const rows: MetricRow[] = [];
    const modes = config.transfer.modes as TransferMode[];
    for (let ti = 0; ti < config.targets.length; ti++) {
      const target = prepareTarget(pctx, ti, seed, sourceBase);
      facts.addTarget(target);
      if (target.biasRecord !== null) {
        // The de-biased target: which training images carry the trigger, and where.
        writeFileSync(join(run.paths.dir, `target-bias-${target.name}.json`), JSON.stringify(target.biasRecord));
        log(`${target.name}: trigger on ${target.biasRecord.indices.length} of ${target.train.n} training images (targets.${ti}.bias)`);
      }
      let scratch: TransferJobResult | null = null;
      if (modes.includes('scratch')) {
        scratch = await jobsOf.transfer(ctx, {
          dir: join(run.paths.dir, 'jobs', `${target.name}-scratch`),
          job: `${target.name}/scratch`,
          mode: 'scratch',
          source: null,
          sourceKind: null,
          target,
          seed,
          norm,
          geometry,
        });
        jobs.push(scratch);
        log(`${target.name}/scratch: accuracy ${(accuracyOfJob(scratch) * 100).toFixed(1)}%`);
      }
      for (const v of variants) {
        for (const mode of modes) {
          if (mode === 'scratch') continue;
          const job = `${target.name}/${v.kind}/${mode}`;
          const r = await jobsOf.transfer(ctx, {
            dir: join(run.paths.dir, 'jobs', `${target.name}-${v.kind}-${mode.replace(':', '')}`),
            job,
            mode,
            source: byKind.get(v.kind)!,
            sourceKind: v.kind,
            target,
            seed,
            norm,
            geometry,
          });
          jobs.push(r);
          log(`${job}: accuracy ${(accuracyOfJob(r) * 100).toFixed(1)}%`);
        }
      }
      for (const j of jobs.filter((x) => x.target === target.name)) {
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
    for (const s of sources)
      if (s.sourceAccuracy !== null)
        rows.push({
          condition: 'clean',
          transferMode: null,
          sourceKind: s.key === byKind.get('biased')?.key ? 'biased' : 'clean',
          target: null,
          metric: 'source-accuracy',
          value: s.sourceAccuracy,
        });
    for (const v of variants) {
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
    rows.splice(0, rows.length, ...kept);
    if (store.queryMetrics({ runId }).length === 0) store.recordMetrics(runId, rows);
    writeFileSync(
      join(run.paths.dir, 'sources.json'),
      JSON.stringify(
        sources.map((s) => ({ ...s, train: s.train.history })),
        null,
        1,
      ),
    );
    writeRunFacts(run.paths.dir, facts.finish());
    store.setStatus(runId, 'done');
    return { runId, sweepId, seed, config, jobs, rows, sources };
  } catch (e) {
    store.setStatus(runId, 'failed', { error: (e as Error).message });
    throw e;
  }
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

/**
 * Runs every sweep point and seed of a loaded config under `root`. Finished runs and jobs are
 * reused, so an interrupted experiment resumes where it stopped.
 */
export async function runExperiment(opts: RunExperimentOptions): Promise<ExperimentOutcome> {
  const t0 = Date.now();
  const log = opts.log ?? ((l: string) => console.error(l));
  const store = openStore(opts.root);
  try {
    const points = expandSweep(opts.loaded.config).filter((p) => !opts.points || opts.points.includes(p.id));
    // Source and target images must not overlap: fail before any training.
    const cacheRoot = resolveCacheRoot({ resultsRoot: opts.root });
    for (const p of points) checkDisjointData({ config: p.config, configDir: opts.loaded.dir, cacheRoot, log });
    const runs: RunOutcome[] = [];
    const deferred: { key: string; p: (typeof points)[number]; seed: number }[] = [];
    const code = opts.codeVersion ?? codeHash();
    const dir = opts.loaded.dir;
    // A stored run's results; `runId` differs from the current code's `expected` id when it is stale.
    const fromStore = (p: (typeof points)[number], seed: number, expected: string, runId = expected): RunOutcome => {
      const rows = store.queryMetrics({ runId }) as MetricRow[];
      const stale = runId !== expected;
      return { runId, sweepId: p.id, seed, config: p.config, jobs: [], rows, sources: [], ...(stale ? { stale } : {}) };
    };
    for (const p of points) {
      if (p.config.threads !== null) setNumThreads(p.config.threads);
      for (const seed of p.config.seeds) {
        // A run is claimed in the index: a second process on the same root skips it and waits.
        const expected = runIdFor(p.config, p.id, seed, dir, code);
        const key = `run:${expected}`;
        if (opts.acceptStale && !store.isDone(key)) {
          const old = staleRun(store, p.config, p.id, seed, dir, code);
          if (old) {
            log(`${key.slice(4)}: reusing ${old.id}, made by other code (--accept-stale)`);
            runs.push(fromStore(p, seed, expected, old.id));
            continue;
          }
        }
        const claim = store.claim(key);
        if (claim.status === 'done') {
          log(`${key.slice(4)}: already done, reusing its results`);
          runs.push(fromStore(p, seed, expected));
          continue;
        }
        if (claim.status === 'held') {
          log(`${key.slice(4)}: being run by process ${claim.pid}; will wait for it`);
          deferred.push({ key, p, seed });
          continue;
        }
        const base = { root: opts.root, codeHash: code, onProgress: opts.onProgress ?? (() => {}), log, executor: opts.executor };
        try {
          runs.push(await runOne(store, base, opts.loaded, p.config, p.id, seed));
          store.complete(key);
        } catch (e) {
          store.release(key);
          throw e;
        }
      }
    }
    for (const d of deferred) {
      while (!store.isDone(d.key)) {
        const c = store.claim(d.key);
        if (c.status === 'claimed') {
          // Its owner died: take over (its finished jobs are reused).
          const base = { root: opts.root, codeHash: code, onProgress: opts.onProgress ?? (() => {}), log, executor: opts.executor };
          try {
            await runOne(store, base, opts.loaded, d.p.config, d.p.id, d.seed);
            store.complete(d.key);
          } catch (e) {
            store.release(d.key);
            throw e;
          }
          break;
        }
        await new Promise((r) => setTimeout(r, 3000));
      }
      runs.push(fromStore(d.p, d.seed, d.key.slice('run:'.length)));
    }
    return { name: opts.loaded.config.name, runs, seconds: (Date.now() - t0) / 1000 };
  } finally {
    store.close();
  }
}
