/** The on-disk shard cache of decoded image folders and its streamed reader. */
export * from './decode.js';
export * from './shards.js';
export * from './streamed.js';
export * from './spec.js';
