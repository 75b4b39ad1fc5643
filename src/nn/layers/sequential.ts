/** Sequential: runs child modules in order (torch.nn.Sequential); children are named '0', '1', ... */
import type { Tensor } from '../../torch/index.js';
import { forwardChain, Module } from '../module.js';

/**
 * A chain of modules, named by position so state-dict keys read `0.weight`, `1.running_mean`, ...
 * as in PyTorch. Intermediate outputs are disposed as soon as the next module has consumed them
 * (autograd keeps what it needs natively).
 */
export class Sequential extends Module {
  readonly #list: Module[];
  constructor(modules: readonly Module[]) {
    super();
    this.#list = [...modules];
    this.#list.forEach((m, i) => this.registerModule(String(i), m));
  }
  /** Number of children. */
  get length(): number {
    return this.#list.length;
  }
  /** The child at position `i` (negative counts from the end). */
  at(i: number): Module {
    const m = this.#list.at(i);
    if (m === undefined) throw new RangeError(`Sequential: index ${i} out of range for ${this.#list.length} modules`);
    return m;
  }
  forward(x: Tensor): Tensor {
    return forwardChain(x, this.#list);
  }
}
