/**
 * Learning-rate schedules, stepped per iteration. Each returns a multiplier of the base learning
 * rate for a given iteration; the trainer sets `group.lr = group.initialLr * multiplier`.
 */

/** A schedule as configs hold it. */
export type ScheduleSpec =
  | { kind: 'constant' }
  /**
   * The paper's (MadryLab/ffcv): linear from 0 at iteration 0 up to 1 at `peakEpoch`, then linear
   * down to 0 at the end of training. `peakEpoch` may be fractional.
   */
  | { kind: 'linear-warmup-decay'; peakEpoch: number }
  /** Multiply by `gamma` every `stepEpochs` epochs. */
  | { kind: 'step'; stepEpochs: number; gamma: number }
  /** Half-cosine from 1 to 0 over training. */
  | { kind: 'cosine' };

/** Where training stands: iteration `step` (0-based) of `stepsPerEpoch * epochs`. */
export interface ScheduleClock {
  step: number;
  stepsPerEpoch: number;
  epochs: number;
}

/** The learning-rate multiplier at an iteration. */
export function lrMultiplier(spec: ScheduleSpec, clock: ScheduleClock): number {
  const t = clock.step / clock.stepsPerEpoch; // epochs elapsed, fractional
  const E = clock.epochs;
  switch (spec.kind) {
    case 'constant':
      return 1;
    case 'linear-warmup-decay': {
      const p = Math.min(Math.max(spec.peakEpoch, 0), E);
      if (t <= p) return p === 0 ? 1 : t / p;
      return E === p ? 0 : Math.max(0, (E - t) / (E - p));
    }
    case 'step':
      return spec.gamma ** Math.floor(t / spec.stepEpochs);
    case 'cosine':
      return 0.5 * (1 + Math.cos((Math.PI * Math.min(t, E)) / E));
  }
}
