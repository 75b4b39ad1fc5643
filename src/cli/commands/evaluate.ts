/**
 * `evaluate WEIGHTS --data NAME`: how a backbone with its own head does on a labelled dataset
 * (top-1 with a 95% interval, top-5, per class, confusion matrix, every rate with its counts),
 * so an import can be checked before an audit is trusted. The dataset flags are `datasets
 * inspect`'s, the loading and batch transform an experiment's (src/evaluate).
 */
import path from 'node:path';
import { DATASET_NAMES } from '../../data/index.js';
import { IMAGENET_NORM, evaluateWeights, type EvaluationReport } from '../../evaluate/evaluate.js';
import { formatPercent } from '../../report/format.js';
import { CliError, defineCommand } from '../args.js';
import { SOURCE_FLAGS, STREAM_FLAGS, configSpecOf, datasetSpecFromFlags, parseSizeFlag } from './datasets.js';
import { checkInt, printJson, requireFile, runAction, type CommandIO, type FlagsOf, type PositionalsOf } from './io.js';
import { formatTable } from './table.js';

const NUMBERS = /^(imagenet|-?\d+(\.\d+)?(e-?\d+)?(,-?\d+(\.\d+)?(e-?\d+)?)*)$/;
const numberList = (v: string): string | undefined =>
  NUMBERS.test(v) ? undefined : `expected comma-separated numbers or 'imagenet', got '${v}'`;

/** `evaluate`: accuracy of a weights file's own head on a dataset. */
export const evaluateCommand = defineCommand({
  name: 'evaluate',
  summary: 'Top-1/top-5, per-class accuracy and confusion matrix of a backbone with its own head on a dataset.',
  description:
    "The weights file must hold its model spec (write it with model import). The dataset is named with --data and datasets inspect's " +
    'flags (--path, --split, --holdout, --images, --labels, --classes, --limit), and loaded as an experiment loads it: --limit takes a seeded, ' +
    "class-stratified subset, and images are converted to the model's input channels. Inputs are normalised with --mean/--std " +
    "(default: the evaluated data's own per-channel statistics) and resized to --size (default: the data's). The head's class " +
    "count must equal the dataset's. Top-1 has a 95% bootstrap interval; top-5 is shown from 5 classes up. See docs/checkpoints.md.",
  positionals: [{ name: 'weights', description: 'A weights file with its model spec (from model import, model export or a run).' }],
  flags: [
    {
      name: 'data',
      type: 'string',
      valueName: 'name',
      choices: DATASET_NAMES,
      description: 'Dataset format, as datasets inspect names it (required).',
    },
    ...SOURCE_FLAGS.filter((f) => f.name !== 'split' && f.name !== 'limit'),
    {
      name: 'limit',
      type: 'number',
      description: "Keep at most n images: a seeded, class-stratified subset (an experiment's `limit`), after --classes.",
    },
    {
      name: 'split',
      type: 'string',
      choices: ['train', 'test'],
      default: 'test',
      description: 'Which split to evaluate on (unlike datasets inspect, the test split by default).',
    },
    {
      name: 'mean',
      type: 'string',
      valueName: 'a,b,c',
      validate: numberList,
      description: "Per-channel mean subtracted from pixel/255, or 'imagenet' (0.485,0.456,0.406). Default: the data's own mean.",
    },
    {
      name: 'std',
      type: 'string',
      valueName: 'a,b,c',
      validate: numberList,
      description: "Per-channel standard deviation divided by, or 'imagenet' (0.229,0.224,0.225). Default: the data's own std.",
    },
    {
      name: 'size',
      type: 'string',
      valueName: 'h,w',
      validate: (v: string) => (/^\d+,\d+$/.test(v) ? undefined : `expected height,width in pixels, got '${v}'`),
      description:
        "Resize every image to this height,width (bilinear) before the model; default the data's size. With --stream: the size the images are decoded to, once, into the shard cache (required).",
    },
    ...STREAM_FLAGS,
    { name: 'batch-size', type: 'number', default: 256, description: 'Images per forward pass (memory, not results).' },
    { name: 'seed', type: 'number', default: 0, description: 'Seed of the --limit subset and of the bootstrap interval.' },
    { name: 'resamples', type: 'number', default: 1000, description: 'Bootstrap resamples of the top-1 interval.' },
    { name: 'json', type: 'boolean', description: 'Print the whole report as JSON (counts, rates, interval, confusion matrix).' },
  ],
  examples: [
    'evaluate resnet18-imported.safetensors --data folder --path my-images --split test --mean imagenet --std imagenet --size 224,224',
    'evaluate source.safetensors --data fashion-mnist --limit 2000 --json',
  ],
  run: (flags, positionals, io): Promise<number> => runEvaluate(flags, positionals, io),
});

/** Parsed flags of `evaluate`. */
export type EvaluateFlags = FlagsOf<typeof evaluateCommand>;

function parseNorm(v: string | undefined, which: 'mean' | 'std'): number[] | undefined {
  if (v === undefined) return undefined;
  if (v === 'imagenet') return [...IMAGENET_NORM[which]];
  const xs = v.split(',').map(Number);
  if (which === 'std' && xs.some((x) => !(x > 0))) throw new CliError(`--std values must be > 0, got ${v}`);
  return xs;
}

/** A rate with its counts: '81.2% (49/60)', or '-' when undefined. */
function rateText(r: { rate: number | null; numerator: number; denominator: number }): string {
  return r.rate === null ? `- (0/${r.denominator})` : `${formatPercent(r.rate)} (${r.numerator}/${r.denominator})`;
}

/** The text form of an evaluation report. */
export function formatEvaluation(r: EvaluationReport): string {
  const p = r.preprocessing;
  const i = r.top1.interval;
  const lines = [
    `weights: ${r.weights.file} (${JSON.stringify(r.weights.spec)})${r.weights.cast !== null ? `; ${r.weights.cast}` : ''}`,
    `data: ${r.data.name}: ${r.data.n} images ${r.data.shape.join('x')}, ${r.data.classes.length} classes`,
    `input: ${p.channels}x${p.size[0]}x${p.size[1]}, mean [${p.mean.map((x) => +x.toFixed(4)).join(', ')}], std [${p.std
      .map((x) => +x.toFixed(4))
      .join(', ')}] (${p.normFrom === 'given' ? 'given' : "the data's own statistics"})`,
    `top-1: ${rateText(r.top1)}, 95% interval ${i.lo === null || i.hi === null ? '-' : `${formatPercent(i.lo)} to ${formatPercent(i.hi)}`} ` +
      `(bootstrap, ${i.resamples} resamples, seed ${i.seed})`,
    `top-5: ${r.top5 === null ? `- (${r.data.classes.length} classes)` : rateText(r.top5)}`,
    '',
    formatTable(
      ['class', 'name', 'correct', 'images', 'accuracy'],
      r.perClass.map((c) => [c.index, c.name, c.numerator, c.denominator, c.rate === null ? '-' : formatPercent(c.rate)]),
    ),
    '',
    'confusion matrix (rows: true class, columns: predicted class, counts):',
    formatTable(
      ['true \\ pred', ...r.data.classes.map((_, k) => String(k))],
      r.confusion.map((row, k) => [`${k} ${r.data.classes[k]}`, ...row]),
    ),
  ];
  return lines.join('\n');
}

/** Evaluates the weights on the dataset the flags name; prints a report or JSON. */
export async function runEvaluate(
  flags: EvaluateFlags,
  positionals: PositionalsOf<typeof evaluateCommand>,
  io: CommandIO,
): Promise<number> {
  return runAction(io, () => {
    requireFile(positionals.weights, 'weights file');
    if (flags.data === undefined) throw new CliError(`--data is required (one of ${DATASET_NAMES.join(', ')})`);
    checkInt('batch-size', flags['batch-size']);
    checkInt('seed', flags.seed, 0);
    checkInt('resamples', flags.resamples);
    const stream = flags.stream === true;
    if (flags.cache !== undefined && !stream) throw new CliError('--cache applies with --stream only');
    const spec = datasetSpecFromFlags(flags.data, flags);
    const size = parseSizeFlag(flags.size);
    // Streamed: the images are decoded to --size once, into the shard cache (the batch then resizes nothing).
    if (stream && size === undefined) throw new CliError('--stream needs --size h,w: the shard cache stores every image at one size');
    if (stream) spec.size = size;
    const dataset = configSpecOf(spec, { stream });
    const mean = parseNorm(flags.mean, 'mean');
    const std = parseNorm(flags.std, 'std');
    if ((mean === undefined) !== (std === undefined)) throw new CliError('give --mean and --std together');
    const report = evaluateWeights({
      weights: positionals.weights,
      dataset,
      baseDir: process.cwd(),
      seed: flags.seed,
      norm: mean !== undefined && std !== undefined ? { mean, std } : undefined,
      size,
      batchSize: flags['batch-size'],
      resamples: flags.resamples,
      cacheRoot: flags.cache !== undefined ? path.resolve(flags.cache) : undefined,
      log: io.err,
    });
    if (flags.json) printJson(io, report);
    else io.out(formatEvaluation(report));
    return 0;
  });
}
