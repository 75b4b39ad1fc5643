/** SmallCNN: a few conv-bn-relu blocks, global average pooling and a linear head; fast enough for tests. */
import type { Tensor } from '../../torch/index.js';
import { ReLU } from '../layers/activation.js';
import { BatchNorm2d } from '../layers/batchnorm.js';
import { Conv2d } from '../layers/conv.js';
import { Linear } from '../layers/linear.js';
import { AdaptiveAvgPool2d, MaxPool2d } from '../layers/pooling.js';
import { Sequential } from '../layers/sequential.js';
import { forwardChain, Module } from '../module.js';
import type { Classifier, NamedBlock } from './classifier.js';
import type { ModelSpec } from './spec.js';

/** Options of `SmallCNN`. */
export interface SmallCNNConfig {
  numClasses: number;
  inChannels?: number;
  /** Output channels of each conv block (default [16, 32, 64]). */
  widths?: readonly number[];
  /** The spec recorded for this model (`createModel` passes its own). */
  spec?: ModelSpec;
}

/**
 * `block1..blockK`: Sequential(Conv2d 3x3 pad 1 no bias, BatchNorm2d, ReLU[, MaxPool2d(2)]) with
 * a 2x2 max-pool after every block but the last; then global average pooling and `fc`.
 * Keys: `block1.0.weight`, `block1.1.running_mean`, ..., `fc.weight`, `fc.bias`.
 */
export class SmallCNN extends Module implements Classifier {
  readonly featureDim: number;
  readonly pool: AdaptiveAvgPool2d;
  /** Blocks and pooling in order: what `backbone` runs. */
  readonly #featureChain: Module[];
  readonly #blocks: Sequential[] = [];
  #fc: Linear;
  #spec: ModelSpec;

  constructor(cfg: SmallCNNConfig) {
    super();
    const widths = cfg.widths ?? [16, 32, 64];
    if (widths.length === 0 || widths.some((w) => !Number.isInteger(w) || w < 1))
      throw new RangeError(`SmallCNN: widths must be positive integers, got ${JSON.stringify(widths)}`);
    const inChannels = cfg.inChannels ?? 3;
    this.#spec = cfg.spec ?? { arch: 'small-cnn', numClasses: cfg.numClasses, inChannels, layers: [...widths] };
    let c = inChannels;
    widths.forEach((w, i) => {
      const parts: Module[] = [
        new Conv2d({ inChannels: c, outChannels: w, kernelSize: 3, padding: 1, bias: false }),
        new BatchNorm2d({ numFeatures: w }),
        new ReLU(),
      ];
      if (i < widths.length - 1) parts.push(new MaxPool2d({ kernelSize: 2 }));
      this.#blocks.push(this.registerModule(`block${i + 1}`, new Sequential(parts)));
      c = w;
    });
    this.pool = this.registerModule('pool', new AdaptiveAvgPool2d({ outputSize: 1 }));
    this.#featureChain = [...this.#blocks, this.pool];
    this.featureDim = c;
    this.#fc = this.registerModule('fc', new Linear({ inFeatures: c, outFeatures: cfg.numClasses }));
  }

  get spec(): ModelSpec {
    return this.#spec;
  }
  get head(): Linear {
    return this.#fc;
  }

  backbone(x: Tensor): Tensor {
    const p = forwardChain(x, this.#featureChain);
    const f = p.flatten(1);
    p.dispose();
    return f;
  }

  forward(x: Tensor): Tensor {
    const f = this.backbone(x);
    const y = this.#fc.forward(f);
    f.dispose();
    return y;
  }

  blocks(): NamedBlock[] {
    return this.#blocks.map((b, i) => ({ name: `block${i + 1}`, module: b }));
  }

  replaceHead(numClasses: number): Linear {
    const fc = new Linear({ inFeatures: this.featureDim, outFeatures: numClasses });
    fc.train(this.training);
    this.#fc = this.replaceModule('fc', fc);
    this.#spec = { ...this.#spec, numClasses };
    return fc;
  }
}
