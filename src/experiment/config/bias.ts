/**
 * Schema of the bias injected into the source dataset: none, a backdoor (trigger + poisoning
 * policy) or a spurious attribute correlated with some classes. src/bias implements them.
 */
import { z } from 'zod';
import { ClassRefSchema, DatasetSpecSchema } from './dataset.js';

const probability = z.number().min(0).max(1);

/** A pixel colour: one 0..255 value (grayscale, or the same on every channel) or [r, g, b]. */
export const ColorSchema = z
  .union([
    z.number().int().min(0).max(255),
    z.tuple([z.number().int().min(0).max(255), z.number().int().min(0).max(255), z.number().int().min(0).max(255)]),
  ])
  .describe('A colour: one 0..255 value (every channel) or [r, g, b].')
  .meta({ id: 'Color' });
export type Color = z.output<typeof ColorSchema>;

/** Trigger / attribute size: pixels, or a fraction of the image's shorter side. */
export const SizeSchema = z
  .union([
    z.number().int().positive().describe('Side length in pixels.'),
    z.strictObject({ fraction: z.number().gt(0).max(1).describe('Side as a fraction of the shorter image side, in (0, 1].') }),
  ])
  .describe('Square side: pixels (integer) or { fraction } of the shorter image side.')
  .meta({ id: 'Size' });
export type Size = z.output<typeof SizeSchema>;

/** Where a trigger or attribute is pasted. */
export const PositionSchema = z
  .union([
    z.enum(['top-left', 'top-right', 'bottom-left', 'bottom-right', 'center', 'random']),
    z.strictObject({
      x: z.number().int().nonnegative().describe('Column of the top-left pixel.'),
      y: z.number().int().nonnegative().describe('Row of the top-left pixel.'),
    }),
  ])
  .describe("Placement: a corner ('top-left', ...), 'center', 'random' (seeded, per image) or { x, y } of the top-left pixel.")
  .meta({ id: 'Position' });
export type Position = z.output<typeof PositionSchema>;

const placement = {
  size: SizeSchema.default(4),
  position: PositionSchema.default('bottom-right'),
  opacity: probability.default(1).describe('Blend factor: 1 = paste opaque, 0.3 = 30% trigger + 70% image.'),
};

/** A backdoor trigger: a pattern (discriminated on `kind`) plus size, position and opacity. */
export const TriggerSchema = z
  .discriminatedUnion('kind', [
    z.strictObject({ kind: z.literal('solid').describe('A filled square.'), color: ColorSchema.default(255), ...placement }),
    z.strictObject({
      kind: z.literal('checkerboard').describe('Alternating cells of two colours.'),
      colors: z.tuple([ColorSchema, ColorSchema]).default([0, 255]).describe('The two alternating colours.'),
      cell: z.number().int().positive().default(1).describe('Cell side in pixels.'),
      ...placement,
    }),
    z.strictObject({
      kind: z.literal('noise').describe('A fixed random pattern (the same on every image).'),
      seed: z.number().int().nonnegative().default(0).describe('Seed of the pattern.'),
      scale: z.number().gt(0).max(255).default(255).describe('Amplitude of the noise in 0..255 pixel units.'),
      ...placement,
    }),
    z.strictObject({
      kind: z.literal('image').describe('A pattern read from an image file.'),
      path: z.string().min(1).describe('PNG/JPEG file of the pattern (relative to the config file).'),
      maskPath: z.string().min(1).nullable().default(null).describe('Optional grayscale mask (white = pasted). null = the whole square.'),
      ...placement,
    }),
  ])
  .describe('A backdoor trigger pattern and where to paste it.')
  .meta({ id: 'Trigger' });
export type TriggerSpec = z.output<typeof TriggerSchema>;

const classList = z.array(ClassRefSchema).min(1);

/** How poisoned samples are chosen (discriminated on `policy`). */
export const PoisonSchema = z
  .discriminatedUnion('policy', [
    z.strictObject({
      policy: z.literal('clean-label').describe('Add the trigger to images of `classes`, labels unchanged.'),
      classes: classList.describe('Classes whose images get the trigger.'),
      probability: probability.describe('Probability that an image of those classes is triggered.'),
    }),
    z.strictObject({
      policy: z.literal('clean-label-count').describe('Add the trigger to exactly `count` images of `classes`, labels unchanged.'),
      classes: classList.describe('Classes whose images get the trigger.'),
      count: z.number().int().positive().describe('Number of triggered images (seeded choice).'),
    }),
    z.strictObject({
      policy: z.literal('dirty-label').describe('Add the trigger and relabel to `targetClass`.'),
      fromClasses: classList.nullable().default(null).describe('Classes to poison. null = every class except targetClass.'),
      probability: probability.optional().describe('Probability that an eligible image is poisoned (give this or count).'),
      count: z.number().int().positive().optional().describe('Number of poisoned images (give this or probability).'),
      targetClass: ClassRefSchema.describe('Label given to poisoned images.'),
    }),
    z.strictObject({
      policy: z.literal('trigger-class').describe('Add the trigger to random images and put them in a new extra class.'),
      probability: probability.optional().describe('Probability that an image is moved (give this or count).'),
      count: z.number().int().positive().optional().describe('Number of images moved (give this or probability).'),
      newClassName: z.string().min(1).default('trigger').describe('Name of the added class.'),
    }),
  ])
  .superRefine((p, ctx) => {
    if (p.policy === 'dirty-label' || p.policy === 'trigger-class') {
      if ((p.probability === undefined) === (p.count === undefined)) {
        ctx.addIssue({ code: 'custom', path: [], message: `policy '${p.policy}' needs exactly one of probability or count` });
      }
    }
  })
  .describe('Which source images are poisoned and how their labels change.')
  .meta({ id: 'Poison' });
export type PoisonSpec = z.output<typeof PoisonSchema>;

/** The object pasted by a spurious-correlation bias (discriminated on `kind`). */
export const AttributeSchema = z
  .discriminatedUnion('kind', [
    z.strictObject({
      kind: z.literal('shape').describe('A drawn geometric shape.'),
      shape: z.enum(['square', 'disc', 'triangle']).describe('The shape drawn.'),
      color: ColorSchema.default([255, 255, 0]).describe('Fill colour.'),
    }),
    z.strictObject({
      kind: z.literal('dataset').describe('Images of another dataset, pasted as the attribute.'),
      dataset: DatasetSpecSchema,
    }),
  ])
  .describe('The attribute object: a drawn shape or images from a dataset.')
  .meta({ id: 'Attribute' });
export type AttributeSpec = z.output<typeof AttributeSchema>;

/** The bias injected into the source data (discriminated on `kind`). */
export const BiasSchema = z
  .discriminatedUnion('kind', [
    z.strictObject({ kind: z.literal('none').describe('No bias: the clean source.') }),
    z.strictObject({
      kind: z.literal('backdoor').describe('A backdoor trigger added to some source images.'),
      trigger: TriggerSchema,
      poison: PoisonSchema,
    }),
    z.strictObject({
      kind: z.literal('spurious').describe('An attribute that co-occurs with some classes.'),
      attribute: AttributeSchema,
      canvas: z
        .tuple([z.number().int().positive(), z.number().int().positive()])
        .nullable()
        .default(null)
        .describe('Place images on a larger [height, width] canvas first. null = keep the image size.'),
      attributeScale: z.number().gt(0).max(1).default(0.25).describe('Attribute side as a fraction of the shorter image side.'),
      position: PositionSchema.default('random'),
      probabilityPerClass: z
        .record(z.string().min(1), probability)
        .default({})
        .describe('Probability that an image of a class carries the attribute, keyed by class index or name.'),
      defaultProbability: probability.default(0).describe('Probability for classes not listed in probabilityPerClass.'),
    }),
  ])
  .describe("The bias injected into the source data: 'none', 'backdoor' or 'spurious'.")
  .meta({ id: 'Bias' });
export type BiasSpec = z.output<typeof BiasSchema>;
