/**
 * Running an experiment: plan → execute → rows → store. `plan` (./plan.ts) makes every run id
 * and job spec; an `Executor` (./executor.ts in this process, src/queue on workers) does the
 * jobs; `storeRunResults` (src/experiment/runner.ts) turns each run's results into metric rows
 * and predictions and indexes them. Killed at any moment and started again, it redoes only what
 * is missing (finished runs, source models and transfer jobs are reused).
 */
import { formatPercent } from '../report/format.js';
import { setNumThreads } from '../torch/index.js';
import type { ExperimentConfig, LoadedConfig } from '../experiment/config/index.js';
import type { SourceModelInfo, TransferJobResult } from '../experiment/jobs.js';
import { storeRunResults } from '../experiment/runner.js';
import { openStore, writeRunFacts, type MetricRow, type RunStore } from '../store/index.js';
import { RunFactsBuilder } from '../experiment/facts.js';
import { createProgressLog } from '../train/progress.js';
import type { ProgressEvent } from '../train/trainer.js';
import { releaseRunData, runData } from './data.js';
import { inProcessExecutor, type Executor } from './executor.js';
import { plan, type Plan, type PlannedRun } from './plan.js';
import { openRun } from './run-record.js';

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
  /** Who does the jobs: this process (default, `inProcessExecutor()`) or a queue's workers (src/queue). */
  executor?: Executor;
  /**
   * The plan, when the caller made it already with these options (`reproduce --queue` plans its
   * experiments together to queue all their jobs at once); default: planned here.
   */
  plan?: Plan;
  /**
   * Reuse a finished run of the same config made by other code (a different code version, see
   * src/experiment/code-version.ts) instead of rerunning it; the outcome and the report say which. Default false.
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

interface RunEnv {
  store: RunStore;
  executor: Executor;
  plan: Plan;
  onProgress: (label: string, e: ProgressEvent) => void;
  log: (line: string) => void;
}

/** Executes one planned run's jobs and stores its results. */
async function executeRun(env: RunEnv, p: PlannedRun): Promise<RunOutcome> {
  const { store } = env;
  const run = openRun(store, p, env.plan.code);
  const runId = run.id;
  store.setStatus(runId, 'running');
  const log = (line: string) => {
    env.log(`[${runId}] ${line}`);
    store.appendLog(runId, line);
  };
  // Every progress event also goes to the run's logs/progress.jsonl, so `serve` can follow it live.
  const toProgressLog = createProgressLog(run.paths.progress, {
    onError: (e) => env.log(`[${runId}] progress log not written: ${e.message}`),
  });
  const onProgress = (label: string, e: ProgressEvent) => {
    env.onProgress(label, e);
    toProgressLog(label, e);
  };
  try {
    const data = runData({ ...p, log });
    const { variants } = data.inputs();
    for (const v of variants) {
      if (v.pretrained)
        log(
          `source ${v.kind}: pretrained ${v.pretrained.file} (${v.pretrained.key}, sha256 ${v.pretrained.sha256}${v.pretrained.castNote !== null ? `; ${v.pretrained.castNote}` : ''})`,
        );
      else log(`source ${v.kind}: ${v.dataset.n} images ${v.dataset.c}x${v.dataset.h}x${v.dataset.w}`);
    }
    const byId = new Map(env.plan.jobs.map((j) => [j.id, j]));
    const jobs = p.jobs.map((id) => byId.get(id)!);
    const results = await env.executor.execute(jobs, { run: p, runDir: run.paths.dir, store, log, onProgress });
    const sources: SourceModelInfo[] = [];
    const transfers: TransferJobResult[] = [];
    for (const j of jobs) {
      const r = results.get(j.id);
      if (r === undefined) throw new Error(`${j.spec.label}: the executor returned no result`);
      if (r.kind === 'source') {
        sources.push(r.info);
        if (r.info.sourceAccuracy !== null)
          log(`source ${(j.spec as { variantKind: string }).variantKind}: test accuracy ${formatPercent(r.info.sourceAccuracy)}`);
      } else if (r.kind === 'transfer') transfers.push(r.result);
    }
    const targets = p.config.targets.map((_, i) => data.target(i));
    const rows = storeRunResults(store, run, { config: p.config, seed: p.seed, variants, sources, targets, jobs: transfers }, log);
    // What the report needs to know about this data (classes, counts, pictures), written with the results.
    const facts = new RunFactsBuilder(
      { config: p.config, configDir: p.configDir, cacheRoot: p.cacheRoot },
      p.seed,
      data.inputs().sourceBase,
      variants,
    );
    for (const t of targets) facts.addTarget(t);
    writeRunFacts(run.paths.dir, facts.finish());
    store.setStatus(runId, 'done');
    return { runId, sweepId: p.sweepId, seed: p.seed, config: p.config, jobs: transfers, rows, sources };
  } catch (e) {
    store.setStatus(runId, 'failed', { error: (e as Error).message });
    throw e;
  } finally {
    releaseRunData(p);
  }
}

/**
 * Runs every sweep point and seed of a loaded config under `root`: plans it, has `executor` (default
 * this process) do the jobs of the runs not done yet, and stores each run's rows. Finished runs
 * and jobs are reused, so an interrupted experiment resumes where it stopped. A run is claimed in
 * the index: a second process on the same root skips it and waits for it.
 *
 * @example await runExperiment({ loaded: loadConfig('experiments/backdoor.yaml'), root: 'runs' });
 */
export async function runExperiment(opts: RunExperimentOptions): Promise<ExperimentOutcome> {
  const t0 = Date.now();
  const log = opts.log ?? ((l: string) => console.error(l));
  const executor = opts.executor ?? inProcessExecutor();
  const p = opts.plan ?? plan(opts);
  if (p.name !== opts.loaded.config.name)
    throw new Error(`runExperiment: the plan given is of '${p.name}', not of '${opts.loaded.config.name}'`);
  const store = openStore(opts.root);
  try {
    const env: RunEnv = { store, executor, plan: p, onProgress: opts.onProgress ?? (() => {}), log };
    const todo = p.runs.filter((r) => r.status === 'todo');
    if (executor.executeAll !== undefined && p.jobs.length > 0) await executor.executeAll(p.jobs, todo);
    const runs: RunOutcome[] = [];
    const deferred: PlannedRun[] = [];
    // A stored run's results; `runId` differs from the run's own id when it is stale.
    const fromStore = (r: PlannedRun, runId = r.id): RunOutcome => {
      const rows = store.queryMetrics({ runId }) as MetricRow[];
      const stale = runId !== r.id;
      return { runId, sweepId: r.sweepId, seed: r.seed, config: r.config, jobs: [], rows, sources: [], ...(stale ? { stale } : {}) };
    };
    let threadsOf: ExperimentConfig | null = null;
    for (const r of p.runs) {
      if (threadsOf !== r.config && r.config.threads !== null) setNumThreads(r.config.threads);
      threadsOf = r.config;
      const key = `run:${r.id}`;
      if (r.status === 'stale' && !store.isDone(key)) {
        log(`${r.id}: reusing ${r.staleId}, made by other code (--accept-stale)`);
        runs.push(fromStore(r, r.staleId));
        continue;
      }
      const claim = store.claim(key);
      if (claim.status === 'done') {
        log(`${r.id}: already done, reusing its results`);
        runs.push(fromStore(r));
        continue;
      }
      if (claim.status === 'held') {
        log(`${r.id}: being run by process ${claim.pid}; will wait for it`);
        deferred.push(r);
        continue;
      }
      try {
        runs.push(await executeRun(env, r));
        store.complete(key);
      } catch (e) {
        store.release(key);
        throw e;
      }
    }
    for (const r of deferred) {
      const key = `run:${r.id}`;
      while (!store.isDone(key)) {
        const c = store.claim(key);
        if (c.status === 'claimed') {
          // Its owner died: take over (its finished jobs are reused).
          try {
            await executeRun(env, r);
            store.complete(key);
          } catch (e) {
            store.release(key);
            throw e;
          }
          break;
        }
        await new Promise((res) => setTimeout(res, 3000));
      }
      runs.push(fromStore(r));
    }
    return { name: opts.loaded.config.name, runs, seconds: (Date.now() - t0) / 1000 };
  } finally {
    store.close();
  }
}
