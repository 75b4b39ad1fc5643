/** The data layer: datasets, loaders, conversion and batching. */
export * from './types.js';
export * from './rng.js';
export * from './errors.js';
export * from './dataset.js';
export * from './image.js';
export * from './decode.js';
export * from './geometry.js';
export * from './transforms.js';
export * from './loader.js';
export * from './registry.js';
export * from './loaders/idx.js';
export * from './loaders/fashionMnist.js';
export * from './loaders/mnist.js';
export * from './loaders/cifar.js';
export * from './loaders/folder.js';
export * from './cache/index.js';
