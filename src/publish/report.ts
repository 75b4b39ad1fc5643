/**
 * Turns an experiment's metric rows (from the store) into the report: the paper's figures with
 * intervals, a findings box per section that says whether each claim held as measured, the
 * numbers behind every chart as CSV, example images and the resolved config.
 *
 * Intervals: with several seeds, a Student-t interval over seeds at `evaluation.confidence`;
 * with one seed, the bootstrap interval over test samples of that seed (at the same level).
 * Every claim is judged in ./verdict.ts (held only with >= 2 seeds and disjoint intervals).
 */
import { percentOr, withInterval } from '../report/format.js';
import { judgeFlatDose, judgeGreater, judgeLess } from './verdict.js';
import { barChart, dotPlot, histogramChart, lineChart, toCsv, type Finding, type Section } from '../report/index.js';
import {
  aggKey,
  aggregate,
  kindsRun,
  smokeTest,
  STILL_RISING,
  trainingCheck,
  UNDERTRAINED_MARGIN,
  type Agg,
  type FloorCheck,
  type ReportInput,
} from './report-aggregate.js';
import { sweepCurveSections } from './report-sweeps.js';
import { probeBankSection } from './report-probes.js';

// The builders' shared base, where importers of this module have always found it.
export * from './report-aggregate.js';

const pct = (v: number | null) => percentOr(v, 'n/a');
const num = (v: number | null) => (v === null ? 'n/a' : v.toFixed(3));
function withCi(a: Agg | undefined, f = pct): string {
  return withInterval(a, f);
}

/** The confidence level as a label, e.g. '95%'. */
function level(inp: ReportInput): string {
  return `${+((inp.confidence ?? 0.95) * 100).toFixed(1)}%`;
}

/** What the report says the control is: a clean source trained here, a pretrained control backbone, or none. */
function controlSentence(inp: Pick<ReportInput, 'pretrained'>): string {
  if (!inp.pretrained) return 'The clean-source control is the same pipeline with an unpoisoned source; scratch has no source at all.';
  if (inp.pretrained.control === null)
    return 'The source is a pretrained backbone (nothing was injected here) and has no control (source.pretrained.control is not set); scratch has no source at all.';
  return `The source is a pretrained backbone (nothing was injected here); its control is the pretrained backbone ${inp.pretrained.control} (source.pretrained.control); scratch has no source at all.`;
}

function modeSeries(kind: string | null, mode: string): string {
  if (mode === 'scratch') return 'scratch (no source)';
  return `${kind} source`;
}

function backdoorSection(inp: ReportInput, A: Map<string, Agg>, target: string, sweep: string): Section | null {
  const get = (kind: string | null, mode: string, cond: string, metric: string) =>
    A.get(aggKey(sweep, mode === 'scratch' ? null : kind, target, mode, cond, metric));
  if (!inp.modes.some((m) => get('biased', m, 'triggered', 'asr') || get('clean', m, 'triggered', 'asr'))) return null;
  const groups = inp.modes
    .filter((m) => kindsRun(A, sweep, target, m).length > 0)
    .map((m) => ({
      label: m,
      bars: kindsRun(A, sweep, target, m).map((k) => {
        const a = get(k, m, 'triggered', 'asr');
        return { series: modeSeries(k, m), value: a?.mean ?? null, lo: a?.lo ?? null, hi: a?.hi ?? null };
      }),
    }));
  const csvRows: (string | number | null)[][] = [];
  const tableRows: (string | number | null)[][] = [];
  for (const m of inp.modes)
    for (const k of kindsRun(A, sweep, target, m)) {
      const asr = get(k, m, 'triggered', 'asr');
      const acc = get(k, m, 'clean', 'accuracy');
      const tacc = get(k, m, 'triggered', 'accuracy');
      const tasr = get(k, m, 'triggered', 'targeted-asr');
      csvRows.push([target, m, k ?? 'none', asr?.mean ?? null, asr?.lo ?? null, asr?.hi ?? null, acc?.mean ?? null, asr?.n ?? 0]);
      tableRows.push([
        m,
        k ?? 'none',
        withCi(acc),
        withCi(tacc),
        withCi(asr),
        withCi(tasr),
        trainingCheck(A, sweep, target, k, m, inp.targetClasses[target]?.length) || 'ok',
      ]);
    }
  const findings: Finding[] = [];
  // Clean accuracy beside every ASR in the findings (and the training check when it fails).
  const accNote = (k: string | null, m: string) => {
    const flag = trainingCheck(A, sweep, target, k, m, inp.targetClasses[target]?.length);
    return ` (clean accuracy ${pct(get(k, m, 'clean', 'accuracy')?.mean ?? null)}${flag ? `; ${flag}` : ''})`;
  };
  const fb = get('biased', 'fixed', 'triggered', 'asr');
  const fc = get('clean', 'fixed', 'triggered', 'asr');
  const ub = get('biased', 'full', 'triggered', 'asr');
  const sc = get(null, 'scratch', 'triggered', 'asr');
  if (fb && fc)
    findings.push({
      claim: 'Fixed-feature transfer carries the backdoor: ASR from the biased source exceeds its clean-source control.',
      measured: `biased ${withCi(fb)}${accNote('biased', 'fixed')} vs clean ${withCi(fc)}${accNote('clean', 'fixed')}`,
      ...judgeGreater(fb, fc),
    });
  if (fb && ub)
    findings.push({
      claim: 'Fixed-feature transfer carries the backdoor more than full fine-tuning.',
      measured: `fixed ${withCi(fb)}${accNote('biased', 'fixed')} vs full ${withCi(ub)}${accNote('biased', 'full')}`,
      ...judgeGreater(fb, ub),
    });
  if (ub && sc)
    findings.push({
      claim: 'Full fine-tuning from the biased source carries more of it than training from scratch.',
      measured: `full ${withCi(ub)}${accNote('biased', 'full')} vs scratch ${withCi(sc)}${accNote(null, 'scratch')}`,
      ...judgeGreater(ub, sc),
    });
  const ubc = get('clean', 'full', 'triggered', 'asr');
  if (ub && ubc)
    findings.push({
      claim: 'Under full fine-tuning the biased source still exceeds its clean control.',
      measured: `biased ${withCi(ub)}${accNote('biased', 'full')} vs clean ${withCi(ubc)}${accNote('clean', 'full')}`,
      ...judgeGreater(ub, ubc),
    });
  // partial:k — how many blocks must be fine-tuned before the backdoor falls to its control's level.
  for (const m of inp.modes.filter((x) => x.startsWith('partial:'))) {
    const b = get('biased', m, 'triggered', 'asr');
    const c = get('clean', m, 'triggered', 'asr');
    if (b && c)
      findings.push({
        claim: `Fine-tuning only the last ${m.slice(8)} block(s) (${m}) still leaves the backdoor above its clean control.`,
        measured: `biased ${withCi(b)}${accNote('biased', m)} vs clean ${withCi(c)}${accNote('clean', m)}`,
        ...judgeGreater(b, c),
      });
  }
  return {
    id: `${inp.name}-backdoor-${target}${sweep !== 'default' ? `-${sweep}` : ''}`.replace(/[^a-z0-9-]/gi, '-'),
    title: `Backdoor: attack success rate on ${target}${sweep !== 'default' ? ` (${sweep})` : ''}`,
    paragraphs: [
      `ASR = P(f(T(x)) ≠ y | f(x) = y): among target test images the model classifies correctly, the share it gets wrong once the ${inp.pretrained ? 'trigger T under test (evaluation.trigger)' : 'source trigger T'} is pasted. ${controlSentence(inp)}`,
      'Targeted ASR is toward the class that gains the most predictions under the trigger (chosen after the fact, so read it as descriptive).',
    ],
    findings,
    charts: [
      {
        svg: barChart({ groups, title: `ASR by transfer mode (${target})`, yLabel: 'attack success rate', yMin: 0 }),
        caption: `Bars: mean over seeds; whiskers: ${level(inp)} interval (t over seeds, or bootstrap over test images with one seed).`,
        csvName: `asr-by-mode-${target}.csv`,
        csv: toCsv(['target', 'mode', 'source', 'asr', 'lo', 'hi', 'clean_accuracy', 'n_seeds'], csvRows),
      },
    ],
    tables: [
      {
        caption: `Accuracy and attack success (${level(inp)} intervals)`,
        columns: ['mode', 'source', 'clean accuracy', 'triggered accuracy', 'ASR', 'targeted ASR', 'training check'],
        rows: tableRows,
      },
    ],
  };
}

function poisonCurveSection(inp: ReportInput, A: Map<string, Agg>, target: string): Section | null {
  if (inp.sweepIds.length < 2) return null;
  const points: { sweep: string; count: number }[] = [];
  for (const s of inp.sweepIds) {
    const c = A.get(aggKey(s, 'biased', null, null, 'source', 'poisoned-images'));
    if (c?.mean != null) points.push({ sweep: s, count: c.mean });
  }
  if (new Set(points.map((p) => p.count)).size < 2) return null;
  points.sort((a, b) => a.count - b.count);
  const series: { name: string; points: { x: number; y: number | null; lo: number | null; hi: number | null }[] }[] = [];
  const csvRows: (string | number | null)[][] = [];
  for (const m of inp.modes)
    for (const k of kindsRun(
      A,
      points.map((p) => p.sweep),
      target,
      m,
    )) {
      const pts = points.map((p) => {
        const a = A.get(aggKey(p.sweep, k, target, m, 'triggered', 'asr'));
        csvRows.push([target, m, k ?? 'none', p.count, a?.mean ?? null, a?.lo ?? null, a?.hi ?? null]);
        return { x: Math.max(p.count, 1), y: a?.mean ?? null, lo: a?.lo ?? null, hi: a?.hi ?? null };
      });
      series.push({ name: `${m}, ${k ?? 'no'} source`, points: pts });
    }
  const fixedB = points.map((p) => A.get(aggKey(p.sweep, 'biased', target, 'fixed', 'triggered', 'asr')));
  const fixedC = points.map((p) => A.get(aggKey(p.sweep, 'clean', target, 'fixed', 'triggered', 'asr')));
  const findings: Finding[] = [];
  if (fixedB.every((a) => a?.mean != null)) {
    const above = fixedB.filter((a, i) => judgeGreater(a, fixedC[i]).holds === 'yes').length;
    findings.push({
      claim: 'The number of poisoned source images matters little (fixed-feature ASR above its clean control and flat across counts).',
      measured: `fixed-feature ASR from ${points[0].count} to ${points[points.length - 1].count} poisoned images: ${fixedB.map((a) => withCi(a)).join(' → ')}; clean control ${fixedC.map((a) => withCi(a)).join(' → ')}; above the control at ${above} of ${points.length} counts`,
      ...judgeFlatDose(points.map((p, i) => ({ dose: p.count, biased: fixedB[i], control: fixedC[i] }))),
    });
  }
  return {
    id: `${inp.name}-poison-curve-${target}`.replace(/[^a-z0-9-]/gi, '-'),
    title: `ASR against the number of poisoned source images (${target})`,
    paragraphs: [
      'Each point is one sweep setting of the poisoning; the clean-source lines are the same control retrained per point (they should be flat).',
    ],
    findings,
    charts: [
      {
        svg: lineChart({
          series,
          title: `ASR vs poisoned source images (${target})`,
          xLabel: 'poisoned source images',
          yLabel: 'attack success rate',
          logX: true,
          yMin: 0,
        }),
        caption: `Shaded: ${level(inp)} intervals.`,
        csvName: `asr-vs-poison-${target}.csv`,
        csv: toCsv(['target', 'mode', 'source', 'poisoned_images', 'asr', 'lo', 'hi'], csvRows),
      },
    ],
  };
}

function spuriousSection(inp: ReportInput, A: Map<string, Agg>, target: string, sweep: string): Section | null {
  const get = (kind: string | null, mode: string, cond: string, metric: string) =>
    A.get(aggKey(sweep, mode === 'scratch' ? null : kind, target, mode, cond, metric));
  if (!inp.modes.some((m) => get('biased', m, 'with_attribute', 'attribute-gap') || get(null, m, 'with_attribute', 'attribute-gap')))
    return null;
  const classes = inp.targetClasses[target] ?? [];
  const groups = inp.modes
    .filter((m) => kindsRun(A, sweep, target, m).length > 0)
    .map((m) => ({
      label: m,
      bars: kindsRun(A, sweep, target, m).map((k) => {
        const a = get(k, m, 'with_attribute', 'attribute-gap');
        return { series: modeSeries(k, m), value: a?.mean ?? null, lo: a?.lo ?? null, hi: a?.hi ?? null };
      }),
    }));
  const dotRows: { label: string; dots: { series: string; value: number | null; lo?: number | null; hi?: number | null }[] }[] = [];
  const csvRows: (string | number | null)[][] = [];
  for (const m of inp.modes)
    for (const k of kindsRun(A, sweep, target, m))
      classes.forEach((cls, ci) => {
        const w = get(k, m, 'with_attribute', `class-accuracy:${ci}`);
        const wo = get(k, m, 'without_attribute', `class-accuracy:${ci}`);
        if (!w && !wo) return;
        dotRows.push({
          label: `${m}, ${k ?? 'no'} src, ${cls}`,
          dots: [
            { series: 'without attribute', value: wo?.mean ?? null, lo: wo?.lo, hi: wo?.hi },
            { series: 'with attribute', value: w?.mean ?? null, lo: w?.lo, hi: w?.hi },
          ],
        });
        csvRows.push([
          target,
          m,
          k ?? 'none',
          cls,
          wo?.mean ?? null,
          w?.mean ?? null,
          get(k, m, 'with_attribute', `class-gap:${ci}`)?.mean ?? null,
        ]);
      });
  const findings: Finding[] = [];
  // The paper's quantity is directional: the attribute pushes predictions toward the class it
  // went with in the source. Per class (accuracy with vs without) and the shift toward that class.
  const t = get('biased', inp.modes.find((m) => m !== 'scratch') ?? 'fixed', 'with_attribute', 'correlated-class')?.mean ?? null;
  const accNote = (k: string | null, m: string) => {
    const flag = trainingCheck(A, sweep, target, k, m, inp.targetClasses[target]?.length);
    return ` (clean accuracy ${pct(get(k, m, 'clean', 'accuracy')?.mean ?? null)}${flag ? `; ${flag}` : ''})`;
  };
  const perClass = (k: string | null, m: string) =>
    classes
      .map((cls, ci) => {
        const w = get(k, m, 'with_attribute', `class-accuracy:${ci}`);
        const wo = get(k, m, 'without_attribute', `class-accuracy:${ci}`);
        return `${cls} ${pct(wo?.mean ?? null)} → ${pct(w?.mean ?? null)}`;
      })
      .join(', ');
  if (t !== null) {
    const tc = classes[t] ?? `class ${t}`;
    for (const m of inp.modes.filter((x) => x !== 'scratch')) {
      const b = get('biased', m, 'with_attribute', 'shift-toward-correlated');
      const c = get('clean', m, 'with_attribute', 'shift-toward-correlated');
      if (b && c)
        findings.push({
          claim:
            m === 'fixed'
              ? `Under fixed-feature transfer the attribute shifts predictions toward ${tc} (the class it went with in the source) more for the biased source than for its control.`
              : `The spurious correlation survives ${m === 'full' ? 'full fine-tuning' : m}: the attribute shifts predictions toward ${tc} more for the biased source than for its control.`,
          measured: `shift toward ${tc}: biased ${withCi(b)}${accNote('biased', m)} vs control ${withCi(c)}${accNote('clean', m)}; per class (without → with the attribute), biased: ${perClass('biased', m)}; control: ${perClass('clean', m)}`,
          ...judgeGreater(b, c),
        });
    }
    const fb = get('biased', 'fixed', 'with_attribute', 'shift-toward-correlated');
    const sc = get(null, 'scratch', 'with_attribute', 'shift-toward-correlated');
    if (fb && sc)
      findings.push({
        claim: `The shift toward ${tc} under fixed-feature transfer from the biased source exceeds the scratch model's.`,
        measured: `biased fixed ${withCi(fb)} vs scratch ${withCi(sc)}${accNote(null, 'scratch')}; scratch per class: ${perClass(null, 'scratch')}`,
        ...judgeGreater(fb, sc),
      });
  } else {
    // No class of the target went with the attribute in the source: only the overall gap can be shown.
    for (const m of ['fixed', 'full']) {
      const b = get('biased', m, 'with_attribute', 'attribute-gap');
      const c = get('clean', m, 'with_attribute', 'attribute-gap');
      if (b && c)
        findings.push({
          claim: `Under ${m} transfer the attribute costs the biased source's model more accuracy than its control's (no target class is the correlated source class, so only the overall gap is measured).`,
          measured: `gap biased ${withCi(b)}${accNote('biased', m)} vs control ${withCi(c)}${accNote('clean', m)}`,
          ...judgeLess(b, c),
        });
    }
  }
  const shiftGroups = inp.modes
    .filter((m) => kindsRun(A, sweep, target, m).length > 0)
    .map((m) => ({
      label: m,
      bars: kindsRun(A, sweep, target, m).map((k) => {
        const a = get(k, m, 'with_attribute', 'shift-toward-correlated');
        return { series: modeSeries(k, m), value: a?.mean ?? null, lo: a?.lo ?? null, hi: a?.hi ?? null };
      }),
    }));
  return {
    id: `${inp.name}-spurious-${target}${sweep !== 'default' ? `-${sweep}` : ''}`.replace(/[^a-z0-9-]/gi, '-'),
    title: `Spurious correlation: accuracy with and without the attribute on ${target}`,
    paragraphs: [
      'The same target test images are evaluated twice: as composed (without the attribute) and with the attribute object added. A transferred spurious correlation pushes predictions toward the class the attribute went with in the source (the paper: people make the model say “dog”), for the biased source and not for the clean control (whose attribute is independent of the class).',
      'The findings judge the directional quantity: the shift toward the correlated class = share of the test images predicted as that class with the attribute minus without it (the same images). The overall gap (all classes together) is shown below but not judged: a push toward one class raises that class’s accuracy and lowers the others’, so it partly cancels.',
    ],
    findings,
    charts: [
      ...(t !== null
        ? [
            {
              svg: barChart({
                groups: shiftGroups,
                title: `Shift of predictions toward ${classes[t] ?? t} under the attribute (${target})`,
                yLabel: 'share predicted as the correlated class: with − without',
              }),
              caption: `Mean over seeds, ${level(inp)} intervals.`,
            },
          ]
        : []),
      {
        svg: barChart({ groups, title: `Attribute gap by mode (${target})`, yLabel: 'accuracy with − without attribute' }),
        caption: `Overall accuracy gap caused by the attribute, ${level(inp)} intervals.`,
        csvName: `attribute-gap-${target}.csv`,
        csv: toCsv(['target', 'mode', 'source', 'class', 'acc_without', 'acc_with', 'gap'], csvRows),
      },
      ...(dotRows.length > 0
        ? [
            {
              svg: dotPlot({
                rows: dotRows,
                title: `Per-class accuracy with vs without the attribute (${target})`,
                xLabel: 'accuracy',
                xMin: 0,
                xMax: 1,
              }),
              caption: 'Each row: one class under one mode and source.',
            },
          ]
        : []),
    ],
  };
}

function patchSection(inp: ReportInput, A: Map<string, Agg>, target: string, sweep: string): Section | null {
  const get = (kind: string | null, mode: string, cond: string, metric: string) =>
    A.get(aggKey(sweep, mode === 'scratch' ? null : kind, target, mode, cond, metric));
  const conds = Object.keys(inp.conditionLabels).filter((c) => c.startsWith('patch'));
  if (conds.length === 0) return null;
  const kinds = (m: string) => kindsRun(A, sweep, target, m);
  const groups = inp.modes
    .filter((m) => kindsRun(A, sweep, target, m).length > 0)
    .map((m) => ({
      label: m,
      bars: kinds(m).flatMap((k) =>
        conds.map((c) => {
          const a = get(k, m, c, 'tv-shift');
          return {
            series: `${inp.conditionLabels[c] ?? c}${k === 'biased' ? ', biased source' : ''}`,
            value: a?.mean ?? null,
            lo: a?.lo ?? null,
            hi: a?.hi ?? null,
          };
        }),
      ),
    }));
  const csvRows: (string | number | null)[][] = [];
  const tableRows: (string | number | null)[][] = [];
  for (const m of inp.modes)
    for (const k of kinds(m))
      for (const c of conds) {
        const tv = get(k, m, c, 'tv-shift');
        const ch = get(k, m, c, 'changed');
        const vs = get(k, m, c, 'tv-shift-minus-scratch');
        csvRows.push([
          target,
          m,
          k ?? 'none',
          c,
          tv?.mean ?? null,
          tv?.lo ?? null,
          tv?.hi ?? null,
          get(k, m, c, 'kl-shift')?.mean ?? null,
          ch?.mean ?? null,
          vs?.mean ?? null,
        ]);
        tableRows.push([
          m,
          k ?? 'none',
          inp.conditionLabels[c] ?? c,
          withCi(tv, num),
          num(get(k, m, c, 'kl-shift')?.mean ?? null),
          withCi(ch),
          num(vs?.mean ?? null),
        ]);
      }
  const classes = inp.targetClasses[target] ?? [];
  const charts = [
    {
      svg: barChart({
        groups,
        title: `Prediction-histogram shift under patches (${target})`,
        yLabel: 'total variation (clean vs patched)',
        yMin: 0,
      }),
      caption:
        'Total variation distance between the predicted-class histograms without and with the patch; neutral = grey square of the same mean brightness.',
      csvName: `patch-shift-${target}.csv`,
      csv: toCsv(['target', 'mode', 'source', 'condition', 'tv', 'lo', 'hi', 'kl', 'changed', 'tv_minus_scratch'], csvRows),
    },
  ];
  for (const c of conds.filter((x) => !inp.neutralOf[x]).slice(0, 3)) {
    const series = inp.modes
      .filter((m) => m === 'fixed' || m === 'full' || m === 'scratch')
      .map((m) => {
        const k = m === 'scratch' ? null : 'clean';
        return { name: `${m}${m === 'scratch' ? '' : ''}`, proportions: classes.map((_, ci) => get(k, m, c, `hist:${ci}`)?.mean ?? 0) };
      });
    const cleanSeries = {
      name: 'scratch, no patch',
      proportions: classes.map((_, ci) => get(null, 'scratch', 'clean', `hist:${ci}`)?.mean ?? 0),
    };
    charts.push({
      svg: histogramChart({ classes, series: [cleanSeries, ...series], title: `Predicted classes with ${inp.conditionLabels[c] ?? c}` }),
      caption: `Predicted-class proportions on patched test images, transferred (clean source) vs scratch.`,
      csvName: `hist-${target}-${c}.csv`,
      csv: toCsv(
        ['series', ...classes],
        [cleanSeries, ...series].map((s) => [s.name, ...s.proportions]),
      ),
    });
  }
  const findings: Finding[] = [];
  const realPatch = conds.find((c) => !inp.neutralOf[c]);
  const neutral = conds.find((c) => inp.neutralOf[c] === realPatch);
  if (realPatch) {
    for (const m of ['fixed', 'full']) {
      const t = get('clean', m, realPatch, 'tv-shift');
      const s = get(null, 'scratch', realPatch, 'tv-shift');
      if (t && s)
        findings.push({
          claim: `A source-class patch skews the ${m}-transferred model more than the scratch model.`,
          measured: `TV shift ${m} ${withCi(t, num)} vs scratch ${withCi(s, num)}`,
          ...judgeGreater(t, s),
        });
      const nu = neutral ? get('clean', m, neutral, 'tv-shift') : undefined;
      if (t && nu)
        findings.push({
          claim: `For ${m} transfer the source-class patch shifts predictions more than the neutral patch.`,
          measured: `TV shift patch ${withCi(t, num)} vs neutral ${withCi(nu, num)}`,
          ...judgeGreater(t, nu),
        });
    }
  }
  return {
    id: `${inp.name}-patches-${target}${sweep !== 'default' ? `-${sweep}` : ''}`.replace(/[^a-z0-9-]/gi, '-'),
    title: `Natural bias: source-class patches on ${target}`,
    paragraphs: [
      'A patch cut from a source class is pasted on every target test image; a transferred model that learned the source class’s features shifts its predictions, a scratch model should not. The neutral grey patch separates “any occlusion” from “this class’s features”.',
    ],
    findings,
    charts,
    tables: [
      {
        caption: `Histogram shift per patch (${level(inp)} intervals)`,
        columns: ['mode', 'source', 'condition', 'TV shift', 'KL(patched‖clean)', 'predictions changed', 'TV − scratch TV'],
        rows: tableRows,
      },
    ],
  };
}

function accuracySection(inp: ReportInput, A: Map<string, Agg>, sweep: string): Section {
  const rows: (string | number | null)[][] = [];
  for (const kind of ['biased', 'clean']) {
    const a = A.get(aggKey(sweep, kind, null, null, 'clean', 'source-accuracy'));
    if (a) rows.push(['source', '—', kind, withCi(a), '']);
  }
  for (const t of inp.targets)
    for (const m of inp.modes)
      for (const k of kindsRun(A, sweep, t, m)) {
        const a = A.get(aggKey(sweep, k, t, m, 'clean', 'accuracy'));
        if (a) rows.push([t, m, k ?? 'none', withCi(a), trainingCheck(A, sweep, t, k, m, inp.targetClasses[t]?.length) || 'ok']);
      }
  return {
    id: `${inp.name}-accuracy${sweep !== 'default' ? `-${sweep}` : ''}`.replace(/[^a-z0-9-]/gi, '-'),
    title: `Clean accuracy${sweep !== 'default' ? ` (${sweep})` : ''}`,
    paragraphs: [
      'Accuracy on clean test images. A bias measurement means little on a model that did not learn the task: check these first.',
      `Training check: a model is flagged under-trained when its clean accuracy is more than ${UNDERTRAINED_MARGIN * 100} points below the scratch baseline of the same target (when its curve has plateaued, as for fixed-feature transfer from a distant source, that is the frozen features' ceiling rather than too few steps), and still rising when its last evaluation is more than ${STILL_RISING * 100} points above every earlier one (a new high at the end; a decaying learning rate's levelled-off gains and dips do not count).`,
    ],
    tables: [
      { caption: `Clean test accuracy (${level(inp)} intervals)`, columns: ['task', 'mode', 'source', 'accuracy', 'training check'], rows },
    ],
  };
}

/** Builds the report sections of an experiment. */
/** The overview's paragraph about models below the accuracy floor: none when every model passes. */
export function smokeParagraph(f: FloorCheck): string[] {
  if (f.below.length === 0) return [];
  const head = f.smokeTest
    ? `Smoke test: not a measurement. ${f.below.length} of ${f.models} target models are below the accuracy floor, so the bias numbers and verdicts below are read off models that did not learn their target`
    : `${f.below.length} of ${f.models} target models are below the accuracy floor (read their bias numbers with care)`;
  return [`${head}: ${f.below.join('; ')}.`];
}

export function experimentSections(inp: ReportInput): Section[] {
  const A = aggregate(inp.rows, { confidence: inp.confidence });
  const sections: Section[] = [
    {
      id: `${inp.name}-overview`.replace(/[^a-z0-9-]/gi, '-'),
      title: `${inp.name}: overview`,
      paragraphs: [
        inp.description || 'No description.',
        ...(inp.setup ? [inp.setup] : []),
        ...smokeParagraph(smokeTest(inp)),
        `Seeds: ${inp.seeds.join(', ')}. Transfer modes: ${inp.modes.join(', ')}. Targets: ${inp.targets.join(', ')}.${inp.sweepIds.length > 1 ? ` Sweep points: ${inp.sweepIds.join('; ')}.` : ''}${inp.seconds !== undefined ? ` Wall time: ${(inp.seconds / 60).toFixed(1)} min.` : ''}`,
        ...(inp.notes ?? []),
      ],
      images: inp.examples,
    },
  ];
  for (const t of inp.targets) {
    const curve = poisonCurveSection(inp, A, t);
    if (curve) sections.push(curve);
  }
  sections.push(...sweepCurveSections(inp, A, inp.sweepValues ?? {}));
  const sweepsToShow = inp.sweepIds.length > 1 ? [inp.sweepIds[inp.sweepIds.length - 1]] : inp.sweepIds;
  for (const s of sweepsToShow) {
    for (const t of inp.targets) {
      for (const f of [backdoorSection, spuriousSection, probeBankSection, patchSection]) {
        const sec = f(inp, A, t, s);
        if (sec) sections.push(sec);
      }
    }
    sections.push(accuracySection(inp, A, s));
  }
  sections.push({ id: `${inp.name}-config`.replace(/[^a-z0-9-]/gi, '-'), title: `${inp.name}: resolved config`, config: inp.config });
  return sections;
}
