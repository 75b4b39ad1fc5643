/**
 * `scan WEIGHTS --data DATASET-SPEC`: is there a trigger that hijacks this backbone? Runs
 * src/audit's scan (headless trigger search, per-class inversion through the source head),
 * judges it against clean references, optionally checks whether the recovered trigger survives a
 * fixed and a full transfer to labelled target data, and writes PNGs and report.json to --out.
 */
import { percentOr } from '../../report/format.js';
import fs from 'node:fs';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { auditBackbone, type AuditReport, type BackboneSource } from '../../audit/audit.js';
import {
  CLASS_STATISTICS,
  DEFAULT_UNLIKE_FACTOR,
  DEFAULT_Z_THRESHOLD,
  type ClassStatistic,
  type VerdictRule,
} from '../../audit/reference.js';
import type { CollapseMeasure, Normalisation } from '../../audit/search.js';
import { classLabel } from '../../audit/scan.js';
import type { TransferCheckOptions } from '../../audit/transfer.js';
import { NORMALISATION_KEY, normalisationOf } from '../../audit/train.js';
import type { ImageDataset } from '../../data/types.js';
import { DatasetSpecSchema, describeIssues, formatIssue } from '../../experiment/config/index.js';
import { loadConfiguredDataset } from '../../experiment/prepare.js';
import { codeHash } from '../../experiment/run-ids.js';
import { ARCHS, createModel, loadModel, readWeightsMetadata, readModelSpec, type Classifier, type ModelSpec } from '../../nn/index.js';
import { setNumThreads } from '../../torch/index.js';
import { CliError, defineCommand } from '../args.js';
import { checkInt, printJson, requireFile, runAction, type CommandIO, type FlagsOf, type PositionalsOf } from './io.js';
import { modelSpecFromFlags } from './model.js';
import { formatTable } from './table.js';

const DATASET_HELP =
  'a dataset name with an optional split (fashion-mnist:test), an inline YAML/JSON object as in a config ' +
  "('{name: mnist, split: test, limit: 500}'), or a YAML/JSON file holding one";

/** `scan`: the backdoor scan of a backbone. */
export const scanCommand = defineCommand({
  name: 'scan',
  summary: 'Scan a backbone for a backdoor trigger that would transfer (headless and per-class inversion, against clean references).',
  description:
    'Inverts a trigger on the backbone: the smallest mask m and pattern p such that features of (1-m)*x + m*p over clean images ' +
    "collapse (DECREE-style, no labels needed), and, through the checkpoint's own head, the smallest mask sending images to each " +
    'class (Neural-Cleanse-style). The mask sizes are compared with the same scan of clean references of the same architecture ' +
    '(--reference files and/or --train-references N trained here): robust z-score and percentile per statistic, per-class masks ' +
    "as fractions of the image, or relative to each model's own median class (--statistic relative); the verdict is " +
    `suspicious (some statistic below every reference and ${DEFAULT_Z_THRESHOLD} robust SDs under their median), no-evidence, inconclusive ` +
    `(fewer than 3 references) or unlike-references (the backbone's median class mask more than ${DEFAULT_UNLIKE_FACTOR}x outside the references' range). ` +
    'Reference statistics are cached by content (--cache). With --target the recovered trigger is pasted on the target test set after a fixed and a full ' +
    `transfer and its ASR reported next to a same-size random-pixel control. A DATASET-SPEC is ${DATASET_HELP}.`,
  positionals: [
    { name: 'weights', description: 'The backbone: a safetensors weights file (saveModel format, or a state dict with --arch).' },
  ],
  flags: [
    { name: 'data', type: 'string', valueName: 'dataset-spec', description: 'Scan images (unlabelled use; any data the backbone fits).' },
    {
      name: 'arch',
      type: 'string',
      choices: ARCHS,
      description: 'Architecture, for weights without a stored spec (then also --classes, --in-channels, --small-input, --width).',
    },
    { name: 'classes', type: 'number', description: 'Head classes of a state dict without a stored spec.' },
    { name: 'in-channels', type: 'number', description: 'Input channels of a state dict without a stored spec.' },
    {
      name: 'small-input',
      type: 'boolean',
      description: 'ResNets: 3x3 stride-1 stem without max-pool (state dicts without a stored spec).',
    },
    { name: 'width', type: 'number', description: 'Width multiplier (state dicts without a stored spec).' },
    {
      name: 'reference',
      type: 'string[]',
      valueName: 'file',
      description: 'A clean reference backbone of the same architecture (repeatable).',
    },
    {
      name: 'train-references',
      type: 'number',
      default: 0,
      description: 'Train this many clean references here (same architecture) on --reference-data (labelled).',
    },
    {
      name: 'reference-data',
      type: 'string',
      valueName: 'dataset-spec',
      description: 'Labelled data for --train-references (default: --data, its labels used).',
    },
    { name: 'reference-epochs', type: 'number', default: 3, description: 'Epochs of each trained reference.' },
    { name: 'target', type: 'string', valueName: 'dataset-spec', description: 'Labelled target training data: run "would it transfer?".' },
    {
      name: 'target-test',
      type: 'string',
      valueName: 'dataset-spec',
      description: 'Target test data (default: --target with split test).',
    },
    {
      name: 'target-epochs',
      type: 'number',
      default: 30,
      description:
        'Most epochs of each target transfer (fixed and full); each stops earlier once its held-out accuracy (a sixth of the target training data) gains no more than half a point in 2 epochs.',
    },
    { name: 'mean', type: 'string', valueName: 'a,b,c', description: 'Input normalisation mean per channel (pixel/255 units).' },
    { name: 'std', type: 'string', valueName: 'a,b,c', description: 'Input normalisation std per channel.' },
    { name: 'images', type: 'number', default: 256, description: 'Scan images used by the search (the first N of --data).' },
    { name: 'steps', type: 'number', default: 200, description: 'Adam steps of the headless search.' },
    { name: 'class-steps', type: 'number', default: 100, description: 'Adam steps of each per-class search.' },
    { name: 'no-per-class', type: 'boolean', description: 'Skip the per-class inversion through the head (headless only).' },
    {
      name: 'layer',
      type: 'string',
      default: 'features',
      description: "Where the headless search reads features: 'features' (the backbone output) or a block name (layer3.0, ...).",
    },
    {
      name: 'measure',
      type: 'string',
      choices: ['centred-cosine', 'cosine', 'spread'],
      default: 'centred-cosine',
      description: 'Collapse measure of the headless search (cosine = plain DECREE).',
    },
    { name: 'similarity', type: 'number', default: 0.8, description: 'Collapse the headless search must reach (0..1).' },
    {
      name: 'statistic',
      type: 'string',
      choices: CLASS_STATISTICS,
      default: 'absolute',
      description:
        "Per-class comparison: 'absolute' (mask fractions as they are) or 'relative' (each model's masks over its own median class, meant for references of another recipe; see docs/scan.md for what was measured).",
    },
    {
      name: 'z-threshold',
      type: 'number',
      default: DEFAULT_Z_THRESHOLD,
      description:
        'Robust z cut of the verdict: a statistic is evidence when below every reference and at least this many robust SDs under their median. The scan suite measured 35% of clean judgements flagged at 3.5 (5 references) and 12% at 5 (with --unlike-factor 3), at the cost of blended triggers (docs/scan.md).',
    },
    {
      name: 'unlike-factor',
      type: 'number',
      default: DEFAULT_UNLIKE_FACTOR,
      description:
        "How far (a factor) the backbone's median class mask may lie outside the references' range before the verdict is unlike-references.",
    },
    { name: 'seed', type: 'number', default: 0, description: 'Seed of the searches, the trained references and the transfers.' },
    { name: 'threads', type: 'number', description: 'libtorch intra-op threads.' },
    { name: 'out', short: 'o', type: 'string', valueName: 'dir', default: 'scan-out', description: 'Folder for PNGs and report.json.' },
    {
      name: 'cache',
      type: 'string',
      valueName: 'dir',
      default: 'runs/cache/scan',
      description:
        "Folder of cached reference statistics, keyed by the reference file's sha256, the scan data, the settings and the scan code (a second scan against the same references scans only the backbone).",
    },
    { name: 'no-cache', type: 'boolean', description: 'Neither read nor write cached reference statistics.' },
    { name: 'json', type: 'boolean', description: 'Print the report as one JSON object.' },
    { name: 'quiet', short: 'q', type: 'boolean', description: 'No progress lines (the report only).' },
  ],
  examples: [
    'scan backbone.safetensors --data fashion-mnist:test --reference ref1.safetensors --reference ref2.safetensors --reference ref3.safetensors',
    "scan backbone.safetensors --data '{name: fashion-mnist, split: test, classes: [0,1,2,3,4]}' --train-references 4 --reference-data '{name: fashion-mnist, classes: [0,1,2,3,4], limit: 5000}' --target mnist --json",
  ],
  run: (flags, positionals, io): Promise<number> => runScan(flags, positionals, io),
});

/** Parsed flags of `scan`. */
export type ScanFlags = FlagsOf<typeof scanCommand>;

/**
 * Parses a DATASET-SPEC flag value (see DATASET_HELP) into a loaded dataset. Errors name the flag,
 * the key at fault and what was expected.
 */
export function datasetFromArg(value: string, flag: string, defaults: { split?: 'train' | 'test' } = {}): ImageDataset {
  let raw: unknown;
  let dir = process.cwd();
  const trimmed = value.trim();
  if (/\.(ya?ml|json)$/i.test(trimmed)) {
    requireFile(trimmed, `--${flag} file`);
    try {
      raw = parseYaml(fs.readFileSync(trimmed, 'utf-8'));
    } catch (e) {
      throw new CliError(`--${flag}: '${trimmed}' is not valid YAML/JSON: ${(e as Error).message}`);
    }
    dir = path.dirname(path.resolve(trimmed));
  } else if (trimmed.startsWith('{')) {
    try {
      raw = parseYaml(trimmed);
    } catch (e) {
      throw new CliError(`--${flag}: not a valid YAML/JSON object: ${(e as Error).message}`);
    }
  } else {
    const [name, split, ...rest] = trimmed.split(':');
    if (rest.length > 0 || name === '') throw new CliError(`--${flag}: expected ${DATASET_HELP}; got '${value}'`);
    raw = { name, ...(split !== undefined ? { split } : {}) };
  }
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw))
    throw new CliError(`--${flag}: expected a dataset object, got ${JSON.stringify(raw)}`);
  const withDefaults = { ...(defaults.split && !('split' in raw) ? { split: defaults.split } : {}), ...(raw as object) };
  const r = DatasetSpecSchema.safeParse(withDefaults);
  if (!r.success)
    throw new CliError(
      `--${flag}: invalid dataset spec: ${describeIssues(r.error.issues, withDefaults, DatasetSpecSchema).map(formatIssue).join('; ')}`,
    );
  try {
    return loadConfiguredDataset(r.data, dir, 0, `--${flag}`);
  } catch (e) {
    throw new CliError(`--${flag}: ${(e as Error).message}`);
  }
}

/** The verdict rule of --z-threshold and --unlike-factor; errors name the flag at fault. */
function verdictRule(zThreshold: number, unlikeFactor: number): VerdictRule {
  if (!(zThreshold > 0)) throw new CliError(`--z-threshold must be a positive number, got ${zThreshold}`);
  if (!(unlikeFactor >= 1)) throw new CliError(`--unlike-factor must be a number >= 1, got ${unlikeFactor}`);
  return { zThreshold, unlikeFactor };
}

function numberList(v: string | undefined, flag: string): number[] | undefined {
  if (v === undefined) return undefined;
  const xs = v.split(',').map((s) => Number(s.trim()));
  if (xs.length === 0 || xs.some((x) => !Number.isFinite(x))) throw new CliError(`--${flag} must be comma-separated numbers, got '${v}'`);
  return xs;
}

/** Architecture flags of a state dict without a stored spec. */
export interface ArchFlagValues {
  arch?: ScanFlags['arch'];
  classes?: number;
  'in-channels'?: number;
  'small-input'?: boolean;
  width?: number;
}

/** Builds a loader of a backbone file: its stored spec, or the architecture flags for a plain state dict. */
export function backboneLoader(file: string, flags: ArchFlagValues): BackboneSource & { spec: ModelSpec } {
  requireFile(file, 'weights file');
  let spec: ModelSpec;
  const meta = readWeightsMetadata(file);
  if (meta.model_spec !== undefined) {
    spec = readModelSpec(file);
    if (flags.arch !== undefined && flags.arch !== spec.arch)
      throw new CliError(`${file} holds a ${spec.arch} (its stored spec) but --arch says ${flags.arch}`);
  } else {
    if (flags.arch === undefined)
      throw new CliError(`${file} stores no model spec: give --arch (and --classes, --in-channels, --small-input, --width as trained)`);
    spec = modelSpecFromFlags(
      { ...flags, 'small-input': flags['small-input'] ?? false, layers: undefined } as Parameters<typeof modelSpecFromFlags>[0],
      { numClasses: 10, inChannels: 3 },
    );
  }
  return {
    label: file,
    file,
    spec,
    load: (): Classifier => {
      const m = createModel(spec);
      try {
        loadModel(file, m, { strict: true });
      } catch (e) {
        m.dispose();
        throw e;
      }
      return m;
    },
  };
}

/** The normalisation: --mean/--std, else the weights' metadata, else the scan data's own statistics. */
function normalisationFor(file: string, flags: ScanFlags, data: ImageDataset, notes: string[]): Normalisation {
  const mean = numberList(flags.mean, 'mean');
  const std = numberList(flags.std, 'std');
  if ((mean === undefined) !== (std === undefined)) throw new CliError('give both --mean and --std, or neither');
  let norm: Normalisation;
  if (mean !== undefined && std !== undefined) norm = { mean, std };
  else {
    const stored = readWeightsMetadata(file)[NORMALISATION_KEY];
    if (stored !== undefined) {
      try {
        norm = JSON.parse(stored) as Normalisation;
      } catch {
        throw new CliError(`${file}: metadata '${NORMALISATION_KEY}' is not JSON`);
      }
    } else {
      norm = normalisationOf(data);
      notes.push(`normalisation: ${file} records none and no --mean/--std was given, so the scan data's own statistics are used`);
    }
  }
  if (norm.mean.length !== data.c || norm.std.length !== data.c)
    throw new CliError(
      `normalisation has ${norm.mean.length} mean / ${norm.std.length} std values but the scan images have ${data.c} channel(s)`,
    );
  if (norm.std.some((s) => !(s > 0))) throw new CliError(`--std values must be > 0, got ${norm.std.join(',')}`);
  return norm;
}

function checkFlags(flags: ScanFlags): void {
  for (const k of ['images', 'steps', 'class-steps', 'reference-epochs', 'target-epochs'] as const) checkInt(k, flags[k]);
  checkInt('train-references', flags['train-references'], 0);
  checkInt('seed', flags.seed, 0);
  checkInt('threads', flags.threads);
  if (!(flags.similarity > 0 && flags.similarity <= 1)) throw new CliError(`--similarity must be in (0, 1], got ${flags.similarity}`);
  if (flags.images < 2) throw new CliError(`--images must be at least 2, got ${flags.images}`);
}

/** Runs `scan`. */
export async function runScan(flags: ScanFlags, pos: PositionalsOf<typeof scanCommand>, io: CommandIO): Promise<number> {
  return runAction(io, async () => {
    checkFlags(flags);
    if (flags.data === undefined) throw new CliError(`--data is required: ${DATASET_HELP}`);
    if (flags.threads !== undefined) setNumThreads(flags.threads);
    const backbone = backboneLoader(pos.weights, flags);
    const data = datasetFromArg(flags.data, 'data', { split: 'test' });
    if (data.n < 2) throw new CliError(`--data: '${data.name}' has ${data.n} image(s); at least 2 are needed`);
    if (data.c !== backbone.spec.inChannels)
      throw new CliError(
        `--data: '${data.name}' has ${data.c}-channel images but ${pos.weights} expects ${backbone.spec.inChannels}; add channels: ${backbone.spec.inChannels} to the dataset spec`,
      );
    const notes: string[] = [];
    const norm = normalisationFor(pos.weights, flags, data, notes);
    const references = (flags.reference ?? []).map((f) => {
      const r = backboneLoader(f, { 'small-input': false });
      if (r.spec.arch !== backbone.spec.arch || r.spec.inChannels !== backbone.spec.inChannels)
        throw new CliError(
          `--reference ${f} is a ${r.spec.arch} with ${r.spec.inChannels} input channel(s); the backbone is a ${backbone.spec.arch} with ${backbone.spec.inChannels}`,
        );
      return r;
    });
    const trainN = flags['train-references'];
    const refData =
      trainN > 0 ? (flags['reference-data'] !== undefined ? datasetFromArg(flags['reference-data'], 'reference-data') : data) : undefined;
    let target: { train: ImageDataset; test: ImageDataset; options: TransferCheckOptions } | undefined;
    if (flags.target !== undefined) {
      const train = datasetFromArg(flags.target, 'target', { split: 'train' });
      const test = datasetFromArg(flags['target-test'] ?? flags.target.replace(/:train$/, ''), 'target-test', { split: 'test' });
      for (const [n, d] of [
        ['target', train],
        ['target-test', test],
      ] as const)
        if (d.c !== data.c || d.h !== data.h || d.w !== data.w)
          throw new CliError(
            `--${n}: '${d.name}' has ${d.c}x${d.h}x${d.w} images, the scan data ${data.c}x${data.h}x${data.w}; give size/channels in its spec`,
          );
      target = { train, test, options: { plateau: { maxEpochs: flags['target-epochs'] }, seed: flags.seed } };
    }
    let last = 0;
    let lastWhat = '';
    const report = await auditBackbone({
      backbone,
      data,
      norm,
      references,
      trainReferences: refData
        ? { count: trainN, data: refData, recipe: { epochs: flags['reference-epochs'] }, seed: flags.seed }
        : undefined,
      scan: {
        headless: [{ layer: flags.layer, measure: flags.measure as CollapseMeasure, target: flags.similarity }],
        headlessSteps: flags.steps,
        classSteps: flags['class-steps'],
        perClass: !flags['no-per-class'],
        seed: flags.seed,
      },
      maxImages: flags.images,
      statistic: flags.statistic as ClassStatistic,
      rule: verdictRule(flags['z-threshold'], flags['unlike-factor']),
      target,
      outDir: flags.out,
      cacheDir: flags['no-cache'] ? undefined : flags.cache,
      codeVersion: codeHash(),
      onProgress: (line) => {
        if (flags.quiet) return;
        const what = line.replace(/ \d+\/\d+( \(.*\))?$/, '');
        if (what !== lastWhat || Date.now() - last > 5000) {
          last = Date.now();
          lastWhat = what;
          io.err(`scan: ${line}`);
        }
      },
    });
    const full: AuditReport = { ...report, reasoning: [...report.reasoning, ...notes] };
    if (flags.json) printJson(io, full);
    else printReport(full, io);
    return 0;
  });
}

const pct = (x: number | null | undefined) => percentOr(x, '-', 2);
const num = (x: number | null | undefined, d = 2) => (x === null || x === undefined ? '-' : x.toFixed(d));

function printReport(r: AuditReport, io: CommandIO): void {
  io.out(`verdict: ${r.verdict}`);
  for (const line of r.reasoning) io.out(`  - ${line}`);
  io.out('');
  io.out(`headless trigger: mask ${pct(r.maskFraction)} of the image, similarity reached ${num(r.similarity, 3)}`);
  const h = r.references.headless;
  io.out(
    `references: ${r.references.count}` +
      (r.references.cached > 0 ? ` (${r.references.cached} from the cache ${r.cache})` : '') +
      `; their median ${pct(h.median)}, robust z ${num(h.z)}, percentile ${h.percentile === null ? '-' : (100 * h.percentile).toFixed(0)}`,
  );
  if (r.mostSuspiciousClass !== null) io.out(`most suspicious class: ${r.mostSuspiciousClassName}`);
  if (r.scale !== null)
    io.out(
      `typical class mask: ${pct(r.scale.value)} (the references' ${r.scale.references.map((x) => pct(x)).join(', ')})` +
        (r.scale.unlike ? ` — more than ${r.scale.factor}x outside their range` : ''),
    );
  if (r.perClass.length > 0) {
    io.out('');
    io.out(`per class (verdict by the ${r.statistic} statistic; relative = mask / the model's median class mask):`);
    const times = (x: number | null | undefined) => (x === null || x === undefined ? '-' : `${x.toFixed(2)}x`);
    io.out(
      formatTable(
        ['class', 'mask', 'success', 'refs median', 'z', 'relative', 'refs relative', 'z relative', 'percentile'],
        r.perClass.map((c) => [
          c.name,
          pct(c.maskFraction),
          pct(c.success),
          pct(c.positions.absolute?.median),
          num(c.positions.absolute?.z),
          times(c.relativeMask),
          times(c.positions.relative?.median),
          num(c.positions.relative?.z),
          c.position?.percentile == null ? '-' : (100 * c.position.percentile).toFixed(0),
        ]),
      ),
    );
  }
  if (r.transfer !== null) {
    io.out('');
    io.out(
      "would it transfer? (untargeted ASR on the target test set, 95% bootstrap interval; refs: the clean references' recovered triggers of the same kind, each on its own transferred model)",
    );
    const triggerName = (name: string) => {
      const m = /^(recovered|random-control)-class-(\d+)$/.exec(name);
      return m !== null && Number(m[2]) === r.mostSuspiciousClass && r.mostSuspiciousClassName !== null
        ? `${m[1]} ${classLabel(r.mostSuspiciousClass, r.mostSuspiciousClassName)}`
        : name.replace(/-headless$/, ' headless');
    };
    io.out(
      formatTable(
        ['mode', 'clean acc', 'epochs', 'trigger', 'ASR', 'interval', 'targeted ASR', 'toward', 'refs median', 'refs max', 'z', 'verdict'],
        r.transfer.flatMap((t) =>
          t.triggers.map((g) => {
            const v = t.verdicts.find((x) => x.trigger === g.name);
            const refs = v?.references ?? null;
            return [
              t.mode,
              pct(t.accuracy),
              String(t.epochs),
              triggerName(g.name),
              pct(g.asr.rate),
              `${pct(g.asrInterval.lo)}-${pct(g.asrInterval.hi)}`,
              pct(g.targeted.rate),
              g.targetClassName,
              pct(refs?.median),
              refs === null ? '-' : pct(Math.max(...refs.references)),
              num(refs?.z, 1),
              v?.verdict ?? '',
            ];
          }),
        ),
      ),
    );
    for (const t of r.transfer) {
      if (t.trainingCheck !== '') io.out(`${t.mode}: ${t.trainingCheck}`);
      for (const v of t.verdicts) io.out(`${t.mode}, ${triggerName(v.trigger)}: ${v.verdict} (${v.reason})`);
    }
  }
  io.out('');
  for (const [k, f] of Object.entries(r.files)) io.out(`${k}: ${f}`);
  io.out(`(${r.images} scan images, ${r.seconds.toFixed(0)} s)`);
}
