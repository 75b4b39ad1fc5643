/**
 * Executors: who does a plan's jobs. One interface, two implementations — this process
 * (`inProcessExecutor`, here) and a BullMQ queue's workers (src/queue/executor.ts, also what
 * `--workers N` uses on a private Redis) — chosen by the caller of `runExperiment`, never by a
 * second call path. An executor gets job specs and gives back their results; it never plans.
 */
import { join } from 'node:path';
import type { SourceModelInfo } from '../experiment/jobs.js';
import type { RunStore } from '../store/index.js';
import type { ProgressEvent } from '../train/trainer.js';
import { executeFeatures, executeSource, executeTransfer } from './execute.js';
import type { PlanJob, PlannedRun } from './plan.js';
import { transferJobFolder, type JobResult } from './spec.js';

/** What an executor is given with a run's jobs. */
export interface ExecuteContext {
  /** The run (its jobs are the ones given). */
  run: PlannedRun;
  /** The run's folder under the results root (transfer jobs keep their results in its jobs/ folder). */
  runDir: string;
  /** The results root's store (its model cache receives the source models). */
  store: RunStore;
  /** Lines for the run's log. */
  log: (line: string) => void;
  /** Training progress of the run's jobs, by job label. */
  onProgress: (label: string, e: ProgressEvent) => void;
}

/** Who does the jobs of a plan. */
export interface Executor {
  /**
   * Does every job of a plan (or of several plans) up front, when the executor can do many at
   * once (the queue: every job is added at once so no worker idles); `execute` then only
   * collects. Optional: the in-process executor does each run's jobs when `execute` asks.
   */
  executeAll?(jobs: readonly PlanJob[], runs: readonly PlannedRun[]): Promise<void>;
  /**
   * Does a run's jobs (each after the jobs it needs, all among `jobs`) and returns each one's
   * result by job id: source models in `ctx.store`'s model cache, transfer results saved in
   * `<runDir>/jobs/<folder>/result.json` (reused when already there).
   */
  execute(jobs: readonly PlanJob[], ctx: ExecuteContext): Promise<Map<string, JobResult>>;
  /** Releases what it holds (connections); optional. */
  close?(): Promise<void>;
}

/** The folder of a transfer job's result within its run's folder. */
export function transferDir(runDir: string, folder: string): string {
  return join(runDir, 'jobs', folder);
}

/**
 * The executor of this process: a run's jobs one after the other in the plan's order (sources,
 * then per target scratch, and per source a features job when its fixed-mode heads train on
 * cached features, then its transfers), which is deterministic and is what `run` does without
 * `--queue` or `--workers`.
 */
export function inProcessExecutor(): Executor {
  return {
    async execute(jobs, ctx) {
      const env = { store: ctx.store, cacheRoot: ctx.run.cacheRoot, log: ctx.log, onProgress: ctx.onProgress };
      const out = new Map<string, JobResult>();
      const sources = new Map<string, SourceModelInfo>();
      const sourceOf = (label: string, key: string): SourceModelInfo => {
        const s = sources.get(key);
        if (s === undefined) throw new Error(`${label}: its source job is not among the jobs given (plan order broken)`);
        return s;
      };
      for (const j of jobs) {
        const s = j.spec;
        if (s.kind === 'source') {
          const info = await executeSource(s, env);
          sources.set(s.key, info);
          out.set(j.id, { kind: 'source', info });
        } else if (s.kind === 'features') {
          out.set(j.id, { kind: 'features', result: await executeFeatures(s, env, sourceOf(s.label, s.sourceKey)) });
        } else {
          const source = s.sourceKey === null ? null : sourceOf(s.label, s.sourceKey);
          if (s.features !== undefined && !j.needs.every((n) => out.has(n)))
            throw new Error(`${s.label}: its features job is not among the jobs given (plan order broken)`);
          const result = await executeTransfer(s, env, source, transferDir(ctx.runDir, transferJobFolder(s)));
          out.set(j.id, { kind: 'transfer', result });
        }
      }
      return out;
    },
  };
}
