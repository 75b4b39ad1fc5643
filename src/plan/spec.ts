/**
 * Job specs: what a job of an experiment is, as plain data. The planner (./plan.ts) makes every
 * spec once; an executor (./executor.ts in this process, src/queue on workers) hands it to
 * `executeJob` (./execute.ts) wherever it runs, so a spec travels as it is (as BullMQ job data).
 *
 * A spec carries everything that determines its result (the resolved config of its sweep point,
 * the seed, which target, mode and source) and nothing else, so its id is a hash of that data:
 * the same job asked for twice (by two runs, two submitters, or a resubmission) is one job, and
 * a source model is trained once however many runs, submitters or workers need it.
 */
import { stableHash, type ExperimentConfig } from '../experiment/config/index.js';
import type { FeatureKeys } from '../experiment/features.js';
import type { SourceModelInfo, TransferJobResult } from '../experiment/jobs.js';
import type { TransferMode } from '../train/transfer.js';

/** What every job spec carries. */
interface JobSpecBase {
  /** The resolved config of the job's sweep point (relative paths resolve against `configDir`). */
  config: ExperimentConfig;
  /** Absolute folder of the config file on the planning machine (datasets given by path must exist there on every worker). */
  configDir: string;
  seed: number;
  /** Code version of the planner: a worker running other code refuses the job (its numbers would differ). */
  codeHash: string;
  /** A readable label for progress lines and dashboards, e.g. `backdoor seed0 mnist/biased/fixed`. */
  label: string;
  /**
   * inputsHash of the config, computed once by the planner: the content of the data and files it
   * reads, which its paths do not pin (a worker checks its own files against it once per config).
   */
  inputs: string;
}

/** Pretrain one source variant (biased or clean control) of one seed. */
export interface SourceJobSpec extends JobSpecBase {
  kind: 'source';
  variantKind: 'biased' | 'clean';
  /** The source model's cache key (`sourceModelKey`), computed by the planner; the executor checks it. */
  key: string;
}

/** Transfer one source model (or none: scratch) to one target in one mode. */
export interface TransferJobSpec extends JobSpecBase {
  kind: 'transfer';
  targetIndex: number;
  mode: TransferMode;
  sourceKind: 'biased' | 'clean' | null;
  /** Cache key of the source model it starts from; null for scratch. */
  sourceKey: string | null;
  /**
   * Present exactly when the job trains its head on cached features (`usesCachedFeatures`): the
   * cache keys of the features its features job computes (the job needs that job, whose id is
   * `featuresJobId(features)`). Not part of the job's id: the fields above determine it.
   */
  features?: FeatureKeys;
}

/**
 * Compute the frozen backbone's features of one target's images (training set and every
 * evaluation condition) under one source model, once, for every fixed-mode head that trains on
 * them (src/experiment/features.ts): the heads of sweep points over target learning rate, weight
 * decay or epochs share one such job (the same keys, hence the same id).
 *
 * Its cache keys are computed by the planner, which builds the target's data for them: each is
 * the content of one dataset (datasetDigest), the batch spec's normalisation and geometry, the
 * code version, and the source model's identity. That identity is known before the source is
 * trained: the source model's cache key (which covers everything that determines its weights)
 * or, for a pretrained source, the sha256 of its weights file; so nothing about the key waits
 * for execution. The executor checks the keys against the data it builds.
 */
export interface FeaturesJobSpec extends JobSpecBase {
  kind: 'features';
  targetIndex: number;
  sourceKind: 'biased' | 'clean';
  /** Cache key of the source job it needs (`SourceJobSpec.key`). */
  sourceKey: string;
  /** The source weights' identity in the feature keys: `sourceKey`, or `pretrained-<sha256>` (what `sourceModel` gives as its key). */
  weights: string;
  /** Cache keys of the features it computes (in the results root's model cache). */
  keys: FeatureKeys;
}

/** Any job spec (BullMQ's job name is its `kind`). */
export type JobSpec = SourceJobSpec | FeaturesJobSpec | TransferJobSpec;

/** What a features job gives: the keys of its features, each in the model cache, with its size. */
export interface FeaturesJobResult {
  keys: FeatureKeys;
  /** Images and features per image, by cache key. */
  sizes: Record<string, { n: number; dim: number }>;
}

/** What a job gives: a source model's record (its weights in the results root's model cache), a features job's keys, or a transfer's result. */
export type JobResult =
  | { kind: 'source'; info: SourceModelInfo }
  | { kind: 'features'; result: FeaturesJobResult }
  | { kind: 'transfer'; result: TransferJobResult };

/** The id of a source job. */
export function sourceJobId(key: string): string {
  return `source-${key}`;
}

/** The id of a features job: a hash of its cache keys (the same features asked for by two runs are one job). */
export function featuresJobId(keys: FeatureKeys): string {
  return `features-${stableHash({ kind: 'features-job', keys }).slice(0, 32)}`;
}

/** The id of a transfer job: a hash of everything that determines its result (label and folder aside). */
export function transferJobId(d: Omit<TransferJobSpec, 'kind' | 'label' | 'configDir'>): string {
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

/** The id of any job (also its BullMQ job id). */
export function jobIdOf(d: JobSpec): string {
  return d.kind === 'source' ? sourceJobId(d.key) : d.kind === 'features' ? featuresJobId(d.keys) : transferJobId(d);
}

/** A transfer job's name within its run, e.g. `mnist/scratch` or `mnist/biased/fixed`. */
export function transferJobName(d: TransferJobSpec): string {
  const target = d.config.targets[d.targetIndex].name;
  return d.sourceKind === null ? `${target}/scratch` : `${target}/${d.sourceKind}/${d.mode}`;
}

/** The folder of a transfer job within its run's folder (`jobs/<this>`), e.g. `mnist-biased-fixed`, `mnist-biased-partial2`. */
export function transferJobFolder(d: TransferJobSpec): string {
  return d.sourceKind === null
    ? `${d.config.targets[d.targetIndex].name}-scratch`
    : `${d.config.targets[d.targetIndex].name}-${d.sourceKind}-${d.mode.replace(':', '')}`;
}
