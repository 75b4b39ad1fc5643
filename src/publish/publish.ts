/**
 * Writes an experiment's report: HTML (self-contained), the aggregated numbers as CSV and JSON,
 * from the rows indexed in the store and the facts its runs wrote (class names, image counts,
 * probe names, example pictures; src/store/facts.ts) — so a report can be rebuilt at any time
 * without training, and without loading a dataset (runs of older code, which wrote no facts, get
 * them recomputed from the data: ./legacy-facts.ts).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { resolveCacheRoot } from '../data/index.js';
import { renderReport, toCsv, type ReportImage, type Section } from '../report/index.js';
import { canonicalJson, expandSweep, type ExperimentConfig, type LoadedConfig } from '../experiment/config/index.js';
import { chooseRuns, codeHash, codeOfRunId, finishedSeeds, type RunChoice } from '../experiment/run-ids.js';
import { openStore, readRunFacts, runPaths, type MetricRecord, type RunFactsWithImages } from '../store/index.js';
import { ACCURACY_FLOOR, CHANCE_MARGIN, aggregate, experimentSections, smokeTest, type FloorCheck } from './report.js';
import { describeRun } from './describe.js';
import { dataDescriptions, type DataDescriptions } from './data-descriptions.js';
import { recomputeFacts } from './legacy-facts.js';

export type { DataDescriptions } from './data-descriptions.js';

/**
 * Which run's facts describe an experiment's data in its report: the run of the config's first
 * seed at the sweep point that is the base config (the whole config when there is no sweep), or
 * the first sweep point when none is (`sizesOf` then names it).
 */
function factsRun(
  root: string,
  c: ExperimentConfig,
  choices: readonly RunChoice[],
): { facts: RunFactsWithImages | null; sizesOf?: string } {
  const points = expandSweep(c);
  const base = canonicalJson({ ...c, sweep: {} });
  const point = points.find((p) => canonicalJson(p.config) === base) ?? points[0];
  const sizesOf = point === points.find((p) => canonicalJson(p.config) === base) ? undefined : `sweep point ${point.id}'s`;
  const used = choices.find((ch) => ch.sweepId === point.id && ch.seed === c.seeds[0])?.used ?? null;
  return { facts: used === null ? null : readRunFacts(runPaths(root, used).dir), ...(sizesOf !== undefined ? { sizesOf } : {}) };
}

/**
 * Sections for one experiment config, from the store under `root`: the runs of the current code
 * version, or with `acceptStale` a finished run of the same config made by other code where the
 * current code has none (the overview then says how many and which code made them). With `pool`,
 * the seeds of every finished run of the config under `root` join the config's own. What the data
 * was (classes, counts, pictures) comes from the facts of one run (`factsRun`).
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
  const chosen = factsRun(root, c, choices);
  // Runs of code from before facts were written: the same facts, computed as reports used to.
  const { facts, images } =
    chosen.facts ??
    recomputeFacts(
      { config: c, configDir: loaded.dir, cacheRoot: resolveCacheRoot({ resultsRoot: root }) },
      c.seeds[0],
      opts.examples !== false,
    );
  const picture = (f: { file: string; caption: string }): ReportImage => ({ png: images.get(f.file)!, caption: f.caption });
  const targetClasses: Record<string, readonly string[]> = {};
  const conditionLabels: Record<string, string> = {};
  const neutralOf: Record<string, string> = {};
  const data = dataDescriptions(c, facts);
  notes.push(
    'Images behind every number: ' +
      Object.entries(data)
        .map(([k, v]) => `${k}: ${v}`)
        .join('; ') +
      '. Clean accuracy, ASR, subgroup and skew numbers of a target are computed on its test images.',
  );
  for (const td of facts.targets) {
    targetClasses[td.name] = td.classes;
    Object.assign(conditionLabels, td.conditionLabels);
    Object.assign(neutralOf, td.neutralOf);
  }
  const points = expandSweep(c);
  const sweepIds = points.map((p) => p.id);
  const sweepValues = Object.fromEntries(points.map((p) => [p.id, p.values]));
  const setup = describeRun(c, facts, chosen.sizesOf);
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
    examples: opts.examples === false ? [] : facts.examples.map(picture),
    probeImages: opts.examples === false ? {} : Object.fromEntries(Object.entries(facts.probeExamples).map(([k, f]) => [k, picture(f)])),
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
