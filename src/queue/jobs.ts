/**
 * The queue's jobs: a BullMQ job's data is a job spec of the plan (src/plan/spec.ts), its name the
 * spec's kind, its id the spec's id (a hash of everything that determines its result: the same job
 * asked for twice, by two submitters or a resubmission, is one BullMQ job). Here: what a job
 * returns and the options every job gets.
 */
import type { JobsOptions } from 'bullmq';
import type { SourceModelInfo, TransferJobResult } from '../experiment/jobs.js';

/** What a source job returns: the model's record (its weights travel as an artefact, see artefacts.ts). */
export interface SourceJobResult {
  info: SourceModelInfo;
  /** Size of the weights artefact in bytes. */
  bytes: number;
}

/** What a transfer job returns: the full result (training history and per-sample predictions). */
export type TransferJobReturn = TransferJobResult;

/**
 * Options of every job: up to `attempts` tries (a failure that cannot change on a retry, such
 * as a bad config value, fails at once: see worker.ts), kept after completion (the submitter
 * reads results from completed jobs, and a resubmission finds them done).
 */
export function jobOptions(attempts = 3): JobsOptions {
  return { attempts, backoff: { type: 'fixed', delay: 1000 }, removeOnComplete: false, removeOnFail: false };
}
