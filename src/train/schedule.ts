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
  | { kind: 'linear-warmup-decay'; warmupEpochs?: number; /** Alias of warmupEpochs. */ peakEpoch?: number }
  /** Multiply by `gamma` every `stepEpochs` epochs. */
  | { kind: 'step'; stepEpochs: number; gamma: number }
  /**
   * Optional linear warm-up from 0 over `warmupEpochs`, then a half-cosine from 1 down to
   * `minFraction` (the final lr as a fraction of the base lr; configs give `minLr`, the runner divides).
   */
  | { kind: 'cosine'; warmupEpochs?: number; minFraction?: number };

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
      const p = Math.min(Math.max(spec.warmupEpochs ?? spec.peakEpoch ?? 0, 0), E);
      if (t <= p) return p === 0 ? 1 : t / p;
      return E === p ? 0 : Math.max(0, (E - t) / (E - p));
    }
    case 'step':
      return spec.gamma ** Math.floor(t / spec.stepEpochs);
    case 'cosine': {
      const w = Math.min(Math.max(spec.warmupEpochs ?? 0, 0), E);
      if (t < w) return t / w;
      const m = spec.minFraction ?? 0;
      const span = E - w;
      const u = span <= 0 ? 1 : Math.min(t - w, span) / span;
      return m + (1 - m) * 0.5 * (1 + Math.cos(Math.PI * u));
    }
  }
}
