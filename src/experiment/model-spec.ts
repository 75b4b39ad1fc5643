/** The model a config's `model` section means: one function, used wherever an experiment builds a model. */
import type { ModelSpec as NnModelSpec } from '../nn/index.js';
import type { ExperimentConfig } from './config/index.js';

/**
 * The model spec of `config.model` for `numClasses` outputs and `inChannels` input channels.
 * Options the config leaves null (widthMultiplier, layers) are left out, so the architecture's
 * own defaults apply (src/nn's ARCH_DEFAULTS: `resnet-tiny` is width 0.25, layers [1,1,1,1]),
 * exactly as for the CLI's `model` commands and the API's `createModel`.
 */
export function configModelSpec(config: ExperimentConfig, numClasses: number, inChannels: number): NnModelSpec {
  const m = config.model;
  return {
    arch: m.arch,
    numClasses,
    inChannels,
    smallInput: m.smallInput,
    ...(m.widthMultiplier !== null ? { widthMultiplier: m.widthMultiplier } : {}),
    ...(m.layers !== null ? { layers: [...m.layers] } : {}),
  };
}
