/** ModelSpec: the data that names and sizes a model of the zoo; stored in weight files so they can be rebuilt. */
import { z } from 'zod';

/** Architectures `createModel` can build. */
export const ARCHS = ['resnet18', 'resnet34', 'resnet50', 'resnet-tiny', 'small-cnn'] as const;
/** One of `ARCHS`. */
export type Arch = (typeof ARCHS)[number];

/** Schema of a ModelSpec (strict: unknown keys are errors). */
export const ModelSpecSchema = z.strictObject({
  arch: z.enum(ARCHS),
  numClasses: z.number().int().min(1),
  inChannels: z.number().int().min(1),
  /** 3x3 stride-1 stem without max-pool (ResNets on 28-32 px images). */
  smallInput: z.boolean().optional(),
  /** Multiplies every ResNet width (base 64 * m), e.g. 0.25 for CPU-sized models. */
  widthMultiplier: z.number().positive().optional(),
  /** Blocks per ResNet stage (4 entries), or channel widths of SmallCNN's conv blocks. */
  layers: z.array(z.number().int().min(1)).min(1).optional(),
  /** Zero-init the last BN of each residual block (torchvision's zero_init_residual). */
  zeroInitResidual: z.boolean().optional(),
});

/**
 * What to build: architecture, classes, input channels and size options.
 *
 * @example { arch: 'resnet18', numClasses: 10, inChannels: 3, smallInput: true, widthMultiplier: 0.25 }
 */
export type ModelSpec = z.infer<typeof ModelSpecSchema>;

/** Validates an unknown value as a ModelSpec; errors name the offending field and `source`. */
export function parseModelSpec(value: unknown, source = 'model spec'): ModelSpec {
  const r = ModelSpecSchema.safeParse(value);
  if (!r.success) {
    const msg = r.error.issues.map((i) => `${i.path.length > 0 ? i.path.join('.') : '(root)'}: ${i.message}`).join('; ');
    throw new Error(`${source}: invalid model spec: ${msg}`);
  }
  return r.data;
}
