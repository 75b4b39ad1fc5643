/**
 * Fusion as a pass, in the manner of PyTorch's `torch.ao.quantization.fuse_modules`: a table of
 * module patterns, each with the function that runs the matched modules as one step. The layers
 * know nothing of their neighbours (src/nn/layers import nothing from each other); each one names
 * its role (`Module.fusionRole`) and offers the capability a fused step needs (BatchNorm2d's
 * `forwardAct` / `forwardReluPool`, MaxPool2d's `tiledWindowFor`, Conv2d's `forwardWith`).
 * `forwardChain` (./module.ts) matches the table at every position of a chain, longest pattern
 * first; a pattern whose conditions do not hold (wrong mode, layout or dtype) returns undefined and
 * the next one is tried, then the module runs alone.
 *
 * | pattern                       | when                                   | runs as                                     |
 * |-------------------------------|----------------------------------------|---------------------------------------------|
 * | BatchNorm2d → ReLU → MaxPool2d| batch statistics, channels-last f32 CPU| `batchNormReluPool` (one native kernel)     |
 * | Conv2d → BatchNorm2d (eval)   | running statistics, groups 1           | one convolution, BN folded into its weights |
 * | BatchNorm2d → ReLU            | batch statistics, channels-last f32 CPU| `batchNormAct` with `relu`                  |
 * | ReLU → MaxPool2d              | no gradient recorded, f32 CPU          | `reluMaxPool2d` (one native pass)           |
 * | residual join BN(h) + s → ReLU| batch statistics, channels-last f32 CPU| `batchNormAct` with `residual` and `relu`   |
 *
 * The residual join has two inputs (the branch and the shortcut), so it is not a chain pattern: the
 * ResNet blocks call {@link joinResidual} for it. Every pattern gives the numbers of its parts up to
 * float rounding (test/nn/batchnorm-act, conv-bn-fold, relu-maxpool check them against PyTorch).
 *
 * One switch, {@link fastPaths}, turns the whole pass off (and the layers' own fast paths: in-place
 * ReLU, channels-last one-channel convolutions), for before/after comparisons.
 */
import { reluMaxPool2d, isGradEnabled, tidy, type Tensor } from '../torch/index.js';

/**
 * The switch for src/nn's fast paths (default on): this fusion pass (the fused native kernels:
 * training BatchNorm [+ shortcut] [+ ReLU] [+ max-pool], evaluation ReLU + max-pool, Conv2d +
 * evaluation BatchNorm folded) and the layers' own fast paths (in-place ReLU on intermediates,
 * channels-last strides of one-channel convolutions). Off runs the plain libtorch ops
 * everywhere, with the same results up to float rounding: for before/after comparisons
 * (`npm run bench:product -- --no-fused`) and tests.
 */
export const fastPaths = { enabled: true };

/** The roles a module can play in a fusion pattern (`Module.fusionRole`). */
export type FusionRole = 'conv2d' | 'batchnorm2d' | 'relu' | 'maxpool2d';

/** Anything that may take part in a pattern: a module names its role, or has none. */
export interface Fusable {
  readonly fusionRole?: FusionRole;
}

/** What the patterns use of a Conv2d. */
export interface FusableConv2d extends Fusable {
  readonly weight: Tensor;
  readonly bias: Tensor | undefined;
  readonly groups: number;
  readonly outChannels: number;
  /** This convolution with `weight` and `bias` in place of its own parameters. */
  forwardWith(x: Tensor, weight: Tensor, bias: Tensor | undefined): Tensor;
}

/** What the patterns use of a BatchNorm2d. */
export interface FusableBatchNorm2d extends Fusable {
  readonly training: boolean;
  readonly numFeatures: number;
  readonly eps: number;
  readonly weight: Tensor | undefined;
  readonly bias: Tensor | undefined;
  readonly runningMean: Tensor | undefined;
  readonly runningVar: Tensor | undefined;
  /** Whether the fused kernels can take x (batch statistics on channels-last float32 CPU). */
  canFuse(x: Tensor): boolean;
  /** The module's plain forward. */
  forward(x: Tensor): Tensor;
  /** `relu(bn(x) + residual)` (parts optional) in one kernel when `canFuse(x)`, else undefined. */
  forwardAct(x: Tensor, opts: { residual?: Tensor; relu: boolean }): Tensor | undefined;
  /** `maxPool(relu(bn(x)))` over non-overlapping `window`s in one kernel when `canFuse(x)`, else undefined. */
  forwardReluPool(x: Tensor, window: [number, number]): Tensor | undefined;
}

/** What the patterns use of a MaxPool2d. */
export interface FusableMaxPool2d extends Fusable {
  /** The window when windows do not overlap and one fits in x, else undefined. */
  tiledWindowFor(x: Tensor): [number, number] | undefined;
}

/** One row of the table: the roles in order, and the fused step (undefined: conditions not met). */
export interface FusionPattern {
  /** A short name, e.g. 'batchnorm-relu-maxpool'. */
  readonly name: string;
  readonly roles: readonly FusionRole[];
  /** Runs the matched modules on x as one step; undefined when this input or mode does not qualify. */
  readonly run: (x: Tensor, modules: readonly Fusable[]) => Tensor | undefined;
}

/**
 * Conv2d followed by a BatchNorm2d in evaluation mode (running statistics) as one convolution
 * with the normalisation folded in (PyTorch's `fuse_conv_bn_weights`): per output channel
 * s = bn.weight / sqrt(running_var + eps), weight' = weight * s, bias' = (bias - running_mean) * s
 * + bn.bias. Differentiable (plain tensor ops), recomputed on every call, so it always matches
 * the current parameters. Undefined (run separately) for anything else.
 */
function convBatchNormEval(x: Tensor, conv: FusableConv2d, bn: FusableBatchNorm2d): Tensor | undefined {
  if (bn.training || conv.groups !== 1) return undefined;
  const { runningMean, runningVar } = bn;
  if (runningMean === undefined || runningVar === undefined || bn.numFeatures !== conv.outChannels) return undefined;
  const [w, b] = tidy(() => {
    let s = runningVar.add(bn.eps).rsqrt();
    if (bn.weight !== undefined) s = s.mul(bn.weight);
    let b = (conv.bias !== undefined ? conv.bias.sub(runningMean) : runningMean.neg()).mul(s);
    if (bn.bias !== undefined) b = b.add(bn.bias);
    return [conv.weight.mul(s.reshape([-1, 1, 1, 1])), b] as const;
  });
  try {
    return conv.forwardWith(x, w, b);
  } finally {
    w.dispose();
    b.dispose();
  }
}

/**
 * ReLU then a MaxPool2d with non-overlapping windows, where no gradient is recorded
 * (evaluation, `predict`): one native pass that reads the activation once and writes only the
 * pooled output (`reluMaxPool2d`), instead of a ReLU pass and a pooling pass that also writes
 * int64 indices. Same values exactly (max and ReLU commute).
 */
function reluMaxPool(x: Tensor, pool: FusableMaxPool2d): Tensor | undefined {
  const win = pool.tiledWindowFor(x);
  if (win === undefined || x.dtype !== 'float32' || x.device !== 'cpu') return undefined;
  if (isGradEnabled() && x.requiresGrad) return undefined;
  return reluMaxPool2d(x, win);
}

/** BatchNorm2d → ReLU → MaxPool2d (non-overlapping windows) as one kernel when the BN can fuse. */
function batchNormReluPool(x: Tensor, bn: FusableBatchNorm2d, pool: FusableMaxPool2d): Tensor | undefined {
  if (!bn.canFuse(x)) return undefined;
  const win = pool.tiledWindowFor(x);
  return win === undefined ? undefined : bn.forwardReluPool(x, win);
}

/** The patterns, longest first (the order in which `forwardChain` tries them at a position). */
export const FUSION_PATTERNS: readonly FusionPattern[] = [
  {
    name: 'batchnorm-relu-maxpool',
    roles: ['batchnorm2d', 'relu', 'maxpool2d'],
    run: (x, [bn, , pool]) => batchNormReluPool(x, bn as FusableBatchNorm2d, pool as FusableMaxPool2d),
  },
  {
    name: 'conv-batchnorm-eval',
    roles: ['conv2d', 'batchnorm2d'],
    run: (x, [conv, bn]) => convBatchNormEval(x, conv as FusableConv2d, bn as FusableBatchNorm2d),
  },
  { name: 'batchnorm-relu', roles: ['batchnorm2d', 'relu'], run: (x, [bn]) => (bn as FusableBatchNorm2d).forwardAct(x, { relu: true }) },
  { name: 'relu-maxpool', roles: ['relu', 'maxpool2d'], run: (x, [, pool]) => reluMaxPool(x, pool as FusableMaxPool2d) },
];

/** Whether `modules[at..]` starts with the pattern's roles. */
function matches(p: FusionPattern, modules: readonly Fusable[], at: number): boolean {
  if (at + p.roles.length > modules.length) return false;
  for (let k = 0; k < p.roles.length; k++) if (modules[at + k].fusionRole !== p.roles[k]) return false;
  return true;
}

/**
 * The fused step at position `at` of a chain: the first pattern of {@link FUSION_PATTERNS}
 * (longest first) that matches there and whose conditions hold, run on x; its output and how
 * many modules it covered. Undefined when the switch is off or nothing applies (the module then
 * runs alone).
 */
export function fuseAt(x: Tensor, modules: readonly Fusable[], at: number): { output: Tensor; length: number } | undefined {
  if (!fastPaths.enabled || modules[at].fusionRole === undefined) return undefined;
  for (const p of FUSION_PATTERNS) {
    if (!matches(p, modules, at)) continue;
    const output = p.run(x, modules.slice(at, at + p.roles.length));
    if (output !== undefined) return { output, length: p.roles.length };
  }
  return undefined;
}

/**
 * Runs exactly `modules` (a whole pattern) as one fused step, or undefined when no pattern of
 * that length matches or its conditions do not hold. `Module.forwardFused` uses it.
 */
export function fuseExactly(x: Tensor, modules: readonly Fusable[]): Tensor | undefined {
  if (!fastPaths.enabled) return undefined;
  for (const p of FUSION_PATTERNS) {
    if (p.roles.length !== modules.length || !matches(p, modules, 0)) continue;
    const output = p.run(x, modules);
    if (output !== undefined) return output;
  }
  return undefined;
}

/** The shortcut of a residual block: a module (e.g. a downsampling Sequential) or none (identity). */
export interface Shortcut {
  forward(x: Tensor): Tensor;
}

/** Adds the shortcut to the residual branch's output and applies ReLU; disposes the intermediates. */
export function addShortcutRelu(out: Tensor, x: Tensor, shortcut: Shortcut | undefined): Tensor {
  const identity = shortcut !== undefined ? shortcut.forward(x) : x;
  out.add_(identity);
  if (identity !== x) identity.dispose();
  // In place, as torchvision's ReLU(inplace=True): add_'s backward does not need its output.
  return out.relu_();
}

/**
 * The residual join of a ResNet block, `relu(bn(h) + shortcut(x))`: the table's last pattern.
 * With batch statistics on channels-last input the normalisation, the add and the ReLU run as
 * one fused kernel (`forwardAct` with `residual`); otherwise as separate ops. Disposes `h` and the
 * shortcut's intermediate.
 */
export function joinResidual(h: Tensor, bn: FusableBatchNorm2d, x: Tensor, shortcut: Shortcut | undefined): Tensor {
  if (!bn.canFuse(h)) {
    const out = bn.forward(h);
    h.dispose();
    return addShortcutRelu(out, x, shortcut);
  }
  const identity = shortcut !== undefined ? shortcut.forward(x) : x;
  try {
    return bn.forwardAct(h, { residual: identity, relu: true })!;
  } finally {
    h.dispose();
    if (identity !== x) identity.dispose();
  }
}
