/**
 * The experiment config schema (zod v4, strict at every level so a misspelt key anywhere fails).
 * One experiment = one YAML/JSON file: a biased source task, a model, source training, one or
 * more target tasks, transfer modes, evaluation and an optional sweep grid.
 *
 * Parsing fills every default, so code downstream reads `ExperimentConfig` without `??`.
 * Sections live in dataset.ts, bias.ts and training.ts; this file assembles them.
 */
import { z } from 'zod';
import { BiasSchema, TriggerSchema, PositionSchema } from './bias.js';
import { ClassRefSchema, DatasetSpecSchema, type DatasetSpec } from './dataset.js';
import { TrainingSchema } from './training.js';
import { PretrainedSchema } from './pretrained.js';

export * from './bias.js';
export * from './dataset.js';
export * from './training.js';
export * from './pretrained.js';

/** Lower-case names usable in folder names: `[a-z0-9_-]+`. */
export const SlugSchema = z
  .string()
  .regex(/^[a-z0-9_-]+$/, 'expected lower-case letters, digits, "-" or "_"')
  .describe('A name made of [a-z0-9_-], used in folder names.');

/** The network architecture. */
export const ModelSchema = z
  .strictObject({
    arch: z
      .enum(['resnet18', 'resnet34', 'resnet50', 'resnet-tiny', 'small-cnn'])
      .describe("Architecture: torchvision-style 'resnet18' / 'resnet34' / 'resnet50', a configurable 'resnet-tiny', or 'small-cnn'."),
    widthMultiplier: z
      .number()
      .gt(0)
      .nullable()
      .default(null)
      .describe(
        "Scale every layer width (0.25 = a quarter of the channels). null = the architecture's default: 0.25 for 'resnet-tiny', 1 otherwise (as in the CLI's model commands).",
      ),
    smallInput: z
      .boolean()
      .default(false)
      .describe('CIFAR-style stem (3x3 conv, no max-pool) for small images such as 28x28 or 32x32. Default false, as in the CLI.'),
    layers: z
      .array(z.number().int().positive())
      .min(1)
      .nullable()
      .default(null)
      .describe(
        "Blocks per stage of a ResNet (e.g. [1, 1, 1, 1]), or conv widths of 'small-cnn'. null = the architecture's default ('resnet-tiny' [1, 1, 1, 1], 'resnet18' [2, 2, 2, 2], 'small-cnn' [16, 32, 64]).",
      ),
  })
  .describe('The network architecture; the number of classes comes from the data.')
  .meta({ id: 'Model' });
export type ModelSpec = z.output<typeof ModelSchema>;

/** The biased (or clean) pre-training task. */
export const SourceSchema = z
  .strictObject({
    dataset: DatasetSpecSchema,
    bias: BiasSchema.prefault({ kind: 'none' }),
    control: z.boolean().default(true).describe('Also train a control source model on the same data without the bias.'),
    pretrained: PretrainedSchema.nullable()
      .default(null)
      .describe(
        'Transfer a backbone trained elsewhere instead of training one: `dataset` is then only reference data (class-patch probes, examples), `bias` must be none, and the control is `pretrained.control` (or none). null = train the source here.',
      ),
  })
  .superRefine((s, ctx) => {
    if (s.pretrained !== null && s.bias.kind !== 'none')
      ctx.addIssue({
        code: 'custom',
        path: ['bias'],
        message: `a pretrained source is not trained here, so bias must be 'none' (got '${s.bias.kind}'); evaluate a suspected trigger with evaluation.trigger`,
      });
  })
  .describe('The source (pre-training) task and the bias injected into it.')
  .meta({ id: 'Source' });
export type SourceSpec = z.output<typeof SourceSchema>;

/**
 * A de-biasing mitigation on a target's training data (paper Sec. 3, "de-biasing the target"):
 * the trigger pasted on exactly round(fraction * n) training images drawn across all classes
 * (seeded), labels unchanged, so fine-tuning sees the trigger as carrying no class.
 */
export const TargetBiasSchema = z
  .strictObject({
    fraction: z
      .number()
      .min(0)
      .max(1)
      .describe('Share q of the target training images that get the trigger (chosen across all classes, seeded).'),
    trigger: TriggerSchema.nullable().default(null).describe('Trigger pasted. null = the evaluation trigger (else the source trigger).'),
  })
  .describe('The trigger pasted on a fraction of the target training images, labels unchanged (a de-biased target).')
  .meta({ id: 'TargetBias' });
export type TargetBiasSpec = z.output<typeof TargetBiasSchema>;

/** One downstream task the source model is transferred to. */
export const TargetSchema = z
  .strictObject({
    name: SlugSchema.describe('Name of the target task, used in result rows and folder names.'),
    dataset: DatasetSpecSchema.describe('Training data of the target task.'),
    testDataset: DatasetSpecSchema.describe('Evaluation data of the target task.'),
    bias: TargetBiasSchema.nullable()
      .default(null)
      .describe('De-bias the target (a mitigation): the trigger pasted on a fraction of its training images. null = none.'),
  })
  .describe('A downstream (target) task.')
  .meta({ id: 'Target' });
export type TargetSpec = z.output<typeof TargetSchema>;

/** `fixed` (linear probe), `full` (fine-tune all), `scratch` (no pre-training) or `partial:k` (last k blocks). */
export const TransferModeSchema = z
  .string()
  .regex(/^(fixed|full|scratch|partial:[1-9][0-9]*)$/, "expected 'fixed', 'full', 'scratch' or 'partial:<k>' with k >= 1")
  .describe(
    "Transfer mode: 'fixed' (train the head only), 'full' (fine-tune everything), 'scratch' (random init), 'partial:k' (fine-tune the last k blocks + head).",
  )
  .meta({ id: 'TransferMode' });
export type TransferMode = z.output<typeof TransferModeSchema>;

/** How source models are transferred to the targets. */
export const TransferSchema = z
  .strictObject({
    modes: z
      .array(TransferModeSchema)
      .min(1)
      .default(['fixed', 'full'])
      .refine((m) => new Set(m).size === m.length, 'transfer modes must be distinct')
      .describe('Transfer modes to run for every source model and target.'),
    bnTrainInFixed: z.boolean().default(true).describe("In 'fixed' mode, let frozen BatchNorm layers update their running statistics."),
    headLr: z.number().gt(0).nullable().default(null).describe('Learning rate of the new head. null = the target optimizer lr.'),
    backboneLr: z
      .number()
      .gt(0)
      .nullable()
      .default(null)
      .describe('Learning rate of the fine-tuned backbone. null = the target optimizer lr.'),
  })
  .describe('How each source model is transferred to each target.')
  .meta({ id: 'Transfer' });
export type TransferSpec = z.output<typeof TransferSchema>;

/** A probe for natural biases: patches cut from a source class, or a neutral control patch. */
export const PatchProbeSchema = z
  .discriminatedUnion('kind', [
    z.strictObject({
      kind: z
        .literal('class-patch')
        .describe('A patch taken from images of a class of the source (or of a reference `dataset`), pasted on target test images.'),
      sourceClass: ClassRefSchema.describe('Class the patch comes from (of `dataset`, else of the source dataset).'),
      dataset: DatasetSpecSchema.nullable()
        .default(null)
        .describe('Reference dataset the crop comes from (any dataset; converted to the source geometry). null = the source dataset.'),
      name: z.string().min(1).nullable().default(null).describe('Name of the probe in the report. null = derived from the class and mode.'),
      mode: z
        .enum(['crop', 'mean'])
        .default('crop')
        .describe("'crop' = a crop of one image per test image (seeded); 'mean' = the class-mean patch."),
      size: z.number().int().positive().describe('Patch side in pixels.'),
      position: PositionSchema.default('random'),
    }),
    z.strictObject({
      kind: z.literal('image').describe('A stencil read from a PNG (its alpha, or `maskPath`, says which pixels are pasted).'),
      path: z.string().min(1).describe('PNG file of the stencil (relative to the config file).'),
      maskPath: z
        .string()
        .min(1)
        .nullable()
        .default(null)
        .describe("Optional grayscale mask PNG (white = pasted). null = the PNG's alpha."),
      size: z.number().int().positive().describe('Patch side in pixels (the PNG is resized to it).'),
      position: PositionSchema.default('random'),
      name: z.string().min(1).nullable().default(null).describe('Name of the probe in the report. null = the file name.'),
    }),
    z.strictObject({
      kind: z
        .literal('neutral')
        .describe(
          'A control patch with the same size, mask and placement as another probe, every pixel its mean brightness. Probes without one get one automatically (condition patch<i>-neutral).',
        ),
      like: z.number().int().nonnegative().describe('Index (in `patches`) of the probe it mirrors (not a neutral one).'),
    }),
  ])
  .describe('A natural-bias probe.')
  .meta({ id: 'PatchProbe' });
export type PatchProbeSpec = z.output<typeof PatchProbeSchema>;

/** Metric families computed on every transferred model. */
export const MetricNameSchema = z
  .enum(['accuracy', 'asr', 'targeted-asr', 'subgroup', 'histogram-shift'])
  .describe(
    "'accuracy' (clean test accuracy), 'asr' (attack success rate), 'targeted-asr', 'subgroup' (accuracy with/without the attribute), 'histogram-shift' (prediction histogram change under the trigger).",
  )
  .meta({ id: 'MetricName' });
export type MetricName = z.output<typeof MetricNameSchema>;

/** Evaluation of transferred models. */
export const EvaluationSchema = z
  .strictObject({
    trigger: TriggerSchema.nullable().default(null).describe('Trigger applied to target test images. null = the source trigger.'),
    patches: z.array(PatchProbeSchema).default([]).describe('Natural-bias probes (class patches and their neutral controls).'),
    metrics: z
      .array(MetricNameSchema)
      .min(1)
      .default(['accuracy', 'asr', 'targeted-asr', 'subgroup', 'histogram-shift'])
      .describe(
        'Metric families a run records (src/experiment/metric-families.ts says which rows each covers); those that do not apply to the bias kind produce no rows. Source accuracy and poisoned-image counts are always kept.',
      ),
    bootstrap: z.number().int().min(0).default(1000).describe('Bootstrap resamples for confidence intervals (0 = none).'),
    confidence: z.number().gt(0).lt(1).default(0.95).describe('Confidence level of the intervals.'),
  })
  .superRefine((e, ctx) => {
    e.patches.forEach((p, i) => {
      if (p.kind !== 'neutral') return;
      if (p.like === i || e.patches[p.like] === undefined || e.patches[p.like].kind === 'neutral') {
        ctx.addIssue({
          code: 'custom',
          path: ['patches', i, 'like'],
          message: `'like: ${p.like}' must be the index of a class-patch or image probe (there are ${e.patches.length} probes)`,
        });
      }
    });
  })
  .describe('How transferred models are evaluated.')
  .meta({ id: 'Evaluation' });
export type EvaluationSpec = z.output<typeof EvaluationSchema>;

/** A grid over config keys: `{ 'key.path': [v1, v2, ...] }`; the cartesian product is run. */
export const SweepSchema = z
  .record(z.string().min(1), z.array(z.unknown()).min(1))
  .default({})
  .describe(
    "Grid over any key path in dot notation (array indices allowed, e.g. 'targets.0.dataset.limit'): every combination is one sweep point.",
  );

/** The whole experiment. */
export const ExperimentConfigSchema = z
  .strictObject({
    name: SlugSchema.describe('Experiment name ([a-z0-9_-]+), used in run ids and folder names.'),
    description: z.string().default('').describe('Free text shown in reports.'),
    seeds: z
      .array(z.number().int().nonnegative())
      .min(1)
      .default([0])
      .refine((s) => new Set(s).size === s.length, 'seeds must be distinct')
      .describe('One run per seed (data subsets, poisoning, init and batch order all derive from it).'),
    threads: z.number().int().positive().nullable().default(null).describe('libtorch intra-op threads. null = the runtime default.'),
    source: SourceSchema,
    model: ModelSchema,
    sourceTraining: TrainingSchema.nullable()
      .default(null)
      .describe(
        'Training of the source model(s); required unless the source is pretrained (source.pretrained), which is not trained here.',
      ),
    targets: z.array(TargetSchema).min(1).describe('Downstream tasks.'),
    transfer: TransferSchema.prefault({}),
    targetTraining: TrainingSchema.describe('Training on each target task.'),
    evaluation: EvaluationSchema.prefault({}),
    sweep: SweepSchema,
  })
  .superRefine((c, ctx) => {
    if (c.sourceTraining === null && c.source.pretrained === null)
      ctx.addIssue({
        code: 'custom',
        path: ['sourceTraining'],
        message: 'required: the source is trained here (source.pretrained is not set); give at least { epochs: N }',
      });
    streamIssues(c).forEach(({ path, message }) => ctx.addIssue({ code: 'custom', path, message }));
    const seen = new Set<string>();
    c.targets.forEach((t, i) => {
      if (seen.has(t.name)) ctx.addIssue({ code: 'custom', path: ['targets', i, 'name'], message: `duplicate target name '${t.name}'` });
      seen.add(t.name);
    });
  })
  .describe('A bias-transfer experiment: biased source task, model, training, targets, transfer modes, evaluation, sweep.');

/**
 * Where `stream: true` cannot be honoured, each with the config path of the `stream` key and why:
 * a spurious bias's attribute images (drawn per sample from an in-memory dataset; the main images
 * of the source and targets can stream) and class-patch probes (they crop from an in-memory
 * dataset; give the probe a small dataset of its own instead of a streamed source).
 */
function streamIssues(c: {
  source: { dataset: DatasetSpec; bias: z.output<typeof BiasSchema> };
  targets: readonly { dataset: DatasetSpec; testDataset: DatasetSpec }[];
  evaluation: { patches: readonly PatchProbeSpec[] };
}): { path: (string | number)[]; message: string }[] {
  const out: { path: (string | number)[]; message: string }[] = [];
  const bias = c.source.bias;
  if (bias.kind === 'spurious' && bias.attribute.kind === 'dataset' && bias.attribute.dataset.stream === true)
    out.push({
      path: ['source', 'bias', 'attribute', 'dataset', 'stream'],
      message: 'attribute images are read into memory (one is drawn per sample and resized to the attribute side): remove stream',
    });
  c.evaluation.patches.forEach((p, i) => {
    if (p.kind !== 'class-patch') return;
    if (p.dataset !== null && p.dataset.stream === true)
      out.push({
        path: ['evaluation', 'patches', i, 'dataset', 'stream'],
        message: 'a class-patch probe crops from an in-memory dataset (a few images per class): remove stream',
      });
    if (p.dataset === null && c.source.dataset.stream === true)
      out.push({
        path: ['evaluation', 'patches', i, 'dataset'],
        message:
          'this class-patch probe would crop from the source dataset, which is streamed (source.dataset.stream): give the probe a small in-memory dataset of its own',
      });
  });
  return out;
}

/** A validated experiment config with every default filled in. */
export type ExperimentConfig = z.output<typeof ExperimentConfigSchema>;
/** What a config file may contain (defaults optional). */
export type ExperimentConfigInput = z.input<typeof ExperimentConfigSchema>;
