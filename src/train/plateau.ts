/**
 * Training to a plateau: train epoch by epoch, evaluate held-out accuracy after each, and stop
 * once it has stopped improving — the best accuracy of the last `patience` epochs is no more than
 * `delta` above the best before them — or at `maxEpochs`. A run that reaches `maxEpochs` without
 * that plateau (its last `patience` epochs still gain more than `delta`) is flagged as still
 * rising (`plateaued: false`).
 *
 * This is the experiments' training check (src/publish/report-aggregate.ts: a curve whose last
 * evaluation is more than 2 points above every earlier one is "still rising", so more training
 * would change it) turned into a stopping rule, for training that has no fixed epoch budget of
 * its own (the audit's transfer check). The layers point down, so the rule lives here rather than
 * importing report code.
 */
import { train, type EpochRecord, type TrainOptions, type TrainResult, type TrainSpec } from './trainer.js';

/** When to stop. */
export interface PlateauRule {
  /** Upper bound on epochs. */
  readonly maxEpochs: number;
  /** Never stop before this many epochs (default 2). */
  readonly minEpochs?: number;
  /** Epochs without a gain above `delta` that end training (default 2). */
  readonly patience?: number;
  /** Smallest gain of held-out accuracy that counts as improving (default 0.005 = half a point). */
  readonly delta?: number;
}

/** The default rule: up to 30 epochs, at least 2, stop after 2 epochs without half a point of gain. */
export const DEFAULT_PLATEAU: Required<PlateauRule> = { maxEpochs: 30, minEpochs: 2, patience: 2, delta: 0.005 };

/** What `trainToPlateau` did. */
export interface PlateauResult {
  readonly result: TrainResult;
  /** Epochs trained. */
  readonly epochs: number;
  /** Held-out accuracy after each epoch. */
  readonly curve: number[];
  /** True when it stopped at a plateau; false when it reached `maxEpochs` still gaining more than `delta`. */
  readonly plateaued: boolean;
}

/**
 * Whether a held-out accuracy curve has levelled off under `rule` (see the module comment): at
 * least `minEpochs` points and `patience + 1` points, and the best of the last `patience` values no
 * more than `delta` above the best of the earlier ones.
 *
 * @example hasPlateaued([0.5, 0.7, 0.72, 0.722, 0.719], { maxEpochs: 30 }) // true: 0.722 is 0.2 points above 0.72
 */
export function hasPlateaued(curve: readonly number[], rule: PlateauRule): boolean {
  const r = { ...DEFAULT_PLATEAU, ...rule };
  if (curve.length < Math.max(r.minEpochs, r.patience + 1)) return false;
  const before = Math.max(...curve.slice(0, curve.length - r.patience));
  const recent = Math.max(...curve.slice(curve.length - r.patience));
  return recent - before <= r.delta;
}

/**
 * Trains like `train` with `spec.epochs = rule.maxEpochs`, evaluating `evaluate()` (held-out
 * accuracy in [0, 1]) after every epoch and stopping at the first plateau ({@link hasPlateaued}).
 * A learning-rate schedule spans `maxEpochs` (use 'constant' for a rule that does not depend on
 * where it stops). No checkpoints: the run restarts from the beginning if killed.
 *
 * @example const p = await trainToPlateau({ model, data, spec: { optimizer, schedule: { kind: 'constant' } }, seed: 0, paramGroups, evaluate }, { maxEpochs: 20 })
 */
export async function trainToPlateau(
  opts: Omit<TrainOptions, 'spec' | 'evaluate' | 'checkpointDir' | 'stopAfterEpoch'> & {
    spec: Omit<TrainSpec, 'epochs' | 'evalEvery'>;
    evaluate: () => number;
  },
  rule: PlateauRule,
): Promise<PlateauResult> {
  if (!Number.isInteger(rule.maxEpochs) || rule.maxEpochs < 1)
    throw new RangeError(`trainToPlateau: maxEpochs must be a positive integer, got ${rule.maxEpochs}`);
  const curveOf = (h: readonly EpochRecord[]) => h.map((e) => e.evalAccuracy ?? 0);
  const result = await train({
    ...opts,
    spec: { ...opts.spec, epochs: rule.maxEpochs, evalEvery: 1 },
    stopAfterEpoch: (h) => hasPlateaued(curveOf(h), rule),
  });
  const curve = curveOf(result.history);
  return { result, epochs: curve.length, curve, plateaued: hasPlateaued(curve, rule) || curve.length < rule.maxEpochs };
}
