/**
 * The Tensor class: a typed, owning wrapper around one libtorch tensor.
 *
 * Memory: a tensor's native memory is released by `dispose()` (safe to call twice, also via
 * `using t = ...` through `Symbol.dispose`), or by the `tidy()` scope it was created in, or — only as
 * a backstop — when V8 garbage-collects the wrapper. Using a disposed tensor throws
 * `TensorDisposedError`.
 *
 * Ops return new tensors; methods ending in `_` update in place (as in PyTorch) and return `this`.
 */
import { native, type NativeTensor } from './native.js';
import { track, untrack } from './scope.js';

/** Element types a tensor can hold. `float16`/`bfloat16` export as raw `Uint16Array` bits. */
export type DType = 'float32' | 'float64' | 'float16' | 'bfloat16' | 'int8' | 'int16' | 'int32' | 'int64' | 'uint8' | 'bool';
/** Where a tensor lives: `cpu`, or `cuda`/`cuda:N` when the linked libtorch has CUDA. */
export type Device = 'cpu' | 'cuda' | `cuda:${number}`;

/** Typed array a tensor of each dtype exports to. */
export type TypedArrayFor<D extends DType> = D extends 'float32'
  ? Float32Array
  : D extends 'float64'
    ? Float64Array
    : D extends 'int32'
      ? Int32Array
      : D extends 'int64'
        ? BigInt64Array
        : D extends 'int8'
          ? Int8Array
          : D extends 'int16'
            ? Int16Array
            : D extends 'float16' | 'bfloat16'
              ? Uint16Array
              : Uint8Array;

/** Any typed array a tensor can be created from or exported to. */
export type AnyTypedArray = Float32Array | Float64Array | Int32Array | BigInt64Array | Int8Array | Int16Array | Uint16Array | Uint8Array;

/** Thrown when a disposed tensor is used. */
export class TensorDisposedError extends Error {
  constructor() {
    super('Tensor was disposed and cannot be used');
    this.name = 'TensorDisposedError';
  }
}

/** Dimensions given as one index or several. Negative indices count from the end. */
export type Dims = number | readonly number[];

function dimList(d: Dims): number[] {
  return typeof d === 'number' ? [d] : [...d];
}

/** Options for reductions such as `sum`, `mean`, `amax`. */
export interface ReduceOptions {
  /** Keep reduced dimensions with size 1 (default false). */
  keepdim?: boolean;
}
/** Options for `std` and `var`. */
export interface VarianceOptions extends ReduceOptions {
  /** Bessel's correction (divide by n-1), default true as in PyTorch. */
  unbiased?: boolean;
}

export class Tensor {
  #h: NativeTensor | null;
  /** @internal scope bookkeeping (see scope.ts). */
  _scope: unknown = null;
  #shape: number[] | null = null;

  /** @internal Wraps a native handle; use the creation functions in `ops.ts` instead. */
  constructor(handle: NativeTensor) {
    this.#h = handle;
    track(this);
  }

  /** @internal The native handle; throws if disposed. */
  get handle(): NativeTensor {
    if (this.#h === null) throw new TensorDisposedError();
    return this.#h;
  }

  /** True once `dispose()` ran. */
  get isDisposed(): boolean {
    return this.#h === null;
  }

  /** Releases the native memory now. Safe to call more than once. */
  dispose(): void {
    if (this.#h === null) return;
    this.#h.dispose();
    this.#h = null;
    untrack(this);
  }

  [Symbol.dispose](): void {
    this.dispose();
  }

  // ---- metadata --------------------------------------------------------------------------------
  /** Sizes of each dimension. */
  get shape(): readonly number[] {
    if (this.#shape === null) this.#shape = native.Shape(this.handle);
    return this.#shape;
  }
  /** Number of dimensions. */
  get ndim(): number {
    return this.shape.length;
  }
  /** Number of elements. */
  get numel(): number {
    return this.shape.reduce((a, b) => a * b, 1);
  }
  /** Size of one dimension (negative counts from the end). */
  size(dim: number): number {
    const s = this.shape;
    const d = dim < 0 ? s.length + dim : dim;
    if (d < 0 || d >= s.length) throw new RangeError(`dimension ${dim} out of range for a ${s.length}-d tensor`);
    return s[d];
  }
  get dtype(): DType {
    return native.Dtype(this.handle) as DType;
  }
  get device(): Device {
    return native.DeviceOf(this.handle) as Device;
  }
  /** Whether autograd records operations on this tensor. */
  get requiresGrad(): boolean {
    return native.RequiresGrad(this.handle);
  }
  set requiresGrad(v: boolean) {
    native.SetRequiresGrad(this.handle, v);
  }
  /** Sets `requiresGrad` and returns this tensor. */
  requiresGrad_(v = true): this {
    native.SetRequiresGrad(this.handle, v);
    return this;
  }
  get isLeaf(): boolean {
    return native.IsLeaf(this.handle);
  }
  /** Whether the memory layout is contiguous (row-major, or channels-last when asked). */
  isContiguous(opts: { channelsLast?: boolean } = {}): boolean {
    return native.IsContiguous(this.handle, opts.channelsLast ?? false);
  }
  /** True when both tensors view the same storage. */
  sharesStorageWith(other: Tensor): boolean {
    return native.SameStorage(this.handle, other.handle);
  }

  // ---- export ----------------------------------------------------------------------------------
  /** Copies the elements (row-major) into a new typed array matching the dtype. */
  data(): AnyTypedArray {
    const buf = native.ToBytes(this.handle);
    switch (this.dtype) {
      case 'float32':
        return new Float32Array(buf);
      case 'float64':
        return new Float64Array(buf);
      case 'int32':
        return new Int32Array(buf);
      case 'int64':
        return new BigInt64Array(buf);
      case 'int8':
        return new Int8Array(buf);
      case 'int16':
        return new Int16Array(buf);
      case 'float16':
      case 'bfloat16':
        return new Uint16Array(buf);
      default:
        return new Uint8Array(buf);
    }
  }
  /** The raw bytes of the elements, row-major, little-endian. */
  bytes(): Uint8Array {
    return new Uint8Array(native.ToBytes(this.handle));
  }
  /** Elements as float32 (converting if needed). */
  toFloat32Array(): Float32Array {
    if (this.dtype === 'float32') return this.data() as Float32Array;
    const t = this.to('float32');
    try {
      return t.data() as Float32Array;
    } finally {
      t.dispose();
    }
  }
  /** Elements as int32 (converting if needed), e.g. class indices. */
  toInt32Array(): Int32Array {
    if (this.dtype === 'int32') return this.data() as Int32Array;
    const t = this.to('int32');
    try {
      return t.data() as Int32Array;
    } finally {
      t.dispose();
    }
  }
  /** Elements as plain numbers (flat, row-major). */
  toArray(): number[] {
    const d = this.data();
    if (d instanceof BigInt64Array) return Array.from(d, (x) => Number(x));
    if (this.dtype === 'float16' || this.dtype === 'bfloat16') return Array.from(this.toFloat32Array());
    return Array.from(d as ArrayLike<number>);
  }
  /** The value of a one-element tensor. */
  item(): number {
    const v = native.Item(this.handle);
    return typeof v === 'boolean' ? Number(v) : v;
  }

  // ---- shape and views -------------------------------------------------------------------------
  reshape(shape: readonly number[]): Tensor {
    return new Tensor(native.Reshape(this.handle, [...shape]));
  }
  /** A view with a new shape (no copy; fails on incompatible strides, use `reshape` then). */
  view(shape: readonly number[]): Tensor {
    return new Tensor(native.View(this.handle, [...shape]));
  }
  permute(dims: readonly number[]): Tensor {
    return new Tensor(native.Permute(this.handle, [...dims]));
  }
  transpose(dim0: number, dim1: number): Tensor {
    return new Tensor(native.Transpose(this.handle, dim0, dim1));
  }
  /** Matrix transpose of a 2-d tensor. */
  t(): Tensor {
    return this.transpose(0, 1);
  }
  /** A contiguous copy (or this data if already contiguous); `channelsLast` for NHWC layout. */
  contiguous(opts: { channelsLast?: boolean } = {}): Tensor {
    return new Tensor(native.Contiguous(this.handle, opts.channelsLast ?? false));
  }
  squeeze(dim?: number): Tensor {
    return new Tensor(native.Squeeze(this.handle, dim));
  }
  unsqueeze(dim: number): Tensor {
    return new Tensor(native.Unsqueeze(this.handle, dim));
  }
  flatten(startDim = 0, endDim = -1): Tensor {
    return new Tensor(native.Flatten(this.handle, startDim, endDim));
  }
  expand(shape: readonly number[]): Tensor {
    return new Tensor(native.Expand(this.handle, [...shape]));
  }
  /** Elements `start <= i < end` (step `step`) along `dim`, as a view. `end` defaults to the size. */
  slice(dim: number, start: number, end?: number, step = 1): Tensor {
    return new Tensor(native.Slice(this.handle, dim, start, end ?? Number.MAX_SAFE_INTEGER, step));
  }
  /** The sub-tensor at `index` along `dim` (that dimension removed), as a view. */
  select(dim: number, index: number): Tensor {
    return new Tensor(native.Select(this.handle, dim, index));
  }
  /** Entries at the int64 `index` along `dim`. */
  indexSelect(dim: number, index: Tensor): Tensor {
    return new Tensor(native.IndexSelect(this.handle, dim, index.handle));
  }
  gather(dim: number, index: Tensor): Tensor {
    return new Tensor(native.Gather(this.handle, dim, index.handle));
  }
  /** Out-of-place scatter: a copy with `src` (tensor or scalar) written at `index` along `dim`. */
  scatter(dim: number, index: Tensor, src: Tensor | number): Tensor {
    return new Tensor(native.Scatter(this.handle, dim, index.handle, src instanceof Tensor ? src.handle : src));
  }
  scatterAdd(dim: number, index: Tensor, src: Tensor): Tensor {
    return new Tensor(native.ScatterAdd(this.handle, dim, index.handle, src.handle));
  }
  maskedFill(mask: Tensor, value: number | boolean): Tensor {
    return new Tensor(native.MaskedFill(this.handle, mask.handle, value));
  }
  /** The elements where the boolean `mask` is true, as a 1-d tensor. */
  maskedSelect(mask: Tensor): Tensor {
    return new Tensor(native.MaskedSelect(this.handle, mask.handle));
  }
  /** Splits along `dim` into pieces of the given sizes, or of `size` each (the last may be smaller). */
  split(sizes: number | readonly number[], dim = 0): Tensor[] {
    let list: number[];
    if (typeof sizes === 'number') {
      const n = this.size(dim);
      list = [];
      for (let i = 0; i < n; i += sizes) list.push(Math.min(sizes, n - i));
    } else list = [...sizes];
    return native.Split(this.handle, list, dim).map((h) => new Tensor(h));
  }
  /** Splits into `chunks` nearly equal pieces along `dim`. */
  chunk(chunks: number, dim = 0): Tensor[] {
    return this.split(Math.ceil(this.size(dim) / chunks), dim);
  }
  clone(): Tensor {
    return new Tensor(native.Clone(this.handle));
  }
  /** Converts dtype and/or device. A plain dtype string is accepted. */
  to(target: DType | { dtype?: DType; device?: Device }): Tensor {
    const o = typeof target === 'string' ? { dtype: target } : target;
    return new Tensor(native.To(this.handle, o.dtype, o.device));
  }
  float(): Tensor {
    return this.to('float32');
  }
  long(): Tensor {
    return this.to('int64');
  }
  /** A tensor sharing data but cut from the autograd graph. */
  detach(): Tensor {
    return new Tensor(native.Detach(this.handle));
  }
  /** Constant padding; `pads` lists (left, right) pairs from the last dimension backwards, as F.pad. */
  pad(pads: readonly number[], value = 0): Tensor {
    return new Tensor(native.Pad(this.handle, [...pads], value));
  }
  flip(dims: Dims): Tensor {
    return new Tensor(native.Flip(this.handle, dimList(dims)));
  }

  // ---- elementwise -----------------------------------------------------------------------------
  /** this + alpha * other (broadcasting). */
  add(other: Tensor | number, alpha?: number): Tensor {
    return new Tensor(native.Add(this.handle, other instanceof Tensor ? other.handle : other, alpha));
  }
  /** this - alpha * other (broadcasting). */
  sub(other: Tensor | number, alpha?: number): Tensor {
    return new Tensor(native.Sub(this.handle, other instanceof Tensor ? other.handle : other, alpha));
  }
  mul(other: Tensor | number): Tensor {
    return new Tensor(native.Mul(this.handle, other instanceof Tensor ? other.handle : other));
  }
  div(other: Tensor | number): Tensor {
    return new Tensor(native.Div(this.handle, other instanceof Tensor ? other.handle : other));
  }
  pow(exponent: Tensor | number): Tensor {
    return new Tensor(native.Pow(this.handle, exponent instanceof Tensor ? exponent.handle : exponent));
  }
  remainder(other: Tensor | number): Tensor {
    return new Tensor(native.Remainder(this.handle, other instanceof Tensor ? other.handle : other));
  }
  eq(other: Tensor | number): Tensor {
    return new Tensor(native.Eq(this.handle, other instanceof Tensor ? other.handle : other));
  }
  ne(other: Tensor | number): Tensor {
    return new Tensor(native.Ne(this.handle, other instanceof Tensor ? other.handle : other));
  }
  lt(other: Tensor | number): Tensor {
    return new Tensor(native.Lt(this.handle, other instanceof Tensor ? other.handle : other));
  }
  le(other: Tensor | number): Tensor {
    return new Tensor(native.Le(this.handle, other instanceof Tensor ? other.handle : other));
  }
  gt(other: Tensor | number): Tensor {
    return new Tensor(native.Gt(this.handle, other instanceof Tensor ? other.handle : other));
  }
  ge(other: Tensor | number): Tensor {
    return new Tensor(native.Ge(this.handle, other instanceof Tensor ? other.handle : other));
  }
  maximum(other: Tensor): Tensor {
    return new Tensor(native.Maximum(this.handle, other.handle));
  }
  minimum(other: Tensor): Tensor {
    return new Tensor(native.Minimum(this.handle, other.handle));
  }
  logicalAnd(other: Tensor): Tensor {
    return new Tensor(native.LogicalAnd(this.handle, other.handle));
  }
  logicalOr(other: Tensor): Tensor {
    return new Tensor(native.LogicalOr(this.handle, other.handle));
  }
  logicalNot(): Tensor {
    return new Tensor(native.LogicalNot(this.handle));
  }
  /** Clamps into [min, max]; either bound may be omitted. */
  clamp(bounds: { min?: number; max?: number }): Tensor {
    return new Tensor(native.Clamp(this.handle, bounds.min, bounds.max));
  }
  neg(): Tensor {
    return new Tensor(native.Neg(this.handle));
  }
  exp(): Tensor {
    return new Tensor(native.Exp(this.handle));
  }
  log(): Tensor {
    return new Tensor(native.Log(this.handle));
  }
  sqrt(): Tensor {
    return new Tensor(native.Sqrt(this.handle));
  }
  rsqrt(): Tensor {
    return new Tensor(native.Rsqrt(this.handle));
  }
  abs(): Tensor {
    return new Tensor(native.Abs(this.handle));
  }
  sign(): Tensor {
    return new Tensor(native.Sign(this.handle));
  }
  floor(): Tensor {
    return new Tensor(native.Floor(this.handle));
  }
  ceil(): Tensor {
    return new Tensor(native.Ceil(this.handle));
  }
  round(): Tensor {
    return new Tensor(native.Round(this.handle));
  }
  isfinite(): Tensor {
    return new Tensor(native.Isfinite(this.handle));
  }
  isnan(): Tensor {
    return new Tensor(native.Isnan(this.handle));
  }
  relu(): Tensor {
    return new Tensor(native.Relu(this.handle));
  }
  /** GELU; `approximate: 'tanh'` for the tanh approximation. */
  gelu(approximate: 'none' | 'tanh' = 'none'): Tensor {
    return new Tensor(native.Gelu(this.handle, approximate));
  }
  sigmoid(): Tensor {
    return new Tensor(native.Sigmoid(this.handle));
  }
  tanh(): Tensor {
    return new Tensor(native.Tanh(this.handle));
  }
  softmax(dim: number): Tensor {
    return new Tensor(native.Softmax(this.handle, dim));
  }
  logSoftmax(dim: number): Tensor {
    return new Tensor(native.LogSoftmax(this.handle, dim));
  }

  // ---- reductions ------------------------------------------------------------------------------
  /** Sum over `dim` (all elements when omitted). */
  sum(dim?: Dims, opts: ReduceOptions & { dtype?: DType } = {}): Tensor {
    return new Tensor(native.Sum(this.handle, dim === undefined ? undefined : dimList(dim), opts.keepdim ?? false, opts.dtype));
  }
  mean(dim?: Dims, opts: ReduceOptions = {}): Tensor {
    return new Tensor(native.Mean(this.handle, dim === undefined ? undefined : dimList(dim), opts.keepdim ?? false));
  }
  std(dim?: Dims, opts: VarianceOptions = {}): Tensor {
    return new Tensor(native.Std(this.handle, dim === undefined ? undefined : dimList(dim), opts.unbiased ?? true, opts.keepdim ?? false));
  }
  var(dim?: Dims, opts: VarianceOptions = {}): Tensor {
    return new Tensor(native.Var(this.handle, dim === undefined ? undefined : dimList(dim), opts.unbiased ?? true, opts.keepdim ?? false));
  }
  /** Maximum value over `dim` (all elements when omitted); see `maxDim` for indices too. */
  amax(dim?: Dims, opts: ReduceOptions = {}): Tensor {
    return new Tensor(native.Amax(this.handle, dim === undefined ? undefined : dimList(dim), opts.keepdim ?? false));
  }
  amin(dim?: Dims, opts: ReduceOptions = {}): Tensor {
    return new Tensor(native.Amin(this.handle, dim === undefined ? undefined : dimList(dim), opts.keepdim ?? false));
  }
  /** Maximum along one dimension with its indices. */
  maxDim(dim: number, opts: ReduceOptions = {}): { values: Tensor; indices: Tensor } {
    const [v, i] = native.MaxDim(this.handle, dim, opts.keepdim ?? false);
    return { values: new Tensor(v), indices: new Tensor(i) };
  }
  minDim(dim: number, opts: ReduceOptions = {}): { values: Tensor; indices: Tensor } {
    const [v, i] = native.MinDim(this.handle, dim, opts.keepdim ?? false);
    return { values: new Tensor(v), indices: new Tensor(i) };
  }
  /** Index of the maximum (over the flattened tensor when `dim` is omitted), int64. */
  argmax(dim?: number, opts: ReduceOptions = {}): Tensor {
    return new Tensor(native.Argmax(this.handle, dim, opts.keepdim ?? false));
  }
  argmin(dim?: number, opts: ReduceOptions = {}): Tensor {
    return new Tensor(native.Argmin(this.handle, dim, opts.keepdim ?? false));
  }
  topk(k: number, opts: { dim?: number; largest?: boolean; sorted?: boolean } = {}): { values: Tensor; indices: Tensor } {
    const [v, i] = native.Topk(this.handle, k, opts.dim ?? -1, opts.largest ?? true, opts.sorted ?? true);
    return { values: new Tensor(v), indices: new Tensor(i) };
  }
  all(): Tensor {
    return new Tensor(native.All(this.handle));
  }
  any(): Tensor {
    return new Tensor(native.Any(this.handle));
  }
  matmul(other: Tensor): Tensor {
    return new Tensor(native.Matmul(this.handle, other.handle));
  }
  /** |this - other| <= atol + rtol * |other| everywhere. */
  allclose(other: Tensor, opts: { rtol?: number; atol?: number } = {}): boolean {
    return native.Allclose(this.handle, other.handle, opts.rtol ?? 1e-5, opts.atol ?? 1e-8);
  }

  // ---- in place ---------------------------------------------------------------------------------
  /** this += alpha * other. */
  add_(other: Tensor | number, alpha?: number): this {
    native.AddInplace(this.handle, other instanceof Tensor ? other.handle : other, alpha);
    return this;
  }
  mul_(other: Tensor | number): this {
    native.MulInplace(this.handle, other instanceof Tensor ? other.handle : other);
    return this;
  }
  div_(other: Tensor | number): this {
    native.DivInplace(this.handle, other instanceof Tensor ? other.handle : other);
    return this;
  }
  /** this += value * a * b. */
  addcmul_(a: Tensor, b: Tensor, value = 1): this {
    native.AddcmulInplace(this.handle, a.handle, b.handle, value);
    return this;
  }
  /** this += value * a / b. */
  addcdiv_(a: Tensor, b: Tensor, value = 1): this {
    native.AddcdivInplace(this.handle, a.handle, b.handle, value);
    return this;
  }
  /** this += weight * (end - this). */
  lerp_(end: Tensor, weight: number): this {
    native.LerpInplace(this.handle, end.handle, weight);
    return this;
  }
  copy_(src: Tensor): this {
    native.CopyInplace(this.handle, src.handle);
    return this;
  }
  zero_(): this {
    native.ZeroInplace(this.handle);
    return this;
  }
  fill_(value: number | boolean): this {
    native.FillInplace(this.handle, value);
    return this;
  }
  /** Fills with U(low, high) from libtorch's global generator. */
  uniform_(low = 0, high = 1): this {
    native.UniformInplace(this.handle, low, high);
    return this;
  }
  /** Fills with N(mean, std^2) from libtorch's global generator. */
  normal_(mean = 0, std = 1): this {
    native.NormalInplace(this.handle, mean, std);
    return this;
  }
  sqrt_(): this {
    native.SqrtInplace(this.handle);
    return this;
  }
  clamp_(bounds: { min?: number; max?: number }): this {
    native.ClampInplace(this.handle, bounds.min, bounds.max);
    return this;
  }
  /** max(x, 0) in place (torch's relu_; its backward uses the result, so autograd allows it after ops that do not need their output). */
  relu_(): this {
    native.ReluInplace(this.handle);
    return this;
  }

  // ---- autograd --------------------------------------------------------------------------------
  /** Back-propagates from this tensor (a scalar unless `grad` is given). */
  backward(opts: { grad?: Tensor; retainGraph?: boolean } = {}): void {
    native.Backward(this.handle, opts.grad?.handle, opts.retainGraph);
  }
  /**
   * The accumulated gradient, or undefined. Each read returns a new wrapper that shares the
   * gradient's memory; dispose it (or read it inside `tidy`) when done.
   */
  get grad(): Tensor | undefined {
    const g = native.Grad(this.handle);
    return g === undefined ? undefined : new Tensor(g);
  }
  /** Sets or (with undefined) clears the gradient. */
  setGrad(g: Tensor | undefined): void {
    native.SetGrad(this.handle, g?.handle);
  }

  toString(): string {
    if (this.isDisposed) return 'Tensor(disposed)';
    const n = this.numel;
    const vals =
      n <= 8
        ? this.toArray()
            .map((v) => +v.toPrecision(5))
            .join(', ')
        : `${n} elements`;
    return `Tensor(shape=[${this.shape.join(', ')}], dtype=${this.dtype}, device=${this.device}, [${vals}])`;
  }
}
