/** BatchNorm2d: batch normalisation over channels of [N, C, H, W] (torch.nn.BatchNorm2d). */
import {
  batchNorm,
  batchNormAct,
  batchNormReluPool,
  empty,
  noGrad,
  ones,
  zeros,
  type BatchNormActOptions,
  type BatchNormOptions,
  type Tensor,
} from '../../torch/index.js';
import { constant_ } from '../init.js';
import { Module } from '../module.js';
import { fastPaths } from '../fusion.js';

/** Python's repr of a float: `1e-05`, `0.1`, `1.0`. */
function pyFloat(v: number): string {
  if (Number.isInteger(v)) return v.toFixed(1);
  if (Math.abs(v) < 1e-4) return v.toExponential().replace(/e([+-])(\d)$/, 'e$10$2');
  return String(v);
}

/** Options of `BatchNorm2d` (PyTorch's keyword arguments). */
export interface BatchNorm2dConfig {
  numFeatures: number;
  eps?: number;
  /**
   * Weight of the new batch statistic in the running averages (default 0.1); `null` uses a
   * cumulative moving average (factor 1 / num_batches_tracked).
   */
  momentum?: number | null;
  /** Learn per-channel `weight` and `bias` (default true). */
  affine?: boolean;
  /** Keep running mean/var buffers and use them in eval mode (default true). */
  trackRunningStats?: boolean;
}

/**
 * y = (x - mean) / sqrt(var + eps) * weight + bias per channel. Training mode normalises with
 * batch statistics and (when tracking) updates `running_mean`, `running_var` (unbiased batch
 * variance) and increments `num_batches_tracked` (int64, 0-d), exactly as PyTorch 1.13;
 * eval mode uses the running statistics.
 */
export class BatchNorm2d extends Module {
  readonly numFeatures: number;
  readonly eps: number;
  readonly momentum: number | null;
  readonly affine: boolean;
  readonly trackRunningStats: boolean;
  readonly weight: Tensor | undefined;
  readonly bias: Tensor | undefined;
  readonly runningMean: Tensor | undefined;
  readonly runningVar: Tensor | undefined;
  readonly numBatchesTracked: Tensor | undefined;
  readonly #opts: BatchNormOptions;

  constructor(cfg: BatchNorm2dConfig) {
    super();
    if (!Number.isInteger(cfg.numFeatures) || cfg.numFeatures < 1)
      throw new RangeError(`BatchNorm2d: numFeatures must be a positive integer, got ${cfg.numFeatures}`);
    const momentum = cfg.momentum === undefined ? 0.1 : cfg.momentum;
    if (momentum !== null && !(momentum >= 0 && momentum <= 1))
      throw new RangeError(`BatchNorm2d: momentum must be in [0, 1] or null, got ${momentum}`);
    this.numFeatures = cfg.numFeatures;
    this.eps = cfg.eps ?? 1e-5;
    if (!(this.eps > 0)) throw new RangeError(`BatchNorm2d: eps must be > 0, got ${this.eps}`);
    this.momentum = momentum;
    this.affine = cfg.affine ?? true;
    this.trackRunningStats = cfg.trackRunningStats ?? true;
    const c = cfg.numFeatures;
    this.weight = this.affine ? this.registerParameter('weight', empty([c])) : undefined;
    this.bias = this.affine ? this.registerParameter('bias', empty([c])) : undefined;
    if (this.trackRunningStats) {
      this.runningMean = this.registerBuffer('running_mean', zeros([c]));
      this.runningVar = this.registerBuffer('running_var', ones([c]));
      this.numBatchesTracked = this.registerBuffer('num_batches_tracked', zeros([], { dtype: 'int64' }));
    }
    this.#opts = {
      weight: this.weight,
      bias: this.bias,
      runningMean: this.runningMean,
      runningVar: this.runningVar,
      training: true,
      momentum: 0.1,
      eps: this.eps,
    };
    this.resetParameters();
  }

  /** Resets the running statistics: mean 0, var 1, num_batches_tracked 0. */
  resetRunningStats(): void {
    if (this.runningMean === undefined || this.runningVar === undefined || this.numBatchesTracked === undefined) return;
    noGrad(() => {
      this.runningMean!.zero_();
      this.runningVar!.fill_(1);
      this.numBatchesTracked!.zero_();
    });
  }

  /** Running statistics reset; weight 1, bias 0 (PyTorch's reset_parameters). */
  override resetParameters(): void {
    this.resetRunningStats();
    if (this.weight !== undefined) constant_(this.weight, 1);
    if (this.bias !== undefined) constant_(this.bias, 0);
  }

  /**
   * Use the fused native kernel (`batchNormAct`: normalisation, shortcut and ReLU in one pass,
   * with its own backward) for batch statistics on channels-last float32 CPU input; false runs
   * ATen's batch_norm and a separate ReLU everywhere (for comparisons; default true). The same
   * switch as `fastPaths.enabled` (src/nn/fusion.ts), which also governs the other fast paths.
   */
  static get fused(): boolean {
    return fastPaths.enabled;
  }
  static set fused(on: boolean) {
    fastPaths.enabled = on;
  }

  #check(x: Tensor): void {
    if (x.ndim !== 4) throw new RangeError(`BatchNorm2d: expected 4-d input [N, C, H, W], got [${x.shape.join(', ')}]`);
    if (x.shape[1] !== this.numFeatures) throw new RangeError(`BatchNorm2d(${this.numFeatures}): input has ${x.shape[1]} channels`);
  }

  /** Counts the batch (training mode) and returns the running-statistics factor to use. */
  #tick(): number {
    let factor = this.momentum ?? 0;
    if (this.training && this.numBatchesTracked !== undefined) {
      noGrad(() => this.numBatchesTracked!.add_(1));
      if (this.momentum === null) factor = 1 / this.numBatchesTracked.item();
    }
    return factor;
  }

  /** The fused kernels' options for this batch (counts the batch: call once per forward). */
  #fusedOptions(): BatchNormActOptions {
    return {
      weight: this.weight,
      bias: this.bias,
      runningMean: this.runningMean,
      runningVar: this.runningVar,
      momentum: this.#tick(),
      eps: this.eps,
    };
  }

  /** Whether it normalises with the batch's statistics: while training, or with no running statistics to use. */
  get usesBatchStats(): boolean {
    return this.training || this.runningMean === undefined;
  }

  /** Whether `forwardAct` can take x: batch statistics on a channels-last float32 CPU tensor. */
  canFuse(x: Tensor): boolean {
    return (
      BatchNorm2d.fused &&
      this.usesBatchStats &&
      x.ndim === 4 &&
      x.dtype === 'float32' &&
      x.device === 'cpu' &&
      x.isContiguous({ channelsLast: true })
    );
  }

  /**
   * `relu(this(x) + residual)` (each part optional) in one native kernel when `canFuse(x)`;
   * undefined otherwise (the caller then runs the parts separately). Same numbers as the parts
   * up to float rounding (test/nn/batchnorm-act.test.ts checks it against PyTorch).
   */
  forwardAct(x: Tensor, opts: { residual?: Tensor; relu: boolean }): Tensor | undefined {
    if (!this.canFuse(x)) return undefined;
    this.#check(x);
    // With no running statistics (trackRunningStats false) none are updated.
    return batchNormAct(x, { ...this.#fusedOptions(), residual: opts.residual, relu: opts.relu });
  }

  /**
   * `maxPool(relu(this(x)))` over non-overlapping `window`s ([kH, kW], stride = window) as one
   * kernel (`batchNormReluPool`) when `canFuse(x)`; undefined otherwise. The fusion pass
   * (src/nn/fusion.ts) calls it for BatchNorm2d → ReLU → MaxPool2d.
   */
  forwardReluPool(x: Tensor, window: [number, number]): Tensor | undefined {
    if (!this.canFuse(x)) return undefined;
    this.#check(x);
    return batchNormReluPool(x, window, this.#fusedOptions());
  }

  override get fusionRole(): 'batchnorm2d' {
    return 'batchnorm2d';
  }

  forward(x: Tensor): Tensor {
    const fused = this.forwardAct(x, { relu: false });
    if (fused !== undefined) return fused;
    this.#check(x);
    const factor = this.#tick();
    const o = this.#opts;
    o.training = this.usesBatchStats;
    o.momentum = factor;
    return batchNorm(x, o);
  }

  override describe(): string {
    return `${this.numFeatures}, eps=${pyFloat(this.eps)}, momentum=${this.momentum === null ? 'None' : pyFloat(this.momentum)}, affine=${this.affine ? 'True' : 'False'}, track_running_stats=${this.trackRunningStats ? 'True' : 'False'}`;
  }
}
