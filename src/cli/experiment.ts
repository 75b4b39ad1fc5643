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
import { closestMatch } from '../experiment/config/suggest.js';
import { checkInt, type CommandIO } from './commands/io.js';
import { exportJsonSchema, loadConfig, expandSweep, type LoadedConfig } from '../experiment/config/index.js';
import { writeExperimentReport } from '../publish/publish.js';
import { createProgressPrinter } from '../train/progress.js';
import type { ProgressEvent } from '../train/trainer.js';
import { indexPath, openStore } from '../store/index.js';
import { chooseRuns, finishedSeeds, type RunChoice } from '../experiment/run-ids.js';
import { setNumThreads } from '../torch/index.js';
import { QUEUE_FLAG, WORKERS_FLAG, withExecution, type ExecutionFlags } from './worker.js';

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
const CACHE_FLAG = {
  name: 'cache',
  type: 'string',
  valueName: 'dir',
  description:
    'Shard cache folder of datasets with stream: true (sets $BIAS_TRANSFER_CACHE for this process and the workers it starts). Default: $BIAS_TRANSFER_CACHE, else ROOT/.cache.',
} as const;

/** `--cache DIR`: the shard cache folder, handed on as $BIAS_TRANSFER_CACHE (which the runner, the report and local workers all read). */
function applyCacheFlag(cache: string | undefined): void {
  if (cache !== undefined) process.env.BIAS_TRANSFER_CACHE = resolve(cache);
}
const QUIET_FLAG = { name: 'quiet', type: 'boolean', short: 'q', description: 'Only print the result paths (no progress lines).' } as const;
const ACCEPT_STALE_FLAG = {
  name: 'accept-stale',
  type: 'boolean',
  description:
    'Reuse finished runs of the same config made by other code (a different code version: the hash of the code that computes the numbers) instead of rerunning them; the report marks them as stale.',
} as const;

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
    ACCEPT_STALE_FLAG,
    QUEUE_FLAG,
    WORKERS_FLAG,
    CACHE_FLAG,
    {
      name: 'point',
      type: 'string[]',
      valueName: 'id',
      description: "Sweep point id(s) to run (see 'sweep --list'); default: the config without its sweep.",
    },
  ],
  positionals: [{ name: 'config', description: 'Experiment config (YAML or JSON).' }],
  examples: ['run experiments/natural.yaml --set seeds=[0]', 'run experiments/backdoor.yaml --point probability=1'],
  run: (flags, positionals, io) => runRun(flags, positionals, io),
});

export const sweepCommand = defineCommand({
  name: 'sweep',
  summary: 'Run every point of a config’s sweep grid, then one report over all of them.',
  description:
    'Safe to interrupt and restart (only missing work runs) and to run twice at once on one root (work is claimed in the index).',
  flags: [
    ROOT_FLAG,
    SET_FLAG,
    THREADS_FLAG,
    QUIET_FLAG,
    ACCEPT_STALE_FLAG,
    QUEUE_FLAG,
    WORKERS_FLAG,
    CACHE_FLAG,
    { name: 'list', type: 'boolean', description: 'Only list the sweep points.' },
  ],
  positionals: [{ name: 'config', description: 'Experiment config (YAML or JSON).' }],
  run: (flags, positionals, io) => runSweep(flags, positionals, io),
});

export const reportCommand = defineCommand({
  name: 'report',
  summary: 'Rebuild the HTML report of an experiment from the results index (no training).',
  flags: [
    ROOT_FLAG,
    SET_FLAG,
    ACCEPT_STALE_FLAG,
    CACHE_FLAG,
    { name: 'out', short: 'o', type: 'string', valueName: 'dir', description: 'Output folder (default ROOT/reports/NAME).' },
  ],
  positionals: [{ name: 'config', description: 'The experiment config the runs came from.' }],
  run: (flags, positionals, io) => runReport(flags, positionals, io),
});

/** Where `reproduce` writes without --root. */
export const REPRODUCE_ROOT = 'runs/reproduce';
/** Where `reproduce --quick` writes without --root (apart from the full size's runs). */
export const REPRODUCE_QUICK_ROOT = 'runs/reproduce/quick';

export const reproduceCommand = defineCommand({
  name: 'reproduce',
  summary: "Run the paper's three experiments at CPU scale and write one report.",
  description:
    'Backdoor (ASR by transfer mode and against the number of poisoned images), spurious correlation (the shift of predictions toward the correlated class when the attribute appears, and accuracy per class with/without it) and natural bias (directional skew under crops of source-class images, beyond a neutral patch and against scratch), each with its control. Full size (5 seeds, targets trained to a plateau): about 8 minutes on 2 otherwise idle cores; --quick (one seed, less data, targets still trained to 75-95% clean accuracy): under a minute. --mitigations adds the fine-tuning budget sweep and the four mitigations.',
  flags: [
    {
      name: 'root',
      type: 'string',
      valueName: 'dir',
      description: `Results root: runs, cache, index database and the report live here (default ${REPRODUCE_ROOT}, with --quick ${REPRODUCE_QUICK_ROOT}; a given --root is used as it is, --quick or not).`,
    },
    { name: 'quick', type: 'boolean', description: 'Reduced size (1 seed, smaller data, fewer epochs) for a first try.' },
    THREADS_FLAG,
    QUIET_FLAG,
    ACCEPT_STALE_FLAG,
    QUEUE_FLAG,
    WORKERS_FLAG,
    {
      name: 'mitigations',
      type: 'boolean',
      description:
        'Also run the fine-tuning budget sweep and the mitigations (weight decay, de-biased target, partial:k, target size; experiments/finetune-budget.yaml and experiments/mitigation-*.yaml). About 9 more minutes at full size on 2 idle cores.',
    },
    {
      name: 'only',
      type: 'string[]',
      valueName: 'name',
      description:
        'Run only these experiments (backdoor, spurious, natural, finetune-budget, mitigation-weight-decay, mitigation-debias-target, mitigation-partial, mitigation-target-size).',
    },
  ],
  run: (flags, _positionals, io) => runReproduce(flags, {}, io),
});

export const schemaCommand = defineCommand({
  name: 'schema',
  summary: 'Print the JSON Schema of experiment configs (for editors).',
  flags: [],
  run: (_flags, _positionals, io) => runSchema({}, {}, io),
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
  // Checked here so the message names the flag given, not the `--set threads=N` it becomes.
  checkInt('threads', threads);
  const overrides = [...(sets ?? [])];
  if (threads !== undefined) overrides.push(`threads=${threads}`);
  return loadConfig(path, { overrides });
}

async function runLoaded(
  io: CommandIO,
  loaded: LoadedConfig,
  root: string,
  quiet: boolean,
  points?: string[],
  acceptStale = false,
  exec: ExecutionFlags = {},
): Promise<number> {
  const r = await withExecution({ ...exec, quiet }, root, io, (ex) =>
    ex.run({ loaded, root, onProgress: progress(quiet), log: quiet ? () => {} : (l) => io.err(l), points, acceptStale }),
  );
  // The report pools every finished run of this config under the root (as `report` does), not only the seeds just run.
  const file = writeExperimentReport(root, [{ loaded, seconds: r.seconds }], join(root, 'reports', loaded.config.name), {
    acceptStale,
    pool: true,
  });
  const stale = r.runs.filter((x) => x.stale).length;
  io.out(
    `${loaded.config.name}: ${r.runs.length} run(s) in ${(r.seconds / 60).toFixed(1)} min${stale > 0 ? ` (${stale} stale, made by other code)` : ''}`,
  );
  io.out(`report: ${file}`);
  return 0;
}

/**
 * Throws a CliError unless every `--point` id is a point of the config's sweep; the message
 * lists the real ones (an unknown point would otherwise run nothing and exit 0).
 */
export function checkPoints(file: string, loaded: LoadedConfig, points: readonly string[]): void {
  const ids = expandSweep(loaded.config).map((p) => p.id);
  const unknown = points.filter((p) => !ids.includes(p));
  if (unknown.length === 0) return;
  const near = closestMatch(unknown[0], ids);
  const known = Object.keys(loaded.config.sweep).length === 0 ? `${file} has no sweep` : `its points: ${ids.join(', ')}`;
  throw new CliError(
    `--point: ${unknown.map((u) => `'${u}'`).join(', ')} ${unknown.length === 1 ? 'is not a sweep point' : 'are not sweep points'} of ${file}${near ? ` (did you mean ${near}?)` : ''}; ${known} (see 'sweep ${file} --list')`,
  );
}

/** The config without its sweep: what `run CONFIG` runs without --point. */
function withoutSweep(loaded: LoadedConfig): LoadedConfig {
  return { ...loaded, config: { ...loaded.config, sweep: {} } };
}

/** `run CONFIG` */
export async function runRun(
  flags: {
    root: string;
    set?: string[];
    threads?: number;
    quiet?: boolean;
    point?: string[];
    'accept-stale'?: boolean;
    cache?: string;
  } & ExecutionFlags,
  pos: { config: string },
  io: CommandIO,
): Promise<number> {
  applyCacheFlag(flags.cache);
  const loaded = load(pos.config, flags.set, flags.threads);
  const stale = flags['accept-stale'] ?? false;
  if (flags.point && flags.point.length > 0) checkPoints(pos.config, loaded, flags.point);
  if (flags.point && flags.point.length > 0) return runLoaded(io, loaded, flags.root, flags.quiet ?? false, flags.point, stale, flags);
  const noSweep = withoutSweep(loaded);
  return runLoaded(io, noSweep, flags.root, flags.quiet ?? false, undefined, stale, flags);
}

/** `sweep CONFIG` */
export async function runSweep(
  flags: {
    root: string;
    set?: string[];
    threads?: number;
    quiet?: boolean;
    list?: boolean;
    'accept-stale'?: boolean;
    cache?: string;
  } & ExecutionFlags,
  pos: { config: string },
  io: CommandIO,
): Promise<number> {
  applyCacheFlag(flags.cache);
  const loaded = load(pos.config, flags.set, flags.threads);
  if (flags.list) {
    for (const p of expandSweep(loaded.config)) io.out(p.id);
    return 0;
  }
  return runLoaded(io, loaded, flags.root, flags.quiet ?? false, undefined, flags['accept-stale'] ?? false, flags);
}

/** `report CONFIG` */
export async function runReport(
  flags: { root: string; set?: string[]; out?: string; 'accept-stale'?: boolean; cache?: string },
  pos: { config: string },
  io: CommandIO,
): Promise<number> {
  applyCacheFlag(flags.cache);
  const asGiven = load(pos.config, flags.set, undefined);
  const acceptStale = flags['accept-stale'] ?? false;
  if (!existsSync(indexPath(flags.root)))
    throw new CliError(
      `no results index under ${flags.root} (expected ${indexPath(flags.root)}): run ${pos.config} there first, or give the --root it ran under`,
    );
  const store = openStore(flags.root);
  let choices: RunChoice[];
  let named: number;
  let loaded = asGiven;
  try {
    named = store.listRuns({ name: asGiven.config.name }).length;
    const pick = (l: LoadedConfig) => {
      const seeds = [...new Set([...l.config.seeds, ...finishedSeeds(store, l.config, l.dir)])];
      return chooseRuns(store, { ...l.config, seeds }, l.dir, { acceptStale });
    };
    choices = pick(asGiven);
    // `run CONFIG` without --point runs the config without its sweep: report those runs when no sweep point ran.
    if (!choices.some((c) => c.used !== null) && Object.keys(asGiven.config.sweep).length > 0) {
      const noSweep = withoutSweep(asGiven);
      const plain = pick(noSweep);
      if (plain.some((c) => c.used !== null)) [loaded, choices] = [noSweep, plain];
    }
  } finally {
    store.close();
  }
  if (!choices.some((c) => c.used !== null)) {
    const stale = choices.filter((c) => c.staleAvailable !== null).length;
    const why =
      stale > 0
        ? `${stale} finished run(s) of it were made by other code: pass --accept-stale to report them, or run it again`
        : named > 0
          ? `the ${named} run(s) named '${loaded.config.name}' there are of another config (other settings, --set overrides or --quick sizes) or unfinished: run it first, or give the same config and --set`
          : `run it first ('run ${pos.config} --root ${flags.root}'), or give the --root it ran under`;
    throw new CliError(`no finished runs of ${pos.config} (experiment '${loaded.config.name}') under ${flags.root}: ${why}`);
  }
  const file = writeExperimentReport(flags.root, [{ loaded }], flags.out ?? join(flags.root, 'reports', loaded.config.name), {
    acceptStale,
    pool: true,
  });
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

/** The paper's three experiments: what `reproduce` runs. */
export const PAPER_EXPERIMENTS = ['backdoor', 'spurious', 'natural'];
/** The fine-tuning budget sweep and the paper's mitigations: added by `reproduce --mitigations`. */
export const MITIGATION_EXPERIMENTS = [
  'finetune-budget',
  'mitigation-weight-decay',
  'mitigation-debias-target',
  'mitigation-partial',
  'mitigation-target-size',
];

/**
 * The reduced sizes of `reproduce --quick`, as config overrides per experiment: a faithful
 * miniature, one seed and less data, but targets still trained to a useful accuracy (the backdoor's
 * MNIST target: 2,000 images, 6 epochs at batch 64 give scratch 94% and full fine-tuning 91-92%,
 * measured; 1,000 images for 3 epochs at batch 128 were 21 steps and left scratch at 32%).
 */
export const QUICK_OVERRIDES: Record<string, string[]> = {
  backdoor: [
    'seeds=[0]',
    'source.dataset.limit=4000',
    'sourceTraining.epochs=4',
    'targets.0.dataset.limit=2000',
    'targets.0.testDataset.limit=500',
    'targetTraining.epochs=6',
    'targetTraining.batchSize=64',
    'evaluation.bootstrap=200',
    'sweep={"source.bias.poison.probability": [0.1, 1.0]}',
  ],
  spurious: [
    'seeds=[0]',
    'source.dataset.limit=3000',
    'sourceTraining.epochs=3',
    'targets.0.dataset.limit=600',
    'targets.0.testDataset.limit=500',
    'targetTraining.epochs=4',
    'evaluation.bootstrap=200',
  ],
  ...Object.fromEntries(
    ['finetune-budget', 'mitigation-weight-decay', 'mitigation-debias-target', 'mitigation-partial', 'mitigation-target-size'].map((n) => [
      n,
      [
        'seeds=[0]',
        'source.dataset.limit=4000',
        'sourceTraining.epochs=4',
        'targets.0.dataset.limit=2000',
        'targets.0.testDataset.limit=500',
        'targetTraining.batchSize=64',
        ...(n === 'finetune-budget' ? [] : ['targetTraining.epochs=6']),
        ...(n === 'finetune-budget' ? ['sweep={"targetTraining.epochs": [1, 3], "targetTraining.optimizer.lr": [0.01, 0.1]}'] : []),
        ...(n === 'mitigation-target-size' ? ['sweep={"targets.0.dataset.limit": [500, 2000]}'] : []),
        'evaluation.bootstrap=200',
      ],
    ]),
  ),
  natural: [
    'seeds=[0]',
    'source.dataset.limit=4000',
    'sourceTraining.epochs=4',
    'targets.0.dataset.limit=2000',
    'targets.0.testDataset.limit=500',
    'targetTraining.epochs=6',
    'targetTraining.batchSize=64',
    'evaluation.bootstrap=200',
  ],
};

/**
 * The overrides of `reproduce --quick` for experiment `name`: {@link QUICK_OVERRIDES} and a
 * description that does not claim the full size's data and plateau (the report adds the sizes
 * that ran, generated from the config).
 */
export function quickOverrides(name: string): string[] {
  const text = `Quick size of the ${name} experiment (reproduce --quick): fewer images and epochs than the full size, targets still trained to a useful accuracy, in under a minute; what ran is listed next.`;
  return [...(QUICK_OVERRIDES[name] ?? []), `description=${JSON.stringify(text)}`];
}

/**
 * The results root of `reproduce`: a given `--root` as it is (so `serve --root` and
 * `runs list --root` with the same folder find the runs), else runs/reproduce, or
 * runs/reproduce/quick with `--quick` (so a quick try never mixes with the full size's runs).
 */
export function reproduceRoot(flags: { root?: string; quick?: boolean }): string {
  return flags.root ?? (flags.quick ? REPRODUCE_QUICK_ROOT : REPRODUCE_ROOT);
}

/** `reproduce [--quick]` */
export async function runReproduce(
  flags: {
    root?: string;
    quick?: boolean;
    threads?: number;
    quiet?: boolean;
    only?: string[];
    mitigations?: boolean;
    'accept-stale'?: boolean;
  } & ExecutionFlags,
  _pos: Record<string, never>,
  io: CommandIO,
): Promise<number> {
  const dir = experimentsDir();
  const known = [...PAPER_EXPERIMENTS, ...MITIGATION_EXPERIMENTS];
  for (const n of flags.only ?? []) if (!known.includes(n)) throw new CliError(`--only: unknown experiment '${n}' (${known.join(', ')})`);
  const names =
    flags.only && flags.only.length > 0
      ? known.filter((n) => flags.only!.includes(n))
      : [...PAPER_EXPERIMENTS, ...(flags.mitigations ? MITIGATION_EXPERIMENTS : [])];
  const root = reproduceRoot(flags);
  const done: { loaded: LoadedConfig; seconds: number }[] = [];
  const t0 = Date.now();
  const loadedAll = names.map((n) => load(join(dir, `${n}.yaml`), flags.quick ? quickOverrides(n) : [], flags.threads));
  await withExecution({ ...flags, quiet: flags.quiet ?? false }, root, io, async (ex) => {
    // On a queue, every job of the three experiments is queued together (no idle worker between them).
    await ex.drive(loadedAll.map((loaded) => ({ loaded, root, acceptStale: flags['accept-stale'] ?? false })));
    for (const [i, n] of names.entries()) {
      const loaded = loadedAll[i];
      if (flags.threads !== undefined) setNumThreads(flags.threads);
      io.err(`== ${n}: ${loaded.config.description}`);
      const r = await ex.run({
        loaded,
        root,
        onProgress: progress(flags.quiet ?? false),
        log: flags.quiet ? () => {} : (l) => io.err(l),
        acceptStale: flags['accept-stale'] ?? false,
      });
      done.push({ loaded, seconds: r.seconds });
      io.out(`${n}: ${r.runs.length} run(s) in ${(r.seconds / 60).toFixed(1)} min`);
    }
  });
  const total = (Date.now() - t0) / 1000;
  const file = writeExperimentReport(root, done, join(root, 'report'), {
    acceptStale: flags['accept-stale'] ?? false,
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
  io.out(`browse the runs: bias-transfer serve --root ${root}`);
  return 0;
}

/** `schema` */
export async function runSchema(_f: Record<string, never>, _p: Record<string, never>, io: CommandIO): Promise<number> {
  io.out(JSON.stringify(exportJsonSchema(), null, 2));
  return 0;
}
