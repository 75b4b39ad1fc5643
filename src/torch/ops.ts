/**
 * Tensor creation and the functional operations models are built from (the `torch.*` and
 * `torch.nn.functional.*` of this project). Shapes follow PyTorch: images are NCHW.
 */
import { native, type NativeTensor } from './native.js';
import { Tensor, type AnyTypedArray, type DType, type Device } from './tensor.js';

/** dtype and device of a new tensor (defaults: float32 on cpu). */
export interface CreateOptions {
  dtype?: DType;
  device?: Device;
}

function numelOf(shape: readonly number[]): number {
  for (const s of shape) if (!Number.isInteger(s) || s < 0) throw new RangeError(`invalid shape [${shape.join(', ')}]`);
  return shape.reduce((a, b) => a * b, 1);
}

function dtypeOfArray(data: AnyTypedArray): DType {
  if (data instanceof Float32Array) return 'float32';
  if (data instanceof Float64Array) return 'float64';
  if (data instanceof Int32Array) return 'int32';
  if (data instanceof BigInt64Array) return 'int64';
  if (data instanceof Int8Array) return 'int8';
  if (data instanceof Int16Array) return 'int16';
  if (data instanceof Uint16Array) return 'float16';
  return 'uint8';
}

/**
 * A tensor holding a copy of `data` with the given shape. The dtype follows the array
 * (Float32Array → float32, Int32Array → int32, BigInt64Array → int64, Uint8Array → uint8, ...);
 * pass `dtype: 'bool'` with a Uint8Array of 0/1, or `dtype: 'bfloat16'` with a Uint16Array of bits.
 */
export function fromTyped(data: AnyTypedArray, shape: readonly number[], opts: CreateOptions = {}): Tensor {
  const dtype = opts.dtype ?? dtypeOfArray(data);
  const n = numelOf(shape);
  if (n !== data.length) throw new RangeError(`data has ${data.length} elements but shape [${shape.join(', ')}] needs ${n}`);
  return new Tensor(native.FromBytes(data, dtype, [...shape], opts.device));
}

/** A tensor from raw little-endian bytes (the safetensors layout). */
export function fromBytes(bytes: Uint8Array, dtype: DType, shape: readonly number[], opts: { device?: Device } = {}): Tensor {
  numelOf(shape);
  return new Tensor(native.FromBytes(bytes, dtype, [...shape], opts.device));
}

/** A tensor from nested JS number arrays or a flat list (float32 unless `dtype` says otherwise). */
export function tensor(values: number | readonly unknown[], opts: CreateOptions = {}): Tensor {
  const shape: number[] = [];
  let v: unknown = values;
  while (Array.isArray(v)) {
    shape.push(v.length);
    v = v[0];
  }
  const flat = (Array.isArray(values) ? (values as unknown[]).flat(Infinity) : [values]) as number[];
  const dtype = opts.dtype ?? 'float32';
  let arr: AnyTypedArray;
  switch (dtype) {
    case 'float64':
      arr = Float64Array.from(flat);
      break;
    case 'int32':
      arr = Int32Array.from(flat);
      break;
    case 'int64':
      arr = BigInt64Array.from(flat, (x) => BigInt(Math.trunc(x)));
      break;
    case 'uint8':
    case 'bool':
      arr = Uint8Array.from(flat, (x) => Number(x));
      break;
    case 'int8':
      arr = Int8Array.from(flat);
      break;
    case 'int16':
      arr = Int16Array.from(flat);
      break;
    default: {
      const t = new Tensor(native.FromBytes(Float32Array.from(flat), 'float32', shape, opts.device));
      if (dtype === 'float32') return t;
      const c = t.to(dtype);
      t.dispose();
      return c;
    }
  }
  return new Tensor(native.FromBytes(arr, dtype, shape, opts.device));
}

export function zeros(shape: readonly number[], opts: CreateOptions = {}): Tensor {
  return new Tensor(native.Zeros([...shape], opts.dtype ?? 'float32', opts.device));
}
export function ones(shape: readonly number[], opts: CreateOptions = {}): Tensor {
  return new Tensor(native.Ones([...shape], opts.dtype ?? 'float32', opts.device));
}
/** Uninitialised memory: fill it before reading. */
export function empty(shape: readonly number[], opts: CreateOptions = {}): Tensor {
  return new Tensor(native.Empty([...shape], opts.dtype ?? 'float32', opts.device));
}
export function full(shape: readonly number[], value: number | boolean, opts: CreateOptions = {}): Tensor {
  return new Tensor(native.Full([...shape], value, opts.dtype ?? 'float32', opts.device));
}
export function zerosLike(t: Tensor): Tensor {
  return zeros(t.shape, { dtype: t.dtype, device: t.device });
}
export function onesLike(t: Tensor): Tensor {
  return ones(t.shape, { dtype: t.dtype, device: t.device });
}
/** U[0, 1) samples from libtorch's global generator (see `manualSeed`). */
export function rand(shape: readonly number[], opts: CreateOptions = {}): Tensor {
  return new Tensor(native.Rand([...shape], opts.dtype ?? 'float32', opts.device));
}
/** N(0, 1) samples from libtorch's global generator. */
export function randn(shape: readonly number[], opts: CreateOptions = {}): Tensor {
  return new Tensor(native.Randn([...shape], opts.dtype ?? 'float32', opts.device));
}
/** Integers in [low, high), int64 by default. */
export function randint(low: number, high: number, shape: readonly number[], opts: CreateOptions = {}): Tensor {
  return new Tensor(native.Randint(low, high, [...shape], opts.dtype ?? 'int64', opts.device));
}
/** A random permutation of 0..n-1 (int64). */
export function randperm(n: number, opts: CreateOptions = {}): Tensor {
  return new Tensor(native.Randperm(n, opts.dtype ?? 'int64', opts.device));
}
/**
 * Values from `start` (inclusive) to `end` (exclusive) by `step`. With one argument: 0..start-1.
 * Integer arguments give int64 unless `dtype` says otherwise.
 */
export function arange(start: number, end?: number, step = 1, opts: CreateOptions = {}): Tensor {
  const [a, b] = end === undefined ? [0, start] : [start, end];
  const integral = Number.isInteger(a) && Number.isInteger(b) && Number.isInteger(step);
  return new Tensor(native.Arange(a, b, step, opts.dtype ?? (integral ? 'int64' : 'float32'), opts.device));
}
export function eye(n: number, opts: CreateOptions = {}): Tensor {
  return new Tensor(native.Eye(n, opts.dtype ?? 'float32', opts.device));
}

/** Concatenates along an existing dimension. */
export function cat(tensors: readonly Tensor[], dim = 0): Tensor {
  return new Tensor(
    native.Cat(
      tensors.map((t) => t.handle),
      dim,
    ),
  );
}
/** Stacks along a new dimension. */
export function stack(tensors: readonly Tensor[], dim = 0): Tensor {
  return new Tensor(
    native.Stack(
      tensors.map((t) => t.handle),
      dim,
    ),
  );
}
/** Elementwise `cond ? a : b` with broadcasting; a and b may be scalars. */
export function where(cond: Tensor, a: Tensor | number, b: Tensor | number): Tensor {
  return new Tensor(native.Where(cond.handle, a instanceof Tensor ? a.handle : a, b instanceof Tensor ? b.handle : b));
}

// ---- torch.nn.functional ----------------------------------------------------------------------

type Pair = number | readonly [number, number];
function pair(v: Pair, name: string): number[] {
  const p = typeof v === 'number' ? [v, v] : [...v];
  if (p.length !== 2 || p.some((x) => !Number.isInteger(x))) throw new RangeError(`${name} must be an integer or a pair of integers`);
  return p;
}

/** Options of `conv2d` (as torch.nn.functional.conv2d). */
export interface Conv2dOptions {
  bias?: Tensor;
  stride?: Pair;
  padding?: Pair;
  dilation?: Pair;
  groups?: number;
}
/** 2-d convolution. x: [N, Cin, H, W], weight: [Cout, Cin/groups, kH, kW]. */
export function conv2d(x: Tensor, weight: Tensor, opts: Conv2dOptions = {}): Tensor {
  return new Tensor(
    native.Conv2d(
      x.handle,
      weight.handle,
      opts.bias?.handle,
      pair(opts.stride ?? 1, 'stride'),
      pair(opts.padding ?? 0, 'padding'),
      pair(opts.dilation ?? 1, 'dilation'),
      opts.groups ?? 1,
    ),
  );
}

/** Options of `batchNorm` (as torch.nn.functional.batch_norm). */
export interface BatchNormOptions {
  weight?: Tensor;
  bias?: Tensor;
  /** Updated in place in training mode. */
  runningMean?: Tensor;
  runningVar?: Tensor;
  training: boolean;
  momentum?: number;
  eps?: number;
}
/** Batch normalisation over dimension 1. */
export function batchNorm(x: Tensor, opts: BatchNormOptions): Tensor {
  return new Tensor(
    native.BatchNorm(
      x.handle,
      opts.weight?.handle,
      opts.bias?.handle,
      opts.runningMean?.handle,
      opts.runningVar?.handle,
      opts.training,
      opts.momentum ?? 0.1,
      opts.eps ?? 1e-5,
    ),
  );
}

/** Options of `batchNormAct`: training-mode batch normalisation, then a shortcut, then ReLU. */
export interface BatchNormActOptions {
  weight?: Tensor;
  bias?: Tensor;
  /** Updated in place (give both or neither). */
  runningMean?: Tensor;
  runningVar?: Tensor;
  /** Weight of the new batch statistic in the running estimate (default 0.1). */
  momentum?: number;
  eps?: number;
  /** Added after the normalisation, before the ReLU (a ResNet block's shortcut); same shape as x. */
  residual?: Tensor;
  /** Apply max(., 0) last (default true). */
  relu?: boolean;
}

/**
 * Fused training-mode BatchNorm2d [+ residual] [+ ReLU] in one native kernel with its own
 * backward (native/src/fused.cc): `relu(batch_norm(x, training=true) + residual)`, the running
 * statistics updated as torch.nn.BatchNorm2d does. x: float32 CPU [N, C, H, W]; the output is
 * channels-last. Its sums are merged in a fixed order, so the result does not depend on the
 * number of threads.
 */
export function batchNormAct(x: Tensor, opts: BatchNormActOptions = {}): Tensor {
  return new Tensor(native.BatchNormAct(x.handle, opts.residual?.handle, ...bnArgs(opts), opts.relu ?? true));
}

type Handle = NativeTensor | undefined;

/** The fused kernels' shared arguments: weight, bias, running mean and variance, momentum, eps. */
function bnArgs(opts: BatchNormActOptions): [Handle, Handle, Handle, Handle, number, number] {
  const { weight, bias, runningMean, runningVar } = opts;
  return [weight?.handle, bias?.handle, runningMean?.handle, runningVar?.handle, opts.momentum ?? 0.1, opts.eps ?? 1e-5];
}

/**
 * Training-mode BatchNorm2d, ReLU and a max-pool over non-overlapping `kernel` windows (floor
 * mode) in one native kernel with its own backward (native/src/fused.cc): the full-size
 * normalised activation is never stored; the backward recomputes each window's winner from x.
 * Options as `batchNormAct` (residual and relu do not apply). x: float32 CPU [N, C, H, W]; the
 * output is channels-last. The first maximum of a window wins, as in max_pool2d; NaN in a window
 * is ignored (max_pool2d would propagate it).
 */
export function batchNormReluPool(x: Tensor, kernel: [number, number], opts: Omit<BatchNormActOptions, 'residual' | 'relu'> = {}): Tensor {
  return new Tensor(native.BatchNormReluPool(x.handle, ...bnArgs(opts), kernel[0], kernel[1]));
}

/**
 * `maxPool2d(relu(x))` over non-overlapping kh x kw windows (stride = kernel, no padding, floor
 * mode) in one native pass (native/src/fused.cc); channels-last output. Inference only: it
 * throws for input that records a gradient. x: float32 CPU [N, C, H, W].
 */
export function reluMaxPool2d(x: Tensor, kernel: [number, number]): Tensor {
  return new Tensor(native.ReluMaxPool(x.handle, kernel[0], kernel[1]));
}

/** y = x W^T + b. weight: [out, in]. */
export function linear(x: Tensor, weight: Tensor, bias?: Tensor): Tensor {
  return new Tensor(native.Linear(x.handle, weight.handle, bias?.handle));
}

export interface MaxPool2dOptions {
  kernelSize: Pair;
  /** Defaults to kernelSize. */
  stride?: Pair;
  padding?: Pair;
  dilation?: Pair;
  ceilMode?: boolean;
}
export function maxPool2d(x: Tensor, opts: MaxPool2dOptions): Tensor {
  return new Tensor(
    native.MaxPool2d(
      x.handle,
      pair(opts.kernelSize, 'kernelSize'),
      pair(opts.stride ?? opts.kernelSize, 'stride'),
      pair(opts.padding ?? 0, 'padding'),
      pair(opts.dilation ?? 1, 'dilation'),
      opts.ceilMode ?? false,
    ),
  );
}

export interface AvgPool2dOptions {
  kernelSize: Pair;
  stride?: Pair;
  padding?: Pair;
  ceilMode?: boolean;
  countIncludePad?: boolean;
}
export function avgPool2d(x: Tensor, opts: AvgPool2dOptions): Tensor {
  return new Tensor(
    native.AvgPool2d(
      x.handle,
      pair(opts.kernelSize, 'kernelSize'),
      pair(opts.stride ?? opts.kernelSize, 'stride'),
      pair(opts.padding ?? 0, 'padding'),
      opts.ceilMode ?? false,
      opts.countIncludePad ?? true,
    ),
  );
}
export function adaptiveAvgPool2d(x: Tensor, outputSize: Pair): Tensor {
  return new Tensor(native.AdaptiveAvgPool2d(x.handle, pair(outputSize, 'outputSize')));
}
/** Zeroes elements with probability p while training (scaling the rest by 1/(1-p)). */
export function dropout(x: Tensor, p: number, training: boolean): Tensor {
  if (!(p >= 0 && p <= 1)) throw new RangeError(`dropout probability must be in [0, 1], got ${p}`);
  return new Tensor(native.Dropout(x.handle, p, training));
}

/** How a loss reduces over the batch. */
export type Reduction = 'mean' | 'sum' | 'none';
export interface CrossEntropyOptions {
  /** Per-class weights, float [C]. */
  weight?: Tensor;
  reduction?: Reduction;
  ignoreIndex?: number;
  labelSmoothing?: number;
}
/** Cross entropy between logits [N, C] and int64 class targets [N] (or probabilities [N, C]). */
export function crossEntropy(logits: Tensor, target: Tensor, opts: CrossEntropyOptions = {}): Tensor {
  return new Tensor(
    native.CrossEntropy(
      logits.handle,
      target.handle,
      opts.weight?.handle,
      opts.reduction ?? 'mean',
      opts.ignoreIndex ?? -100,
      opts.labelSmoothing ?? 0,
    ),
  );
}
/** Negative log-likelihood of log-probabilities [N, C] at int64 targets [N]. */
export function nllLoss(
  logProbs: Tensor,
  target: Tensor,
  opts: { weight?: Tensor; reduction?: Reduction; ignoreIndex?: number } = {},
): Tensor {
  return new Tensor(
    native.NllLoss(logProbs.handle, target.handle, opts.weight?.handle, opts.reduction ?? 'mean', opts.ignoreIndex ?? -100),
  );
}
export function mseLoss(a: Tensor, b: Tensor, reduction: Reduction = 'mean'): Tensor {
  return new Tensor(native.MseLoss(a.handle, b.handle, reduction));
}
/** int64 one-hot encoding: [..., numClasses]. */
export function oneHot(indices: Tensor, numClasses: number): Tensor {
  return new Tensor(native.OneHot(indices.handle, numClasses));
}

export interface InterpolateOptions {
  /** Output [H, W]; or give scaleFactor. */
  size?: Pair;
  scaleFactor?: number | readonly [number, number];
  mode?: 'nearest' | 'bilinear';
  alignCorners?: boolean;
}
/** Resizes [N, C, H, W] images (as torch.nn.functional.interpolate, recompute_scale_factor unset). */
export function interpolate(x: Tensor, opts: InterpolateOptions): Tensor {
  const [h, w] = [x.size(-2), x.size(-1)];
  let size: number[];
  let sh: number | undefined;
  let sw: number | undefined;
  if (opts.size !== undefined) size = pair(opts.size, 'size');
  else if (opts.scaleFactor !== undefined) {
    const s = typeof opts.scaleFactor === 'number' ? [opts.scaleFactor, opts.scaleFactor] : [...opts.scaleFactor];
    [sh, sw] = s;
    size = [Math.floor(h * s[0]), Math.floor(w * s[1])];
  } else throw new RangeError('interpolate needs size or scaleFactor');
  const mode = opts.mode ?? 'nearest';
  return new Tensor(native.Interpolate(x.handle, size, mode, mode === 'bilinear' ? (opts.alignCorners ?? false) : false, sh, sw));
}
