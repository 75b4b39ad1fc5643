/**
 * Report sections for sweeps over the transfer (not the poisoning): the fine-tuning budget
 * (epochs x learning rate), target weight decay, the de-biased target's fraction q and the target
 * dataset size. Each draws ASR (and clean accuracy) against the swept value, one line per mode
 * and, for a two-key sweep, per value of the second key; its findings box asks whether raising
 * the value lowers the ASR, judged by ./verdict.ts, with clean accuracy beside every number.
 */
import { percentOr, withInterval } from '../report/format.js';
import { PALETTE, lineChart, toCsv, type Finding, type Section } from '../report/index.js';
import { aggKey, trainingCheck, type Agg, type ReportInput } from './report-aggregate.js';
import { judgeGreater } from './verdict.js';

/** Sweep keys drawn by {@link sweepCurveSections}, with their axis label and what raising them does in the paper. */
export const TRANSFER_SWEEP_KEYS: Record<string, { label: string; logX: boolean }> = {
  'targetTraining.epochs': { label: 'target epochs', logX: true },
  'targetTraining.optimizer.lr': { label: 'target learning rate', logX: true },
  'targetTraining.optimizer.weightDecay': { label: 'target weight decay', logX: false },
  'targets.0.bias.fraction': { label: 'share q of target training images with the trigger', logX: false },
  'targets.0.dataset.limit': { label: 'target training images', logX: true },
};

const pct = (v: number | null | undefined) => percentOr(v, 'n/a');
const withCi = (a: Agg | undefined) => withInterval(a, pct);

/** The most lines one chart gets: one per colour of the palette, so no two lines share a colour. */
export const MAX_SERIES = PALETTE.length;

/**
 * Splits a chart's lines into panels (small multiples) of at most {@link MAX_SERIES}: by their
 * `group` (the second sweep key's value) when there are more lines than colours, and a group with
 * still too many lines into chunks. One panel when all fit.
 */
export function panels<T extends { group: string }>(series: readonly T[]): T[][] {
  if (series.length <= MAX_SERIES) return [[...series]];
  const out: T[][] = [];
  for (const g of [...new Set(series.map((s) => s.group))]) {
    const of = series.filter((s) => s.group === g);
    for (let i = 0; i < of.length; i += MAX_SERIES) out.push(of.slice(i, i + MAX_SERIES));
  }
  return out;
}

function panelTitle(ps: readonly { group: string }[], n: number): string {
  const g = ps[0]?.group ?? '';
  return n > 1 && g !== '' && ps.every((p) => p.group === g) ? `, ${g}` : '';
}

/**
 * One section per target for a config whose sweep has a key of {@link TRANSFER_SWEEP_KEYS} (the
 * first such key is the x axis; a second swept key splits the lines). Null when there is none.
 * `sweepValues` maps each sweep point id to its assigned values.
 */
export function sweepCurveSections(
  inp: ReportInput,
  A: Map<string, Agg>,
  sweepValues: Readonly<Record<string, Readonly<Record<string, unknown>>>>,
): Section[] {
  const ids = inp.sweepIds.filter((id) => sweepValues[id] !== undefined);
  if (ids.length < 2) return [];
  const keys = Object.keys(sweepValues[ids[0]]);
  const xKey = keys.find((k) => k in TRANSFER_SWEEP_KEYS);
  if (!xKey) return [];
  const others = keys.filter((k) => k !== xKey);
  const groupOf = (id: string) => others.map((k) => `${k.split('.').pop()}=${JSON.stringify(sweepValues[id][k])}`).join(',');
  const groups = [...new Set(ids.map(groupOf))];
  const xs = (g: string) =>
    ids
      .filter((id) => groupOf(id) === g)
      .map((id) => ({ id, x: Number(sweepValues[id][xKey]) }))
      .sort((a, b) => a.x - b.x);
  const { label, logX } = TRANSFER_SWEEP_KEYS[xKey];
  const sections: Section[] = [];
  for (const target of inp.targets) {
    const get = (id: string, kind: string | null, mode: string, cond: string, metric: string) =>
      A.get(aggKey(id, mode === 'scratch' ? null : kind, target, mode, cond, metric));
    const series: { name: string; group: string; points: { x: number; y: number | null; lo: number | null; hi: number | null }[] }[] = [];
    const accSeries: typeof series = [];
    const csvRows: (string | number | null)[][] = [];
    const findings: Finding[] = [];
    const kindsOf = (m: string) =>
      m === 'scratch' ? [null] : ['biased', 'clean'].filter((k) => ids.some((id) => get(id, k, m, 'clean', 'accuracy')));
    for (const g of groups)
      for (const m of inp.modes)
        for (const k of kindsOf(m)) {
          const pts = xs(g);
          const name = `${m}, ${k ?? 'no'} source${g ? `, ${g}` : ''}`;
          series.push({
            name,
            group: g,
            points: pts.map(({ id, x }) => {
              const a = get(id, k, m, 'triggered', 'asr');
              const acc = get(id, k, m, 'clean', 'accuracy');
              csvRows.push([
                target,
                g,
                m,
                k ?? 'none',
                x,
                a?.mean ?? null,
                a?.lo ?? null,
                a?.hi ?? null,
                acc?.mean ?? null,
                trainingCheck(A, id, target, k, m, inp.targetClasses[target]?.length),
              ]);
              return { x: logX ? Math.max(x, 1e-9) : x, y: a?.mean ?? null, lo: a?.lo ?? null, hi: a?.hi ?? null };
            }),
          });
          accSeries.push({
            name,
            group: g,
            points: pts.map(({ id, x }) => {
              const acc = get(id, k, m, 'clean', 'accuracy');
              return { x: logX ? Math.max(x, 1e-9) : x, y: acc?.mean ?? null, lo: acc?.lo ?? null, hi: acc?.hi ?? null };
            }),
          });
          if (k !== 'biased' || pts.length < 2) continue;
          const lo = pts[0];
          const hi = pts[pts.length - 1];
          const aLo = get(lo.id, k, m, 'triggered', 'asr');
          const aHi = get(hi.id, k, m, 'triggered', 'asr');
          const note = (id: string) => {
            const flag = trainingCheck(A, id, target, k, m, inp.targetClasses[target]?.length);
            return ` (clean accuracy ${pct(get(id, k, m, 'clean', 'accuracy')?.mean)}${flag ? `; ${flag}` : ''})`;
          };
          const ctl = get(hi.id, 'clean', m, 'triggered', 'asr');
          if (aLo && aHi)
            findings.push({
              claim: `Under ${m} transfer, raising the ${label} from ${lo.x} to ${hi.x}${g ? ` (${g})` : ''} lowers the ASR the biased source leaves.`,
              measured: `ASR ${withCi(aLo)}${note(lo.id)} → ${withCi(aHi)}${note(hi.id)}${ctl ? `; clean-source control at ${hi.x}: ${withCi(ctl)}` : ''}`,
              ...judgeGreater(aLo, aHi),
            });
        }
    if (series.length === 0) continue;
    sections.push({
      id: `${inp.name}-sweep-${target}`.replace(/[^a-z0-9-]/gi, '-'),
      title: `ASR against the ${label} (${target})`,
      paragraphs: [
        `Each point is one sweep setting (${ids.length} in all); lines: transfer mode and source${others.length ? `, and ${others.join(', ')}` : ''}. Clean accuracy is drawn beside it: a lower ASR bought with a model that did not learn the task is no mitigation.`,
      ],
      findings,
      // More lines than colours: small multiples, one chart per value of the second key (same axes).
      charts: [
        ...panels(series).map((ps, i, all) => ({
          svg: lineChart({
            series: ps,
            title: `ASR vs ${label} (${target}${panelTitle(ps, all.length)})`,
            xLabel: label,
            yLabel: 'attack success rate',
            logX,
            yMin: 0,
            ...(all.length > 1 ? { yMax: 1 } : {}),
          }),
          caption: `Shaded: intervals over seeds.${all.length > 1 ? ` Panel ${i + 1} of ${all.length} (at most ${MAX_SERIES} lines each, same y axis).` : ''}`,
          ...(i === 0
            ? {
                csvName: `asr-vs-${xKey.split('.').pop()}-${target}.csv`,
                csv: toCsv(['target', 'group', 'mode', 'source', xKey, 'asr', 'lo', 'hi', 'clean_accuracy', 'training_check'], csvRows),
              }
            : {}),
        })),
        ...panels(accSeries).map((ps, i, all) => ({
          svg: lineChart({
            series: ps,
            title: `Clean accuracy vs ${label} (${target}${panelTitle(ps, all.length)})`,
            xLabel: label,
            yLabel: 'clean accuracy',
            logX,
            yMin: 0,
            ...(all.length > 1 ? { yMax: 1 } : {}),
          }),
          caption: `The clean accuracy of the same models.${all.length > 1 ? ` Panel ${i + 1} of ${all.length}.` : ''}`,
        })),
      ],
    });
  }
  return sections;
}
