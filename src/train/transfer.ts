/**
 * Transfer modes: how a pretrained source model becomes a target model.
 *
 * - `fixed`: the backbone is frozen and run without gradients; only a new linear head trains.
 *   BatchNorm statistics keep adapting by default (`bnTrainInFixed: true`, the paper's choice:
 *   its fixed-feature runs keep the model in train mode); set false to freeze them too.
 * - `full`: every parameter trains (backbone and head may have their own learning rates).
 * - `partial:k`: the last k blocks of `model.blocks()` and the head train; earlier blocks are frozen.
 * - `scratch`: the same architecture, freshly initialised, all trained (the baseline).
 *
 * The head is always replaced to the target's number of classes; the source weights file is only
 * read, never written.
 */
import { noGrad, type ParamGroupSpec, type Tensor } from '../torch/index.js';
import type { TrainModel } from './trainer.js';

/** A transfer mode as configs name it. */
export type TransferMode = 'fixed' | 'full' | 'scratch' | `partial:${number}`;

/** Parses and validates a mode string. */
export function parseTransferMode(s: string): { kind: 'fixed' | 'full' | 'scratch' } | { kind: 'partial'; k: number } {
  if (s === 'fixed' || s === 'full' || s === 'scratch') return { kind: s };
  const m = /^partial:(\d+)$/.exec(s);
  if (m) {
    const k = Number(m[1]);
    if (k < 1) throw new RangeError(`transfer mode '${s}': k must be at least 1`);
    return { kind: 'partial', k };
  }
  throw new RangeError(`unknown transfer mode '${s}' (expected fixed, full, scratch or partial:K)`);
}

/** What transfer needs of a model (src/nn's classifiers satisfy it). */
export interface TransferableModel extends TrainModel {
  backbone(x: Tensor): Tensor;
  readonly head: { forward(x: Tensor): Tensor; train(on?: boolean): unknown; parameters(): Tensor[] };
  replaceHead(numClasses: number): void;
  blocks(): { name: string; module: { parameters(): Tensor[] } }[];
  namedParameters(): Iterable<[string, Tensor]>;
}

/** Options of `prepareTransfer`. */
export interface TransferOptions {
  mode: TransferMode;
  /** Base learning rate (the target training's optimizer lr). */
  lr: number;
  /** Learning rate of the backbone (default: lr). */
  backboneLr?: number | null;
  /** Learning rate of the head (default: lr). */
  headLr?: number | null;
  /** Fixed mode: keep BatchNorm layers in train mode (default true, as the paper). */
  bnTrainInFixed?: boolean;
}

/** Everything the trainer needs to train a prepared model. */
export interface PreparedTransfer {
  paramGroups: ParamGroupSpec[];
  forward: (x: Tensor) => Tensor;
  setTraining: (on: boolean) => void;
  trainable: number;
  frozen: number;
  /** Names of trainable parameters. */
  trainableNames: string[];
}

function lastBlockParams(model: TransferableModel, k: number): Set<Tensor> {
  const blocks = model.blocks();
  if (k > blocks.length)
    throw new RangeError(
      `partial:${k} asks for more blocks than the model has (${blocks.length}: ${blocks.map((b) => b.name).join(', ')})`,
    );
  return new Set(blocks.slice(blocks.length - k).flatMap((b) => b.module.parameters()));
}

/**
 * Freezes and groups the parameters of `model` (whose head already has the target's classes)
 * for the given mode. Call after loading source weights (or not, for scratch).
 */
export function prepareTransfer(model: TransferableModel, opts: TransferOptions): PreparedTransfer {
  const mode = parseTransferMode(opts.mode);
  const named = [...model.namedParameters()];
  const headParams = new Set<Tensor>(model.head.parameters());
  if (headParams.size === 0) throw new Error('model has no head parameters');
  let trainableBackbone: (name: string, p: Tensor) => boolean;
  switch (mode.kind) {
    case 'fixed':
      trainableBackbone = () => false;
      break;
    case 'full':
    case 'scratch':
      trainableBackbone = () => true;
      break;
    case 'partial': {
      const chosen = lastBlockParams(model, mode.k);
      trainableBackbone = (_name, p) => chosen.has(p);
      break;
    }
  }
  const backboneGroup: { params: Tensor[]; names: string[] } = { params: [], names: [] };
  const headGroup: { params: Tensor[]; names: string[] } = { params: [], names: [] };
  let frozen = 0;
  let trainable = 0;
  const trainableNames: string[] = [];
  for (const [name, p] of named) {
    const isHead = headParams.has(p);
    const on = isHead || trainableBackbone(name, p);
    p.requiresGrad = on;
    if (!on) {
      frozen += p.numel;
      continue;
    }
    trainable += p.numel;
    trainableNames.push(name);
    const g = isHead ? headGroup : backboneGroup;
    g.params.push(p);
    g.names.push(name);
  }
  const paramGroups: ParamGroupSpec[] = [];
  if (backboneGroup.params.length > 0) paramGroups.push({ ...backboneGroup, lr: opts.backboneLr ?? opts.lr });
  paramGroups.push({ ...headGroup, lr: opts.headLr ?? opts.lr });

  const bnTrain = opts.bnTrainInFixed ?? true;
  if (mode.kind === 'fixed') {
    return {
      paramGroups,
      trainable,
      frozen,
      trainableNames,
      // Backbone without autograd: no graph, no gradients; BN running stats still update in train mode.
      forward: (x) => {
        const f = noGrad(() => model.backbone(x));
        try {
          return model.head.forward(f);
        } finally {
          f.dispose();
        }
      },
      setTraining: (on) => {
        if (!on) model.eval();
        else if (bnTrain) model.train(true);
        else {
          model.eval();
          model.head.train(true);
        }
      },
    };
  }
  return {
    paramGroups,
    trainable,
    frozen,
    trainableNames,
    forward: (x) => model.forward(x),
    setTraining: (on) => void (on ? model.train(true) : model.eval()),
  };
}
