/**
 * A small ResNet (CIFAR-style, torchvision BasicBlock naming) written on the functional ops of
 * src/torch, with its weights in a `Record<string, Tensor>` keyed by PyTorch's state_dict names.
 * bench/smallresnet.py defines the identical nn.Module; the two are compared step for step in
 * test/torch/resnet_step.test.ts and raced in bench/engine.ts.
 *
 * Architecture: conv3x3(inChannels→16)-bn-relu, then three stages of one BasicBlock each
 * (widths 16/32/64, strides 1/2/2; a 1x1 conv + bn shortcut where the shape changes),
 * adaptive average pool to 1x1, linear to `numClasses`.
 */
import {
  adaptiveAvgPool2d,
  batchNorm,
  conv2d,
  crossEntropy,
  linear,
  noGrad,
  ones,
  randn,
  tidy,
  empty,
  zeros,
  type Tensor,
} from '../src/torch/index.js';

/** Shape of the network. */
export interface SmallResNetConfig {
  /** Input image channels (1 for MNIST-like, 3 for CIFAR-like). */
  inChannels: number;
  /** Output classes (default 10). */
  numClasses?: number;
}

/** Weights and buffers by PyTorch state_dict name (e.g. `layer2.0.downsample.0.weight`). */
export type Weights = Record<string, Tensor>;

const WIDTHS = [16, 32, 64] as const;
const STRIDES = [1, 2, 2] as const;
const BN_MOMENTUM = 0.1;
const BN_EPS = 1e-5;

interface BlockSpec {
  prefix: string;
  inC: number;
  outC: number;
  stride: number;
  downsample: boolean;
}

function blocks(): BlockSpec[] {
  let inC = WIDTHS[0] as number;
  return WIDTHS.map((outC, i) => {
    const spec = { prefix: `layer${i + 1}.0`, inC, outC, stride: STRIDES[i], downsample: STRIDES[i] !== 1 || inC !== outC };
    inC = outC;
    return spec;
  });
}

/** Names of the BatchNorm layers (each has weight, bias, running_mean, running_var, num_batches_tracked). */
function bnNames(): string[] {
  const out = ['bn1'];
  for (const b of blocks()) {
    out.push(`${b.prefix}.bn1`, `${b.prefix}.bn2`);
    if (b.downsample) out.push(`${b.prefix}.downsample.1`);
  }
  return out;
}

function kaimingConv(outC: number, inC: number, k: number): Tensor {
  // torchvision's ResNet init: kaiming_normal_(mode='fan_out', nonlinearity='relu').
  const std = Math.sqrt(2 / (outC * k * k));
  return tidy(() => randn([outC, inC, k, k]).mul(std));
}

/**
 * Fresh weights (libtorch's global generator: call `manualSeed` first for determinism).
 * Trainable tensors have `requiresGrad` set; BN buffers do not.
 */
export function initSmallResNet(cfg: SmallResNetConfig): Weights {
  const nc = cfg.numClasses ?? 10;
  const w: Weights = {};
  w['conv1.weight'] = kaimingConv(WIDTHS[0], cfg.inChannels, 3);
  for (const b of blocks()) {
    w[`${b.prefix}.conv1.weight`] = kaimingConv(b.outC, b.inC, 3);
    w[`${b.prefix}.conv2.weight`] = kaimingConv(b.outC, b.outC, 3);
    if (b.downsample) w[`${b.prefix}.downsample.0.weight`] = kaimingConv(b.outC, b.inC, 1);
  }
  for (const n of bnNames()) {
    const c =
      w[n === 'bn1' ? 'conv1.weight' : n.replace(/bn(\d)$/, 'conv$1.weight').replace(/downsample\.1$/, 'downsample.0.weight')].size(0);
    w[`${n}.weight`] = ones([c]);
    w[`${n}.bias`] = zeros([c]);
    w[`${n}.running_mean`] = zeros([c]);
    w[`${n}.running_var`] = ones([c]);
    w[`${n}.num_batches_tracked`] = zeros([], { dtype: 'int64' });
  }
  // nn.Linear's default init: U(-1/sqrt(in), 1/sqrt(in)) for weight and bias.
  const bound = 1 / Math.sqrt(WIDTHS[2]);
  w['fc.weight'] = empty([nc, WIDTHS[2]]).uniform_(-bound, bound);
  w['fc.bias'] = empty([nc]).uniform_(-bound, bound);
  for (const n of trainableNames(w)) w[n].requiresGrad_(true);
  return w;
}

/** Names of the trainable tensors, in a stable order (BN buffers excluded). */
export function trainableNames(w: Weights): string[] {
  return Object.keys(w)
    .filter((k) => !k.endsWith('running_mean') && !k.endsWith('running_var') && !k.endsWith('num_batches_tracked'))
    .sort();
}

/** Options of `forwardSmallResNet`. */
export interface ForwardOptions {
  /** Training mode: batch statistics and running-stat updates in BatchNorm. */
  training: boolean;
}

function bn(w: Weights, name: string, x: Tensor, training: boolean): Tensor {
  if (training) noGrad(() => w[`${name}.num_batches_tracked`].add_(1));
  return batchNorm(x, {
    weight: w[`${name}.weight`],
    bias: w[`${name}.bias`],
    runningMean: w[`${name}.running_mean`],
    runningVar: w[`${name}.running_var`],
    training,
    momentum: BN_MOMENTUM,
    eps: BN_EPS,
  });
}

/** Applies `next` to `t` and frees `t` at once (autograd keeps what backward needs). */
function then(t: Tensor, next: (t: Tensor) => Tensor): Tensor {
  const r = next(t);
  t.dispose();
  return r;
}

/**
 * Logits [N, numClasses] for images x [N, C, H, W]. Works with NCHW or channels-last inputs and
 * weights. Each intermediate is freed as soon as the next op has consumed it, as Python's
 * reference counting does: a smaller working set than holding them all until the end of a
 * `tidy` (autograd still holds what backward needs). Call it inside `tidy` all the same.
 */
export function forwardSmallResNet(w: Weights, x: Tensor, opts: ForwardOptions): Tensor {
  const tr = opts.training;
  const convBn = (input: Tensor, conv: string, bnName: string, stride: number, padding: number): Tensor =>
    then(conv2d(input, w[`${conv}.weight`], { stride, padding }), (t) => bn(w, bnName, t, tr));
  let h = then(convBn(x, 'conv1', 'bn1', 1, 1), (t) => t.relu());
  for (const b of blocks()) {
    const p = b.prefix;
    let out = then(convBn(h, `${p}.conv1`, `${p}.bn1`, b.stride, 1), (t) => t.relu());
    out = then(out, (t) => convBn(t, `${p}.conv2`, `${p}.bn2`, 1, 1));
    const identity = b.downsample ? convBn(h, `${p}.downsample.0`, `${p}.downsample.1`, b.stride, 0) : h;
    out.add_(identity);
    if (identity !== h) identity.dispose();
    h.dispose();
    h = then(out, (t) => t.relu());
  }
  const pooled = then(
    then(h, (t) => adaptiveAvgPool2d(t, 1)),
    (t) => t.flatten(1),
  );
  return then(pooled, (t) => linear(t, w['fc.weight'], w['fc.bias']));
}

/** Mean cross-entropy of the network on one batch (labels: int64 [N]). */
export function lossSmallResNet(w: Weights, x: Tensor, labels: Tensor, opts: ForwardOptions): Tensor {
  return tidy(() => crossEntropy(forwardSmallResNet(w, x, opts), labels));
}
