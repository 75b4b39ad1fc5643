/** createModel: builds any model of the zoo from a ModelSpec. */
import type { Classifier } from './classifier.js';
import { ResNet } from './resnet.js';
import { SmallCNN } from './small-cnn.js';
import { parseModelSpec, type ModelSpec } from './spec.js';

const RESNETS = {
  resnet18: { block: 'basic', layers: [2, 2, 2, 2], width: 1 },
  resnet34: { block: 'basic', layers: [3, 4, 6, 3], width: 1 },
  resnet50: { block: 'bottleneck', layers: [3, 4, 6, 3], width: 1 },
  /** CPU-sized: one BasicBlock per stage, base width 16. */
  'resnet-tiny': { block: 'basic', layers: [1, 1, 1, 1], width: 0.25 },
} as const;

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
  if (s.arch === 'small-cnn') {
    const m = s.widthMultiplier ?? 1;
    const widths = (s.layers ?? [16, 32, 64]).map((w) => Math.max(1, Math.round(w * m)));
    return new SmallCNN({ numClasses: s.numClasses, inChannels: s.inChannels, widths, spec: s });
  }
  const r = RESNETS[s.arch];
  return new ResNet({
    block: r.block,
    layers: s.layers ?? r.layers,
    numClasses: s.numClasses,
    inChannels: s.inChannels,
    smallInput: s.smallInput ?? false,
    widthMultiplier: s.widthMultiplier ?? r.width,
    zeroInitResidual: s.zeroInitResidual ?? false,
    spec: s,
  });
}
