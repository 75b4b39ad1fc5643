/**
 * A planned run's record in the store (src/experiment/store): created by whoever needs it first,
 * the runner before executing the run's jobs, or the queue's progress relay when a worker reports
 * the first progress of one of its jobs.
 */
import type { RunRecord, RunStore } from '../store/index.js';
import { buildInfo } from '../torch/index.js';
import type { PlannedRun } from './plan.js';

/**
 * The run record of a planned run, created if it does not exist (by this process or, in a race,
 * another). Used by the runner and by the queue's progress relay, which opens runs while their
 * jobs train on workers so their progress can be followed live.
 */
export function openRun(store: RunStore, run: PlannedRun, code: string): RunRecord {
  const existing = store.getRun(run.id);
  if (existing) return existing;
  try {
    return store.createRun({
      id: run.id,
      name: run.config.name,
      config: run.config,
      seed: run.seed,
      sweepId: run.sweepId,
      libtorch: buildInfo().torchVersion,
      extra: { configFile: run.configFile, threads: run.config.threads, codeVersion: code },
    });
  } catch (e) {
    // Another process created it first.
    const again = store.getRun(run.id);
    if (!again) throw e;
    return again;
  }
}
