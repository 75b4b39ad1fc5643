/**
 * `datasets list`, `datasets inspect`, `datasets show`: what datasets exist, what a dataset
 * holds (counts, shape, pixel statistics), and a PNG of examples per class, optionally with a
 * trigger pasted on a second row so a bias can be checked by eye.
 */
import fs from 'node:fs';
import path from 'node:path';
import { parse as parseYaml } from 'yaml';
import { applyTrigger, gridImages, parseTriggerSpec, writeExampleGrid, type GridRow, type TriggerSpec } from '../../bias/index.js';
import {
  DATASET_NAMES,
  Rng,
  channelStats,
  classCounts,
  listBuiltinDatasets,
  loadDataset,
  type DatasetName,
  type DatasetSpec,
  type ImageDataset,
  type AnyDataset,
} from '../../data/index.js';
import { DatasetSpecSchema, describeIssues, formatIssue, type DatasetSpec as ConfigDatasetSpec } from '../../experiment/config/index.js';
import { closestMatch } from '../../experiment/config/suggest.js';
import { loadExperimentDataset } from '../../experiment/prepare.js';
import { CliError, defineCommand } from '../args.js';
import { defineGroup } from '../tree.js';
import { checkInt, printJson, runAction, type CommandIO, type FlagsOf, type PositionalsOf } from './io.js';
import { formatTable } from './table.js';

/** Formats `loadDataset` reads from a path given on the command line (not built in). */
export const PATH_FORMATS = [
  {
    name: 'idx',
    needs: '--path DIR (standard MNIST file names) or --images FILE --labels FILE',
    description: 'IDX (MNIST-format) images + labels, gzipped or not',
  },
  { name: 'cifar10', needs: '--path DIR of cifar-10-batches-bin', description: 'CIFAR-10 binary batches' },
  { name: 'cifar100', needs: '--path DIR of cifar-100-binary', description: 'CIFAR-100 binary (fine labels)' },
  {
    name: 'folder',
    needs: '--path DIR holding train/ and test/ (or val/) class folders, or class folders (test split: --holdout)',
    description: 'PNG/JPEG image folder',
  },
] as const;

/** Flags that say which dataset to load (shared by inspect, show and evaluate). */
export const SOURCE_FLAGS = [
  {
    name: 'path',
    type: 'string',
    valueName: 'dir',
    description: 'Folder of the dataset files (required for cifar10, cifar100, folder; optional for idx and fashion-mnist).',
  },
  {
    name: 'split',
    type: 'string',
    choices: ['train', 'test'],
    default: 'train',
    description:
      "Which split to load: a folder's train/ or test/ (val/) sub-folder, idx's --images/--labels for the split; a dataset without that split is an error.",
  },
  {
    name: 'holdout',
    type: 'number',
    valueName: 'share',
    description:
      'For a folder of class folders or idx files without test files: hold out this share of each class (seeded) as the test split.',
  },
  {
    name: 'images',
    type: 'string',
    valueName: 'file',
    description: 'idx: the idx3 images file (relative to --path); default the MNIST name for the split.',
  },
  {
    name: 'labels',
    type: 'string',
    valueName: 'file',
    description: 'idx: the idx1 labels file (relative to --path); default the MNIST name for the split.',
  },
  {
    name: 'classes',
    type: 'string',
    valueName: 'a,b,...',
    description: 'Keep only these classes (names or indices, comma-separated), relabelled in this order.',
  },
  { name: 'limit', type: 'number', description: 'Keep only the first n samples (after --classes).' },
] as const;

/**
 * `--stream` and `--cache` (datasets inspect, evaluate): read a folder through the on-disk shard
 * cache, as an experiment does for a dataset spec with `stream: true`.
 */
export const STREAM_FLAGS = [
  {
    name: 'stream',
    type: 'boolean',
    description:
      "folder only: decode the images once into the on-disk shard cache at --size and read them from it a batch at a time (a dataset spec's `stream: true`), instead of holding every pixel in memory.",
  },
  {
    name: 'cache',
    type: 'string',
    valueName: 'dir',
    description: 'With --stream: the shard cache folder (default $BIAS_TRANSFER_CACHE, else ./.cache).',
  },
] as const;

/** The parsed `--size h,w` flag, or undefined. */
export function parseSizeFlag(v: string | undefined): [number, number] | undefined {
  if (v === undefined) return undefined;
  const m = /^(\d+),(\d+)$/.exec(v);
  if (m === null || Number(m[1]) === 0 || Number(m[2]) === 0) throw new CliError(`--size: expected height,width in pixels, got '${v}'`);
  return [Number(m[1]), Number(m[2])];
}

/** datasets inspect's --limit: the seeded, class-balanced subset an experiment config's `limit` loads. */
const INSPECT_FLAGS = [
  ...SOURCE_FLAGS.filter((f) => f.name !== 'limit'),
  {
    name: 'limit',
    type: 'number',
    description:
      "Keep n samples (after --classes) as an experiment config's `limit` does: a seeded subset balanced over the classes (see --seed, --as).",
  },
  { name: 'seed', type: 'number', default: 0, description: 'With --limit: the run seed whose subset to show.' },
  {
    name: 'as',
    type: 'string',
    valueName: 'dataset',
    default: 'source',
    description:
      "With --limit: whose subset, as an experiment names it: 'source' (source.dataset), 'target/NAME/train' or 'target/NAME/test' (targets[].dataset / testDataset of target NAME).",
    validate: (v: string) =>
      /^(source|target\/[a-z0-9_-]+\/(train|test))$/.test(v) ? undefined : `expected source or target/NAME/train|test, got '${v}'`,
  },
] as const;

const NAME_POSITIONAL = [{ name: 'name', description: `Dataset name: ${DATASET_NAMES.join(', ')}.` }] as const;

/** `datasets list`: built-in datasets and path formats. */
export const datasetsListCommand = defineCommand({
  name: 'list',
  summary: 'List the built-in datasets, whether they are available here, and the formats loadable by path.',
  flags: [{ name: 'json', type: 'boolean', description: 'Print JSON instead of a table.' }],
  examples: ['datasets list', 'datasets list --json'],
  run: (flags, positionals, io): Promise<number> => runDatasetsList(flags, positionals, io),
});

/** `datasets inspect`: counts, shape, class counts, pixel statistics. */
export const datasetsInspectCommand = defineCommand({
  name: 'inspect',
  summary: 'Load a dataset and print its size, image shape, class counts and per-channel pixel mean/std.',
  description:
    'Pixel mean and std are per channel in 0..1 units (pixel/255), the units of a normalisation config. With --limit it loads what an experiment with that `limit` loads (the same seeded, class-balanced subset for --seed and --as).',
  positionals: NAME_POSITIONAL,
  flags: [
    ...INSPECT_FLAGS,
    {
      name: 'size',
      type: 'string',
      valueName: 'h,w',
      validate: (v: string) => (/^\d+,\d+$/.test(v) ? undefined : `expected height,width in pixels, got '${v}'`),
      description: "folder: resize every image to height,width while decoding (a dataset spec's `size`); needed with --stream.",
    },
    ...STREAM_FLAGS,
    { name: 'json', type: 'boolean', description: 'Print JSON instead of tables.' },
  ],
  examples: [
    'datasets inspect fashion-mnist --split test',
    'datasets inspect mnist --classes 0,1,2,3 --limit 1000 --as target/digits/train --seed 0',
    'datasets inspect idx --path data/mnist --json',
    'datasets inspect cifar10 --path data/cifar-10-batches-bin',
    'datasets inspect folder --path photos --split test --size 224,224 --stream',
  ],
  run: (flags, positionals, io): Promise<number> => runDatasetsInspect(flags, positionals, io),
});

/** `datasets show`: a PNG grid of examples per class, with an optional trigger row. */
export const datasetsShowCommand = defineCommand({
  name: 'show',
  summary: 'Write a PNG grid of example images per class; with a trigger, a second row per class shows it pasted.',
  description:
    'Examples are drawn per class with a seeded RNG. A trigger is a JSON object (--trigger) or a YAML/JSON file (--trigger-file) ' +
    'holding the trigger, or an object with a `trigger` key; it is validated like a config trigger.',
  positionals: NAME_POSITIONAL,
  flags: [
    ...SOURCE_FLAGS,
    { name: 'per-class', type: 'number', default: 4, description: 'Examples per class.' },
    { name: 'out', short: 'o', type: 'string', valueName: 'file.png', default: 'examples.png', description: 'Where to write the PNG.' },
    {
      name: 'trigger',
      type: 'string',
      valueName: 'json',
      description: 'Trigger spec as JSON, e.g. \'{"kind":"solid","color":255,"size":3,"position":"bottom-right"}\'.',
    },
    { name: 'trigger-file', type: 'string', valueName: 'file', description: 'YAML or JSON file with the trigger spec.' },
    { name: 'seed', type: 'number', default: 0, description: 'Seed of the example choice and of random trigger positions.' },
    { name: 'scale', type: 'number', default: 2, description: 'Integer upscaling of each image pixel.' },
  ],
  examples: [
    'datasets show mnist --per-class 6 --out mnist.png',
    'datasets show fashion-mnist --trigger \'{"kind":"checkerboard","size":4,"position":"bottom-right"}\' --out triggered.png',
  ],
  run: (flags, positionals, io): Promise<number> => runDatasetsShow(flags, positionals, io),
});

/** `datasets`: the group of the dataset commands. */
export const datasetsGroup = defineGroup({
  name: 'datasets',
  summary: 'Datasets: which exist here, what one holds, a PNG of examples (with a trigger pasted).',
  commands: [datasetsListCommand, datasetsInspectCommand, datasetsShowCommand],
});

/** Parsed flags of `datasets list`. */
export type DatasetsListFlags = FlagsOf<typeof datasetsListCommand>;
/** Parsed flags of `datasets inspect`. */
export type DatasetsInspectFlags = FlagsOf<typeof datasetsInspectCommand>;
/** Parsed flags of `datasets show`. */
export type DatasetsShowFlags = FlagsOf<typeof datasetsShowCommand>;
/** Parsed positionals of inspect and show. */
export type DatasetNamePositionals = PositionalsOf<typeof datasetsInspectCommand>;

type SourceFlags = Pick<DatasetsInspectFlags, 'path' | 'split' | 'holdout' | 'images' | 'labels' | 'classes' | 'limit'>;

function findIdxFile(dir: string | undefined, stem: string): string {
  const base = dir ?? '.';
  for (const f of [stem, `${stem}.gz`]) if (fs.existsSync(path.resolve(base, f))) return f;
  throw new CliError(`idx: no '${stem}' or '${stem}.gz' in '${path.resolve(base)}'; give --images and --labels`);
}

/**
 * The DatasetSpec the source flags describe. For idx without --images/--labels, the MNIST file
 * names of the split are looked up in --path (`train-images-idx3-ubyte[.gz]`, `t10k-...` for test).
 */
export function datasetSpecFromFlags(name: string, flags: SourceFlags): DatasetSpec {
  if (!(DATASET_NAMES as readonly string[]).includes(name)) {
    const near = closestMatch(name, DATASET_NAMES);
    throw new CliError(`unknown dataset '${name}'${near ? ` (did you mean ${near}?)` : ''}; known: ${DATASET_NAMES.join(', ')}`);
  }
  const split = flags.split === 'test' ? 'test' : 'train';
  const spec: DatasetSpec = { name: name as DatasetName, split };
  if (flags.path !== undefined) spec.path = flags.path;
  if (flags.holdout !== undefined) spec.holdout = flags.holdout;
  if (name === 'idx') {
    // The files named (or found) are the split's own: the test split's go to the test keys, so
    // the loader reads them for split 'test' (with --holdout, the files are the training files).
    const prefix = split === 'train' || flags.holdout !== undefined ? 'train' : 't10k';
    const images = flags.images ?? findIdxFile(flags.path, `${prefix}-images-idx3-ubyte`);
    const labels = flags.labels ?? findIdxFile(flags.path, `${prefix}-labels-idx1-ubyte`);
    if (prefix === 't10k') {
      spec.testImagesFile = images;
      spec.testLabelsFile = labels;
    } else {
      spec.imagesFile = images;
      spec.labelsFile = labels;
    }
  } else if (flags.images !== undefined || flags.labels !== undefined) {
    throw new CliError(`--images and --labels apply to the idx dataset only, not '${name}'`);
  }
  if (flags.classes !== undefined)
    spec.classes = flags.classes
      .split(',')
      .map((s) => s.trim())
      .filter((s) => s !== '')
      .map((s) => (/^\d+$/.test(s) ? Number(s) : s));
  checkInt('limit', flags.limit);
  if (flags.limit !== undefined) spec.limit = flags.limit;
  return spec;
}

/**
 * The experiment-config form of a loader spec (defaults filled in, checked by the config schema),
 * so a command loads the data exactly as an experiment would (`loadConfiguredDataset`: a `limit`
 * is the seeded, class-balanced subset). An invalid combination is a CliError naming the key.
 */
export function configSpecOf(spec: DatasetSpec, opts: { stream?: boolean } = {}): ConfigDatasetSpec {
  const raw = {
    name: spec.name,
    split: spec.split,
    path: spec.path ?? null,
    imagesFile: spec.imagesFile ?? null,
    labelsFile: spec.labelsFile ?? null,
    testImagesFile: spec.testImagesFile ?? null,
    testLabelsFile: spec.testLabelsFile ?? null,
    holdout: spec.holdout ?? null,
    ...(spec.holdoutSeed !== undefined ? { holdoutSeed: spec.holdoutSeed } : {}),
    ...(spec.size !== undefined ? { size: spec.size } : {}),
    ...(spec.channels !== undefined ? { channels: spec.channels } : {}),
    classes: spec.classes ?? null,
    limit: spec.limit ?? null,
    ...(opts.stream === true ? { stream: true } : {}),
  };
  const r = DatasetSpecSchema.safeParse(raw);
  if (!r.success)
    throw new CliError(`invalid dataset: ${describeIssues(r.error.issues, raw, DatasetSpecSchema).map(formatIssue).join('; ')}`);
  return r.data;
}

/** What `datasets inspect --json` prints. */
export interface DatasetReport {
  name: string;
  n: number;
  shape: { c: number; h: number; w: number };
  classes: { index: number; name: string; count: number; withAttribute?: number }[];
  pixelMean: number[];
  pixelStd: number[];
  /** Samples with the attribute, when the dataset has attributes. */
  withAttribute?: number;
}

/** Summarises a loaded dataset (counts, shape, classes, pixel statistics, attributes). */
export function describeDataset(ds: AnyDataset): DatasetReport {
  const counts = classCounts(ds);
  const attrByClass = ds.attributes ? new Int32Array(ds.classes.length) : undefined;
  if (attrByClass) for (let i = 0; i < ds.n; i++) if (ds.attributes![i]) attrByClass[ds.labels[i]]++;
  // The normalisation statistics an experiment computes (sums of uint8 values, exact in doubles);
  // an empty dataset reports zeros rather than 0/0.
  const empty = ds.n * ds.h * ds.w === 0;
  const { mean, std } = empty ? { mean: Array<number>(ds.c).fill(0), std: Array<number>(ds.c).fill(0) } : channelStats(ds);
  return {
    name: ds.name,
    n: ds.n,
    shape: { c: ds.c, h: ds.h, w: ds.w },
    classes: ds.classes.map((name, index) => ({
      index,
      name,
      count: counts[index],
      ...(attrByClass ? { withAttribute: attrByClass[index] } : {}),
    })),
    pixelMean: mean,
    pixelStd: std,
    ...(attrByClass ? { withAttribute: attrByClass.reduce((a, b) => a + b, 0) } : {}),
  };
}

/** Prints the built-in datasets with their availability, then the formats loadable by path. */
export async function runDatasetsList(
  flags: DatasetsListFlags,
  _positionals: PositionalsOf<typeof datasetsListCommand>,
  io: CommandIO,
): Promise<number> {
  return runAction(io, () => {
    const builtin = listBuiltinDatasets();
    if (flags.json) {
      printJson(io, { builtin, pathFormats: PATH_FORMATS });
      return 0;
    }
    io.out('Built-in datasets:');
    io.out(
      formatTable(
        ['name', 'available', 'description', 'note'],
        builtin
          .filter((d) => !PATH_FORMATS.some((p) => p.name === d.name))
          .map((d) => [d.name, d.available ? 'yes' : 'no', d.description, d.note]),
      ),
    );
    io.out('');
    io.out('Formats loadable by path:');
    io.out(
      formatTable(
        ['name', 'description', 'needs'],
        PATH_FORMATS.map((p) => [p.name, p.description, p.needs]),
      ),
    );
    return 0;
  });
}

/** Loads the dataset and prints its size, shape, class counts and per-channel pixel mean/std. */
export async function runDatasetsInspect(flags: DatasetsInspectFlags, positionals: DatasetNamePositionals, io: CommandIO): Promise<number> {
  return runAction(io, () => {
    const spec = datasetSpecFromFlags(positionals.name, { ...flags, limit: undefined });
    checkInt('limit', flags.limit);
    checkInt('seed', flags.seed, 0);
    const size = parseSizeFlag(flags.size);
    if (size !== undefined) spec.size = size;
    const stream = flags.stream === true;
    if (flags.cache !== undefined && !stream) throw new CliError('--cache applies with --stream only');
    // With --limit or --stream, the experiment's own loader: the same seeded, class-balanced subset
    // (not the first n), and the same shard cache.
    const ds =
      flags.limit === undefined && !stream
        ? loadDataset(spec)
        : loadExperimentDataset(configSpecOf({ ...spec, limit: flags.limit }, { stream }), process.cwd(), flags.seed, flags.as, {
            cacheRoot: flags.cache !== undefined ? path.resolve(flags.cache) : undefined,
            log: io.err,
          });
    const r = describeDataset(ds);
    if (flags.json) {
      printJson(io, r);
      return 0;
    }
    io.out(`dataset: ${r.name}`);
    io.out(`samples: ${r.n}`);
    io.out(`shape:   ${r.shape.c}x${r.shape.h}x${r.shape.w} (channels x height x width)`);
    if (r.withAttribute !== undefined) io.out(`with attribute: ${r.withAttribute} of ${r.n}`);
    io.out('');
    const attr = r.withAttribute !== undefined;
    io.out(
      formatTable(
        ['label', 'class', 'count', ...(attr ? ['with attribute'] : [])],
        r.classes.map((c) => [c.index, c.name, c.count, ...(attr ? [c.withAttribute] : [])]),
      ),
    );
    io.out('');
    const channelNames = r.shape.c === 3 ? ['R', 'G', 'B'] : r.shape.c === 1 ? ['gray'] : r.pixelMean.map((_, k) => String(k));
    io.out('pixel statistics (0..1 units):');
    io.out(
      formatTable(
        ['channel', 'mean', 'std'],
        r.pixelMean.map((m, k) => [channelNames[k], m, r.pixelStd[k]]),
      ),
    );
    return 0;
  });
}

/**
 * Reads a trigger spec from `--trigger` JSON or a `--trigger-file` (YAML or JSON; the trigger
 * itself or an object with a `trigger` key), validated with parseTriggerSpec.
 */
export function readTriggerFlag(flags: { trigger?: string; 'trigger-file'?: string }): TriggerSpec | undefined {
  if (flags.trigger !== undefined && flags['trigger-file'] !== undefined) throw new CliError('give --trigger or --trigger-file, not both');
  let value: unknown;
  let where: string;
  if (flags.trigger !== undefined) {
    where = '--trigger';
    try {
      value = JSON.parse(flags.trigger);
    } catch (e) {
      throw new CliError(`--trigger is not valid JSON: ${(e as Error).message}`);
    }
  } else if (flags['trigger-file'] !== undefined) {
    const file = flags['trigger-file'];
    where = file;
    let text: string;
    try {
      text = fs.readFileSync(file, 'utf-8');
    } catch (e) {
      throw new CliError(`cannot read trigger file '${file}': ${(e as Error).message}`);
    }
    try {
      value = parseYaml(text);
    } catch (e) {
      throw new CliError(`${file}: not valid YAML/JSON: ${(e as Error).message}`);
    }
    if (value !== null && typeof value === 'object' && !('kind' in value) && 'trigger' in value)
      value = (value as { trigger: unknown }).trigger;
  } else return undefined;
  try {
    return parseTriggerSpec(value, 'trigger');
  } catch (e) {
    throw new CliError(`${where}: ${(e as Error).message}`);
  }
}

/** Indices of up to `k` samples per class, chosen with `rng` (each class its own fork), in dataset order. */
export function examplesPerClass(ds: ImageDataset, k: number, rng: Rng): number[][] {
  const pools: number[][] = ds.classes.map(() => []);
  for (let i = 0; i < ds.n; i++) pools[ds.labels[i]].push(i);
  return pools.map((pool, c) => {
    const take = Math.min(k, pool.length);
    return Array.from(rng.fork(`class${c}`).sample(pool.length, take), (j) => pool[j]).sort((a, b) => a - b);
  });
}

/** Writes a PNG grid of examples per class (and, with a trigger, a triggered row under each class). */
export async function runDatasetsShow(flags: DatasetsShowFlags, positionals: DatasetNamePositionals, io: CommandIO): Promise<number> {
  return runAction(io, () => {
    checkInt('per-class', flags['per-class']);
    checkInt('scale', flags.scale);
    checkInt('seed', flags.seed, 0);
    const trigger = readTriggerFlag(flags);
    const ds = loadDataset(datasetSpecFromFlags(positionals.name, flags));
    const rng = new Rng(flags.seed, 'datasets-show');
    const chosen = examplesPerClass(ds, flags['per-class'], rng.fork('examples'));
    let triggered: ImageDataset | undefined;
    if (trigger) {
      const all = chosen.flat();
      try {
        triggered = applyTrigger(ds, all, trigger, rng.fork('trigger')).dataset;
      } catch (e) {
        throw new CliError(`trigger does not fit dataset '${ds.name}' (${ds.c}x${ds.h}x${ds.w}): ${(e as Error).message}`);
      }
    }
    const rows: GridRow[] = [];
    chosen.forEach((idx, c) => {
      if (idx.length === 0) return;
      rows.push({ label: ds.classes[c], images: gridImages(ds, idx) });
      if (triggered) rows.push({ label: `${ds.classes[c]}+T`, images: gridImages(triggered, idx) });
    });
    if (rows.length === 0) throw new CliError(`dataset '${ds.name}' has no samples to show`);
    writeExampleGrid(flags.out, rows, { scale: flags.scale });
    const shown = chosen.reduce((a, idx) => a + idx.length, 0);
    io.out(
      `wrote ${flags.out}: ${shown} examples of ${rows.length / (triggered ? 2 : 1)} classes${triggered ? ', each also with the trigger' : ''}`,
    );
    return 0;
  });
}
