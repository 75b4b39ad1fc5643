/**
 * bias-transfer's tensor layer: libtorch through a Node-API addon.
 *
 * @example
 *   import * as torch from './torch/index.js';
 *   const x = torch.randn([8, 3, 32, 32]);
 *   const y = torch.tidy(() => torch.conv2d(x, w, { padding: 1 }).relu());
 */
import { whenAddonLoads } from './native.js';
import { defaultThreads } from './runtime.js';

export * from './tensor.js';
export * from './ops.js';
export * from './scope.js';
export * from './autograd.js';
export * from './runtime.js';
export * from './optim.js';
export * from './safetensors.js';

// libtorch's OpenMP default can be 1 under some CPU quotas; start with what the machine offers
// (when the addon loads, on the first tensor operation; a setNumThreads call then overrides it).
whenAddonLoads((addon) => addon.SetNumThreads(defaultThreads()));
