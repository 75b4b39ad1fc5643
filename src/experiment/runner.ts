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
import { hashTree } from './store/meta.js';
import { projectRoot } from './store/meta.js';
import { expandSweep, stableHash, type ExperimentConfig, type LoadedConfig } from './config/index.js';
import { openStore, type MetricRow, type RunStore } from './store/index.js';
import { sourceModel, transferJob, type JobContext, type SourceModelInfo, type TransferJobResult } from './jobs.js';
import { loadConfiguredDataset, normalisation, prepareTarget, sourceVariants, loadSource, type PrepareContext } from './prepare.js';
import { jobMetricRows } from './results.js';
import { accuracyOf } from '../train/data.js';
import type { ProgressEvent } from '../train/trainer.js';
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
}

/** What `runExperiment` returns. */
export interface ExperimentOutcome {
  name: string;
  runs: RunOutcome[];
  seconds: number;
}

let cachedCodeHash: string | null = null;
/** Hash of the project's src/ tree: part of every cache key, so code changes retrain. */
export function codeHash(): string {
  cachedCodeHash ??= hashTree(join(projectRoot(), 'src')).slice(0, 16);
  return cachedCodeHash;
}

/**
 * The id of the run of one sweep point and seed: readable, and tied to the content of the
 * resolved config (so an edited config starts new runs instead of reusing old ones).
 */
export function runIdFor(config: ExperimentConfig, sweepId: string, seed: number): string {
  const hash = stableHash({ ...config, seeds: [seed] }).slice(0, 8);
  return `${config.name}-${sweepId === 'default' ? '' : `${sweepId}-`}seed${seed}-${hash}`.replace(/[^A-Za-z0-9._=,+-]/g, '_');
}

/** The run ids an experiment config consists of (every sweep point and seed). */
export function expectedRunIds(config: ExperimentConfig): string[] {
  return expandSweep(config).flatMap((p) => p.config.seeds.map((seed) => runIdFor(p.config, p.id, seed)));
}

async function runOne(
  store: RunStore,
  base: Omit<JobContext, 'config' | 'store'>,
  loaded: LoadedConfig,
  config: ExperimentConfig,
  sweepId: string,
  seed: number,
): Promise<RunOutcome> {
  const name = config.name;
  const runId = runIdFor(config, sweepId, seed);
  let run = store.getRun(runId);
  if (!run) {
    try {
      run = store.createRun({
        id: runId,
        name,
        config,
        seed,
        sweepId,
        libtorch: buildInfo().torchVersion,
        extra: { configFile: loaded.file, threads: config.threads },
      });
    } catch (e) {
      // Another process created it first.
      run = store.getRun(runId);
      if (!run) throw e;
    }
  }
  store.setStatus(runId, 'running');
  const log = (line: string) => {
    base.log(`[${runId}] ${line}`);
    store.appendLog(runId, line);
  };
  const ctx: JobContext = { ...base, config, store, log };
  const pctx: PrepareContext = { config, configDir: loaded.dir };
  try {
    const sourceBase = loadSource(pctx, seed);
    const variants = sourceVariants(pctx, seed, sourceBase);
    // Normalise everything with the clean source's statistics (as ImageNet statistics in practice).
    const norm = normalisation(variants.find((v) => v.kind === 'clean')?.dataset ?? variants[0].dataset);
    const geometry = { c: variants[0].dataset.c, h: variants[0].dataset.h, w: variants[0].dataset.w };
    let sourceTest = null;
    if (config.source.bias.kind !== 'spurious') {
      try {
        sourceTest = loadConfiguredDataset(
          { ...config.source.dataset, split: 'test', limit: Math.min(config.source.dataset.limit ?? 2000, 2000) },
          loaded.dir,
          seed,
          'source/test',
        );
      } catch {
        sourceTest = null;
      }
    }
    const sources: SourceModelInfo[] = [];
    const byKind = new Map<string, SourceModelInfo>();
    for (const v of variants) {
      log(`source ${v.kind}: ${v.dataset.n} images ${v.dataset.c}x${v.dataset.h}x${v.dataset.w}`);
      const info = await sourceModel(ctx, v, seed, norm, sourceTest);
      sources.push(info);
      byKind.set(v.kind, info);
      if (info.sourceAccuracy !== null) log(`source ${v.kind}: test accuracy ${(info.sourceAccuracy * 100).toFixed(1)}%`);
    }
    const jobs: TransferJobResult[] = [];
    const rows: MetricRow[] = [];
    const modes = config.transfer.modes as TransferMode[];
    for (let ti = 0; ti < config.targets.length; ti++) {
      const target = prepareTarget(pctx, ti, seed, sourceBase);
      let scratch: TransferJobResult | null = null;
      if (modes.includes('scratch')) {
        scratch = await transferJob(ctx, {
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
          const r = await transferJob(ctx, {
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
        rows.push(...jobMetricRows(j, { resamples: config.evaluation.bootstrap, seed, scratch, alpha: 1 - config.evaluation.confidence }));
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
    if (store.queryMetrics({ runId }).length === 0) store.recordMetrics(runId, rows);
    writeFileSync(
      join(run.paths.dir, 'sources.json'),
      JSON.stringify(
        sources.map((s) => ({ ...s, train: s.train.history })),
        null,
        1,
      ),
    );
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
    const runs: RunOutcome[] = [];
    const deferred: { key: string; p: (typeof points)[number]; seed: number }[] = [];
    const fromStore = (p: (typeof points)[number], seed: number): RunOutcome => {
      const runId = runIdFor(p.config, p.id, seed);
      const rows = store.queryMetrics({ runId }) as MetricRow[];
      return { runId, sweepId: p.id, seed, config: p.config, jobs: [], rows, sources: [] };
    };
    for (const p of points) {
      if (p.config.threads !== null) setNumThreads(p.config.threads);
      for (const seed of p.config.seeds) {
        // A run is claimed in the index: a second process on the same root skips it and waits.
        const key = `run:${runIdFor(p.config, p.id, seed)}`;
        const claim = store.claim(key);
        if (claim.status === 'done') {
          log(`${key.slice(4)}: already done, reusing its results`);
          runs.push(fromStore(p, seed));
          continue;
        }
        if (claim.status === 'held') {
          log(`${key.slice(4)}: being run by process ${claim.pid}; will wait for it`);
          deferred.push({ key, p, seed });
          continue;
        }
        const base = { root: opts.root, codeHash: codeHash(), onProgress: opts.onProgress ?? (() => {}), log };
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
          const base = { root: opts.root, codeHash: codeHash(), onProgress: opts.onProgress ?? (() => {}), log };
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
      runs.push(fromStore(d.p, d.seed));
    }
    return { name: opts.loaded.config.name, runs, seconds: (Date.now() - t0) / 1000 };
  } finally {
    store.close();
  }
}
