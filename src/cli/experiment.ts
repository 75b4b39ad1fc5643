/**
 * The experiment commands: `run`, `sweep`, `report`, `reproduce`, `schema`.
 *
 * Every command writes under a results root (`--root`, default `runs/`): the SQLite index,
 * the source-model cache, one folder per run (config, logs, checkpoints, predictions, metrics)
 * and the reports. Interrupt any of them and start the same command again: finished work is
 * reused, unfinished training resumes from its last checkpoint.
 */
import { existsSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineCommand, SET_FLAG, CliError } from './args.js';
import type { CommandIO } from './commands/io.js';
import { exportJsonSchema, loadConfig, expandSweep, type LoadedConfig } from '../experiment/config/index.js';
import { runExperiment } from '../experiment/runner.js';
import { writeExperimentReport } from '../experiment/publish.js';
import { createProgressPrinter } from '../train/progress.js';
import type { ProgressEvent } from '../train/trainer.js';
import { openStore } from '../experiment/store/index.js';
import { setNumThreads } from '../torch/index.js';

const ROOT_FLAG = {
  name: 'root',
  type: 'string',
  default: 'runs',
  valueName: 'dir',
  description: 'Results root: runs, cache, index database and reports live here.',
} as const;
const THREADS_FLAG = {
  name: 'threads',
  type: 'number',
  description: 'libtorch intra-op threads (overrides the config; results can differ between thread counts).',
} as const;
const QUIET_FLAG = { name: 'quiet', type: 'boolean', short: 'q', description: 'Only print the result paths (no progress lines).' } as const;

export const runCommand = defineCommand({
  name: 'run',
  summary: "Run one experiment config for every seed (its sweep is ignored unless --point names points; 'sweep' runs them all).",
  description:
    'Pretrains the source models (biased and clean control, cached), transfers them to every target in every mode, evaluates, and writes the report to ROOT/reports/NAME/report.html.',
  flags: [
    ROOT_FLAG,
    SET_FLAG,
    THREADS_FLAG,
    QUIET_FLAG,
    {
      name: 'point',
      type: 'string[]',
      valueName: 'id',
      description: "Sweep point id(s) to run (see 'sweep --list'); default: the config without its sweep.",
    },
  ],
  positionals: [{ name: 'config', description: 'Experiment config (YAML or JSON).' }],
  examples: ['run experiments/natural.yaml --set seeds=[0]', 'run experiments/backdoor.yaml --point probability=0.25'],
});

export const sweepCommand = defineCommand({
  name: 'sweep',
  summary: 'Run every point of a config’s sweep grid, then one report over all of them.',
  description:
    'Safe to interrupt and restart (only missing work runs) and to run twice at once on one root (work is claimed in the index).',
  flags: [ROOT_FLAG, SET_FLAG, THREADS_FLAG, QUIET_FLAG, { name: 'list', type: 'boolean', description: 'Only list the sweep points.' }],
  positionals: [{ name: 'config', description: 'Experiment config (YAML or JSON).' }],
});

export const reportCommand = defineCommand({
  name: 'report',
  summary: 'Rebuild the HTML report of an experiment from the results index (no training).',
  flags: [
    ROOT_FLAG,
    SET_FLAG,
    { name: 'out', type: 'string', valueName: 'dir', description: 'Output folder (default ROOT/reports/NAME).' },
  ],
  positionals: [{ name: 'config', description: 'The experiment config the runs came from.' }],
});

export const reproduceCommand = defineCommand({
  name: 'reproduce',
  summary: "Run the paper's three experiments at CPU scale and write one report.",
  description:
    'Backdoor (ASR by transfer mode and against the number of poisoned images), spurious correlation (accuracy with/without the attribute) and natural bias (prediction-histogram shift under source-class patches), each with its control. Full size (5 seeds): about 20 minutes on 2 cores; --quick: under 2 minutes.',
  flags: [
    { ...ROOT_FLAG, default: 'runs/reproduce' },
    { name: 'quick', type: 'boolean', description: 'Reduced size (1 seed, smaller data, fewer epochs) for a first try.' },
    THREADS_FLAG,
    QUIET_FLAG,
    { name: 'only', type: 'string[]', valueName: 'name', description: 'Run only these experiments (backdoor, spurious, natural).' },
  ],
});

export const schemaCommand = defineCommand({
  name: 'schema',
  summary: 'Print the JSON Schema of experiment configs (for editors).',
  flags: [],
});

/** The experiment commands. */
export const experimentCommands = [runCommand, sweepCommand, reportCommand, reproduceCommand, schemaCommand] as const;

function progress(quiet: boolean): (label: string, e: ProgressEvent) => void {
  if (quiet) return () => {};
  const printers = new Map<string, (e: ProgressEvent) => void>();
  return (label, e) => {
    let p = printers.get(label);
    if (!p) printers.set(label, (p = createProgressPrinter({ label })));
    p(e);
    // Labels repeat across sweep points and seeds: a finished job's printer (and its clock) goes.
    if (e.kind === 'done') printers.delete(label);
  };
}

function load(path: string, sets: readonly string[] | undefined, threads: number | undefined): LoadedConfig {
  if (!existsSync(path)) throw new CliError(`config file not found: ${path}`);
  const overrides = [...(sets ?? [])];
  if (threads !== undefined) overrides.push(`threads=${threads}`);
  return loadConfig(path, { overrides });
}

async function runLoaded(io: CommandIO, loaded: LoadedConfig, root: string, quiet: boolean, points?: string[]): Promise<number> {
  const r = await runExperiment({ loaded, root, onProgress: progress(quiet), log: quiet ? () => {} : (l) => io.err(l), points });
  const file = writeExperimentReport(root, [{ loaded, seconds: r.seconds }], join(root, 'reports', loaded.config.name));
  io.out(`${loaded.config.name}: ${r.runs.length} run(s) in ${(r.seconds / 60).toFixed(1)} min`);
  io.out(`report: ${file}`);
  return 0;
}

/** `run CONFIG` */
export async function runRun(
  flags: { root: string; set?: string[]; threads?: number; quiet?: boolean; point?: string[] },
  pos: { config: string },
  io: CommandIO,
): Promise<number> {
  const loaded = load(pos.config, flags.set, flags.threads);
  if (flags.point && flags.point.length > 0) return runLoaded(io, loaded, flags.root, flags.quiet ?? false, flags.point);
  const noSweep = { ...loaded, config: { ...loaded.config, sweep: {} } };
  return runLoaded(io, noSweep, flags.root, flags.quiet ?? false);
}

/** `sweep CONFIG` */
export async function runSweep(
  flags: { root: string; set?: string[]; threads?: number; quiet?: boolean; list?: boolean },
  pos: { config: string },
  io: CommandIO,
): Promise<number> {
  const loaded = load(pos.config, flags.set, flags.threads);
  if (flags.list) {
    for (const p of expandSweep(loaded.config)) io.out(p.id);
    return 0;
  }
  return runLoaded(io, loaded, flags.root, flags.quiet ?? false);
}

/** `report CONFIG` */
export async function runReport(
  flags: { root: string; set?: string[]; out?: string },
  pos: { config: string },
  io: CommandIO,
): Promise<number> {
  const loaded = load(pos.config, flags.set, undefined);
  const store = openStore(flags.root);
  const n = store.listRuns({ name: loaded.config.name }).length;
  store.close();
  if (n === 0) throw new CliError(`no runs of '${loaded.config.name}' under ${flags.root}: run it first`);
  const file = writeExperimentReport(flags.root, [{ loaded }], flags.out ?? join(flags.root, 'reports', loaded.config.name));
  io.out(`report: ${file}`);
  return 0;
}

/** Where the ready experiment configs live. */
export function experimentsDir(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  for (const up of ['../..', '../../..']) {
    const p = resolve(here, up, 'experiments');
    if (existsSync(join(p, 'backdoor.yaml'))) return p;
  }
  throw new Error('experiments/ folder not found next to the package');
}

/** The reduced sizes of `reproduce --quick`, as config overrides per experiment. */
export const QUICK_OVERRIDES: Record<string, string[]> = {
  backdoor: [
    'seeds=[0]',
    'source.dataset.limit=4000',
    'sourceTraining.epochs=3',
    'targets.0.dataset.limit=1000',
    'targets.0.testDataset.limit=500',
    'targets.1.dataset.limit=1000',
    'targets.1.testDataset.limit=500',
    'targetTraining.epochs=3',
    'evaluation.bootstrap=200',
    'sweep={"source.bias.poison.probability": [0.1, 1.0]}',
  ],
  spurious: [
    'seeds=[0, 1]',
    'source.dataset.limit=3000',
    'sourceTraining.epochs=3',
    'targets.0.dataset.limit=600',
    'targets.0.testDataset.limit=500',
    'targetTraining.epochs=3',
    'evaluation.bootstrap=200',
  ],
  natural: [
    'seeds=[0]',
    'source.dataset.limit=4000',
    'sourceTraining.epochs=3',
    'targets.0.dataset.limit=1000',
    'targets.0.testDataset.limit=500',
    'targetTraining.epochs=3',
    'evaluation.bootstrap=200',
  ],
};

/** `reproduce [--quick]` */
export async function runReproduce(
  flags: { root: string; quick?: boolean; threads?: number; quiet?: boolean; only?: string[] },
  _pos: Record<string, never>,
  io: CommandIO,
): Promise<number> {
  const dir = experimentsDir();
  const names = ['backdoor', 'spurious', 'natural'].filter((n) => !flags.only || flags.only.length === 0 || flags.only.includes(n));
  for (const n of flags.only ?? [])
    if (!['backdoor', 'spurious', 'natural'].includes(n))
      throw new CliError(`--only: unknown experiment '${n}' (backdoor, spurious, natural)`);
  const root = flags.quick ? join(flags.root, 'quick') : flags.root;
  const done: { loaded: LoadedConfig; seconds: number }[] = [];
  const t0 = Date.now();
  for (const n of names) {
    const sets = flags.quick ? QUICK_OVERRIDES[n] : [];
    const loaded = load(join(dir, `${n}.yaml`), sets, flags.threads);
    if (flags.threads !== undefined) setNumThreads(flags.threads);
    io.err(`== ${n}: ${loaded.config.description}`);
    const r = await runExperiment({
      loaded,
      root,
      onProgress: progress(flags.quiet ?? false),
      log: flags.quiet ? () => {} : (l) => io.err(l),
    });
    done.push({ loaded, seconds: r.seconds });
    io.out(`${n}: ${r.runs.length} run(s) in ${(r.seconds / 60).toFixed(1)} min`);
  }
  const total = (Date.now() - t0) / 1000;
  const file = writeExperimentReport(root, done, join(root, 'report'), {
    title: `When does bias transfer? A CPU-scale reproduction${flags.quick ? ' (quick)' : ''}`,
    intro: {
      id: 'about',
      title: 'About this report',
      paragraphs: [
        'Salman et al. (arXiv 2207.02842) claim: fixed-feature transfer carries a source backdoor far more than full fine-tuning, which carries more than training from scratch; the number of poisoned images matters little; a spurious correlation survives full fine-tuning; a source-class patch skews transferred models but not scratch ones.',
        'This report reproduces the three experiments with small CNNs on Fashion-MNIST and MNIST on a CPU. Every experiment carries its control (a clean source; a neutral grey patch of the same brightness). Each finding box states what was measured, with intervals at each config’s evaluation.confidence, and marks the claim as held (intervals over at least 2 seeds disjoint in the claimed direction), did not hold (disjoint the other way), inconclusive (they overlap) or “one seed, indicative”. At this scale some effects show and some do not; nothing here is tuned to make a claim hold.',
        `Total wall time: ${(total / 60).toFixed(1)} min${flags.quick ? ' (quick size)' : ''}. Every chart's numbers are downloadable as CSV next to it and in aggregate.csv beside this file; per-sample predictions are under each run's predictions/ folder.`,
      ],
    },
  });
  writeFileSync(
    join(root, 'report', 'timing.json'),
    JSON.stringify(
      { seconds: total, quick: flags.quick ?? false, experiments: done.map((d) => ({ name: d.loaded.config.name, seconds: d.seconds })) },
      null,
      1,
    ),
  );
  io.out(`report: ${file}`);
  return 0;
}

/** `schema` */
export async function runSchema(_f: Record<string, never>, _p: Record<string, never>, io: CommandIO): Promise<number> {
  io.out(JSON.stringify(exportJsonSchema(), null, 2));
  return 0;
}
