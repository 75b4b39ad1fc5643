/**
 * Builds a full sample report from synthetic predictions (seeded), going through the real
 * metrics and chart code. Used by the report tests, and handy to look at the layout.
 */
import { PNG } from 'pngjs';
import { Rng } from '../../src/data/rng.js';
import {
  aggregateSeeds,
  bootstrapAsr,
  histogramShift,
  metricsFromPredictions,
  shiftAgainstScratch,
  subgroupAccuracy,
  untargetedAsr,
  type PredictionRecord,
} from '../../src/metrics/index.js';
import { barChart, dotPlot, histogramChart, lineChart, toCsv, type Report } from '../../src/report/index.js';

export const CLASSES = ['T-shirt', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Boot'];

/** Synthetic predictions: accuracy `acc`, and with the trigger a share `flip` moved to class 0. */
export function synthetic(seed: number, n: number, acc: number, flip: number): PredictionRecord {
  const rng = new Rng(seed, 'sample-report');
  const K = CLASSES.length;
  const labels = new Int32Array(n);
  const clean = new Int32Array(n);
  const biased = new Int32Array(n);
  const attributes = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    labels[i] = rng.int(K);
    attributes[i] = rng.bernoulli(0.5) ? 1 : 0;
    const a = acc + (attributes[i] ? 0.06 : -0.06);
    clean[i] = rng.bernoulli(a) ? labels[i] : rng.int(K);
    biased[i] = rng.bernoulli(flip) ? 0 : clean[i];
  }
  return { ids: Int32Array.from({ length: n }, (_, i) => i), labels, clean, biased, attributes, numClasses: K };
}

/** A 28×28 grayscale-looking PNG with a white trigger square in the corner, scaled 4×. */
export function samplePng(): Buffer {
  const s = 4;
  const png = new PNG({ width: 28 * s, height: 28 * s });
  for (let y = 0; y < 28 * s; y++) {
    for (let x = 0; x < 28 * s; x++) {
      const [u, v] = [Math.floor(x / s), Math.floor(y / s)];
      const inShape = (u - 14) ** 2 / 60 + (v - 14) ** 2 / 140 < 1;
      const trigger = u >= 23 && u < 27 && v >= 23 && v < 27;
      const g = trigger ? 255 : inShape ? 170 : 20;
      const o = (y * 28 * s + x) * 4;
      png.data[o] = png.data[o + 1] = png.data[o + 2] = g;
      png.data[o + 3] = 255;
    }
  }
  return PNG.sync.write(png);
}

/** The sample report; `resamples` controls bootstrap cost. */
export function sampleReport(resamples = 200): Report {
  const bs = { resamples, seed: 1 };
  const modes = ['fixed-feature', 'full-network'];
  const runs = {
    'fixed-feature': { biased: synthetic(1, 1000, 0.85, 0.8), clean: synthetic(2, 1000, 0.84, 0.03) },
    'full-network': { biased: synthetic(3, 1000, 0.9, 0.45), clean: synthetic(4, 1000, 0.9, 0.02) },
  } as const;
  const asrRows: (string | number | null)[][] = [];
  const groups = modes.map((mode) => ({
    label: mode,
    bars: (['biased', 'clean'] as const).map((src) => {
      const r = runs[mode as keyof typeof runs][src];
      const p = { labels: r.labels, clean: r.clean, triggered: r.biased! };
      const asr = untargetedAsr(p);
      const iv = bootstrapAsr(p, bs);
      asrRows.push([mode, `${src} source`, asr.rate, iv.lo, iv.hi, asr.numerator, asr.denominator]);
      return { series: `${src} source`, value: asr.rate, lo: iv.lo, hi: iv.hi };
    }),
  }));
  const asrColumns = ['transfer mode', 'source', 'ASR', 'lo', 'hi', 'flipped', 'clean-correct'];
  const poisoned = [10, 30, 100, 300, 1000];
  const line = (name: string, base: number, seedOff: number) => ({
    name,
    points: poisoned.map((k, i) => {
      const seeds = [0, 1, 2].map((s) => {
        const r = synthetic(100 + seedOff + 10 * i + s, 300, 0.85, Math.min(0.95, base * Math.log10(k)));
        return untargetedAsr({ labels: r.labels, clean: r.clean, triggered: r.biased! }).rate;
      });
      const a = aggregateSeeds(seeds);
      return { x: k, y: a.mean, lo: a.lo, hi: a.hi };
    }),
  });
  const tr = runs['fixed-feature'].biased;
  const sc = runs['fixed-feature'].clean;
  const against = shiftAgainstScratch({
    transferred: { clean: tr.clean, patched: tr.biased! },
    scratch: { clean: sc.clean, patched: sc.biased! },
    numClasses: CLASSES.length,
    targetClass: 0,
  });
  const sub = subgroupAccuracy({ labels: tr.labels, predictions: tr.clean, attributes: tr.attributes!, numClasses: CLASSES.length });
  const m = metricsFromPredictions(tr, { targetClass: 0, bootstrap: bs });
  const hs = histogramShift({ clean: tr.clean, patched: tr.biased!, numClasses: CLASSES.length });
  return {
    title: 'Bias transfer: sample report (synthetic data)',
    subtitle: 'Fashion-MNIST-like classes, backdoor trigger in the source model',
    generatedAt: new Date(Date.UTC(2024, 0, 2, 3, 4, 5)),
    sections: [
      {
        id: 'backdoor',
        title: 'Backdoor attack success after transfer',
        paragraphs: [
          'ASR = P(f(T(x)) ≠ y | f(x) = y), over test images the model classifies correctly without the trigger. Error bars: 95% bootstrap percentile intervals over test samples.',
        ],
        findings: [
          {
            claim: 'Backdoors of the source model survive fixed-feature transfer.',
            measured: `ASR ${groups[0].bars[0].value?.toFixed(3)} with a biased source vs ${groups[0].bars[1].value?.toFixed(3)} with a clean source`,
            holds: 'yes',
          },
          {
            claim: 'Full-network fine-tuning removes the backdoor.',
            measured: `ASR ${groups[1].bars[0].value?.toFixed(3)} vs ${groups[1].bars[1].value?.toFixed(3)}`,
            holds: 'no',
          },
          {
            claim: 'Effect grows with the number of poisoned images.',
            measured: 'three seeds per point; intervals overlap at 10 and 30',
            holds: 'inconclusive',
          },
        ],
        charts: [
          {
            svg: barChart({ title: 'ASR by transfer mode', yLabel: 'attack success rate', yMax: 1, groups }),
            caption: 'ASR by transfer mode, biased vs clean source.',
            csvName: 'asr_by_mode.csv',
            csv: toCsv(asrColumns, asrRows),
          },
          {
            svg: lineChart({
              title: 'ASR vs poisoned images',
              xLabel: 'poisoned images',
              yLabel: 'ASR',
              logX: true,
              yMin: 0,
              yMax: 1,
              series: [line('fixed-feature', 0.3, 0), line('full-network', 0.15, 1)],
            }),
            caption: 'Mean over 3 seeds with 95% t-intervals (shaded).',
          },
        ],
        tables: [{ caption: 'ASR with counts', columns: asrColumns, rows: asrRows }],
        images: [{ png: samplePng(), caption: 'A test image with the trigger (bottom right)' }],
      },
      {
        id: 'patch-shift',
        title: 'Prediction shift under the patch',
        paragraphs: [
          `TV(transferred patched, scratch patched) = ${against.patchedTv?.toFixed(3)}; difference of shifts = ${against.tvShiftDifference?.toFixed(3)}.`,
        ],
        charts: [
          {
            svg: histogramChart({
              title: 'Predicted classes with the patch',
              classes: CLASSES,
              series: [
                { name: 'transferred', proportions: against.transferred.patched.proportions },
                { name: 'scratch', proportions: against.scratch.patched.proportions },
              ],
            }),
            caption: 'Predicted-class histograms on patched test images.',
          },
        ],
        tables: [
          {
            caption: 'Shift measures (transferred model)',
            columns: ['measure', 'value'],
            rows: [
              ['TV(clean, patched)', hs.tv],
              ['KL(patched ‖ clean)', hs.klPatchedClean],
              ['targeted ASR (class 0)', m.targetedAsr?.rate ?? null],
              ['TV bootstrap lo', m.intervals?.tvShift?.lo ?? null],
            ],
          },
        ],
      },
      {
        id: 'subgroups',
        title: 'Accuracy with vs without the attribute',
        charts: [
          {
            svg: dotPlot({
              title: 'Clean accuracy by subgroup',
              xLabel: 'accuracy',
              xMin: 0,
              xMax: 1,
              rows: sub.perClass.map((r) => ({
                label: CLASSES[r.cls],
                dots: [
                  { series: 'with attribute', value: r.withAttribute.rate },
                  { series: 'without attribute', value: r.withoutAttribute.rate },
                ],
              })),
            }),
            caption: 'Per-class accuracy; the grey segment is the gap.',
          },
        ],
        config: { seed: 1, transfer: { mode: 'fixed-feature', epochs: 3 }, note: '<not html>' },
      },
    ],
  };
}
