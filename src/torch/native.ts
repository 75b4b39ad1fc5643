/**
 * Loads the libtorch addon (native/build/Release/torch_addon.node) and types its raw surface.
 *
 * Process-wide settings that libtorch reads only once are fixed here, before the addon loads:
 * - `OMP_WAIT_POLICY=PASSIVE` (unless the user set it): with OpenMP's default spinning, a busy
 *   second process slowed 2-thread runs 4-6x; passive waiting costs nothing measurable here.
 * - The addon itself limits glibc to one malloc arena (see native/src/addon.cc).
 *
 * Nothing outside src/torch should import this file: use the typed API in `./index.js`.
 */
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Opaque handle owning one at::Tensor. */
export interface NativeTensor {
  dispose(): void;
  readonly disposed: boolean;
}

type H = NativeTensor;
type Num = number | boolean;
type HS = H | Num;
type OH = H | undefined | null;

/** The raw functions the addon exports (positional arguments; see native/src/addon.cc). */
export interface NativeAddon {
  NativeTensor: new () => NativeTensor;
  FromBytes(data: ArrayBufferView | ArrayBuffer, dtype: string, shape: number[], device?: string): H;
  ToBytes(t: H): ArrayBuffer;
  Item(t: H): number | boolean;
  Zeros(shape: number[], dtype: string, device?: string): H;
  Ones(shape: number[], dtype: string, device?: string): H;
  Empty(shape: number[], dtype: string, device?: string): H;
  Full(shape: number[], value: Num, dtype: string, device?: string): H;
  Rand(shape: number[], dtype: string, device?: string): H;
  Randn(shape: number[], dtype: string, device?: string): H;
  Randint(low: number, high: number, shape: number[], dtype: string, device?: string): H;
  Randperm(n: number, dtype: string, device?: string): H;
  Arange(start: number, end: number, step: number, dtype: string, device?: string): H;
  Eye(n: number, dtype: string, device?: string): H;
  Shape(t: H): number[];
  Dtype(t: H): string;
  DeviceOf(t: H): string;
  IsContiguous(t: H, channelsLast?: boolean): boolean;
  RequiresGrad(t: H): boolean;
  SetRequiresGrad(t: H, v: boolean): void;
  IsLeaf(t: H): boolean;
  SameStorage(a: H, b: H): boolean;
  Reshape(t: H, shape: number[]): H;
  View(t: H, shape: number[]): H;
  Permute(t: H, dims: number[]): H;
  Transpose(t: H, a: number, b: number): H;
  Contiguous(t: H, channelsLast?: boolean): H;
  Squeeze(t: H, dim?: number): H;
  Unsqueeze(t: H, dim: number): H;
  Flatten(t: H, start: number, end: number): H;
  Expand(t: H, shape: number[]): H;
  Slice(t: H, dim: number, start: number, end: number, step: number): H;
  Select(t: H, dim: number, index: number): H;
  IndexSelect(t: H, dim: number, index: H): H;
  Gather(t: H, dim: number, index: H): H;
  Scatter(t: H, dim: number, index: H, src: HS): H;
  ScatterAdd(t: H, dim: number, index: H, src: H): H;
  MaskedFill(t: H, mask: H, value: Num): H;
  MaskedSelect(t: H, mask: H): H;
  Where(cond: H, a: HS, b: HS): H;
  Cat(ts: H[], dim: number): H;
  Stack(ts: H[], dim: number): H;
  Split(t: H, sizes: number[], dim: number): H[];
  Clone(t: H): H;
  To(t: H, dtype?: string, device?: string): H;
  Detach(t: H): H;
  Pad(t: H, pads: number[], value: Num): H;
  Flip(t: H, dims: number[]): H;
  Add(a: H, b: HS, alpha?: number): H;
  Sub(a: H, b: HS, alpha?: number): H;
  Mul(a: H, b: HS): H;
  Div(a: H, b: HS): H;
  Pow(a: H, b: HS): H;
  Eq(a: H, b: HS): H;
  Ne(a: H, b: HS): H;
  Lt(a: H, b: HS): H;
  Le(a: H, b: HS): H;
  Gt(a: H, b: HS): H;
  Ge(a: H, b: HS): H;
  Remainder(a: H, b: HS): H;
  Maximum(a: H, b: H): H;
  Minimum(a: H, b: H): H;
  LogicalAnd(a: H, b: H): H;
  LogicalOr(a: H, b: H): H;
  LogicalNot(a: H): H;
  Clamp(t: H, min?: number, max?: number): H;
  Neg(t: H): H;
  Exp(t: H): H;
  Log(t: H): H;
  Sqrt(t: H): H;
  Rsqrt(t: H): H;
  Abs(t: H): H;
  Sign(t: H): H;
  Floor(t: H): H;
  Ceil(t: H): H;
  Round(t: H): H;
  Relu(t: H): H;
  Sigmoid(t: H): H;
  Tanh(t: H): H;
  Isfinite(t: H): H;
  Isnan(t: H): H;
  Gelu(t: H, approximate?: string): H;
  Sum(t: H, dims: number[] | undefined, keepdim: boolean, dtype?: string): H;
  Mean(t: H, dims: number[] | undefined, keepdim: boolean): H;
  Std(t: H, dims: number[] | undefined, unbiased: boolean, keepdim: boolean): H;
  Var(t: H, dims: number[] | undefined, unbiased: boolean, keepdim: boolean): H;
  Amax(t: H, dims: number[] | undefined, keepdim: boolean): H;
  Amin(t: H, dims: number[] | undefined, keepdim: boolean): H;
  MaxDim(t: H, dim: number, keepdim: boolean): [H, H];
  MinDim(t: H, dim: number, keepdim: boolean): [H, H];
  Argmax(t: H, dim?: number, keepdim?: boolean): H;
  Argmin(t: H, dim?: number, keepdim?: boolean): H;
  Topk(t: H, k: number, dim: number, largest: boolean, sorted: boolean): [H, H];
  All(t: H): H;
  Any(t: H): H;
  Matmul(a: H, b: H): H;
  Allclose(a: H, b: H, rtol: number, atol: number): boolean;
  Conv2d(x: H, w: H, b: OH, stride: number[], padding: number[], dilation: number[], groups: number): H;
  BatchNorm(x: H, w: OH, b: OH, rm: OH, rv: OH, training: boolean, momentum: number, eps: number): H;
  ReluMaxPool(x: H, kh: number, kw: number): H;
  BatchNormReluPool(x: H, w: OH, b: OH, rm: OH, rv: OH, momentum: number, eps: number, kh: number, kw: number): H;
  BatchNormAct(x: H, residual: OH, w: OH, b: OH, rm: OH, rv: OH, momentum: number, eps: number, relu: boolean): H;
  Linear(x: H, w: H, b: OH): H;
  MaxPool2d(x: H, k: number[], s: number[], p: number[], d: number[], ceil: boolean): H;
  AvgPool2d(x: H, k: number[], s: number[], p: number[], ceil: boolean, countIncludePad: boolean): H;
  AdaptiveAvgPool2d(x: H, size: number[]): H;
  Dropout(x: H, p: number, training: boolean): H;
  Softmax(x: H, dim: number): H;
  LogSoftmax(x: H, dim: number): H;
  CrossEntropy(x: H, t: H, w: OH, reduction: string, ignoreIndex: number, smoothing: number): H;
  NllLoss(x: H, t: H, w: OH, reduction: string, ignoreIndex: number): H;
  MseLoss(a: H, b: H, reduction: string): H;
  OneHot(t: H, n: number): H;
  Interpolate(x: H, size: number[], mode: string, alignCorners: boolean, sh?: number, sw?: number): H;
  AddInplace(t: H, o: HS, alpha?: number): void;
  MulInplace(t: H, o: HS): void;
  DivInplace(t: H, o: HS): void;
  AddcmulInplace(t: H, a: H, b: H, value: number): void;
  AddcdivInplace(t: H, a: H, b: H, value: number): void;
  LerpInplace(t: H, end: H, weight: number): void;
  CopyInplace(t: H, src: H): void;
  ZeroInplace(t: H): void;
  FillInplace(t: H, v: Num): void;
  UniformInplace(t: H, lo: number, hi: number): void;
  NormalInplace(t: H, mean: number, std: number): void;
  SqrtInplace(t: H): void;
  ClampInplace(t: H, min?: number, max?: number): void;
  ReluInplace(t: H): void;
  Backward(t: H, grad: OH, retainGraph?: boolean): void;
  Grad(t: H): H | undefined;
  SetGrad(t: H, g: OH): void;
  SetGradEnabled(v: boolean): boolean;
  IsGradEnabled(): boolean;
  InferenceEnter(): number;
  InferenceExit(): void;
  IsInferenceMode(): boolean;
  ManualSeed(seed: number): void;
  SetNumThreads(n: number): void;
  GetNumThreads(): number;
  SetDeterministic(v: boolean): void;
  GetDeterministic(): boolean;
  LiveTensors(): number;
  MallocTrim(): boolean;
  BuildInfo(): { torchVersion: string; config: string; parallelInfo: string; mkldnn: boolean; cuda: boolean; openmp: boolean };
}

function findAddon(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  // src/torch (tsx) and dist/src/torch (compiled) both sit below the package root.
  for (const up of ['../..', '../../..']) {
    const p = join(here, up, 'native/build/Release/torch_addon.node');
    if (existsSync(p)) return p;
  }
  throw new Error(
    'bias-transfer: the libtorch addon is not built (native/build/Release/torch_addon.node missing). ' +
      'Run `npm run build:native` (needs libtorch-dev; see README).',
  );
}

if (process.env.OMP_WAIT_POLICY === undefined && process.env.GOMP_SPINCOUNT === undefined) process.env.OMP_WAIT_POLICY = 'PASSIVE';

let loaded: NativeAddon | undefined;
const onLoad: ((addon: NativeAddon) => void)[] = [];

/** Runs `fn` with the addon right after it loads (at once if it already has). */
export function whenAddonLoads(fn: (addon: NativeAddon) => void): void {
  if (loaded !== undefined) fn(loaded);
  else onLoad.push(fn);
}

/** Loads the addon (libtorch and its libraries: most of a second) once, on first use. */
function addon(): NativeAddon {
  if (loaded === undefined) {
    loaded = createRequire(import.meta.url)(findAddon()) as NativeAddon;
    for (const fn of onLoad.splice(0)) fn(loaded);
  }
  return loaded;
}

/**
 * The addon, loaded on first use: commands that never touch a tensor (`--help`, `serve`, `runs`)
 * start without loading libtorch. Until then this binding holds a proxy; its first property
 * access loads the addon and rebinds `native` to it (ES module bindings are live), so every
 * later call goes to the addon directly.
 */
export let native: NativeAddon = new Proxy({} as NativeAddon, {
  get: (_target, key) => {
    native = addon();
    return (native as unknown as Record<PropertyKey, unknown>)[key];
  },
  has: (_target, key) => key in addon(),
});
