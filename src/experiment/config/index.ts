/** Experiment configs: schema, loading with overrides, sweeps, hashing, JSON Schema. */
export * from './schema.js';
export * from './load.js';
export * from './sweep.js';
export * from '../../store/hash.js';
export * from './errors.js';
export * from './key-path.js';
export { exportJsonSchema } from './json-schema.js';
export { closestMatch, editDistance } from './suggest.js';
