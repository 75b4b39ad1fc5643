/**
 * Optimizers with PyTorch 1.13's update rules (torch.optim.SGD, Adam, AdamW), written on the
 * tensor layer's in-place ops so their state is ordinary tensors that checkpoints can save.
 *
 * Parameter groups each carry their own learning rate and weight decay. Parameters whose
 * `requiresGrad` is false, or that have no gradient this step, are skipped (frozen layers).
 * The learning rate may change at any step: set `group.lr` (schedules do this).
 */
import { noGrad } from './autograd.js';
import { keep, tidy } from './scope.js';
import { Tensor } from './tensor.js';
import { zeros, zerosLike } from './ops.js';

/** Hyper-parameters a group may override. */
export interface GroupOptions {
  lr?: number;
  weightDecay?: number;
}
/** A group of parameters with its own settings. */
export interface ParamGroupSpec extends GroupOptions {
  params: readonly Tensor[];
  /** Optional names (same order as params) used as checkpoint keys. */
  names?: readonly string[];
}
/** A resolved group: settings filled in from the optimizer's defaults. */
export interface ParamGroup {
  params: Tensor[];
  names: string[];
  lr: number;
  /** The learning rate the group started with; schedules scale from it. */
  initialLr: number;
  weightDecay: number;
}

/** Optimizer state as tensors plus JSON, ready for a safetensors checkpoint. */
export interface OptimizerState {
  tensors: Record<string, Tensor>;
  meta: { kind: string; step: number; lrs: number[] };
}

function toGroups(params: readonly Tensor[] | readonly ParamGroupSpec[], defaults: Required<GroupOptions>): ParamGroup[] {
  const specs: ParamGroupSpec[] =
    params.length > 0 && params[0] instanceof Tensor ? [{ params: params as Tensor[] }] : (params as ParamGroupSpec[]);
  return specs.map((s, gi) => {
    const lr = s.lr ?? defaults.lr;
    if (!(lr >= 0)) throw new RangeError(`param group ${gi}: learning rate must be >= 0, got ${lr}`);
    return {
      params: [...s.params],
      names: s.names ? [...s.names] : s.params.map((_, i) => `g${gi}.p${i}`),
      lr,
      initialLr: lr,
      weightDecay: s.weightDecay ?? defaults.weightDecay,
    };
  });
}

/** Common machinery: groups, zeroing gradients, per-parameter state, save and load. */
export abstract class Optimizer {
  readonly groups: ParamGroup[];
  /** Completed steps. */
  stepCount = 0;
  protected readonly state = new Map<Tensor, Map<string, Tensor>>();

  protected constructor(
    params: readonly Tensor[] | readonly ParamGroupSpec[],
    defaults: Required<GroupOptions>,
    readonly kind: string,
  ) {
    this.groups = toGroups(params, defaults);
  }

  /** Sets every group's learning rate to `lr`. */
  setLr(lr: number): void {
    for (const g of this.groups) g.lr = lr;
  }

  /** Clears gradients (set to none, PyTorch 2's default: no memory kept between steps). */
  zeroGrad(): void {
    for (const g of this.groups) for (const p of g.params) p.setGrad(undefined);
  }

  /** Applies one update from the current gradients. */
  step(): void {
    this.stepCount++;
    noGrad(() => {
      for (const g of this.groups) {
        for (let i = 0; i < g.params.length; i++) {
          const p = g.params[i];
          if (!p.requiresGrad) continue;
          tidy(() => {
            const grad = p.grad;
            if (grad === undefined) return;
            this.update(p, grad, g, this.slot(p));
          });
        }
      }
    });
  }

  protected slot(p: Tensor): Map<string, Tensor> {
    let s = this.state.get(p);
    if (s === undefined) {
      s = new Map();
      this.state.set(p, s);
    }
    return s;
  }

  /** A persistent state tensor for parameter p (created zero on first use, survives tidy). */
  protected buffer(s: Map<string, Tensor>, name: string, like: Tensor | (() => Tensor)): Tensor {
    let b = s.get(name);
    if (b === undefined) {
      // Persistent: kept out of every scope; freed by dispose().
      b = keep(like instanceof Tensor ? zerosLike(like) : like());
      s.set(name, b);
    }
    return b;
  }

  protected abstract update(p: Tensor, grad: Tensor, group: ParamGroup, state: Map<string, Tensor>): void;

  /** Snapshot of the state (tensors are the live buffers: save them, do not dispose them). */
  stateDict(): OptimizerState {
    const tensors: Record<string, Tensor> = {};
    for (const g of this.groups)
      g.params.forEach((p, i) => {
        const s = this.state.get(p);
        if (s) for (const [k, v] of s) tensors[`${g.names[i]}.${k}`] = v;
      });
    return { tensors, meta: { kind: this.kind, step: this.stepCount, lrs: this.groups.map((g) => g.lr) } };
  }

  /** Restores a snapshot taken by `stateDict` of an optimizer over the same parameters. */
  loadStateDict(st: OptimizerState): void {
    if (st.meta.kind !== this.kind) throw new Error(`optimizer state is for ${st.meta.kind}, this optimizer is ${this.kind}`);
    if (st.meta.lrs.length !== this.groups.length)
      throw new Error(`optimizer state has ${st.meta.lrs.length} parameter groups, this optimizer has ${this.groups.length}`);
    this.stepCount = st.meta.step;
    const byName = new Map<string, Tensor>();
    this.groups.forEach((g, gi) => {
      g.lr = st.meta.lrs[gi];
      g.params.forEach((p, i) => byName.set(g.names[i], p));
    });
    for (const [key, t] of Object.entries(st.tensors)) {
      const dot = key.lastIndexOf('.');
      const pname = key.slice(0, dot);
      const p = byName.get(pname);
      if (p === undefined) throw new Error(`optimizer state key '${key}' names no parameter of this optimizer`);
      const s = this.slot(p);
      const slotName = key.slice(dot + 1);
      const b = this.buffer(s, slotName, slotName === 'step' ? () => zeros([]) : p);
      if (b.shape.join() !== t.shape.join())
        throw new Error(`optimizer state '${key}': shape [${t.shape.join(', ')}] but expected [${b.shape.join(', ')}]`);
      b.copy_(t);
    }
  }

  /** Frees all state tensors. */
  dispose(): void {
    for (const s of this.state.values()) for (const t of s.values()) t.dispose();
    this.state.clear();
  }
}

/** Options of SGD (torch.optim.SGD). */
export interface SGDOptions extends GroupOptions {
  lr: number;
  momentum?: number;
  dampening?: number;
  nesterov?: boolean;
}

/** Stochastic gradient descent with momentum, Nesterov momentum and L2 weight decay. */
export class SGD extends Optimizer {
  readonly momentum: number;
  readonly dampening: number;
  readonly nesterov: boolean;
  constructor(params: readonly Tensor[] | readonly ParamGroupSpec[], opts: SGDOptions) {
    super(params, { lr: opts.lr, weightDecay: opts.weightDecay ?? 0 }, 'sgd');
    this.momentum = opts.momentum ?? 0;
    this.dampening = opts.dampening ?? 0;
    this.nesterov = opts.nesterov ?? false;
    if (this.nesterov && (this.momentum <= 0 || this.dampening !== 0))
      throw new RangeError('Nesterov momentum requires momentum > 0 and dampening = 0');
  }
  protected update(p: Tensor, grad: Tensor, g: ParamGroup, s: Map<string, Tensor>): void {
    let d = grad;
    if (g.weightDecay !== 0) d = d.add(p, g.weightDecay);
    if (this.momentum !== 0) {
      const fresh = !s.has('momentum_buffer');
      const buf = this.buffer(s, 'momentum_buffer', p);
      if (fresh) buf.copy_(d);
      else buf.mul_(this.momentum).add_(d, 1 - this.dampening);
      d = this.nesterov ? d.add(buf, this.momentum) : buf;
    }
    p.add_(d, -g.lr);
  }
}

/** Options of Adam and AdamW. */
export interface AdamOptions extends GroupOptions {
  lr?: number;
  betas?: [number, number];
  eps?: number;
}

/** Adam (torch.optim.Adam): weight decay is L2 added to the gradient. */
export class Adam extends Optimizer {
  readonly betas: [number, number];
  readonly eps: number;
  constructor(params: readonly Tensor[] | readonly ParamGroupSpec[], opts: AdamOptions = {}, kind = 'adam', defaultWd = 0) {
    super(params, { lr: opts.lr ?? 1e-3, weightDecay: opts.weightDecay ?? defaultWd }, kind);
    this.betas = opts.betas ?? [0.9, 0.999];
    this.eps = opts.eps ?? 1e-8;
  }
  protected decoupled(): boolean {
    return false;
  }
  protected update(p: Tensor, grad: Tensor, g: ParamGroup, s: Map<string, Tensor>): void {
    const [b1, b2] = this.betas;
    const stepT = this.buffer(s, 'step', () => zeros([]));
    stepT.add_(1);
    const step = stepT.item();
    let d = grad;
    if (g.weightDecay !== 0) {
      if (this.decoupled()) p.mul_(1 - g.lr * g.weightDecay);
      else d = d.add(p, g.weightDecay);
    }
    const m = this.buffer(s, 'exp_avg', p);
    const v = this.buffer(s, 'exp_avg_sq', p);
    m.mul_(b1).add_(d, 1 - b1);
    v.mul_(b2).addcmul_(d, d, 1 - b2);
    const bc1 = 1 - b1 ** step;
    const bc2 = 1 - b2 ** step;
    const denom = v.sqrt().div_(Math.sqrt(bc2)).add_(this.eps);
    p.addcdiv_(m, denom, -g.lr / bc1);
  }
}

/** AdamW (torch.optim.AdamW): decoupled weight decay, default 0.01. */
export class AdamW extends Adam {
  constructor(params: readonly Tensor[] | readonly ParamGroupSpec[], opts: AdamOptions = {}) {
    super(params, opts, 'adamw', 0.01);
  }
  protected override decoupled(): boolean {
    return true;
  }
}
