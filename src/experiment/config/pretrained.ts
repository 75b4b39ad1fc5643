/**
 * Schema of a pretrained source: a backbone someone else trained, brought as a safetensors
 * state dict (torchvision names; `model import` converts a PyTorch checkpoint). It replaces
 * source training: the experiment transfers this backbone (the architecture is the config's
 * `model`) and, when `control` names a second file, that one as its clean control.
 */
import { z } from 'zod';

const channelValues = z.array(z.number()).min(1).max(3).describe('One value per input channel (1 or 3), in 0..1 pixel units.');

/** A backbone trained elsewhere, with the input it expects. */
export const PretrainedSchema = z
  .strictObject({
    weights: z
      .string()
      .min(1)
      .describe(
        'Safetensors state dict of the backbone (relative to the config file), loaded strictly into `model`: every key and shape must match, or the run stops naming the key.',
      ),
    control: z
      .string()
      .min(1)
      .nullable()
      .default(null)
      .describe(
        'A second weights file of the same architecture trained without the suspected bias: the clean control. null = no control (the report says so).',
      ),
    channels: z.union([z.literal(1), z.literal(3)]).describe('Input channels the backbone expects; target images are converted to it.'),
    size: z
      .tuple([z.number().int().positive(), z.number().int().positive()])
      .describe('Input [height, width] the backbone expects; target images are resized to it.'),
    mean: channelValues.describe("Per-channel mean subtracted from inputs, 0..1 units (torchvision's ImageNet: [0.485, 0.456, 0.406])."),
    std: channelValues
      .refine((v) => v.every((x) => x > 0), 'std values must be > 0')
      .describe("Per-channel standard deviation inputs are divided by, 0..1 units (torchvision's ImageNet: [0.229, 0.224, 0.225])."),
  })
  .superRefine((p, ctx) => {
    for (const k of ['mean', 'std'] as const)
      if (p[k].length !== p.channels)
        ctx.addIssue({ code: 'custom', path: [k], message: `${k} has ${p[k].length} value(s) but channels is ${p.channels}` });
  })
  .describe('A pretrained source backbone (instead of training one): weights, optional control weights, and the input it expects.')
  .meta({ id: 'Pretrained' });
export type PretrainedSpec = z.output<typeof PretrainedSchema>;
