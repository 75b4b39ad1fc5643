/** Layers: PyTorch's torch.nn building blocks with PyTorch's names, shapes and default initialisation. */
export * from './conv.js';
export * from './linear.js';
export * from './batchnorm.js';
export * from './activation.js';
export * from './pooling.js';
export * from './sequential.js';
