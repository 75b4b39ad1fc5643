/**
 * The natural-bias probe bank section of a report: every probe (a class crop or mean, a PNG
 * stencil) ranked by its directional skew — the rise in predicted share of the class that gains
 * most — beyond its neutral twin (same shape and brightness), for each transfer mode against the
 * scratch model. The claim per probe and mode (the paper's: P(bird) +28% for the transferred
 * model vs +2% from scratch) is that the transferred model's excess over neutral exceeds the
 * scratch model's. It is judged by ./verdict.ts on the difference of the two excesses paired by
 * seed (the same seed draws the same crop and sees the same test images for both models, the
 * largest shared source of variance), with its interval over seeds against 0.
 */
import { withInterval } from '../report/format.js';
import {
  barChart,
  histogramChart,
  toCsv,
  type Finding,
  type Holds,
  type ReportChart,
  type ReportImage,
  type Section,
} from '../report/index.js';
import { aggKey, finding, type Agg, type ReportInput } from './report-aggregate.js';
import { judgeAtLeast, judgeGreater } from './verdict.js';

/** How many probes get histograms and example images (the rest are in the table). */
export const TOP_PROBES = 3;

const pts = (v: number | null | undefined) => (v === null || v === undefined ? 'n/a' : `${v >= 0 ? '+' : ''}${(v * 100).toFixed(1)}`);
function ci(a: Agg | undefined): string {
  return withInterval(a, pts);
}

/** One probe's numbers under one transfer mode. */
interface ProbeRow {
  probe: string;
  neutral: string;
  mode: string;
  skew?: Agg;
  neutralSkew?: Agg;
  excess?: Agg;
  scratchSkew?: Agg;
  scratchExcess?: Agg;
  contrast?: Agg;
  /** The class the transferred model skews toward, when every seed agrees. */
  toward: string;
}

/**
 * The probe-bank section for one target and sweep point, or null when the experiment has no
 * probe with a neutral twin. `probeImages` (condition → picture of patched test images) are shown
 * for the top probes.
 */
export function probeBankSection(
  inp: ReportInput & { probeImages?: Readonly<Record<string, ReportImage>> },
  A: Map<string, Agg>,
  target: string,
  sweep: string,
): Section | null {
  const twin = new Map<string, string>();
  for (const [n, p] of Object.entries(inp.neutralOf)) twin.set(p, n);
  const probes = Object.keys(inp.conditionLabels).filter((c) => twin.has(c));
  const modes = inp.modes.filter((m) => m !== 'scratch');
  if (probes.length === 0 || modes.length === 0 || !inp.modes.includes('scratch')) return null;
  // The source under audit: the biased one when there is one (a backdoored or pretrained source), else the clean one.
  const kind = modes.some((m) => A.has(aggKey(sweep, 'biased', target, m, 'clean', 'accuracy'))) ? 'biased' : 'clean';
  const get = (mode: string, cond: string, metric: string) =>
    A.get(aggKey(sweep, mode === 'scratch' ? null : kind, target, mode, cond, metric));
  if (!probes.some((p) => get(modes[0], p, 'skew-excess'))) return null;
  const classes = inp.targetClasses[target] ?? [];
  const label = (c: string) => inp.conditionLabels[c] ?? c;
  const towardOf = (mode: string, cond: string): string => {
    const v = get(mode, cond, 'skew-class')?.values ?? [];
    if (v.length === 0) return 'n/a';
    return v.every((x) => x === v[0]) ? (classes[v[0]] ?? String(v[0])) : `varies (${v.map((x) => classes[x] ?? x).join(', ')})`;
  };
  const rows: ProbeRow[] = [];
  for (const mode of modes)
    for (const p of probes) {
      const n = twin.get(p)!;
      rows.push({
        probe: p,
        neutral: n,
        mode,
        skew: get(mode, p, 'skew'),
        neutralSkew: get(mode, n, 'skew'),
        excess: get(mode, p, 'skew-excess'),
        scratchSkew: get('scratch', p, 'skew'),
        scratchExcess: get('scratch', p, 'skew-excess'),
        contrast: get(mode, p, 'skew-excess-minus-scratch'),
        toward: towardOf(mode, p),
      });
    }
  // Rank by the first transfer mode's contrast (fixed in the ready configs).
  const score = (p: string) => rows.find((r) => r.probe === p && r.mode === modes[0])?.contrast?.mean ?? -Infinity;
  const ranked = [...probes].sort((a, b) => score(b) - score(a));
  const findings: Finding[] = [];
  const tableRows: (string | number | null)[][] = [];
  const csvRows: (string | number | null)[][] = [];
  const verdicts = new Map<string, string>();
  for (const mode of modes) {
    let held = 0;
    for (const p of ranked) {
      const r = rows.find((x) => x.probe === p && x.mode === mode)!;
      // Paired by seed: the contrast row is (transferred excess − scratch excess) of the same seed.
      const j = judgeGreater(r.contrast, 0);
      verdicts.set(`${mode}|${p}`, j.holds);
      if (j.holds === 'yes') held++;
      findings.push(
        finding(
          `${label(p)}: under ${mode} transfer it skews predictions (beyond its neutral patch) more than in the scratch model.`,
          `excess over neutral ${mode} − scratch, paired by seed: ${ci(r.contrast)} points (excess ${mode} ${ci(r.excess)} vs scratch ${ci(r.scratchExcess)}; skew ${ci(r.skew)} toward ${r.toward}; neutral ${ci(r.neutralSkew)})`,
          j,
        ),
      );
    }
    // One probe of many holding could be chance: the summary needs two (or the only probe).
    const failed = ranked.filter((p) => verdicts.get(`${mode}|${p}`) === 'no').length;
    findings.push({
      claim: `Under ${mode} transfer, the source's natural biases carry over: probes skew the transferred model beyond neutral more than the scratch model.`,
      measured: `held for ${held} of ${ranked.length} probes, did not hold for ${failed} (per-probe verdicts above)`,
      ...judgeAtLeast(ranked.map((p) => ({ holds: verdicts.get(`${mode}|${p}`) as Holds, reason: '' }))),
    });
  }
  ranked.forEach((p, i) =>
    modes.forEach((mode) => {
      const r = rows.find((x) => x.probe === p && x.mode === mode)!;
      tableRows.push([
        i + 1,
        label(p),
        mode,
        `${ci(r.skew)} → ${r.toward}`,
        ci(r.neutralSkew),
        ci(r.excess),
        ci(r.scratchExcess),
        ci(r.contrast),
        verdicts.get(`${mode}|${p}`) ?? '',
      ]);
      csvRows.push([
        target,
        p,
        label(p),
        mode,
        kind,
        r.skew?.mean ?? null,
        r.neutralSkew?.mean ?? null,
        r.excess?.mean ?? null,
        r.excess?.lo ?? null,
        r.excess?.hi ?? null,
        r.scratchSkew?.mean ?? null,
        r.scratchExcess?.mean ?? null,
        r.scratchExcess?.lo ?? null,
        r.scratchExcess?.hi ?? null,
        r.contrast?.mean ?? null,
        r.contrast?.lo ?? null,
        r.contrast?.hi ?? null,
        r.excess?.n ?? 0,
      ]);
    }),
  );
  const charts: ReportChart[] = [
    {
      svg: barChart({
        groups: ranked.map((p) => ({
          label: label(p),
          bars: [
            ...modes.map((mode) => {
              const a = get(mode, p, 'skew-excess');
              return { series: `${mode} transfer`, value: a?.mean ?? null, lo: a?.lo ?? null, hi: a?.hi ?? null };
            }),
            (() => {
              const a = get('scratch', p, 'skew-excess');
              return { series: 'scratch', value: a?.mean ?? null, lo: a?.lo ?? null, hi: a?.hi ?? null };
            })(),
          ],
        })),
        title: `Directional skew beyond the neutral patch, per probe (${target})`,
        yLabel: 'skew − neutral skew (share of predictions)',
        width: Math.max(640, 120 + ranked.length * (modes.length + 1) * 22),
      }),
      caption:
        'Skew = rise in predicted share of the class that gains most when the probe is pasted; minus the same for its neutral grey twin. Probes ranked by the first transfer mode’s excess over scratch. Whiskers: intervals over seeds.',
      csvName: `probe-bank-${target}.csv`,
      csv: toCsv(
        [
          'target',
          'condition',
          'probe',
          'mode',
          'source',
          'skew',
          'neutral_skew',
          'excess',
          'excess_lo',
          'excess_hi',
          'scratch_skew',
          'scratch_excess',
          'scratch_excess_lo',
          'scratch_excess_hi',
          'excess_minus_scratch',
          'lo',
          'hi',
          'n_seeds',
        ],
        csvRows,
      ),
    },
  ];
  const images: ReportImage[] = [];
  for (const p of ranked.slice(0, TOP_PROBES)) {
    const hist = (mode: string, cond: string) => classes.map((_, k) => get(mode, cond, `hist:${k}`)?.mean ?? 0);
    const series = [
      { name: 'scratch, no patch', proportions: classes.map((_, k) => get('scratch', 'clean', `hist:${k}`)?.mean ?? 0) },
      ...modes.map((mode) => ({ name: `${mode}, probe`, proportions: hist(mode, p) })),
      { name: `${modes[0]}, neutral`, proportions: hist(modes[0], twin.get(p)!) },
      { name: 'scratch, probe', proportions: hist('scratch', p) },
    ];
    charts.push({
      svg: histogramChart({ classes, series, title: `Predicted classes with ${label(p)} (${target})` }),
      caption: `Predicted-class shares on test images carrying ${label(p)}, for each model, against its neutral twin and the unpatched scratch model (means over seeds).`,
      csvName: `probe-hist-${target}-${p}.csv`,
      csv: toCsv(
        ['series', ...classes],
        series.map((s) => [s.name, ...s.proportions]),
      ),
    });
    const img = inp.probeImages?.[p];
    if (img) images.push(img);
  }
  return {
    id: `${inp.name}-probes-${target}${sweep !== 'default' ? `-${sweep}` : ''}`.replace(/[^a-z0-9-]/gi, '-'),
    title: `Natural-bias probes ranked by directional skew on ${target}`,
    paragraphs: [
      `Each probe is pasted on every test image of ${target}, and so is its neutral twin (a grey patch of the same shape and mean brightness). Skew = the rise in predicted share of the class that gains most; its excess over the neutral twin separates the probe's content from occlusion. A natural bias carried over from the source shows as a transferred model whose excess exceeds the scratch model's (which never saw the source). Values in points of share; intervals over seeds.`,
      `Source under audit: the ${kind} source. Total variation and KL of the histograms (the natural-bias section) are secondary: any occlusion inflates them.`,
    ],
    findings,
    charts,
    tables: [
      {
        caption: `Probes ranked by ${modes[0]}-transfer excess over scratch (points of predicted share; intervals over seeds)`,
        columns: [
          'rank',
          'probe',
          'mode',
          'skew → class',
          'neutral skew',
          'excess over neutral',
          'scratch excess',
          'excess − scratch (paired)',
          'verdict',
        ],
        rows: tableRows,
      },
    ],
    images,
  };
}
