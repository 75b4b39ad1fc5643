/**
 * SGD (momentum with dampening, Nesterov, weight decay), Adam and AdamW match torch.optim of
 * PyTorch 1.13: two parameter groups with different learning rates and weight decay, a frozen
 * parameter (requiresGrad false, used by the loss), five steps of real backward passes with the
 * learning rates changed between steps. Final parameters agree within 1e-5 relative.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  Adam,
  AdamW,
  SGD,
  disposeAll,
  liveTensors,
  manualSeed,
  randn,
  setNumThreads,
  tidy,
  type Optimizer,
  type ParamGroupSpec,
  type Tensor,
} from '../../src/torch/index.js';
import { assertParity, inPyTorch } from './parity_helpers.js';

const STEPS = 5;
const LR0 = [0.1, 0.05];
const lrAt = (group: number, step: number): number => LR0[group] * (group === 0 ? 0.8 : 0.9) ** step;

interface Config {
  name: string;
  make: (groups: ParamGroupSpec[]) => Optimizer;
  /** Python constructor over `groups`. */
  py: string;
  wd: [number, number];
}

const CONFIGS: Config[] = [
  {
    name: 'sgd_momentum_dampening',
    wd: [1e-2, 0],
    make: (g) => new SGD(g, { lr: 1, momentum: 0.9, dampening: 0.1 }),
    py: 'torch.optim.SGD(groups, lr=1, momentum=0.9, dampening=0.1)',
  },
  {
    name: 'sgd_nesterov',
    wd: [5e-4, 1e-2],
    make: (g) => new SGD(g, { lr: 1, momentum: 0.9, nesterov: true }),
    py: 'torch.optim.SGD(groups, lr=1, momentum=0.9, nesterov=True)',
  },
  {
    name: 'adam',
    wd: [1e-2, 0],
    make: (g) => new Adam(g, { betas: [0.8, 0.99], eps: 1e-6 }),
    py: 'torch.optim.Adam(groups, betas=(0.8, 0.99), eps=1e-6)',
  },
  {
    name: 'adamw',
    wd: [5e-2, 0],
    make: (g) => new AdamW(g, {}),
    py: 'torch.optim.AdamW(groups)',
  },
];

const NAMES = ['w1', 'b1', 'w2', 'frozen'] as const;

function initial(): Record<string, Tensor> {
  return { w1: randn([4, 3]), b1: randn([4]), w2: randn([2, 4]), frozen: randn([3]) };
}

/** loss = sum(tanh((x + frozen) W1^T + b1) W2^T * c). */
function loss(p: Record<string, Tensor>, x: Tensor, c: Tensor): Tensor {
  return tidy(() => x.add(p.frozen).matmul(p.w1.t()).add(p.b1).tanh().matmul(p.w2.t()).mul(c).sum());
}

describe('optimizers match torch.optim over 5 steps with two groups, a frozen parameter and lr changes', () => {
  const ours = new Map<string, Record<string, Tensor>>();
  let theirs: Map<string, Tensor>;
  let live0 = 0;

  before(() => {
    setNumThreads(2);
    manualSeed(7);
    live0 = liveTensors();
    const init = initial();
    const data = Array.from({ length: STEPS }, () => ({ x: randn([6, 3]), c: randn([6, 2]) }));
    for (const cfg of CONFIGS) {
      const p: Record<string, Tensor> = {};
      for (const n of NAMES) p[n] = init[n].clone().requiresGrad_(n !== 'frozen');
      const groups: ParamGroupSpec[] = [
        { params: [p.w1, p.b1, p.frozen], weightDecay: cfg.wd[0], lr: LR0[0] },
        { params: [p.w2], weightDecay: cfg.wd[1], lr: LR0[1] },
      ];
      const opt = cfg.make(groups);
      for (let s = 0; s < STEPS; s++) {
        opt.groups.forEach((g, gi) => (g.lr = lrAt(gi, s)));
        opt.zeroGrad();
        const l = loss(p, data[s].x, data[s].c);
        l.backward();
        l.dispose();
        opt.step();
      }
      opt.zeroGrad();
      opt.dispose();
      ours.set(cfg.name, p);
    }
    const toPy: Record<string, Tensor> = { ...init };
    data.forEach((d, s) => {
      toPy[`x${s}`] = d.x;
      toPy[`c${s}`] = d.c;
    });
    const table = CONFIGS.map((c) => `  ${JSON.stringify(c.name)}: (lambda groups: ${c.py}, ${JSON.stringify(c.wd)}),`).join('\n');
    theirs = inPyTorch(
      toPy,
      `CONFIGS = {
${table}
}
LR0 = ${JSON.stringify(LR0)}
for name, (make, wd) in CONFIGS.items():
    p = {n: T[n].clone().requires_grad_(n != 'frozen') for n in ['w1', 'b1', 'w2', 'frozen']}
    opt = make([
        {'params': [p['w1'], p['b1'], p['frozen']], 'weight_decay': wd[0], 'lr': LR0[0]},
        {'params': [p['w2']], 'weight_decay': wd[1], 'lr': LR0[1]},
    ])
    for s in range(${STEPS}):
        for gi, g in enumerate(opt.param_groups):
            g['lr'] = LR0[gi] * (0.8 if gi == 0 else 0.9) ** s
        opt.zero_grad(set_to_none=True)
        x, c = T['x%d' % s], T['c%d' % s]
        loss = (torch.tanh((x + p['frozen']) @ p['w1'].t() + p['b1']) @ p['w2'].t() * c).sum()
        loss.backward()
        opt.step()
    for n, v in p.items():
        OUT[name + '.' + n] = v.detach()
`,
    );
    disposeAll([toPy]);
  });

  after(() => {
    for (const p of ours.values()) disposeAll(p);
    disposeAll([...theirs.values()]);
  });

  for (const cfg of CONFIGS) {
    test(`${cfg.name}: parameters after ${STEPS} steps match`, () => {
      const p = ours.get(cfg.name)!;
      for (const n of NAMES) assertParity(p[n], theirs.get(`${cfg.name}.${n}`), `${cfg.name} ${n}`, 1e-5);
    });
  }

  test('the frozen parameter did not move and trained ones did', () => {
    const p = ours.get('adamw')!;
    const init = theirs.get('sgd_nesterov.frozen')!;
    assert.deepEqual(p.frozen.toArray(), init.toArray());
    const w1 = theirs.get('adam.w1')!;
    assert.notDeepEqual(p.w1.toArray(), w1.toArray(), 'adamw and adam ended at the same w1: weight decay had no effect');
  });

  test('no tensors leak', () => {
    for (const p of ours.values()) disposeAll(p);
    ours.clear();
    disposeAll([...theirs.values()]);
    theirs.clear();
    assert.equal(liveTensors(), live0);
  });
});
