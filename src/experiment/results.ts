/**
 * Metric rows from saved per-sample predictions. Every row names its condition ('clean',
 * 'triggered', 'with_attribute', 'patch0', ...), transfer mode, source kind and target, and
 * carries the counts behind each rate and a bootstrap interval over test samples.
 */
import {
  accuracy,
  bootstrap,
  bootstrapAccuracy,
  bootstrapAsr,
  bootstrapTvShift,
  bootstrapSkew,
  bootstrapSkewContrast,
  bootstrapSkewExcess,
  directionalSkew,
  skewContrast,
  skewExcess,
  histogramShift,
  predictionHistogram,
  dominantShiftClass,
  shiftAgainstScratch,
  untargetedAsr,
  targetedAsr,
  type BootstrapInterval,
  type BootstrapOptions,
} from '../metrics/index.js';
import type { MetricRow } from '../store/index.js';
import type { TransferJobResult } from './jobs.js';

/**
 * Directional-skew rows of one patch condition (src/metrics/skew.ts): 'skew' (rise in share of
 * the class that gains most; counts = predictions of that class with the patch), 'skew-class';
 * for a probe with a neutral twin, 'skew-excess' (skew − the neutral's skew) and, for a
 * transferred model with the scratch model of the same seed, 'skew-excess-minus-scratch' (the
 * natural-bias contrast, paired bootstrap over the same test images).
 */
function skewRows(
  r: TransferJobResult,
  cond: string,
  o: {
    resamples: number;
    scratch?: TransferJobResult | null;
    neutralOf?: ReadonlyMap<string, string>;
    bopts: BootstrapOptions;
    base: Pick<MetricRow, 'transferMode' | 'sourceKind' | 'target'>;
  },
): MetricRow[] {
  const rows: MetricRow[] = [];
  const K = r.numClasses;
  const P = (j: TransferJobResult, c: string) => Int32Array.from(j.predictions[c]);
  const clean = P(r, 'clean');
  const n = clean.length;
  const s = directionalSkew({ clean, patched: P(r, cond), numClasses: K });
  if (s.gain === null) return rows;
  rows.push({
    ...o.base,
    condition: cond,
    metric: 'skew',
    value: s.gain,
    numerator: s.patched.numerator,
    denominator: s.patched.denominator,
    ...ci(n, o.resamples, () => bootstrapSkew({ clean, patched: P(r, cond), numClasses: K }, o.bopts)),
  });
  rows.push({ ...o.base, condition: cond, metric: 'skew-class', value: s.gainClass });
  const neutral = [...(o.neutralOf ?? new Map<string, string>())].find(([, probe]) => probe === cond)?.[0];
  if (neutral === undefined || r.predictions[neutral] === undefined) return rows;
  const mine = { clean, probe: P(r, cond), neutral: P(r, neutral) };
  const ex = skewExcess(mine, K);
  if (ex.excess !== null)
    rows.push({
      ...o.base,
      condition: cond,
      metric: 'skew-excess',
      value: ex.excess,
      ...ci(n, o.resamples, () => bootstrapSkewExcess(mine, K, o.bopts)),
    });
  const sc = o.scratch;
  if (r.mode !== 'scratch' && sc && sc.predictions[cond] && sc.predictions[neutral]) {
    const input = { numClasses: K, transferred: mine, scratch: { clean: P(sc, 'clean'), probe: P(sc, cond), neutral: P(sc, neutral) } };
    const con = skewContrast(input);
    if (con.contrast !== null)
      rows.push({
        ...o.base,
        condition: cond,
        metric: 'skew-excess-minus-scratch',
        value: con.contrast,
        ...ci(n, o.resamples, () => bootstrapSkewContrast(input, o.bopts)),
      });
  }
  return rows;
}

/** The interval of a bootstrap (from src/metrics), or none when resampling is off or there is no sample. */
function ci(n: number, resamples: number, run: () => BootstrapInterval): { lo: number | null; hi: number | null } {
  if (resamples <= 0 || n === 0) return { lo: null, hi: null };
  const r = run();
  return { lo: r.lo, hi: r.hi };
}

/**
 * How far a training curve's last evaluation rises above every earlier one: the final clean
 * accuracy minus the best accuracy before it (negative when an earlier epoch was better), or
 * null with fewer than two evaluations. A new high at the end means more training would still
 * change the model. Unlike a gain over the last quarter of epochs, it is not raised by a
 * decaying learning rate's late gains that have already levelled off, nor by a dip and recovery
 * (epoch-to-epoch noise on a small test set).
 *
 * @example finalGain([0.5, 0.8, 0.93, 0.95]) // 0.02
 */
export function finalGain(curve: readonly number[]): number | null {
  if (curve.length < 2) return null;
  return curve[curve.length - 1] - Math.max(...curve.slice(0, -1));
}

/**
 * Rows for one transfer job. `scratch` (the scratch model of the same seed and target), when
 * given, adds the 'vs-scratch' distances for patch conditions. `correlatedClass` (the target
 * class correlated with a spurious attribute in the source) adds 'shift-toward-correlated': the
 * share of test images predicted as that class with the attribute minus without it, on the same
 * images (paired bootstrap interval), and its value restricted to images of the other classes.
 */
export function jobMetricRows(
  r: TransferJobResult,
  opts: {
    resamples: number;
    seed: number;
    scratch?: TransferJobResult | null;
    alpha?: number;
    correlatedClass?: number | null;
    /** Neutral patch conditions → the probe each mirrors (adds the skew-excess rows). */
    neutralOf?: ReadonlyMap<string, string>;
  },
): MetricRow[] {
  const rows: MetricRow[] = [];
  const base = { transferMode: r.mode, sourceKind: r.sourceKind, target: r.target };
  const labels = Int32Array.from(r.labels);
  const clean = Int32Array.from(r.predictions.clean);
  const n = labels.length;
  const K = r.numClasses;
  const bopts: BootstrapOptions = { seed: opts.seed, alpha: opts.alpha ?? 0.05, resamples: opts.resamples };
  const correct = (p: Int32Array) => {
    const a = new Uint8Array(n);
    for (let i = 0; i < n; i++) a[i] = p[i] === labels[i] ? 1 : 0;
    return a;
  };
  const cleanCorrect = correct(clean);
  const accuracyRow = (condition: string, predictions: Int32Array): MetricRow => {
    const acc = accuracy({ labels, predictions });
    return {
      ...base,
      condition,
      metric: 'accuracy',
      value: acc.rate ?? 0,
      numerator: acc.numerator,
      denominator: acc.denominator,
      ...ci(n, opts.resamples, () => bootstrapAccuracy({ labels, predictions }, bopts)),
    };
  };
  rows.push(accuracyRow('clean', clean));

  for (const [cond, predsArr] of Object.entries(r.predictions)) {
    if (cond === 'clean') continue;
    const biased = Int32Array.from(predsArr);
    rows.push(accuracyRow(cond, biased));
    if (cond === 'triggered') {
      const asr = untargetedAsr({ labels, clean, triggered: biased });
      if (asr.rate !== null) {
        rows.push({
          ...base,
          condition: cond,
          metric: 'asr',
          value: asr.rate,
          numerator: asr.numerator,
          denominator: asr.denominator,
          ...ci(n, opts.resamples, () => bootstrapAsr({ labels, clean, triggered: biased }, bopts)),
        });
      }
      const t = dominantShiftClass(clean, biased, K);
      const tasr = targetedAsr({ labels, clean, triggered: biased }, { targetClass: t });
      if (tasr.rate !== null)
        rows.push({
          ...base,
          condition: cond,
          metric: `targeted-asr`,
          value: tasr.rate,
          numerator: tasr.numerator,
          denominator: tasr.denominator,
        });
      rows.push({ ...base, condition: cond, metric: 'targeted-asr-class', value: t });
    }
    if (cond === 'with_attribute') {
      const bc = correct(biased);
      let bcs = 0;
      for (const v of bc) bcs += v;
      let cc = 0;
      for (const v of cleanCorrect) cc += v;
      // Paired (the same images with and without the attribute), so not bootstrapSubgroupGap,
      // which resamples the two groups as independent samples.
      const gapStat = (idx: Int32Array) => {
        if (idx.length === 0) return null;
        let s = 0;
        for (const i of idx) s += bc[i] - cleanCorrect[i];
        return s / idx.length;
      };
      rows.push({
        ...base,
        condition: cond,
        metric: 'attribute-gap',
        value: (bcs - cc) / Math.max(n, 1),
        ...ci(n, opts.resamples, () => bootstrap(n, gapStat, bopts)),
      });
      const t = opts.correlatedClass ?? null;
      if (t !== null) {
        // Paired: +1 where the attribute turns a prediction into t, -1 where it turns one away from t.
        const toward = new Int8Array(n);
        for (let i = 0; i < n; i++) toward[i] = (biased[i] === t ? 1 : 0) - (clean[i] === t ? 1 : 0);
        const meanOf = (idx: ArrayLike<number>) => {
          if (idx.length === 0) return null;
          let s = 0;
          for (let j = 0; j < idx.length; j++) s += toward[idx[j]];
          return s / idx.length;
        };
        const all = Int32Array.from({ length: n }, (_, i) => i);
        const others = Int32Array.from(all.filter((i) => labels[i] !== t));
        const v = meanOf(all);
        if (v !== null)
          rows.push({
            ...base,
            condition: cond,
            metric: 'shift-toward-correlated',
            value: v,
            ...ci(n, opts.resamples, () => bootstrap(n, (idx) => meanOf(idx), bopts)),
          });
        const vo = meanOf(others);
        if (vo !== null)
          rows.push({
            ...base,
            condition: cond,
            metric: 'shift-toward-correlated:others',
            value: vo,
            ...ci(others.length, opts.resamples, () => bootstrap(others.length, (idx) => meanOf(Array.from(idx, (j) => others[j])), bopts)),
          });
        rows.push({ ...base, condition: cond, metric: 'correlated-class', value: t });
      }
      for (let k = 0; k < K; k++) {
        let m = 0;
        let w = 0;
        let wo = 0;
        for (let i = 0; i < n; i++)
          if (labels[i] === k) {
            m++;
            w += bc[i];
            wo += cleanCorrect[i];
          }
        if (m === 0) continue;
        rows.push({ ...base, condition: 'with_attribute', metric: `class-accuracy:${k}`, value: w / m, numerator: w, denominator: m });
        rows.push({ ...base, condition: 'without_attribute', metric: `class-accuracy:${k}`, value: wo / m, numerator: wo, denominator: m });
        rows.push({ ...base, condition: cond, metric: `class-gap:${k}`, value: (w - wo) / m });
      }
    }
    if (cond.startsWith('patch')) {
      rows.push(...skewRows(r, cond, { ...opts, bopts, base }));
      const sh = histogramShift({ clean, patched: biased, numClasses: K });
      if (sh.tv !== null)
        rows.push({
          ...base,
          condition: cond,
          metric: 'tv-shift',
          value: sh.tv,
          ...ci(n, opts.resamples, () => bootstrapTvShift({ clean, patched: biased, numClasses: K }, bopts)),
        });
      if (sh.klPatchedClean !== null) rows.push({ ...base, condition: cond, metric: 'kl-shift', value: sh.klPatchedClean });
      let changed = 0;
      for (let i = 0; i < n; i++) if (clean[i] !== biased[i]) changed++;
      rows.push({ ...base, condition: cond, metric: 'changed', value: changed / Math.max(n, 1), numerator: changed, denominator: n });
      (sh.patched.proportions ?? []).forEach((p, k) => rows.push({ ...base, condition: cond, metric: `hist:${k}`, value: p }));
      if (opts.scratch && opts.scratch.predictions[cond]) {
        const vs = shiftAgainstScratch({
          transferred: { clean, patched: biased },
          scratch: { clean: Int32Array.from(opts.scratch.predictions.clean), patched: Int32Array.from(opts.scratch.predictions[cond]) },
          numClasses: K,
        });
        if (vs.tvShiftDifference !== null)
          rows.push({ ...base, condition: cond, metric: 'tv-shift-minus-scratch', value: vs.tvShiftDifference });
        if (vs.patchedTv !== null) rows.push({ ...base, condition: cond, metric: 'tv-vs-scratch-patched', value: vs.patchedTv });
      }
    }
  }
  // Is the training curve still rising at its end? (see finalGain)
  const gain = finalGain((r.train?.history ?? []).map((e) => e.evalAccuracy).filter((v): v is number => typeof v === 'number'));
  if (gain !== null) rows.push({ ...base, condition: 'clean', metric: 'final-gain', value: gain });
  const hc = predictionHistogram(clean, K).proportions ?? [];
  hc.forEach((p, k) => rows.push({ ...base, condition: 'clean', metric: `hist:${k}`, value: p }));
  return rows.filter((r) => Number.isFinite(r.value));
}
