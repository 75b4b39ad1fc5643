/** Summaries of one metric measured over several training seeds. */
import { studentTQuantile } from './studentT.js';

/** Mean, sample standard deviation and t-interval of a metric over seeds. */
export interface SeedAggregate {
  /** Number of finite values used (nulls and NaNs are dropped and counted in `dropped`). */
  readonly n: number;
  readonly dropped: number;
  /** Null when n = 0. */
  readonly mean: number | null;
  /** Sample standard deviation (divisor n − 1); null when n < 2. */
  readonly std: number | null;
  /** Lower end of the (1 − alpha) t-interval for the mean; null when n < 2. */
  readonly lo: number | null;
  readonly hi: number | null;
  /** The t quantile used, t_{1−alpha/2, n−1}; null when n < 2. */
  readonly tCritical: number | null;
  readonly alpha: number;
}

/**
 * Mean, sample std and (1 − alpha) Student-t confidence interval for the mean of `values`
 * (one per seed): mean ± t_{1−α/2, n−1} · std / √n. Default alpha = 0.05 (95% interval).
 * @example aggregateSeeds([1, 2, 3]) // mean 2, std 1, interval 2 ± 4.303 / √3
 */
export function aggregateSeeds(values: readonly (number | null)[], opts: { alpha?: number } = {}): SeedAggregate {
  const alpha = opts.alpha ?? 0.05;
  if (!(alpha > 0 && alpha < 1)) throw new RangeError(`aggregateSeeds: alpha must be in (0, 1), got ${alpha}`);
  const xs = values.filter((v): v is number => v !== null && Number.isFinite(v));
  const n = xs.length;
  const dropped = values.length - n;
  if (n === 0) return { n, dropped, mean: null, std: null, lo: null, hi: null, tCritical: null, alpha };
  const mean = xs.reduce((a, b) => a + b, 0) / n;
  if (n < 2) return { n, dropped, mean, std: null, lo: null, hi: null, tCritical: null, alpha };
  const std = Math.sqrt(xs.reduce((a, x) => a + (x - mean) ** 2, 0) / (n - 1));
  const tCritical = studentTQuantile(1 - alpha / 2, n - 1);
  const half = (tCritical * std) / Math.sqrt(n);
  return { n, dropped, mean, std, lo: mean - half, hi: mean + half, tCritical, alpha };
}
