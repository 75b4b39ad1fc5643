/** Linear: fully connected layer (torch.nn.Linear). */
import { empty, linear, type Tensor } from '../../torch/index.js';
import { fans, kaimingUniform_, uniform_ } from '../init.js';
import { Module } from '../module.js';

/** Options of `Linear`. */
export interface LinearConfig {
  inFeatures: number;
  outFeatures: number;
  /** Learn an additive bias (default true). */
  bias?: boolean;
}

/**
 * y = x W^T + b for x [N, in] giving [N, out]. Parameters `weight` [out, in] and optional
 * `bias` [out], initialised as PyTorch 1.13 (kaiming_uniform_(a=sqrt(5)), bias
 * U(-1/sqrt(in), 1/sqrt(in))).
 */
export class Linear extends Module {
  readonly inFeatures: number;
  readonly outFeatures: number;
  readonly weight: Tensor;
  readonly bias: Tensor | undefined;

  constructor(cfg: LinearConfig) {
    super();
    for (const [k, v] of [
      ['inFeatures', cfg.inFeatures],
      ['outFeatures', cfg.outFeatures],
    ] as const)
      if (!Number.isInteger(v) || v < 1) throw new RangeError(`Linear: ${k} must be a positive integer, got ${v}`);
    this.inFeatures = cfg.inFeatures;
    this.outFeatures = cfg.outFeatures;
    this.weight = this.registerParameter('weight', empty([cfg.outFeatures, cfg.inFeatures]));
    this.bias = (cfg.bias ?? true) ? this.registerParameter('bias', empty([cfg.outFeatures])) : undefined;
    this.resetParameters();
  }

  override resetParameters(): void {
    kaimingUniform_(this.weight, { a: Math.sqrt(5) });
    if (this.bias !== undefined) {
      const { fanIn } = fans(this.weight);
      const bound = fanIn > 0 ? 1 / Math.sqrt(fanIn) : 0;
      uniform_(this.bias, -bound, bound);
    }
  }

  forward(x: Tensor): Tensor {
    return linear(x, this.weight, this.bias);
  }

  override describe(): string {
    return `in_features=${this.inFeatures}, out_features=${this.outFeatures}, bias=${this.bias !== undefined ? 'True' : 'False'}`;
  }
}
