/**
 * Our functional nn ops agree with torch.nn.functional (Debian's PyTorch 1.13): forward outputs,
 * gradients of inputs and weights (through a random upstream gradient), and BatchNorm's running
 * statistics, all within 1e-4 relative. All cases run in one Python process.
 */
import { after, before, describe, test } from 'node:test';
import {
  adaptiveAvgPool2d,
  avgPool2d,
  batchNorm,
  conv2d,
  crossEntropy,
  disposeAll,
  interpolate,
  linear,
  liveTensors,
  manualSeed,
  maxPool2d,
  mseLoss,
  nllLoss,
  randint,
  randn,
  rand,
  setNumThreads,
  tidy,
  type Tensor,
} from '../../src/torch/index.js';
import { assertParity, inPyTorch } from './parity_helpers.js';

type TMap = Record<string, Tensor>;
interface Case {
  name: string;
  make: () => TMap;
  /** Inputs whose gradient is compared. */
  grad: string[];
  /** Inputs updated in place whose final values are compared (BatchNorm running stats). */
  state?: string[];
  ours: (t: TMap) => Tensor;
  /** Python expression over the dict `C`. */
  py: string;
}

const img = (n: number, c: number, h: number, w: number): Tensor => randn([n, c, h, w]);
const labels = (n: number, c: number): Tensor => randint(0, c, [n]);

const CASES: Case[] = [
  {
    name: 'conv_pad_bias',
    make: () => ({ x: img(2, 3, 9, 8), w: randn([4, 3, 3, 3]), b: randn([4]) }),
    grad: ['x', 'w', 'b'],
    ours: (t) => conv2d(t.x, t.w, { bias: t.b, padding: 1 }),
    py: "F.conv2d(C['x'], C['w'], C['b'], padding=1)",
  },
  {
    name: 'conv_stride_dilation',
    make: () => ({ x: img(2, 3, 11, 10), w: randn([5, 3, 3, 3]) }),
    grad: ['x', 'w'],
    ours: (t) => conv2d(t.x, t.w, { stride: 2, padding: 2, dilation: 2 }),
    py: "F.conv2d(C['x'], C['w'], None, stride=2, padding=2, dilation=2)",
  },
  {
    name: 'conv_groups_asym',
    make: () => ({ x: img(2, 4, 7, 9), w: randn([6, 2, 3, 2]), b: randn([6]) }),
    grad: ['x', 'w', 'b'],
    ours: (t) => conv2d(t.x, t.w, { bias: t.b, stride: [1, 2], padding: [0, 1], groups: 2 }),
    py: "F.conv2d(C['x'], C['w'], C['b'], stride=(1, 2), padding=(0, 1), groups=2)",
  },
  {
    name: 'bn_train',
    make: () => ({ x: img(4, 3, 5, 5).mul(2).add(1), w: randn([3]), b: randn([3]), rm: randn([3]), rv: rand([3]).add(0.5) }),
    grad: ['x', 'w', 'b'],
    state: ['rm', 'rv'],
    ours: (t) => batchNorm(t.x, { weight: t.w, bias: t.b, runningMean: t.rm, runningVar: t.rv, training: true, momentum: 0.3 }),
    py: "F.batch_norm(C['x'], C['rm'], C['rv'], C['w'], C['b'], training=True, momentum=0.3, eps=1e-5)",
  },
  {
    name: 'bn_eval',
    make: () => ({ x: img(4, 3, 5, 5), w: randn([3]), b: randn([3]), rm: randn([3]), rv: rand([3]).add(0.5) }),
    grad: ['x', 'w', 'b'],
    state: ['rm', 'rv'],
    ours: (t) => batchNorm(t.x, { weight: t.w, bias: t.b, runningMean: t.rm, runningVar: t.rv, training: false, eps: 1e-3 }),
    py: "F.batch_norm(C['x'], C['rm'], C['rv'], C['w'], C['b'], training=False, eps=1e-3)",
  },
  {
    name: 'linear',
    make: () => ({ x: randn([5, 7]), w: randn([3, 7]), b: randn([3]) }),
    grad: ['x', 'w', 'b'],
    ours: (t) => linear(t.x, t.w, t.b),
    py: "F.linear(C['x'], C['w'], C['b'])",
  },
  {
    name: 'max_pool',
    make: () => ({ x: img(2, 3, 9, 8) }),
    grad: ['x'],
    ours: (t) => maxPool2d(t.x, { kernelSize: 3, stride: 2, padding: 1 }),
    py: "F.max_pool2d(C['x'], 3, stride=2, padding=1)",
  },
  {
    name: 'avg_pool_exclude_pad',
    make: () => ({ x: img(2, 3, 9, 8) }),
    grad: ['x'],
    ours: (t) => avgPool2d(t.x, { kernelSize: 2, stride: 2, padding: 1, countIncludePad: false, ceilMode: true }),
    py: "F.avg_pool2d(C['x'], 2, stride=2, padding=1, ceil_mode=True, count_include_pad=False)",
  },
  {
    name: 'adaptive_avg_pool',
    make: () => ({ x: img(2, 3, 7, 5) }),
    grad: ['x'],
    ours: (t) => adaptiveAvgPool2d(t.x, [3, 2]),
    py: "F.adaptive_avg_pool2d(C['x'], (3, 2))",
  },
  {
    name: 'ce_mean_smoothing',
    make: () => ({ x: randn([6, 5]), y: labels(6, 5) }),
    grad: ['x'],
    ours: (t) => crossEntropy(t.x, t.y, { labelSmoothing: 0.1 }),
    py: "F.cross_entropy(C['x'], C['y'], label_smoothing=0.1)",
  },
  {
    name: 'ce_weight_smoothing_mean',
    make: () => ({ x: randn([6, 5]), y: labels(6, 5), cw: rand([5]).add(0.2) }),
    grad: ['x'],
    ours: (t) => crossEntropy(t.x, t.y, { weight: t.cw, labelSmoothing: 0.2 }),
    py: "F.cross_entropy(C['x'], C['y'], weight=C['cw'], label_smoothing=0.2)",
  },
  {
    name: 'ce_weight_sum',
    make: () => ({ x: randn([6, 5]), y: labels(6, 5), cw: rand([5]).add(0.2) }),
    grad: ['x'],
    ours: (t) => crossEntropy(t.x, t.y, { weight: t.cw, reduction: 'sum' }),
    py: "F.cross_entropy(C['x'], C['y'], weight=C['cw'], reduction='sum')",
  },
  {
    name: 'ce_none_spatial',
    make: () => ({ x: randn([2, 4, 3, 3]), y: randint(0, 4, [2, 3, 3]) }),
    grad: ['x'],
    ours: (t) => crossEntropy(t.x, t.y, { reduction: 'none' }),
    py: "F.cross_entropy(C['x'], C['y'], reduction='none')",
  },
  {
    name: 'nll_weight',
    make: () => ({ x: randn([6, 5]), y: labels(6, 5), cw: rand([5]).add(0.2) }),
    grad: ['x'],
    ours: (t) => nllLoss(t.x.logSoftmax(1), t.y, { weight: t.cw }),
    py: "F.nll_loss(F.log_softmax(C['x'], 1), C['y'], weight=C['cw'])",
  },
  {
    name: 'mse',
    make: () => ({ x: randn([4, 3]), y: randn([4, 3]) }),
    grad: ['x', 'y'],
    ours: (t) => mseLoss(t.x, t.y),
    py: "F.mse_loss(C['x'], C['y'])",
  },
  {
    name: 'interp_nearest',
    make: () => ({ x: img(2, 2, 5, 4) }),
    grad: ['x'],
    ours: (t) => interpolate(t.x, { size: [7, 9], mode: 'nearest' }),
    py: "F.interpolate(C['x'], size=(7, 9), mode='nearest')",
  },
  {
    name: 'interp_bilinear_scale',
    make: () => ({ x: img(2, 2, 5, 4) }),
    grad: ['x'],
    ours: (t) => interpolate(t.x, { scaleFactor: 1.5, mode: 'bilinear' }),
    py: "F.interpolate(C['x'], scale_factor=1.5, mode='bilinear', align_corners=False)",
  },
  {
    name: 'interp_bilinear_corners',
    make: () => ({ x: img(2, 2, 5, 4) }),
    grad: ['x'],
    ours: (t) => interpolate(t.x, { size: [3, 7], mode: 'bilinear', alignCorners: true }),
    py: "F.interpolate(C['x'], size=(3, 7), mode='bilinear', align_corners=True)",
  },
];

interface Ours {
  out: Tensor;
  grads: TMap;
  state: TMap;
}

describe('nn functional parity with PyTorch 1.13', () => {
  const ours = new Map<string, Ours>();
  let theirs: Map<string, Tensor>;
  let live0 = 0;

  before(() => {
    setNumThreads(2);
    manualSeed(1234);
    live0 = liveTensors();
    const toPy: TMap = {};
    for (const c of CASES) {
      const t = tidy(() => c.make());
      for (const [k, v] of Object.entries(t)) toPy[`${c.name}.${k}`] = v.clone();
      for (const g of c.grad) t[g].requiresGrad_(true);
      const res = tidy(() => {
        const out = c.ours(t);
        const G = randn(out.shape);
        toPy[`${c.name}.G`] = G;
        out.mul(G).sum().backward();
        const grads: TMap = {};
        for (const g of c.grad) {
          const gr = t[g].grad;
          if (gr === undefined) throw new Error(`${c.name}: no gradient for ${g}`);
          grads[g] = gr;
        }
        return { out: out.detach(), grads, G };
      });
      const state: TMap = {};
      for (const s of c.state ?? []) state[s] = t[s];
      ours.set(c.name, { out: res.out, grads: res.grads, state });
      disposeAll(
        Object.entries(t)
          .filter(([k]) => !(c.state ?? []).includes(k))
          .map(([, v]) => v),
      );
    }
    const table = CASES.map(
      (c) => `  ${JSON.stringify(c.name)}: (lambda C: ${c.py}, ${JSON.stringify(c.grad)}, ${JSON.stringify(c.state ?? [])}),`,
    ).join('\n');
    theirs = inPyTorch(
      toPy,
      `CASES = {
${table}
}
for cname, (fn, gnames, snames) in CASES.items():
    C = {k.split('.', 1)[1]: v for k, v in T.items() if k.split('.', 1)[0] == cname}
    for g in gnames:
        C[g].requires_grad_(True)
    out = fn(C)
    OUT[cname + '.out'] = out.detach()
    (out * C['G']).sum().backward()
    for g in gnames:
        OUT[cname + '.grad.' + g] = C[g].grad
    for s in snames:
        OUT[cname + '.state.' + s] = C[s]
`,
    );
    disposeAll(toPy);
  });

  after(() => {
    for (const o of ours.values()) disposeAll(o);
    disposeAll([...theirs.values()]);
  });

  for (const c of CASES) {
    test(`${c.name}: forward, gradients${c.state ? ' and running stats' : ''} match`, () => {
      const o = ours.get(c.name)!;
      assertParity(o.out, theirs.get(`${c.name}.out`), `${c.name} forward`);
      for (const [g, v] of Object.entries(o.grads)) assertParity(v, theirs.get(`${c.name}.grad.${g}`), `${c.name} d/d${g}`);
      for (const [s, v] of Object.entries(o.state)) assertParity(v, theirs.get(`${c.name}.state.${s}`), `${c.name} ${s}`);
    });
  }

  test('the parity run leaves no tensors behind', () => {
    for (const o of ours.values()) disposeAll(o);
    ours.clear();
    disposeAll([...theirs.values()]);
    theirs.clear();
    if (liveTensors() !== live0) throw new Error(`leaked ${liveTensors() - live0} tensors`);
  });
});
