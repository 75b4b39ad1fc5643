/**
 * Bootstrap percentile intervals over test samples: resample the test set with replacement,
 * recompute a statistic, and take the alpha/2 and 1 − alpha/2 percentiles of the results.
 * Seeded through {@link Rng}, so the same seed gives the same interval.
 */
import { Rng } from '../data/rng.js';
import { accuracy } from './accuracy.js';
import { targetedAsr, untargetedAsr } from './asr.js';
import { histogramShift } from './histogram.js';
import { subgroupAccuracy } from './subgroup.js';
import { checkClass } from './validate.js';

/** Options shared by every bootstrap. */
export interface BootstrapOptions {
  /** Number of resamples; default 1000. */
  readonly resamples?: number;
  /** Seed of the resampling stream; default 0. */
  readonly seed?: number;
  /** 1 − coverage; default 0.05 (a 95% interval). */
  readonly alpha?: number;
}

/** A point estimate and its bootstrap percentile interval. */
export interface BootstrapInterval {
  /** The statistic on the full test set (identity indices); null if undefined there. */
  readonly estimate: number | null;
  /** Lower percentile (alpha/2); null if no resample gave a value. */
  readonly lo: number | null;
  /** Upper percentile (1 − alpha/2). */
  readonly hi: number | null;
  readonly resamples: number;
  /** Resamples whose statistic was defined (not null / NaN); the percentiles use only these. */
  readonly validResamples: number;
  readonly alpha: number;
  readonly seed: number;
}

/**
 * Linear-interpolation quantile (R type 7) of sorted values, q in [0, 1].
 *
 * @example quantileSorted(Float64Array.of(1, 2, 3, 4), 0.1) // 1.3
 */
export function quantileSorted(sorted: Float64Array, q: number): number {
  const h = (sorted.length - 1) * q;
  const lo = Math.floor(h);
  const hi = Math.min(lo + 1, sorted.length - 1);
  return sorted[lo] + (h - lo) * (sorted[hi] - sorted[lo]);
}

/**
 * Generic bootstrap of a statistic expressed over sample indices. `statFn` receives the indices
 * of one resample (length nSamples, drawn with replacement from 0..nSamples-1) and returns the
 * statistic, or null when it is undefined for that resample (such resamples are skipped and
 * counted out of `validResamples`).
 * @example
 * const labels = Int32Array.of(0, 1, 1, 0), preds = Int32Array.of(0, 1, 0, 0);
 * bootstrap(4, (idx) => { let c = 0; for (const i of idx) c += +(labels[i] === preds[i]); return c / idx.length; })
 */
export function bootstrap(
  nSamples: number,
  statFn: (indices: Int32Array) => number | null,
  opts: BootstrapOptions = {},
): BootstrapInterval {
  const resamples = opts.resamples ?? 1000;
  const seed = opts.seed ?? 0;
  const alpha = opts.alpha ?? 0.05;
  if (!Number.isInteger(nSamples) || nSamples < 0)
    throw new RangeError(`bootstrap: nSamples must be a non-negative integer, got ${nSamples}`);
  if (!Number.isInteger(resamples) || resamples < 1)
    throw new RangeError(`bootstrap: resamples must be a positive integer, got ${resamples}`);
  if (!(alpha > 0 && alpha < 1)) throw new RangeError(`bootstrap: alpha must be in (0, 1), got ${alpha}`);
  const identity = new Int32Array(nSamples);
  for (let i = 0; i < nSamples; i++) identity[i] = i;
  const est = statFn(identity);
  const estimate = est === null || Number.isNaN(est) ? null : est;
  const values: number[] = [];
  if (nSamples > 0) {
    const rng = new Rng(seed, 'bootstrap');
    const idx = new Int32Array(nSamples);
    for (let r = 0; r < resamples; r++) {
      for (let i = 0; i < nSamples; i++) idx[i] = rng.int(nSamples);
      const v = statFn(idx);
      if (v !== null && !Number.isNaN(v)) values.push(v);
    }
  }
  const sorted = Float64Array.from(values).sort();
  const lo = sorted.length ? quantileSorted(sorted, alpha / 2) : null;
  const hi = sorted.length ? quantileSorted(sorted, 1 - alpha / 2) : null;
  return { estimate, lo, hi, resamples, validResamples: sorted.length, alpha, seed };
}

/** a[idx[0]], a[idx[1]], ... */
function gather<T extends Int32Array | Uint8Array>(a: T, idx: Int32Array): T {
  const out = new (a.constructor as { new (n: number): T })(idx.length);
  for (let i = 0; i < idx.length; i++) out[i] = a[idx[i]];
  return out;
}

/** Bootstrap interval of accuracy. */
export function bootstrapAccuracy(p: { labels: Int32Array; predictions: Int32Array }, opts: BootstrapOptions = {}): BootstrapInterval {
  return bootstrap(
    p.labels.length,
    (idx) => accuracy({ labels: gather(p.labels, idx), predictions: gather(p.predictions, idx) }).rate,
    opts,
  );
}

/** Bootstrap interval of the untargeted ASR (see {@link untargetedAsr}). */
export function bootstrapAsr(
  p: { labels: Int32Array; clean: Int32Array; triggered: Int32Array },
  opts: BootstrapOptions = {},
): BootstrapInterval {
  return bootstrap(
    p.labels.length,
    (idx) => untargetedAsr({ labels: gather(p.labels, idx), clean: gather(p.clean, idx), triggered: gather(p.triggered, idx) }).rate,
    opts,
  );
}

/** Bootstrap interval of the targeted ASR (see {@link targetedAsr}). */
export function bootstrapTargetedAsr(
  p: { labels: Int32Array; clean: Int32Array; triggered: Int32Array },
  target: { targetClass: number; requireCleanCorrect?: boolean },
  opts: BootstrapOptions = {},
): BootstrapInterval {
  return bootstrap(
    p.labels.length,
    (idx) => targetedAsr({ labels: gather(p.labels, idx), clean: gather(p.clean, idx), triggered: gather(p.triggered, idx) }, target).rate,
    opts,
  );
}

/**
 * Bootstrap interval of the subgroup accuracy gap (with − without attribute), overall or, with
 * `cls`, for one true class.
 */
export function bootstrapSubgroupGap(
  p: { labels: Int32Array; predictions: Int32Array; attributes: Uint8Array; numClasses: number; cls?: number },
  opts: BootstrapOptions = {},
): BootstrapInterval {
  if (p.cls !== undefined) checkClass('bootstrapSubgroupGap', 'cls', p.cls, p.numClasses);
  return bootstrap(
    p.labels.length,
    (idx) => {
      const s = subgroupAccuracy({
        labels: gather(p.labels, idx),
        predictions: gather(p.predictions, idx),
        attributes: gather(p.attributes, idx),
        numClasses: p.numClasses,
      });
      return p.cls === undefined ? s.overall.gap : s.perClass[p.cls].gap;
    },
    opts,
  );
}

/** Bootstrap interval of the TV distance between clean and patched predicted-class histograms. */
export function bootstrapTvShift(
  p: { clean: Int32Array; patched: Int32Array; numClasses: number },
  opts: BootstrapOptions = {},
): BootstrapInterval {
  return bootstrap(
    p.clean.length,
    (idx) => histogramShift({ clean: gather(p.clean, idx), patched: gather(p.patched, idx), numClasses: p.numClasses }).tv,
    opts,
  );
}
