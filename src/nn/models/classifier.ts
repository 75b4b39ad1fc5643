/** The interface every model of the zoo implements, so transfer code can treat them alike. */
import type { Tensor } from '../../torch/index.js';
import type { Linear } from '../layers/linear.js';
import type { Module } from '../module.js';
import type { ModelSpec } from './spec.js';

/** One stage of a model's feature extractor, named as in its state dict (`stem`, `layer1.0`, ...). */
export interface NamedBlock {
  name: string;
  module: Module;
}

/**
 * An image classifier split into a backbone (features [N, featureDim]) and a linear head.
 * `blocks()` lists the backbone from input to output, so "fine-tune the last k blocks" means
 * `for (const b of model.blocks().slice(-k)) model.unfreeze(b.module)`.
 */
export interface Classifier extends Module {
  /** The spec that builds this model (architecture, classes, channels, options). */
  readonly spec: ModelSpec;
  /** Width of the backbone's features (input size of the head). */
  readonly featureDim: number;
  /** The classification layer: [N, featureDim] → [N, numClasses]. Registered as `fc`. */
  readonly head: Linear;
  /** Features before the head: [N, C, H, W] → [N, featureDim]. */
  backbone(x: Tensor): Tensor;
  /** Logits: head(backbone(x)), [N, numClasses]. */
  forward(x: Tensor): Tensor;
  /** Backbone blocks in order from the stem to the last stage (head excluded). */
  blocks(): NamedBlock[];
  /**
   * Replaces the head by a fresh Linear(featureDim, numClasses) with PyTorch's default init
   * (from libtorch's generator), disposing the old one; updates `spec.numClasses`. Returns the new head.
   */
  replaceHead(numClasses: number): Linear;
}
