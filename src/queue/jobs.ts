/**
 * The queue's job kinds, their data and their ids.
 *
 * A job carries everything that determines its result (the resolved config of its sweep point,
 * the seed, which target, mode and source) and nothing else, so its id is a hash of that data:
 * the same job asked for twice (by two submitters, or a resubmission) is one BullMQ job, and a
 * source model is trained once however many runs, submitters or workers need it.
 */
import type { JobsOptions } from 'bullmq';
import { stableHash, type ExperimentConfig } from '../experiment/config/index.js';
import type { SourceModelInfo, TransferJobResult } from '../experiment/jobs.js';
import type { TransferMode } from '../train/transfer.js';

/** What every job carries. */
interface JobDataBase {
  /** The resolved config of the job's sweep point (relative paths resolve against `configDir`). */
  config: ExperimentConfig;
  /** Absolute folder of the config file on the submitting machine (datasets given by path must exist there on every worker). */
  configDir: string;
  seed: number;
  /** Hash of the submitter's src/ tree: a worker running other code refuses the job (its numbers would differ). */
  codeHash: string;
  /** A readable label for progress lines and dashboards, e.g. `backdoor seed0 mnist/biased/fixed`. */
  label: string;
}

/** Pretrain one source variant (biased or clean control) of one seed. */
export interface SourceJobData extends JobDataBase {
  kind: 'source';
  variantKind: 'biased' | 'clean';
  /** The source model's cache key (`sourceModelKey`), computed by the submitter; the worker checks it. */
  key: string;
}

/** Transfer one source model (or none: scratch) to one target in one mode. */
export interface TransferJobData extends JobDataBase {
  kind: 'transfer';
  targetIndex: number;
  mode: TransferMode;
  sourceKind: 'biased' | 'clean' | null;
  /** Cache key of the source model it starts from; null for scratch. */
  sourceKey: string | null;
  /** inputsHash of the config: the content of the target data (and every other input), which its paths do not pin. */
  inputs: string;
}

/** Data of any bias-transfer job (BullMQ's job name is its `kind`). */
export type QueueJobData = SourceJobData | TransferJobData;

/** What a source job returns: the model's record (its weights travel as an artefact, see artefacts.ts). */
export interface SourceJobResult {
  info: SourceModelInfo;
  /** Size of the weights artefact in bytes. */
  bytes: number;
}

/** What a transfer job returns: the full result (training history and per-sample predictions). */
export type TransferJobReturn = TransferJobResult;

/** The BullMQ job id of a source job. */
export function sourceJobId(key: string): string {
  return `source-${key}`;
}

/** The BullMQ job id of a transfer job: a hash of everything that determines its result. */
export function transferJobId(d: Omit<TransferJobData, 'kind' | 'label' | 'configDir'>): string {
  const h = stableHash({
    config: { ...d.config, seeds: [d.seed] },
    seed: d.seed,
    targetIndex: d.targetIndex,
    mode: d.mode,
    sourceKind: d.sourceKind,
    sourceKey: d.sourceKey,
    inputs: d.inputs,
    code: d.codeHash,
  });
  return `transfer-${h.slice(0, 32)}`;
}

/** The BullMQ id of any job. */
export function jobIdOf(d: QueueJobData): string {
  return d.kind === 'source' ? sourceJobId(d.key) : transferJobId(d);
}

/**
 * Options of every job: up to `attempts` tries (a failure that cannot change on a retry, such
 * as a bad config value, fails at once: see worker.ts), kept after completion (the submitter
 * reads results from completed jobs, and a resubmission finds them done).
 */
export function jobOptions(attempts = 3): JobsOptions {
  return { attempts, backoff: { type: 'fixed', delay: 1000 }, removeOnComplete: false, removeOnFail: false };
}
