/**
 * `Module`: the base class of every layer and model, in the shape of PyTorch's `torch.nn.Module`.
 *
 * A module declares its parameters, buffers and sub-modules in its constructor
 * (`registerParameter`, `registerBuffer`, `registerModule`), in the same order as the PyTorch
 * module it mirrors, so that `stateDict()` yields exactly PyTorch's keys in PyTorch's order
 * (`conv1.weight`, `bn1.running_mean`, `layer1.0.conv1.weight`, ...): checkpoints move both ways.
 *
 * Ownership: parameters and buffers are persistent tensors (`keep()`), never freed by a `tidy`
 * scope; `dispose()` frees them all. Loading a state dict copies values in place, so references
 * held by an optimizer stay valid.
 */
import { keep, noGrad, Tensor, type DType } from '../torch/index.js';
import { fuseAt, fuseExactly, type FusionRole } from './fusion.js';

/** What `loadStateDict` found: keys the module expects but the source lacks, and the reverse. */
export interface LoadResult {
  missing: string[];
  unexpected: string[];
  /** Keys present on both sides whose shape or dtype differ (not copied). */
  mismatched: Mismatch[];
}

/** A key whose source tensor cannot be copied into the module's tensor. */
export interface Mismatch {
  key: string;
  expectedShape: number[];
  actualShape: number[];
  expectedDtype: DType;
  actualDtype: DType;
}

/** Options of `loadStateDict`. */
export interface LoadOptions {
  /** Throw (before copying anything) on missing or unexpected keys or mismatches (default true). */
  strict?: boolean;
  /** Names the source in error messages, e.g. a file path. */
  source?: string;
}

/** Thrown by a strict `loadStateDict`; carries the full comparison. */
export class StateDictError extends Error {
  constructor(
    message: string,
    readonly result: LoadResult,
  ) {
    super(message);
    this.name = 'StateDictError';
  }
}

function shapeStr(s: readonly number[]): string {
  return `[${s.join(', ')}]`;
}

/** Formats a load result as one readable message (lists are shortened past 8 keys). */
export function describeLoadResult(r: LoadResult): string {
  const list = (xs: string[]): string => (xs.length <= 8 ? xs.join(', ') : `${xs.slice(0, 8).join(', ')}, ... (${xs.length} in all)`);
  const parts: string[] = [];
  if (r.mismatched.length > 0)
    parts.push(
      `mismatched: ${r.mismatched
        .slice(0, 8)
        .map((m) =>
          m.expectedDtype !== m.actualDtype && shapeStr(m.expectedShape) === shapeStr(m.actualShape)
            ? `${m.key} expected dtype ${m.expectedDtype} but got ${m.actualDtype}`
            : `${m.key} expected ${m.expectedDtype}${shapeStr(m.expectedShape)} but got ${m.actualDtype}${shapeStr(m.actualShape)}`,
        )
        .join('; ')}${r.mismatched.length > 8 ? `; ... (${r.mismatched.length} in all)` : ''}`,
    );
  if (r.missing.length > 0) parts.push(`missing keys: ${list(r.missing)}`);
  if (r.unexpected.length > 0) parts.push(`unexpected keys: ${list(r.unexpected)}`);
  return parts.join('; ');
}

/** Base class of layers and models. Subclasses implement `forward` and, if they own tensors, `resetParameters`. */
export abstract class Module {
  /** Whether the module is in training mode (BatchNorm uses batch statistics, Dropout drops). */
  training = true;
  readonly #params = new Map<string, Tensor>();
  readonly #buffers = new Map<string, Tensor>();
  readonly #modules = new Map<string, Module>();

  /** The PyTorch-style class name shown by `toString()` (e.g. `Conv2d`). */
  get typeName(): string {
    return this.constructor.name;
  }

  /**
   * Registers `t` as a trainable parameter named `name` and returns it. The tensor is kept
   * (no tidy scope frees it) and gets `requiresGrad = true`. Re-registering a name replaces
   * (and disposes) the previous tensor.
   */
  protected registerParameter(name: string, t: Tensor): Tensor {
    this.#checkName(name, this.#params);
    keep(t);
    t.requiresGrad = true;
    const old = this.#params.get(name);
    if (old !== undefined && old !== t) old.dispose();
    this.#params.set(name, t);
    return t;
  }

  /** Registers a persistent non-trainable tensor (e.g. BatchNorm's running statistics) and returns it. */
  protected registerBuffer(name: string, t: Tensor): Tensor {
    this.#checkName(name, this.#buffers);
    keep(t);
    const old = this.#buffers.get(name);
    if (old !== undefined && old !== t) old.dispose();
    this.#buffers.set(name, t);
    return t;
  }

  /**
   * Registers a sub-module under `name` (its keys become `name.<key>`) and returns it. Replacing
   * an existing child keeps its position in the order and does NOT dispose the old one (the
   * caller may still use it; see `replaceModule`).
   */
  protected registerModule<M extends Module>(name: string, m: M): M {
    this.#checkName(name, this.#modules);
    this.#modules.set(name, m);
    return m;
  }

  /** Replaces the registered child `name` by `m` (same position), disposing the old child. */
  protected replaceModule<M extends Module>(name: string, m: M): M {
    const old = this.#modules.get(name);
    if (old === undefined) throw new Error(`${this.typeName}: no child module named '${name}' to replace`);
    this.#modules.set(name, m);
    if (old !== m) old.dispose();
    return m;
  }

  #checkName(name: string, own: Map<string, unknown>): void {
    if (name === '' || name.includes('.')) throw new Error(`${this.typeName}: invalid name '${name}' (non-empty, no dots)`);
    for (const other of [this.#params, this.#buffers, this.#modules] as Map<string, unknown>[])
      if (other !== own && other.has(name))
        throw new Error(`${this.typeName}: name '${name}' is already used by another parameter, buffer or module`);
  }

  /** Computes the module's output. */
  abstract forward(x: Tensor): Tensor;

  /**
   * The role this module can play in a fusion pattern (src/nn/fusion.ts), or undefined (none).
   * Conv2d, BatchNorm2d, ReLU and MaxPool2d name theirs; the pass, not the layer, knows what
   * follows what.
   */
  get fusionRole(): FusionRole | undefined {
    return undefined;
  }

  /**
   * `next.forward(this.forward(x))` as one fused step when the pair is a pattern of the fusion
   * table (src/nn/fusion.ts: Conv2d → evaluation BatchNorm2d, BatchNorm2d → ReLU, ReLU →
   * MaxPool2d) and its conditions hold; undefined otherwise (run the two separately).
   */
  forwardFused(x: Tensor, next: Module): Tensor | undefined {
    return fuseExactly(x, [this, next]);
  }

  /**
   * Like `forwardFused` for this module and the next two (`after.forward(next.forward(this.forward(x)))`):
   * a training-mode BatchNorm2d → ReLU → MaxPool2d runs as one kernel.
   */
  forwardFused2(x: Tensor, next: Module, after: Module): Tensor | undefined {
    return fuseExactly(x, [this, next, after]);
  }

  /**
   * Optional: `forward` for an input the caller owns and will not use again, so it may be
   * overwritten (ReLU works in place where no gradient is recorded). `forwardChain` calls it for
   * its intermediates that do not share storage with the chain's input.
   */
  forwardOwned?(x: Tensor): Tensor;

  /** Same as `forward` (PyTorch's `module(x)`). */
  call(x: Tensor): Tensor {
    return this.forward(x);
  }

  /** Re-initialises this module's own parameters and buffers in place (children are not touched). Default: nothing. */
  resetParameters(): void {}

  /** One line of configuration, like PyTorch's `extra_repr` (e.g. `3, 64, kernel_size=(3, 3)`). */
  describe(): string {
    return '';
  }

  /** Multi-line description of the module tree, like printing a PyTorch module. */
  toString(): string {
    const kids = [...this.#modules];
    if (kids.length === 0) return `${this.typeName}(${this.describe()})`;
    const lines = [`${this.typeName}(${this.describe()}`];
    for (const [n, m] of kids) lines.push(`  (${n}): ${m.toString().split('\n').join('\n  ')}`);
    lines.push(')');
    return lines.join('\n');
  }

  // ---- traversal ---------------------------------------------------------------------------------
  /** Direct children with their names, in registration order. */
  *namedChildren(): IterableIterator<[string, Module]> {
    yield* this.#modules;
  }
  /** Direct children in registration order. */
  *children(): IterableIterator<Module> {
    yield* this.#modules.values();
  }
  /** This module (name `prefix`, '' by default) and every descendant, depth first, as PyTorch's named_modules. */
  *namedModules(prefix = ''): IterableIterator<[string, Module]> {
    yield [prefix, this];
    for (const [n, m] of this.#modules) yield* m.namedModules(prefix === '' ? n : `${prefix}.${n}`);
  }
  /** Every parameter with its dotted name (own first, then children's, in order). */
  *namedParameters(prefix = ''): IterableIterator<[string, Tensor]> {
    for (const [n, t] of this.#params) yield [prefix === '' ? n : `${prefix}.${n}`, t];
    for (const [n, m] of this.#modules) yield* m.namedParameters(prefix === '' ? n : `${prefix}.${n}`);
  }
  /** Every parameter, in `namedParameters` order. */
  parameters(): Tensor[] {
    return [...this.namedParameters()].map(([, t]) => t);
  }
  /** Every buffer with its dotted name. */
  *namedBuffers(prefix = ''): IterableIterator<[string, Tensor]> {
    for (const [n, t] of this.#buffers) yield [prefix === '' ? n : `${prefix}.${n}`, t];
    for (const [n, m] of this.#modules) yield* m.namedBuffers(prefix === '' ? n : `${prefix}.${n}`);
  }
  /** The child at a dotted path (`layer1.0.conv1`), or undefined. '' is this module. */
  getModule(path: string): Module | undefined {
    if (path === '') return this;
    const [first, ...rest] = path.split('.');
    return this.#modules.get(first)?.getModule(rest.join('.'));
  }

  // ---- modes -------------------------------------------------------------------------------------
  /** Sets training mode on this module and all descendants; returns this. */
  train(on = true): this {
    for (const [, m] of this.namedModules()) m.training = on;
    return this;
  }
  /** Evaluation mode (`train(false)`); returns this. */
  eval(): this {
    return this.train(false);
  }

  /**
   * Stops gradients for some parameters: all of them (no argument), those of a sub-module
   * (given as a Module or as a dotted prefix such as `layer1` or `layer1.0.conv1`; a prefix
   * matches whole name parts). Returns the names frozen. Throws when a prefix matches nothing.
   * Note: frozen BatchNorm layers still update running statistics in training mode; call
   * `eval()` on them to fix those too.
   */
  freeze(target?: string | Module): string[] {
    return this.#setRequiresGrad(target, false);
  }
  /** Undoes `freeze` for the same kinds of target; returns the names affected. */
  unfreeze(target?: string | Module): string[] {
    return this.#setRequiresGrad(target, true);
  }
  #setRequiresGrad(target: string | Module | undefined, on: boolean): string[] {
    let chosen: [string, Tensor][];
    const all = [...this.namedParameters()];
    if (target === undefined || target === '') chosen = all;
    else if (typeof target === 'string') {
      chosen = all.filter(([n]) => n === target || n.startsWith(`${target}.`));
      if (chosen.length === 0) throw new Error(`${this.typeName}: no parameter name starts with '${target}'`);
    } else {
      const mine = new Set(target.parameters());
      chosen = all.filter(([, t]) => mine.has(t));
      if (chosen.length === 0 && mine.size > 0)
        throw new Error(`${this.typeName}: the given ${target.typeName} is not part of this module`);
    }
    for (const [, t] of chosen) t.requiresGrad = on;
    return chosen.map(([n]) => n);
  }

  /** Parameters with `requiresGrad` (what an optimizer should update), by name. */
  trainableParameters(): [string, Tensor][] {
    return [...this.namedParameters()].filter(([, t]) => t.requiresGrad);
  }

  // ---- state -------------------------------------------------------------------------------------
  /**
   * Parameters then buffers of each module, depth first: exactly PyTorch's `state_dict()` keys
   * and order. The tensors are the module's own (no copies): read or save them, do not dispose them.
   */
  stateDict(prefix = ''): Map<string, Tensor> {
    const out = new Map<string, Tensor>();
    const walk = (m: Module, p: string): void => {
      for (const [n, t] of m.#params) out.set(p === '' ? n : `${p}.${n}`, t);
      for (const [n, t] of m.#buffers) out.set(p === '' ? n : `${p}.${n}`, t);
      for (const [n, c] of m.#modules) walk(c, p === '' ? n : `${p}.${n}`);
    };
    walk(this, prefix);
    return out;
  }

  /**
   * Copies values from `sd` into this module's tensors, in place and without recording autograd.
   * Shapes and dtypes must match exactly. With `strict` (default) any missing or unexpected key
   * or mismatch throws a `StateDictError` naming the keys (expected vs actual shapes) before
   * anything is copied; otherwise matching keys are copied and the rest reported.
   */
  loadStateDict(sd: ReadonlyMap<string, Tensor> | Record<string, Tensor>, opts: LoadOptions = {}): LoadResult {
    const strict = opts.strict ?? true;
    const src: ReadonlyMap<string, Tensor> = sd instanceof Map ? sd : new Map(Object.entries(sd));
    const own = this.stateDict();
    const result: LoadResult = { missing: [], unexpected: [], mismatched: [] };
    const copies: [Tensor, Tensor][] = [];
    for (const [k, dst] of own) {
      const s = src.get(k);
      if (s === undefined) {
        result.missing.push(k);
        continue;
      }
      const es = dst.shape;
      const as = s.shape;
      const sameShape = es.length === as.length && es.every((v, i) => v === as[i]);
      if (!sameShape || dst.dtype !== s.dtype) {
        result.mismatched.push({ key: k, expectedShape: [...es], actualShape: [...as], expectedDtype: dst.dtype, actualDtype: s.dtype });
        continue;
      }
      copies.push([dst, s]);
    }
    for (const k of src.keys()) if (!own.has(k)) result.unexpected.push(k);
    const bad = result.missing.length + result.unexpected.length + result.mismatched.length > 0;
    if (strict && bad) {
      const from = opts.source !== undefined ? ` from ${opts.source}` : '';
      throw new StateDictError(`error loading state dict${from} into ${this.typeName}: ${describeLoadResult(result)}`, result);
    }
    noGrad(() => {
      for (const [dst, s] of copies) dst.copy_(s);
    });
    return result;
  }

  /** Frees every parameter and buffer of this module and its descendants. Safe to call twice. */
  dispose(): void {
    for (const t of this.#params.values()) t.dispose();
    for (const t of this.#buffers.values()) t.dispose();
    for (const m of this.#modules.values()) m.dispose();
  }
  [Symbol.dispose](): void {
    this.dispose();
  }
}

/**
 * A named group of modules that belong to another model (e.g. a ResNet's stem: `conv1`, `bn1`,
 * `relu`, `maxpool`), used by `Classifier.blocks()`. It is NOT registered in that model, so it
 * adds no state-dict keys; its own names are the model's names for the members. Its forward
 * runs the members in order. Disposing it disposes the members, i.e. parts of the model.
 */
export class ModuleGroup extends Module {
  constructor(members: readonly (readonly [string, Module])[]) {
    super();
    for (const [n, m] of members) this.registerModule(n, m);
  }
  forward(x: Tensor): Tensor {
    return forwardChain(x, this.children());
  }
}

/**
 * Runs `modules` one after another on `x`, disposing each intermediate output as soon as the
 * next module has consumed it (never `x` itself; autograd keeps what it needs natively). At each
 * position the fusion pass (src/nn/fusion.ts) tries its patterns, longest first: a match runs
 * the modules it covers as one step (e.g. Conv2d + evaluation BatchNorm2d as one convolution).
 */
export function forwardChain(x: Tensor, modules: Iterable<Module>): Tensor {
  const list = Array.isArray(modules) ? (modules as Module[]) : [...modules];
  let y = x;
  for (let i = 0; i < list.length; i++) {
    const m = list[i];
    let next: Tensor;
    const fused = fuseAt(y, list, i);
    if (fused !== undefined) {
      next = fused.output;
      i += fused.length - 1;
    } else {
      // An intermediate is the chain's own unless it views the caller's input (e.g. after Flatten).
      const owned = y !== x && m.forwardOwned !== undefined && !y.sharesStorageWith(x);
      next = owned ? m.forwardOwned!(y) : m.forward(y);
    }
    if (y !== x && next !== y) y.dispose();
    y = next;
  }
  return y;
}
