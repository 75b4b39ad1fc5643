/**
 * Parameter initialisers with PyTorch 1.13's formulas (`torch.nn.init`), drawing from libtorch's
 * global generator in the same order and amounts, so `manualSeed(s)` here and
 * `torch.manual_seed(s)` in PyTorch give the same values.
 */
import { noGrad, type Tensor } from '../torch/index.js';

/** fan_in and fan_out of a weight [out, in, ...kernel] (torch.nn.init._calculate_fan_in_and_fan_out). */
export function fans(t: Tensor): { fanIn: number; fanOut: number } {
  const s = t.shape;
  if (s.length < 2) throw new RangeError(`fan in and fan out need a tensor with at least 2 dimensions, got [${s.join(', ')}]`);
  const receptive = s.slice(2).reduce((a, b) => a * b, 1);
  return { fanIn: s[1] * receptive, fanOut: s[0] * receptive };
}

/** Recommended gain of a nonlinearity (torch.nn.init.calculate_gain) for 'relu', 'linear' and 'leaky_relu'. */
export function calculateGain(nonlinearity: 'relu' | 'linear' | 'leaky_relu', param = 0.01): number {
  if (nonlinearity === 'relu') return Math.SQRT2;
  if (nonlinearity === 'leaky_relu') return Math.sqrt(2 / (1 + param * param));
  return 1;
}

/** Fills `t` in place with U(low, high); returns `t`. */
export function uniform_(t: Tensor, low: number, high: number): Tensor {
  return noGrad(() => t.uniform_(low, high));
}
/** Fills `t` in place with N(mean, std^2); returns `t`. */
export function normal_(t: Tensor, mean: number, std: number): Tensor {
  return noGrad(() => t.normal_(mean, std));
}
/** Fills `t` in place with `value`; returns `t`. */
export function constant_(t: Tensor, value: number): Tensor {
  return noGrad(() => t.fill_(value));
}

/** Options of the kaiming initialisers. */
export interface KaimingOptions {
  /** Negative slope of the leaky ReLU after this layer (default 0). */
  a?: number;
  /** Preserve the variance of the forward pass (`fanIn`, default) or of the backward pass (`fanOut`). */
  mode?: 'fanIn' | 'fanOut';
  nonlinearity?: 'relu' | 'leaky_relu';
}

function kaimingStd(t: Tensor, o: KaimingOptions): number {
  const { fanIn, fanOut } = fans(t);
  const fan = (o.mode ?? 'fanIn') === 'fanIn' ? fanIn : fanOut;
  const gain = calculateGain(o.nonlinearity ?? 'leaky_relu', o.a ?? 0);
  return gain / Math.sqrt(fan);
}

/** He uniform: U(-b, b) with b = gain * sqrt(3 / fan) (torch.nn.init.kaiming_uniform_). */
export function kaimingUniform_(t: Tensor, o: KaimingOptions = {}): Tensor {
  const bound = Math.sqrt(3) * kaimingStd(t, o);
  return uniform_(t, -bound, bound);
}
/** He normal: N(0, (gain / sqrt(fan))^2) (torch.nn.init.kaiming_normal_). */
export function kaimingNormal_(t: Tensor, o: KaimingOptions = {}): Tensor {
  return normal_(t, 0, kaimingStd(t, o));
}
