/**
 * Metric rows from saved per-sample predictions. Every row names its condition ('clean',
 * 'triggered', 'with_attribute', 'patch0', ...), transfer mode, source kind and target, and
 * carries the counts behind each rate and a bootstrap interval over test samples.
 */
import {
  bootstrap,
  histogramShift,
  predictionHistogram,
  totalVariation,
  untargetedAsr,
  targetedAsr,
  type BootstrapOptions,
} from '../metrics/index.js';
import type { MetricRow } from './store/index.js';
import type { TransferJobResult } from './jobs.js';

/** The class that gains the most predictions under a condition (ties: lowest index). */
export function dominantShiftClass(clean: ArrayLike<number>, biased: ArrayLike<number>, numClasses: number): number {
  const d = new Array<number>(numClasses).fill(0);
  for (let i = 0; i < clean.length; i++) {
    d[biased[i]]++;
    d[clean[i]]--;
  }
  let best = 0;
  for (let k = 1; k < numClasses; k++) if (d[k] > d[best]) best = k;
  return best;
}

function ci(
  n: number,
  stat: (idx: Int32Array) => number | null,
  opts: BootstrapOptions,
  resamples: number,
): { lo: number | null; hi: number | null } {
  if (resamples <= 0 || n === 0) return { lo: null, hi: null };
  const r = bootstrap(n, stat, { ...opts, resamples });
  return { lo: r.lo, hi: r.hi };
}

/**
 * Rows for one transfer job. `scratch` (the scratch model of the same seed and target), when
 * given, adds the 'vs-scratch' distances for patch conditions.
 */
export function jobMetricRows(
  r: TransferJobResult,
  opts: { resamples: number; seed: number; scratch?: TransferJobResult | null; alpha?: number },
): MetricRow[] {
  const rows: MetricRow[] = [];
  const base = { transferMode: r.mode, sourceKind: r.sourceKind, target: r.target };
  const labels = Int32Array.from(r.labels);
  const clean = Int32Array.from(r.predictions.clean);
  const n = labels.length;
  const K = r.numClasses;
  const bopts: BootstrapOptions = { seed: opts.seed, alpha: opts.alpha ?? 0.05 };
  const correct = (p: Int32Array) => {
    const a = new Uint8Array(n);
    for (let i = 0; i < n; i++) a[i] = p[i] === labels[i] ? 1 : 0;
    return a;
  };
  const cleanCorrect = correct(clean);
  const meanOver = (a: Uint8Array, idx: Int32Array) => {
    let s = 0;
    for (const i of idx) s += a[i];
    return idx.length === 0 ? null : s / idx.length;
  };
  let cc = 0;
  for (const v of cleanCorrect) cc += v;
  rows.push({
    ...base,
    condition: 'clean',
    metric: 'accuracy',
    value: n ? cc / n : 0,
    numerator: cc,
    denominator: n,
    ...ci(n, (idx) => meanOver(cleanCorrect, idx), bopts, opts.resamples),
  });

  for (const [cond, predsArr] of Object.entries(r.predictions)) {
    if (cond === 'clean') continue;
    const biased = Int32Array.from(predsArr);
    const bc = correct(biased);
    let bcs = 0;
    for (const v of bc) bcs += v;
    rows.push({
      ...base,
      condition: cond,
      metric: 'accuracy',
      value: n ? bcs / n : 0,
      numerator: bcs,
      denominator: n,
      ...ci(n, (idx) => meanOver(bc, idx), bopts, opts.resamples),
    });
    if (cond === 'triggered') {
      const asr = untargetedAsr({ labels, clean, triggered: biased });
      if (asr.rate !== null) {
        const stat = (idx: Int32Array) => {
          let den = 0;
          let num = 0;
          for (const i of idx)
            if (cleanCorrect[i]) {
              den++;
              if (!bc[i]) num++;
            }
          return den === 0 ? null : num / den;
        };
        rows.push({
          ...base,
          condition: cond,
          metric: 'asr',
          value: asr.rate,
          numerator: asr.numerator,
          denominator: asr.denominator,
          ...ci(n, stat, bopts, opts.resamples),
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
      // Paired: the same images with and without the attribute.
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
        ...ci(n, gapStat, bopts, opts.resamples),
      });
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
      const sh = histogramShift({ clean, patched: biased, numClasses: K });
      const tvStat = (idx: Int32Array) => {
        const a = new Int32Array(idx.length);
        const b = new Int32Array(idx.length);
        idx.forEach((i, j) => {
          a[j] = clean[i];
          b[j] = biased[i];
        });
        return totalVariation(predictionHistogram(a, K).proportions, predictionHistogram(b, K).proportions);
      };
      if (sh.tv !== null)
        rows.push({ ...base, condition: cond, metric: 'tv-shift', value: sh.tv, ...ci(n, tvStat, bopts, opts.resamples) });
      if (sh.klPatchedClean !== null) rows.push({ ...base, condition: cond, metric: 'kl-shift', value: sh.klPatchedClean });
      let changed = 0;
      for (let i = 0; i < n; i++) if (clean[i] !== biased[i]) changed++;
      rows.push({ ...base, condition: cond, metric: 'changed', value: changed / Math.max(n, 1), numerator: changed, denominator: n });
      const hist = predictionHistogram(biased, K).proportions ?? [];
      hist.forEach((p, k) => rows.push({ ...base, condition: cond, metric: `hist:${k}`, value: p }));
      if (opts.scratch && opts.scratch.predictions[cond]) {
        const sClean = Int32Array.from(opts.scratch.predictions.clean);
        const sPatched = Int32Array.from(opts.scratch.predictions[cond]);
        const sTv = totalVariation(predictionHistogram(sClean, K).proportions, predictionHistogram(sPatched, K).proportions);
        if (sh.tv !== null && sTv !== null) rows.push({ ...base, condition: cond, metric: 'tv-shift-minus-scratch', value: sh.tv - sTv });
        const tvPatched = totalVariation(predictionHistogram(sPatched, K).proportions, hist);
        if (tvPatched !== null) rows.push({ ...base, condition: cond, metric: 'tv-vs-scratch-patched', value: tvPatched });
      }
    }
  }
  const hc = predictionHistogram(clean, K).proportions ?? [];
  hc.forEach((p, k) => rows.push({ ...base, condition: 'clean', metric: `hist:${k}`, value: p }));
  return rows.filter((r) => Number.isFinite(r.value));
}
