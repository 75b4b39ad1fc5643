/** Results folder: run layout, SQLite index of runs and metrics, job claims, model cache. */
export * from './store.js';
export * from './cache.js';
export * from './claims.js';
export * from './layout.js';
export * from './meta.js';
export { notADatabase } from './db.js';
export { isProcessAlive, processStartTime } from './process.js';
