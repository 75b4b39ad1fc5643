/** createModel: builds any model of the zoo from a ModelSpec. */
import type { Classifier } from './classifier.js';
import { ResNet } from './resnet.js';
import { SmallCNN } from './small-cnn.js';
import { parseModelSpec, type Arch, type ModelSpec } from './spec.js';

const RESNETS = {
  resnet18: { block: 'basic', layers: [2, 2, 2, 2], width: 1 },
  resnet34: { block: 'basic', layers: [3, 4, 6, 3], width: 1 },
  resnet50: { block: 'bottleneck', layers: [3, 4, 6, 3], width: 1 },
  /** CPU-sized: one BasicBlock per stage, base width 16. */
  'resnet-tiny': { block: 'basic', layers: [1, 1, 1, 1], width: 0.25 },
} as const;

/**
 * Each architecture's defaults: the one source of truth for what a spec that leaves an option
 * out means (createModel, the CLI's model commands and experiment configs all resolve through
 * {@link resolveModelSpec}). `layers` is blocks per stage for ResNets, conv widths for small-cnn.
 */
export const ARCH_DEFAULTS: Readonly<Record<Arch, { widthMultiplier: number; layers: readonly number[]; smallInput: boolean }>> = {
  resnet18: { widthMultiplier: RESNETS.resnet18.width, layers: RESNETS.resnet18.layers, smallInput: false },
  resnet34: { widthMultiplier: RESNETS.resnet34.width, layers: RESNETS.resnet34.layers, smallInput: false },
  resnet50: { widthMultiplier: RESNETS.resnet50.width, layers: RESNETS.resnet50.layers, smallInput: false },
  'resnet-tiny': { widthMultiplier: RESNETS['resnet-tiny'].width, layers: RESNETS['resnet-tiny'].layers, smallInput: false },
  'small-cnn': { widthMultiplier: 1, layers: [16, 32, 64], smallInput: false },
};

/**
 * A spec with every size option filled from {@link ARCH_DEFAULTS} (widthMultiplier, layers,
 * smallInput): what `createModel` builds.
 * @example resolveModelSpec({ arch: 'resnet-tiny', numClasses: 10, inChannels: 1 }).widthMultiplier // 0.25
 */
export function resolveModelSpec(spec: ModelSpec): ModelSpec & { widthMultiplier: number; layers: number[]; smallInput: boolean } {
  const s = parseModelSpec(spec);
  const d = ARCH_DEFAULTS[s.arch];
  return {
    ...s,
    widthMultiplier: s.widthMultiplier ?? d.widthMultiplier,
    layers: [...(s.layers ?? d.layers)],
    smallInput: s.smallInput ?? d.smallInput,
  };
}

/**
 * Builds the model a spec describes, initialised from libtorch's generator (call `manualSeed`
 * first for reproducible weights). `resnet-tiny` is a BasicBlock ResNet with layers [1,1,1,1]
 * and widthMultiplier 0.25 unless the spec overrides them. For `small-cnn`, `layers` lists the
 * conv widths (default [16, 32, 64]), scaled by `widthMultiplier`; `smallInput` does not apply.
 *
 * @example const m = createModel({ arch: 'resnet18', numClasses: 10, inChannels: 3, smallInput: true, widthMultiplier: 0.25 });
 */
export function createModel(spec: ModelSpec): Classifier {
  const s = parseModelSpec(spec);
  const r = resolveModelSpec(s);
  if (s.arch === 'small-cnn') {
    const widths = r.layers.map((w) => Math.max(1, Math.round(w * r.widthMultiplier)));
    return new SmallCNN({ numClasses: s.numClasses, inChannels: s.inChannels, widths, spec: s });
  }
  const arch = RESNETS[s.arch];
  return new ResNet({
    block: arch.block,
    layers: r.layers,
    numClasses: s.numClasses,
    inChannels: s.inChannels,
    smallInput: r.smallInput,
    widthMultiplier: r.widthMultiplier,
    zeroInitResidual: s.zeroInitResidual ?? false,
    spec: s,
  });
}
