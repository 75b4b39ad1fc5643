/** Pooling layers: MaxPool2d, AvgPool2d, AdaptiveAvgPool2d. */
import { adaptiveAvgPool2d, avgPool2d, maxPool2d, type AvgPool2dOptions, type MaxPool2dOptions, type Tensor } from '../../torch/index.js';
import { Module } from '../module.js';
import { toPair, type Pair } from '../pair.js';

function pyInt(p: readonly [number, number]): string {
  return p[0] === p[1] ? `${p[0]}` : `(${p[0]}, ${p[1]})`;
}

/** Max over kH x kW windows of [N, C, H, W] (torch.nn.MaxPool2d). `stride` defaults to `kernelSize`. */
export class MaxPool2d extends Module {
  readonly #opts: MaxPool2dOptions & { stride: [number, number]; padding: [number, number]; dilation: [number, number] };
  readonly kernelSize: [number, number];
  constructor(cfg: { kernelSize: Pair; stride?: Pair; padding?: Pair; dilation?: Pair; ceilMode?: boolean }) {
    super();
    this.kernelSize = toPair(cfg.kernelSize, 'MaxPool2d kernelSize', 1);
    this.#opts = {
      kernelSize: this.kernelSize,
      stride: toPair(cfg.stride ?? cfg.kernelSize, 'MaxPool2d stride', 1),
      padding: toPair(cfg.padding ?? 0, 'MaxPool2d padding'),
      dilation: toPair(cfg.dilation ?? 1, 'MaxPool2d dilation', 1),
      ceilMode: cfg.ceilMode ?? false,
    };
  }
  forward(x: Tensor): Tensor {
    return maxPool2d(x, this.#opts);
  }
  override get fusionRole(): 'maxpool2d' {
    return 'maxpool2d';
  }
  /**
   * The window for the fused kernels when windows do not overlap (stride = kernel, no padding or
   * dilation, floor mode) and one fits in x [N, C, H, W]; else undefined.
   */
  tiledWindowFor(x: Tensor): [number, number] | undefined {
    const o = this.#opts;
    const [kh, kw] = this.kernelSize;
    const plain = o.stride[0] === kh && o.stride[1] === kw && o.padding[0] === 0 && o.padding[1] === 0;
    const tiled = plain && o.dilation[0] === 1 && o.dilation[1] === 1 && !o.ceilMode;
    return tiled && x.ndim === 4 && x.shape[2] >= kh && x.shape[3] >= kw ? [kh, kw] : undefined;
  }
  override describe(): string {
    const o = this.#opts;
    return `kernel_size=${pyInt(this.kernelSize)}, stride=${pyInt(o.stride)}, padding=${pyInt(o.padding)}, dilation=${pyInt(o.dilation)}, ceil_mode=${o.ceilMode ? 'True' : 'False'}`;
  }
}

/** Mean over kH x kW windows of [N, C, H, W] (torch.nn.AvgPool2d). `stride` defaults to `kernelSize`. */
export class AvgPool2d extends Module {
  readonly #opts: AvgPool2dOptions & { stride: [number, number]; padding: [number, number] };
  readonly kernelSize: [number, number];
  constructor(cfg: { kernelSize: Pair; stride?: Pair; padding?: Pair; ceilMode?: boolean; countIncludePad?: boolean }) {
    super();
    this.kernelSize = toPair(cfg.kernelSize, 'AvgPool2d kernelSize', 1);
    this.#opts = {
      kernelSize: this.kernelSize,
      stride: toPair(cfg.stride ?? cfg.kernelSize, 'AvgPool2d stride', 1),
      padding: toPair(cfg.padding ?? 0, 'AvgPool2d padding'),
      ceilMode: cfg.ceilMode ?? false,
      countIncludePad: cfg.countIncludePad ?? true,
    };
  }
  forward(x: Tensor): Tensor {
    return avgPool2d(x, this.#opts);
  }
  override describe(): string {
    const o = this.#opts;
    return `kernel_size=${pyInt(this.kernelSize)}, stride=${pyInt(o.stride)}, padding=${pyInt(o.padding)}`;
  }
}

/** Averages [N, C, H, W] into a fixed [outH, outW] grid (torch.nn.AdaptiveAvgPool2d); (1, 1) is global average pooling. */
export class AdaptiveAvgPool2d extends Module {
  readonly outputSize: [number, number];
  constructor(opts: { outputSize: Pair }) {
    super();
    this.outputSize = toPair(opts.outputSize, 'AdaptiveAvgPool2d outputSize', 1);
  }
  forward(x: Tensor): Tensor {
    return adaptiveAvgPool2d(x, this.outputSize);
  }
  override describe(): string {
    return `output_size=(${this.outputSize[0]}, ${this.outputSize[1]})`;
  }
}
