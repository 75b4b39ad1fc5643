/**
 * Neural-network modules in the shape of torch.nn, and the model zoo.
 *
 * @example
 *   import { createModel, saveModel } from './nn/index.js';
 *   const model = createModel({ arch: 'resnet18', numClasses: 10, inChannels: 3, smallInput: true });
 *   const logits = tidy(() => model.eval().forward(x)); // [N, 10]
 */
export * from './module.js';
export * from './init.js';
export * from './layers/index.js';
export * from './models/index.js';
export * from './weights.js';
export * from './summary.js';
export * from './fusion.js';
export * from './checkpoint-keys.js';
