/** Parameter-free element-wise and shape layers: ReLU, Dropout, Flatten, Identity. */
import { dropout, isGradEnabled, type Tensor } from '../../torch/index.js';
import { Module } from '../module.js';
import { fastPaths } from '../fusion.js';

/** max(x, 0) element-wise (torch.nn.ReLU; always out of place here). */
export class ReLU extends Module {
  forward(x: Tensor): Tensor {
    return x.relu();
  }
  /**
   * In place on an intermediate the chain owns, where no gradient is recorded (evaluation: no
   * new buffer). With gradients it runs out of place: the previous op's backward may need x.
   */
  override forwardOwned(x: Tensor): Tensor {
    if (!fastPaths.enabled || isGradEnabled()) return this.forward(x);
    return x.relu_();
  }
  override get fusionRole(): 'relu' {
    return 'relu';
  }
}

/** Zeroes elements with probability `p` in training mode, scaling the rest by 1/(1-p); identity in eval (torch.nn.Dropout). */
export class Dropout extends Module {
  readonly p: number;
  constructor(opts: { p?: number } = {}) {
    super();
    const p = opts.p ?? 0.5;
    if (!(p >= 0 && p <= 1)) throw new RangeError(`Dropout: p must be in [0, 1], got ${p}`);
    this.p = p;
  }
  forward(x: Tensor): Tensor {
    return dropout(x, this.p, this.training);
  }
  override describe(): string {
    return `p=${this.p}, inplace=False`;
  }
}

/** Flattens dimensions `startDim..endDim` (default 1..-1: [N, C, H, W] → [N, C*H*W]) (torch.nn.Flatten). */
export class Flatten extends Module {
  readonly startDim: number;
  readonly endDim: number;
  constructor(opts: { startDim?: number; endDim?: number } = {}) {
    super();
    this.startDim = opts.startDim ?? 1;
    this.endDim = opts.endDim ?? -1;
  }
  forward(x: Tensor): Tensor {
    return x.flatten(this.startDim, this.endDim);
  }
  override describe(): string {
    return `start_dim=${this.startDim}, end_dim=${this.endDim}`;
  }
}

/** Returns its input unchanged (the same tensor object) (torch.nn.Identity). */
export class Identity extends Module {
  forward(x: Tensor): Tensor {
    return x;
  }
}
