/**
 * Driving a plan's jobs on the queue: each job is added when the jobs it needs have completed
 * (the submitter holds the dependencies, because a BullMQ flow gives a child one parent and a
 * source model feeds many transfers). Job ids are the plan's (hashes of the job specs), so a job
 * asked for twice is one job, and a resubmission (after an interrupt) picks up what is done and
 * waiting. A job that failed for good stops the drive with its error. Meanwhile every job's
 * progress is handed to `onJobProgress` (the executor relays it to its runs' logs, ./relay.ts).
 */
import type { Queue } from 'bullmq';
import type { PlanJob } from '../plan/index.js';
import { jobOptions } from './jobs.js';
import type { QueueCounts } from './progress.js';
import type { JobProgress } from './worker.js';

/** Adds a job unless it exists; a job that failed for good in an earlier submission is retried once more. */
async function ensureAdded(queue: Queue, j: PlanJob): Promise<void> {
  const existing = await queue.getJob(j.id);
  if (!existing) {
    await queue.add(j.spec.kind, j.spec, { ...jobOptions(), jobId: j.id });
    return;
  }
  if ((await existing.getState()) === 'failed') await existing.retry('failed');
}

/** Options of `driveJobs`. */
export interface DriveOptions {
  /** Called about every `pollMs` with the counts and the running jobs' progress. */
  onStatus?: (counts: QueueCounts, running: JobProgress[]) => void;
  /** Milliseconds between two looks at the queue (default 500). */
  pollMs?: number;
  /** Called with each running job and its latest progress (e.g. `ProgressRelay.relay`). */
  onJobProgress?: (job: PlanJob, progress: JobProgress) => void;
}

/** Thrown when a job of a submission failed for good; names the job and carries its error. */
export class QueueJobError extends Error {
  constructor(
    readonly jobId: string,
    readonly label: string,
    readonly reason: string,
    readonly attempts: number,
  ) {
    super(`job '${label}' (${jobId}) failed after ${attempts} attempt(s): ${reason}`);
    this.name = 'QueueJobError';
  }
}

/**
 * Adds the planned jobs in dependency order and waits until all have completed; throws a
 * `QueueJobError` as soon as one has failed for good. Survives a Redis restart (commands wait
 * for the connection to come back).
 */
export async function driveJobs(queue: Queue, plan: readonly PlanJob[], opts: DriveOptions = {}): Promise<void> {
  const pollMs = opts.pollMs ?? 500;
  const done = new Set<string>();
  const added = new Set<string>();
  const failed = new Set<string>();
  for (;;) {
    for (const j of plan) {
      if (added.has(j.id) || !j.needs.every((n) => done.has(n))) continue;
      await ensureAdded(queue, j);
      added.add(j.id);
    }
    const counts: QueueCounts = { queued: 0, running: 0, done: 0, failed: 0 };
    const running: JobProgress[] = [];
    for (const j of plan) {
      if (done.has(j.id)) {
        counts.done++;
        continue;
      }
      if (!added.has(j.id)) {
        counts.queued++;
        continue;
      }
      const state = await queue.getJobState(j.id);
      if (state === 'completed') {
        done.add(j.id);
        counts.done++;
        // Its last events (a short job may finish between two looks).
        if (opts.onJobProgress !== undefined) {
          const p = (await queue.getJob(j.id))?.progress as JobProgress | number | undefined;
          if (typeof p === 'object' && p !== null) opts.onJobProgress(j, p);
        }
      } else if (state === 'failed') {
        const job = await queue.getJob(j.id);
        failed.add(j.id);
        counts.failed++;
        opts.onStatus?.(counts, running);
        throw new QueueJobError(j.id, j.spec.label, job?.failedReason ?? 'unknown error', job?.attemptsMade ?? 0);
      } else if (state === 'active') {
        counts.running++;
        const job = await queue.getJob(j.id);
        const p = job?.progress as JobProgress | number | undefined;
        running.push(typeof p === 'object' && p !== null ? p : { label: j.spec.label, kind: 'preparing' });
        if (typeof p === 'object' && p !== null) opts.onJobProgress?.(j, p);
      } else if (state === 'unknown') {
        // Gone (removed by hand, or Redis lost it): add it again.
        added.delete(j.id);
        counts.queued++;
      } else counts.queued++;
    }
    opts.onStatus?.(counts, running);
    if (done.size === plan.length) return;
    await new Promise((r) => setTimeout(r, pollMs));
  }
}
