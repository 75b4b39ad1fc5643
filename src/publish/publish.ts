/**
 * Writes an experiment's report: HTML (self-contained), the aggregated numbers as CSV and JSON,
 * from the rows indexed in the store — so a report can be rebuilt at any time without training.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { exampleGridPng, gridImages, type GridRow } from '../bias/index.js';
import type { ImageDataset } from '../data/types.js';
import { renderReport, toCsv, type ReportImage, type Section } from '../report/index.js';
import { expandSweep, type LoadedConfig } from '../experiment/config/index.js';
import {
  describeDataSpec,
  loadSource,
  prepareTarget,
  sourceTestSpec,
  sourceVariants,
  type PrepareContext,
  type TargetData,
} from '../experiment/prepare.js';
import { ACCURACY_FLOOR, CHANCE_MARGIN, aggregate, experimentSections, smokeTest, type FloorCheck } from './report.js';
import { describeRun } from './describe.js';
import { probeExampleImages } from '../experiment/probes.js';
import { chooseRuns, codeHash, codeOfRunId, finishedSeeds, type RunChoice } from '../experiment/run-ids.js';
import { openStore, type MetricRecord } from '../store/index.js';

function pick(ds: ImageDataset, perClass: number, only?: Uint8Array): number[] {
  const out: number[] = [];
  const k = ds.classes.length;
  for (let c = 0; c < k && out.length < 40; c++) {
    let got = 0;
    for (let i = 0; i < ds.n && got < perClass; i++)
      if (ds.labels[i] === c && (!only || only[i])) {
        out.push(i);
        got++;
      }
  }
  return out;
}

/** Example grids: clean vs biased source images (not for a pretrained source: nothing was injected) and the target's evaluation conditions. */
export function exampleImages(ctx: PrepareContext, seed: number, source: ImageDataset, target: TargetData | null): ReportImage[] {
  const images: ReportImage[] = [];
  const variants = sourceVariants(ctx, seed, source);
  const biased = variants.find((v) => v.kind === 'biased');
  // A pretrained source had nothing injected here: there is no before and after to show.
  if (biased && ctx.config.source.pretrained === null) {
    const rec = biased.record as { indices?: number[] } | null;
    const idx = rec?.indices ? rec.indices.slice(0, 8) : pick(biased.dataset, 2);
    const clean = variants.find((v) => v.kind === 'clean');
    const rows: GridRow[] = [];
    if (clean && clean.dataset.n === biased.dataset.n) rows.push({ label: 'clean source', images: gridImages(clean.dataset, idx) });
    rows.push({ label: 'biased source', images: gridImages(biased.dataset, idx) });
    images.push({ png: exampleGridPng(rows, { scale: 3 }), caption: 'Source images before and after bias injection (same images).' });
  }
  if (target !== null) {
    const t = target;
    const idx = Array.from({ length: Math.min(8, t.conditions.get('clean')!.n) }, (_, i) => i);
    const rows: GridRow[] = [...t.conditions].map(([name, ds]) => ({ label: name, images: gridImages(ds, idx) }));
    images.push({
      png: exampleGridPng(rows, { scale: 3 }),
      caption: `Target test images of ${t.name} under each evaluation condition (${[...t.conditions.keys()].join(', ')}).`,
    });
  }
  return images;
}

/** Which images each of an experiment's numbers was computed on, by role (see `dataDescriptions`). */
export type DataDescriptions = Record<string, string>;

/**
 * Which images every accuracy of an experiment is computed on, one line per role, from the config
 * and the datasets as loaded for its first seed: the source's training data, the source accuracy's
 * test data (or why there is none), and each target's training and test data (clean accuracy, ASR,
 * subgroup and skew numbers are all on the target's test images). Written into the report's
 * overview and into report.json (experiments[].data) beside aggregate.csv.
 *
 * @example dataDescriptions(ctx, src, targets)['targets.mnist.test'] // 'mnist test split, 1,000 images (seeded class-balanced subset, limit 1000)'
 */
export function dataDescriptions(ctx: PrepareContext, source: ImageDataset, targets: readonly TargetData[]): DataDescriptions {
  const c = ctx.config;
  const out: DataDescriptions = {};
  if (c.source.pretrained !== null) out['source.train'] = `not trained here (pretrained weights ${c.source.pretrained.weights})`;
  else out['source.train'] = describeDataSpec(c.source.dataset, source.n);
  const testSpec =
    c.source.pretrained !== null || c.source.bias.kind === 'spurious' ? null : sourceTestSpec(c.source.dataset, ctx.configDir);
  out['source.accuracy'] =
    testSpec !== null
      ? describeDataSpec(testSpec)
      : c.source.pretrained !== null
        ? 'not measured (a pretrained source)'
        : c.source.bias.kind === 'spurious'
          ? 'not measured (a spurious source: its test images would need the attribute composed)'
          : 'not measured: the source dataset has no test split (set a holdout, or use a folder with a test/ sub-folder)';
  c.targets.forEach((t, i) => {
    const td = targets[i];
    out[`targets.${t.name}.train`] = describeDataSpec(t.dataset, td?.train.n);
    out[`targets.${t.name}.test`] = describeDataSpec(t.testDataset, td?.conditions.get('clean')?.n);
  });
  return out;
}

/**
 * Sections for one experiment config, from the store under `root`: the runs of the current code
 * version, or with `acceptStale` a finished run of the same config made by other code where the
 * current code has none (the overview then says how many and which code made them). With `pool`,
 * the seeds of every finished run of the config under `root` join the config's own.
 */
export function sectionsFor(
  root: string,
  loaded: LoadedConfig,
  opts: { seconds?: number; examples?: boolean; acceptStale?: boolean; pool?: boolean } = {},
): { sections: Section[]; rows: MetricRecord[]; setup: string; floor: FloorCheck; seeds: number[]; data: DataDescriptions } {
  let c = loaded.config;
  const store = openStore(root);
  let rows: MetricRecord[];
  let choices: RunChoice[];
  let pooled: number[] = [];
  try {
    if (opts.pool) {
      pooled = finishedSeeds(store, c, loaded.dir).filter((s) => !c.seeds.includes(s));
      if (pooled.length > 0) c = { ...c, seeds: [...c.seeds, ...pooled].sort((a, b) => a - b) };
    }
    choices = chooseRuns(store, c, loaded.dir, { acceptStale: opts.acceptStale });
    const ids = new Set(choices.flatMap((ch) => (ch.used ? [ch.used] : [])));
    rows = store.queryMetrics({ name: c.name }).filter((r) => ids.has(r.runId));
  } finally {
    store.close();
  }
  const notes = staleNotes(choices);
  if (opts.pool) {
    const shown = [...new Set(choices.flatMap((ch) => (ch.used ? [ch.seed] : [])))].sort((a, b) => a - b);
    notes.push(
      `Seeds in this report: ${shown.join(', ') || 'none'} (every finished run of this config under ${root}${pooled.length > 0 ? `; seed${pooled.length > 1 ? 's' : ''} ${pooled.join(', ')} from earlier runs` : ''}).`,
    );
  }
  const pre = c.source.pretrained;
  if (pre !== null)
    notes.push(
      `Source: pretrained weights ${pre.weights} (not trained here; reported as the biased source, the one under audit), input ${pre.channels}x${pre.size[0]}x${pre.size[1]} normalised with mean [${pre.mean.join(', ')}] and std [${pre.std.join(', ')}]. ` +
        (pre.control !== null
          ? `Control: pretrained weights ${pre.control} (reported as the clean source).`
          : 'Control: none (source.pretrained.control is not set), so no finding compares the backbone with a clean control.'),
    );
  const ctx: PrepareContext = { config: c, configDir: loaded.dir };
  const seed = c.seeds[0];
  const targetClasses: Record<string, readonly string[]> = {};
  const conditionLabels: Record<string, string> = {};
  const neutralOf: Record<string, string> = {};
  const src = loadSource(ctx, seed);
  const targets = c.targets.map((_, i) => prepareTarget(ctx, i, seed, src));
  const data = dataDescriptions(ctx, src, targets);
  notes.push(
    'Images behind every number: ' +
      Object.entries(data)
        .map(([k, v]) => `${k}: ${v}`)
        .join('; ') +
      '. Clean accuracy, ASR, subgroup and skew numbers of a target are computed on its test images.',
  );
  for (const td of targets) {
    targetClasses[td.name] = td.classes;
    for (const [k, v] of td.describe) if (k.startsWith('patch')) conditionLabels[k] = v;
    for (const [k, v] of td.neutralOf) neutralOf[k] = v;
  }
  const points = expandSweep(c);
  const sweepIds = points.map((p) => p.id);
  const sweepValues = Object.fromEntries(points.map((p) => [p.id, p.values]));
  const setup = describeRun(c, src, targets);
  const floor = smokeTest({
    rows,
    modes: c.transfer.modes,
    targets: c.targets.map((t) => t.name),
    targetClasses,
    sweepIds,
    confidence: c.evaluation.confidence,
  });
  const sections = experimentSections({
    name: c.name,
    setup,
    ...(pre !== null ? { pretrained: { control: pre.control } } : {}),
    description: c.description,
    rows,
    modes: c.transfer.modes,
    targets: c.targets.map((t) => t.name),
    targetClasses,
    conditionLabels,
    neutralOf,
    examples: opts.examples === false ? [] : exampleImages(ctx, seed, src, targets[0] ?? null),
    probeImages: opts.examples === false || targets[0] === undefined ? {} : probeExampleImages(targets[0]),
    config: c,
    seeds: c.seeds,
    sweepIds,
    sweepValues,
    seconds: opts.seconds,
    confidence: c.evaluation.confidence,
    notes,
  });
  const seeds = [...new Set(choices.flatMap((ch) => (ch.used ? [ch.seed] : [])))].sort((a, b) => a - b);
  return { sections, rows, setup, floor, seeds, data };
}

/** What the overview says about runs made by other code (used with --accept-stale, or left out). */
export function staleNotes(choices: readonly RunChoice[]): string[] {
  const notes: string[] = [];
  const used = choices.filter((ch) => ch.stale && ch.used);
  if (used.length > 0) {
    const codes = [...new Set(used.map((ch) => codeOfRunId(ch.used!) ?? 'unrecorded'))].join(', ');
    notes.push(
      `Stale results: ${used.length} of ${choices.length} runs were made by other code (code version ${codes}; this code is ${codeHash().slice(0, 12)}) and reused with --accept-stale; the current code might give other numbers. Runs: ${used.map((ch) => ch.used).join(', ')}.`,
    );
  }
  const left = choices.filter((ch) => ch.used === null && ch.staleAvailable);
  if (left.length > 0)
    notes.push(
      `${left.length} of ${choices.length} runs exist only from other code (a different code version) and are not shown: run the experiment again, or pass --accept-stale to show them marked as stale.`,
    );
  return notes;
}

/** What report.json says about one experiment of a report. */
export interface ExperimentSummary {
  readonly name: string;
  /** The config's hand-written description. */
  readonly description: string;
  /** What ran, generated from the resolved config and the loaded data. */
  readonly setup: string;
  /** The seeds whose runs the report shows. */
  readonly seeds: readonly number[];
  /** Target models with a clean accuracy, and those below the accuracy floor (report.ts accuracyFloor). */
  readonly models: number;
  readonly belowFloor: readonly string[];
  /** At least half the models below the floor: a smoke test, not a measurement. */
  readonly smokeTest: boolean;
  /** Which images each number was computed on, by role (`dataDescriptions`). */
  readonly data: DataDescriptions;
}

/** The report's banner when any experiment is a smoke test (most of its models below the accuracy floor), else null. */
export function smokeBanner(summaries: readonly ExperimentSummary[]): { title: string; text: string } | null {
  const smoke = summaries.filter((s) => s.smokeTest);
  if (smoke.length === 0) return null;
  return {
    title: 'Smoke test: not a measurement.',
    text: `Most target models of ${smoke.map((s) => `${s.name} (${s.belowFloor.length} of ${s.models})`).join(', ')} are under-trained: below ${ACCURACY_FLOOR * 100}% clean accuracy or within ${CHANCE_MARGIN * 100} points of chance. Their bias numbers and verdicts show that the pipeline runs, not what the paper's claims do at this scale; train longer or on more images (e.g. reproduce without --quick) to measure.`,
  };
}

/**
 * Writes report.html, aggregate.csv, aggregate.json and report.json (title, smoke-test banner,
 * each experiment's generated setup, seeds, models below the accuracy floor and which images each
 * number was computed on) for one or more
 * experiments into `outDir`. With `pool`, each experiment's report takes every finished run of its config under `root`
 * (seeds run earlier with other `seeds` lists too) and its overview says which seeds it shows.
 */
export function writeExperimentReport(
  root: string,
  experiments: { loaded: LoadedConfig; seconds?: number }[],
  outDir: string,
  opts: { title?: string; intro?: Section; acceptStale?: boolean; pool?: boolean } = {},
): string {
  mkdirSync(outDir, { recursive: true });
  const sections: Section[] = opts.intro ? [opts.intro] : [];
  const aggRows: (string | number | null)[][] = [];
  const summaries: ExperimentSummary[] = [];
  for (const e of experiments) {
    const r = sectionsFor(root, e.loaded, { seconds: e.seconds, acceptStale: opts.acceptStale, pool: opts.pool });
    sections.push(...r.sections);
    summaries.push({
      name: e.loaded.config.name,
      description: e.loaded.config.description,
      setup: r.setup,
      seeds: r.seeds,
      models: r.floor.models,
      belowFloor: r.floor.below,
      smokeTest: r.floor.smokeTest,
      data: r.data,
    });
    for (const [k, a] of aggregate(r.rows, { confidence: e.loaded.config.evaluation.confidence }))
      aggRows.push([e.loaded.config.name, ...k.split('|'), a.mean, a.lo, a.hi, a.n]);
  }
  const columns = ['experiment', 'sweep', 'source', 'target', 'mode', 'condition', 'metric', 'mean', 'lo', 'hi', 'n_seeds'];
  writeFileSync(join(outDir, 'aggregate.csv'), toCsv(columns, aggRows));
  writeFileSync(
    join(outDir, 'aggregate.json'),
    JSON.stringify(
      aggRows.map((r) => Object.fromEntries(columns.map((c, i) => [c, r[i]]))),
      null,
      1,
    ),
  );
  const title = opts.title ?? experiments.map((e) => e.loaded.config.name).join(', ');
  const banner = smokeBanner(summaries);
  const generatedAt = new Date();
  writeFileSync(
    join(outDir, 'report.json'),
    JSON.stringify(
      {
        title,
        generatedAt: generatedAt.toISOString(),
        smokeTest: banner !== null,
        banner,
        accuracyFloor: ACCURACY_FLOOR,
        experiments: summaries,
      },
      null,
      1,
    ),
  );
  const html = renderReport({ title, subtitle: 'bias-transfer report', generatedAt, sections, ...(banner ? { banner } : {}) });
  const file = join(outDir, 'report.html');
  writeFileSync(file, html);
  return file;
}
