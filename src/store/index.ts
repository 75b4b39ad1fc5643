/** Results folder: run layout, SQLite index of runs and metrics (one query builder, a read-only reader), job claims, model cache, code version. */
export * from './store.js';
export * from './query.js';
export * from './reader.js';
export * from './facts.js';
export * from './cache.js';
export * from './claims.js';
export * from './layout.js';
export * from './meta.js';
export { notADatabase } from './db.js';
export { isProcessAlive, processStartTime } from './process.js';
