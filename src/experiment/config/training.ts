/**
 * Schema of one training phase (source pre-training or target fine-tuning): epochs, batch size,
 * optimizer, learning-rate schedule, label smoothing, augmentation. src/train implements them.
 */
import { z } from 'zod';

const lr = z.number().gt(0).describe('Peak learning rate.');
const weightDecay = (d: number) => z.number().min(0).default(d).describe('L2 weight decay (decoupled for adamw).');
const betas = z
  .tuple([z.number().min(0).lt(1), z.number().min(0).lt(1)])
  .default([0.9, 0.999])
  .describe('Adam coefficients [beta1, beta2].');
const eps = z.number().gt(0).default(1e-8).describe('Adam denominator epsilon.');

/** Optimizer (discriminated on `kind`). */
export const OptimizerSchema = z
  .discriminatedUnion('kind', [
    z.strictObject({
      kind: z.literal('sgd').describe('Stochastic gradient descent with momentum.'),
      lr: lr.default(0.1),
      momentum: z.number().min(0).lt(1).default(0.9).describe('Momentum factor.'),
      nesterov: z.boolean().default(false).describe('Use Nesterov momentum.'),
      weightDecay: weightDecay(5e-4),
    }),
    z.strictObject({ kind: z.literal('adam').describe('Adam.'), lr: lr.default(1e-3), betas, eps, weightDecay: weightDecay(0) }),
    z.strictObject({
      kind: z.literal('adamw').describe('AdamW (decoupled weight decay).'),
      lr: lr.default(1e-3),
      betas,
      eps,
      weightDecay: weightDecay(0.01),
    }),
  ])
  .describe("Optimizer: 'sgd', 'adam' or 'adamw'.")
  .meta({ id: 'Optimizer' });
export type OptimizerSpec = z.output<typeof OptimizerSchema>;

/** Learning-rate schedule over epochs (discriminated on `kind`); stepped per batch unless noted. */
export const ScheduleSchema = z
  .discriminatedUnion('kind', [
    z.strictObject({ kind: z.literal('constant').describe('The same lr throughout.') }),
    z.strictObject({
      kind: z.literal('linear-warmup-decay').describe('Linear rise from 0 to lr, then linear decay to 0 (FFCV style).'),
      warmupEpochs: z.number().min(0).default(1).describe('Epoch at which the lr peaks (the "peak epoch"); may be fractional.'),
    }),
    z.strictObject({
      kind: z.literal('step').describe('Multiply the lr by gamma every stepEpochs epochs.'),
      stepEpochs: z.number().int().positive().describe('Epochs between decays.'),
      gamma: z.number().gt(0).max(1).default(0.1).describe('Decay factor.'),
    }),
    z.strictObject({
      kind: z.literal('cosine').describe('Cosine decay from lr to minLr, after an optional linear warmup.'),
      warmupEpochs: z.number().min(0).default(0).describe('Epochs of linear warmup from 0.'),
      minLr: z.number().min(0).default(0).describe('Final learning rate.'),
    }),
  ])
  .describe("Learning-rate schedule: 'constant', 'linear-warmup-decay', 'step' or 'cosine'.")
  .meta({ id: 'Schedule' });
export type ScheduleSpec = z.output<typeof ScheduleSchema>;

/** Training-time augmentation. */
export const AugmentSchema = z
  .strictObject({
    cropPadding: z.number().int().min(0).default(0).describe('Random crop after zero-padding by this many pixels per side (0 = off).'),
    hflip: z.boolean().default(false).describe('Random horizontal flip with probability 0.5.'),
    randomResizedCrop: z
      .strictObject({
        scale: z
          .tuple([z.number().gt(0).max(1), z.number().gt(0).max(1)])
          .default([0.08, 1])
          .describe("Range of the crop's area as a fraction of the image's (torchvision's default [0.08, 1])."),
        ratio: z
          .tuple([z.number().positive(), z.number().positive()])
          .default([3 / 4, 4 / 3])
          .describe("Range of the crop's width / height, sampled log-uniformly (torchvision's default [3/4, 4/3])."),
      })
      .optional()
      .describe(
        "torchvision's RandomResizedCrop to the model's input size, on the stored image (after the dataset's resize / centerCrop), " +
          'seeded per (seed, epoch, sample); not with cropPadding. Absent = off.',
      ),
  })
  .superRefine((a, ctx) => {
    if (a.randomResizedCrop !== undefined && a.cropPadding > 0)
      ctx.addIssue({ code: 'custom', path: ['randomResizedCrop'], message: 'randomResizedCrop and cropPadding cannot be combined' });
    for (const k of ['scale', 'ratio'] as const) {
      const v = a.randomResizedCrop?.[k];
      if (v !== undefined && v[0] > v[1])
        ctx.addIssue({ code: 'custom', path: ['randomResizedCrop', k], message: `${k} [${v[0]}, ${v[1]}] must be [min, max]` });
    }
  })
  .describe('Data augmentation applied to training batches.')
  .meta({ id: 'Augment' });

/** One training phase. */
export const TrainingSchema = z
  .strictObject({
    epochs: z.number().int().positive().describe('Number of passes over the training set.'),
    batchSize: z.number().int().positive().default(128).describe('Samples per optimizer step.'),
    optimizer: OptimizerSchema.prefault({ kind: 'sgd' }),
    schedule: ScheduleSchema.prefault({ kind: 'constant' }),
    labelSmoothing: z.number().min(0).lt(1).default(0).describe('Label smoothing epsilon for the cross-entropy loss.'),
    augment: AugmentSchema.prefault({}),
    evalEvery: z.number().int().min(0).default(1).describe('Evaluate every N epochs (0 = only after the last epoch).'),
  })
  .describe('A training phase: epochs, batch size, optimizer, lr schedule, label smoothing, augmentation.')
  .meta({ id: 'Training' });
export type TrainingSpec = z.output<typeof TrainingSchema>;
