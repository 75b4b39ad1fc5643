/**
 * `model summary`, `model export`, `model import`, `model inspect`: parameter counts of a model
 * of the zoo (and what a transfer mode would train), freshly initialised weight files, PyTorch
 * state dicts brought in as our weight files, and a listing of any safetensors file.
 */
import path from 'node:path';
import {
  ARCHS,
  createModel,
  describeLoadResult,
  keyMismatchAdvice,
  loadModelFromFile,
  sampleKeys,
  parseModelSpec,
  saveModel,
  summary,
  summaryRows,
  type Classifier,
  type ModelSpec,
} from '../../nn/index.js';
import { describeCast, disposeAll, loadSafetensors, manualSeed, readSafetensors, type Tensor } from '../../torch/index.js';
import { parseTransferMode, prepareTransfer, type TransferMode } from '../../train/transfer.js';
import { CliError, defineCommand } from '../args.js';
import { defineGroup } from '../tree.js';
import { checkInt, printJson, requireFile, runAction, type CommandIO, type FlagsOf, type PositionalsOf } from './io.js';
import { formatTable } from './table.js';

/** Flags that name and size an architecture (a ModelSpec). */
const ARCH_FLAGS = [
  { name: 'arch', type: 'string', choices: ARCHS, description: 'Architecture.' },
  { name: 'classes', type: 'number', description: 'Number of output classes (default 10; model import: from fc.weight).' },
  { name: 'in-channels', type: 'number', description: 'Input image channels (default 3; model import: from the first conv).' },
  { name: 'small-input', type: 'boolean', description: 'ResNets: 3x3 stride-1 stem without max-pool, for 28-32 px images.' },
  { name: 'width', type: 'number', description: 'Width multiplier of every layer, e.g. 0.25.' },
  {
    name: 'layers',
    type: 'string',
    valueName: 'a,b,...',
    description: 'ResNets: blocks per stage (4 numbers); small-cnn: conv widths.',
    validate: (v: string) => (/^\d+(,\d+)*$/.test(v) ? undefined : `expected comma-separated integers, got '${v}'`),
  },
] as const;

/** `model summary`: parameter counts per block, trainable vs frozen. */
export const modelSummaryCommand = defineCommand({
  name: 'summary',
  summary: 'Print parameter counts per block (trainable vs frozen) of an architecture or a weights file.',
  description:
    'Give --arch (and size flags) or --weights. --mode shows what a transfer mode would train (fixed, full, scratch, partial:K: ' +
    'the last K blocks and the head); --freeze-until BLOCK freezes every block from the stem through BLOCK. ' +
    "A PyTorch state dict carries no spec: bring it in with 'model import FILE --arch ARCH --out OUT' and summarise OUT.",
  flags: [
    ...ARCH_FLAGS,
    {
      name: 'weights',
      type: 'string',
      valueName: 'file.safetensors',
      description: 'A weights file written by this tool (model export, model import or a run; its spec is read from it).',
    },
    { name: 'mode', type: 'string', valueName: 'mode', description: 'Transfer mode to apply: fixed, full, scratch or partial:K.' },
    {
      name: 'freeze-until',
      type: 'string',
      valueName: 'block',
      description: 'Freeze blocks from the first through this one (e.g. layer2.1).',
    },
    { name: 'json', type: 'boolean', description: 'Print JSON (spec and rows) instead of a table.' },
  ],
  examples: [
    'model summary --arch resnet18 --classes 10 --small-input --width 0.25',
    'model summary --weights source.safetensors --mode partial:2',
  ],
  run: (flags, positionals, io): Promise<number> => runModelSummary(flags, positionals, io),
});

/** `model export`: a freshly initialised model as a weights file. */
export const modelExportCommand = defineCommand({
  name: 'export',
  summary: 'Write a freshly initialised model (seeded) as a safetensors weights file with its spec.',
  description:
    "For trained PyTorch weights (e.g. a torchvision ResNet-18's state dict) use 'model import' instead: it checks them against the architecture and writes them with the spec.",
  flags: [
    ...ARCH_FLAGS,
    { name: 'out', short: 'o', type: 'string', valueName: 'file.safetensors', description: 'Where to write the weights (required).' },
    { name: 'seed', type: 'number', default: 0, description: 'libtorch seed of the initialisation.' },
  ],
  examples: ['model export --arch resnet-tiny --classes 10 --in-channels 1 --small-input --out tiny.safetensors'],
  run: (flags, positionals, io): Promise<number> => runModelExport(flags, positionals, io),
});

/** `model import`: a PyTorch state dict (safetensors) checked against an architecture and rewritten with our metadata. */
export const modelImportCommand = defineCommand({
  name: 'import',
  summary: 'Check that a PyTorch state dict saved as safetensors loads strictly into an architecture, and write it with our metadata.',
  description:
    'Make the input in Python with safetensors.torch.save_file(model.state_dict(), "file.safetensors"). --classes and --in-channels ' +
    'default to what fc.weight and the first conv hold. Missing, unexpected and mismatched keys are listed; any of them fails the import.',
  positionals: [{ name: 'file', description: 'The safetensors state dict to import.' }],
  flags: [
    ...ARCH_FLAGS,
    {
      name: 'out',
      short: 'o',
      type: 'string',
      valueName: 'file.safetensors',
      description: 'Where to write the imported weights (required).',
    },
    {
      name: 'strip-prefix',
      type: 'string',
      valueName: 'prefix',
      description: "Remove this prefix from every key first (e.g. 'module.' of DataParallel).",
    },
  ],
  examples: ['model import resnet18.safetensors --arch resnet18 --out resnet18-imported.safetensors'],
  run: (flags, positionals, io): Promise<number> => runModelImport(flags, positionals, io),
});

/** `model inspect`: tensors and metadata of any safetensors file. */
export const modelInspectCommand = defineCommand({
  name: 'inspect',
  summary: 'List the tensors (name, dtype, shape) and metadata of any safetensors file.',
  positionals: [{ name: 'file', description: 'A safetensors file.' }],
  flags: [{ name: 'json', type: 'boolean', description: 'Print JSON instead of tables.' }],
  examples: ['model inspect source.safetensors'],
  run: (flags, positionals, io): Promise<number> => runModelInspect(flags, positionals, io),
});

/** `model`: the group of the model and weights-file commands. */
export const modelGroup = defineGroup({
  name: 'model',
  summary: 'Models and weights files: parameter counts, a fresh model, a PyTorch state dict imported, any safetensors file listed.',
  commands: [modelSummaryCommand, modelExportCommand, modelImportCommand, modelInspectCommand],
});

/** Parsed flags of `model summary`. */
export type ModelSummaryFlags = FlagsOf<typeof modelSummaryCommand>;
/** Parsed flags of `model export`. */
export type ModelExportFlags = FlagsOf<typeof modelExportCommand>;
/** Parsed flags of `model import`. */
export type ModelImportFlags = FlagsOf<typeof modelImportCommand>;
/** Parsed flags of `model inspect`. */
export type ModelInspectFlags = FlagsOf<typeof modelInspectCommand>;

type ArchFlags = Pick<ModelSummaryFlags, 'arch' | 'classes' | 'in-channels' | 'small-input' | 'width' | 'layers'>;

/**
 * The ModelSpec the architecture flags describe; `defaults` fill classes and channels when the
 * flags leave them out. Throws a CliError without --arch or for an invalid combination.
 */
export function modelSpecFromFlags(flags: ArchFlags, defaults: { numClasses: number; inChannels: number }): ModelSpec {
  if (flags.arch === undefined) throw new CliError(`--arch is required (one of ${ARCHS.join(', ')})`);
  checkInt('classes', flags.classes);
  checkInt('in-channels', flags['in-channels']);
  const spec: Record<string, unknown> = {
    arch: flags.arch,
    numClasses: flags.classes ?? defaults.numClasses,
    inChannels: flags['in-channels'] ?? defaults.inChannels,
  };
  if (flags['small-input']) spec.smallInput = true;
  if (flags.width !== undefined) spec.widthMultiplier = flags.width;
  if (flags.layers !== undefined) spec.layers = flags.layers.split(',').map(Number);
  try {
    return parseModelSpec(spec, 'model flags');
  } catch (e) {
    throw new CliError((e as Error).message);
  }
}

function build(spec: ModelSpec): Classifier {
  try {
    return createModel(spec);
  } catch (e) {
    throw new CliError(`cannot build ${JSON.stringify(spec)}: ${(e as Error).message}`);
  }
}

function archFlagsGiven(flags: ArchFlags): string[] {
  const given: string[] = [];
  if (flags.arch !== undefined) given.push('--arch');
  if (flags.classes !== undefined) given.push('--classes');
  if (flags['in-channels'] !== undefined) given.push('--in-channels');
  if (flags['small-input']) given.push('--small-input');
  if (flags.width !== undefined) given.push('--width');
  if (flags.layers !== undefined) given.push('--layers');
  return given;
}

/**
 * Sets requiresGrad as `--mode` or `--freeze-until` would (the model is changed in place):
 * mode through prepareTransfer; freeze-until freezes the blocks from the first through `block`.
 */
export function applyFreezing(model: Classifier, opts: { mode?: string; freezeUntil?: string }): void {
  if (opts.mode !== undefined && opts.freezeUntil !== undefined) throw new CliError('give --mode or --freeze-until, not both');
  if (opts.mode !== undefined) {
    try {
      parseTransferMode(opts.mode);
    } catch (e) {
      throw new CliError(`--mode: ${(e as Error).message}`);
    }
    try {
      prepareTransfer(model, { mode: opts.mode as TransferMode, lr: 1 });
    } catch (e) {
      throw new CliError(`--mode ${opts.mode}: ${(e as Error).message}`);
    }
  }
  if (opts.freezeUntil !== undefined) {
    const blocks = model.blocks();
    const at = blocks.findIndex((b) => b.name === opts.freezeUntil);
    if (at < 0) throw new CliError(`--freeze-until: no block '${opts.freezeUntil}'; blocks are ${blocks.map((b) => b.name).join(', ')}`);
    for (const b of blocks.slice(0, at + 1)) for (const p of b.module.parameters()) p.requiresGrad = false;
  }
}

/** Prints the parameter counts of the model the flags describe (after --mode / --freeze-until). */
export async function runModelSummary(
  flags: ModelSummaryFlags,
  _positionals: PositionalsOf<typeof modelSummaryCommand>,
  io: CommandIO,
): Promise<number> {
  return runAction(io, () => {
    let model: Classifier;
    if (flags.weights !== undefined) {
      const extra = archFlagsGiven(flags);
      if (extra.length > 0) throw new CliError(`--weights brings its own spec; drop ${extra.join(', ')}`);
      requireFile(flags.weights, 'weights file');
      try {
        model = loadModelFromFile(flags.weights);
      } catch (e) {
        if (!/not written by saveModel/.test((e as Error).message)) throw e;
        throw new CliError(
          `${flags.weights} has no model spec (a raw state dict, e.g. saved from PyTorch): give --arch and size flags instead of --weights to count an architecture, or bring the file in with 'model import ${flags.weights} --arch ARCH --out imported.safetensors' and pass --weights imported.safetensors`,
        );
      }
    } else model = build(modelSpecFromFlags(flags, { numClasses: 10, inChannels: 3 }));
    try {
      applyFreezing(model, { mode: flags.mode, freezeUntil: flags['freeze-until'] });
      if (flags.json) printJson(io, { spec: model.spec, rows: summaryRows(model) });
      else io.out(summary(model));
      return 0;
    } finally {
      model.dispose();
    }
  });
}

/** Writes a freshly initialised (seeded) model with its spec to --out. */
export async function runModelExport(
  flags: ModelExportFlags,
  _positionals: PositionalsOf<typeof modelExportCommand>,
  io: CommandIO,
): Promise<number> {
  return runAction(io, () => {
    if (flags.out === undefined) throw new CliError('--out is required');
    checkInt('seed', flags.seed, 0);
    const spec = modelSpecFromFlags(flags, { numClasses: 10, inChannels: 3 });
    manualSeed(flags.seed);
    const model = build(spec);
    try {
      saveModel(flags.out, model, { seed: String(flags.seed) });
      const total = summaryRows(model).at(-1)!.params;
      io.out(`wrote ${flags.out}: ${JSON.stringify(model.spec)}, ${total.toLocaleString('en-US')} parameters, seed ${flags.seed}`);
      return 0;
    } finally {
      model.dispose();
    }
  });
}

/** Mismatched keys shown by model import (a sample: the rest are counted). */
const MISMATCH_ROWS = 10;

/** Classes and input channels as the state dict's `fc.weight` and first conv hold them (undefined when absent). */
function inferSizes(shapes: ReadonlyMap<string, readonly number[]>): { numClasses?: number; inChannels?: number } {
  const fc = shapes.get('fc.weight');
  const conv = shapes.get('conv1.weight') ?? shapes.get('block1.0.weight');
  return { numClasses: fc?.length === 2 ? fc[0] : undefined, inChannels: conv?.length === 4 ? conv[1] : undefined };
}

/**
 * Imports a PyTorch state dict: loads it strictly into the named architecture (printing missing,
 * unexpected and mismatched keys and failing on any), then writes it with our metadata so
 * `loadModelFromFile` rebuilds it.
 */
export async function runModelImport(
  flags: ModelImportFlags,
  positionals: PositionalsOf<typeof modelImportCommand>,
  io: CommandIO,
): Promise<number> {
  return runAction(io, () => {
    if (flags.out === undefined) throw new CliError('--out is required');
    const file = positionals.file;
    requireFile(file, 'state dict file');
    if (path.resolve(file) === path.resolve(flags.out)) throw new CliError('--out must differ from the input file');
    const raw = readSafetensors(file);
    const prefix = flags['strip-prefix'];
    const rename = (k: string): string => (prefix !== undefined && k.startsWith(prefix) ? k.slice(prefix.length) : k);
    const shapes = new Map([...raw.entries].map(([k, e]) => [rename(k), e.shape] as const));
    const inferred = inferSizes(shapes);
    const spec = modelSpecFromFlags(flags, { numClasses: inferred.numClasses ?? 10, inChannels: inferred.inChannels ?? 3 });
    const { tensors, cast } = loadSafetensors(file, { halfToFloat32: true });
    let model: Classifier | undefined;
    try {
      const sd = new Map<string, Tensor>();
      for (const [k, t] of tensors) sd.set(rename(k), t);
      model = build(spec);
      const result = model.loadStateDict(sd, { strict: false, source: file });
      io.out(`architecture: ${JSON.stringify(spec)}`);
      const castNote = describeCast(cast);
      if (castNote !== null) io.out(castNote);
      io.out(`tensors in file: ${tensors.size}; expected by the model: ${model.stateDict().size}`);
      io.out(`missing keys (${result.missing.length}): ${sampleKeys(result.missing)}`);
      io.out(`unexpected keys (${result.unexpected.length}): ${sampleKeys(result.unexpected)}`);
      if (result.mismatched.length > 0) {
        io.out(
          formatTable(
            ['mismatched key', 'expected', 'in file'],
            result.mismatched
              .slice(0, MISMATCH_ROWS)
              .map((m) => [m.key, `${m.expectedDtype}[${m.expectedShape.join(', ')}]`, `${m.actualDtype}[${m.actualShape.join(', ')}]`]),
          ),
        );
        if (result.mismatched.length > MISMATCH_ROWS) io.out(`... (${result.mismatched.length} mismatched keys in all)`);
      }
      if (result.missing.length + result.unexpected.length + result.mismatched.length > 0) {
        const conv1 = shapes.get('conv1.weight');
        const hint =
          spec.arch !== 'small-cnn' && conv1?.length === 4 && (conv1[2] === 3) !== (spec.smallInput ?? false)
            ? ` (the file's conv1 is ${conv1[2]}x${conv1[3]}: ${conv1[2] === 3 ? 'add' : 'drop'} --small-input?)`
            : '';
        const advice =
          result.missing.length + result.unexpected.length > 0
            ? keyMismatchAdvice([...sd.keys()], spec, model.stateDict().keys(), { conv1Out: shapes.get('conv1.weight')?.[0] })
            : null;
        // The key lists are on stdout above (sampled); the error says what to do, with counts only.
        const counts = [
          result.missing.length > 0 ? `${result.missing.length} missing` : '',
          result.unexpected.length > 0 ? `${result.unexpected.length} unexpected` : '',
          result.mismatched.length > 0 ? `${result.mismatched.length} mismatched` : '',
        ].filter((x) => x !== '');
        io.err(
          `error: ${file} does not load strictly into ${spec.arch}${hint}: ${counts.join(', ')} key(s)` +
            (advice !== null
              ? `; ${advice}`
              : result.mismatched.length > 0
                ? `: ${describeLoadResult({ ...result, missing: [], unexpected: [] })}`
                : ''),
        );
        return 1;
      }
      saveModel(flags.out, model, { imported_from: path.basename(file) });
      io.out(`wrote ${flags.out}`);
      return 0;
    } finally {
      model?.dispose();
      disposeAll(tensors);
    }
  });
}

/** What `model inspect --json` prints. */
export interface SafetensorsListing {
  file: string;
  tensors: { name: string; dtype: string; shape: number[]; numel: number }[];
  metadata: Record<string, string>;
  totalNumel: number;
  totalBytes: number;
}

/** Lists a safetensors file's tensors (in file order) and metadata, without building tensors. */
export function listSafetensors(file: string): SafetensorsListing {
  const raw = readSafetensors(file);
  const tensors = [...raw.entries].map(([name, e]) => ({
    name,
    dtype: e.dtype,
    shape: [...e.shape],
    numel: e.shape.reduce((a, b) => a * b, 1),
  }));
  const totalBytes = [...raw.entries.values()].reduce((a, e) => a + e.bytes.length, 0);
  return { file, tensors, metadata: raw.metadata, totalNumel: tensors.reduce((a, t) => a + t.numel, 0), totalBytes };
}

/** Prints the tensors and metadata of a safetensors file. */
export async function runModelInspect(
  flags: ModelInspectFlags,
  positionals: PositionalsOf<typeof modelInspectCommand>,
  io: CommandIO,
): Promise<number> {
  return runAction(io, () => {
    requireFile(positionals.file, 'safetensors file');
    const l = listSafetensors(positionals.file);
    if (flags.json) {
      printJson(io, l);
      return 0;
    }
    io.out(
      formatTable(
        ['name', 'dtype', 'shape', 'numel'],
        l.tensors.map((t) => [t.name, t.dtype, `[${t.shape.join(', ')}]`, t.numel]),
      ),
    );
    io.out(`${l.tensors.length} tensors, ${l.totalNumel.toLocaleString('en-US')} elements, ${l.totalBytes.toLocaleString('en-US')} bytes`);
    const meta = Object.entries(l.metadata);
    io.out('');
    if (meta.length === 0) io.out('metadata: none');
    else io.out(formatTable(['metadata key', 'value'], meta));
    return 0;
  });
}
