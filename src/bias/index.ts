/** Bias injection: triggers, poisoning policies, spurious composition, natural-bias patches, example grids. */
export * from './pixels.js';
export * from './position.js';
export * from './classes.js';
export * from './overlay.js';
export * from './trigger.js';
export * from './poison.js';
export * from './spurious.js';
export * from './patch.js';
export * from './grid.js';
export * from './schema.js';
export * from './stream.js';
