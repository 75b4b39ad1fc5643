/**
 * Live progress of runs whose jobs train on the queue's workers. A worker reports each job's
 * last progress events with sequence numbers (`JobProgress.recent`); the submitter, polling the
 * queue, hands them to a `ProgressRelay`, which opens the job's runs under the results root
 * (the same run records `runExperiment` fills in afterwards) and appends the events it has not
 * seen to each run's logs/progress.jsonl. So `serve` follows a queue run while it trains, as it
 * follows a local one. A source model shared by several runs (sweep points) reports to each.
 */
import { codeHash } from '../experiment/run-ids.js';
import { openStore, type RunStore } from '../store/index.js';
import { openRun, type PlannedRun } from '../plan/index.js';
import { createProgressLog } from '../train/progress.js';
import type { ProgressEvent } from '../train/trainer.js';
import type { JobProgress } from './worker.js';

/** Appends queue jobs' progress events to their runs' progress logs, each event once. */
export class ProgressRelay {
  readonly #code: string;
  readonly #onError: (e: Error) => void;
  readonly #stores = new Map<string, RunStore>();
  /** By run id. */
  readonly #logs = new Map<string, (label: string, e: ProgressEvent) => void>();
  readonly #seen = new Map<string, number>();

  /** `onError` hears a log that could not be written (once per run); the relay never throws. */
  constructor(opts: { code?: string; onError?: (e: Error) => void } = {}) {
    this.#code = opts.code ?? codeHash();
    this.#onError = opts.onError ?? (() => {});
  }

  /** Hands over job `jobId`'s latest progress; events newer than the last seen go to its runs' logs. */
  relay(jobId: string, runs: readonly PlannedRun[], p: JobProgress): void {
    if (p.recent === undefined || p.recent.length === 0 || runs.length === 0) return;
    let last = this.#seen.get(jobId) ?? 0;
    // A job retried on another worker numbers its events from 1 again.
    if (p.seq !== undefined && p.seq < last) last = 0;
    const fresh = p.recent.filter((r) => r.seq > last);
    if (fresh.length === 0) return;
    this.#seen.set(jobId, fresh[fresh.length - 1].seq);
    for (const ref of runs) {
      const log = this.#logOf(ref);
      if (log === undefined) continue;
      for (const r of fresh) log(r.label, r.event);
    }
  }

  /** The progress log of a run, opened (and the run marked running) on its first event only. */
  #logOf(ref: PlannedRun): ((label: string, e: ProgressEvent) => void) | undefined {
    const cached = this.#logs.get(ref.id);
    if (cached !== undefined) return cached;
    try {
      let store = this.#stores.get(ref.root);
      if (store === undefined) {
        store = openStore(ref.root);
        this.#stores.set(ref.root, store);
      }
      const run = openRun(store, ref, this.#code);
      store.setStatus(run.id, 'running');
      const log = createProgressLog(run.paths.progress, { onError: this.#onError });
      this.#logs.set(ref.id, log);
      return log;
    } catch (e) {
      this.#onError(e instanceof Error ? e : new Error(String(e)));
      return undefined;
    }
  }

  /** Closes the stores it opened. */
  close(): void {
    for (const s of this.#stores.values()) s.close();
    this.#stores.clear();
  }
}
