/**
 * A shard cache as a `StreamedDataset`: labels, classes and geometry from the manifest, pixels
 * read per batch with `fs.readSync` at offsets (never a whole shard), and `prefetch` reading the
 * next batch on a worker thread into shared memory while the main thread trains on this one.
 *
 * The trainer's loop is synchronous, so the hand-over is too: `read` of a prefetched batch waits
 * with `Atomics.wait` until the worker has set the batch's flag (usually long done). A prefetch
 * that failed, or indices that were not prefetched, are read on the main thread, so prefetching
 * changes when bytes are read, never which.
 */
import fs from 'node:fs';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { DatasetError } from '../errors.js';
import { checkIndices, type StreamedDataset } from '../types.js';
import { buildShardCache, listImageFolder, readManifest, resolveCacheRoot, type ShardManifest } from './shards.js';

// The worker's code, plain JavaScript run with `eval` so it loads the same way under tsx and from
// compiled output. It owns its own file descriptors.
const WORKER_CODE = `
const fs = require('node:fs');
const { parentPort, workerData } = require('node:worker_threads');
const { files, shardSize, imageBytes } = workerData;
const fds = new Map();
const fdOf = (s) => { let fd = fds.get(s); if (fd === undefined) { fd = fs.openSync(files[s], 'r'); fds.set(s, fd); } return fd; };
parentPort.on('message', ({ indices, data, flag }) => {
  const out = new Uint8Array(data);
  const state = new Int32Array(flag);
  try {
    for (let b = 0; b < indices.length; b++) {
      const i = indices[b];
      const s = Math.floor(i / shardSize);
      const got = fs.readSync(fdOf(s), out, b * imageBytes, imageBytes, (i - s * shardSize) * imageBytes);
      if (got !== imageBytes) throw new Error('short read');
    }
    Atomics.store(state, 0, 1);
  } catch (e) {
    Atomics.store(state, 0, 2);
  }
  Atomics.notify(state, 0);
});
`;

interface Pending {
  indices: Int32Array;
  data: SharedArrayBuffer;
  flag: Int32Array;
}

/** Options of `openShardCache`. */
export interface OpenCacheOptions {
  /** Read the next batch on a worker thread when hinted (default true). */
  readonly prefetch?: boolean;
  /** Name for logs (default: the manifest's). */
  readonly name?: string;
}

/** A shard cache opened for reading; close it (or `using`) to release its files and worker. */
export class ShardDataset implements StreamedDataset, Disposable {
  readonly name: string;
  readonly labels: Int32Array;
  readonly classes: readonly string[];
  readonly n: number;
  readonly c: number;
  readonly h: number;
  readonly w: number;
  /** Bytes of one image (c·h·w). */
  readonly imageBytes: number;
  private readonly files: string[];
  private readonly fds = new Map<number, number>();
  private worker: Worker | undefined;
  private pending: Pending[] = [];
  private closed = false;
  /** Batches served from a finished prefetch, and batches read on the calling thread. */
  readonly stats = { prefetched: 0, direct: 0 };

  constructor(
    /** The cache folder (holding manifest.json). */
    readonly dir: string,
    readonly manifest: ShardManifest,
    private readonly opts: OpenCacheOptions = {},
  ) {
    this.name = opts.name ?? manifest.name;
    this.labels = Int32Array.from(manifest.files, (f) => f.label);
    this.classes = manifest.classes;
    this.n = manifest.n;
    this.c = manifest.c;
    this.h = manifest.h;
    this.w = manifest.w;
    this.imageBytes = manifest.c * manifest.h * manifest.w;
    this.files = manifest.shards.map((s) => path.join(dir, s));
  }

  private check(): void {
    if (this.closed) throw new Error(`shard cache '${this.name}' (${this.dir}) was closed`);
  }

  private fd(s: number): number {
    let fd = this.fds.get(s);
    if (fd === undefined) {
      try {
        fd = fs.openSync(this.files[s], 'r');
      } catch (e) {
        throw new DatasetError(this.files[s], `cannot open shard (${(e as Error).message})`, { cause: e });
      }
      this.fds.set(s, fd);
    }
    return fd;
  }

  /** The pixels of `indices` (a new buffer, NCHW); see StreamedDataset.read. */
  read(indices: ArrayLike<number>): Uint8Array {
    this.check();
    checkIndices(this, indices);
    const k = this.pending.findIndex((p) => sameIndices(p.indices, indices));
    if (k >= 0) {
      const [p] = this.pending.splice(k, 1);
      Atomics.wait(p.flag, 0, 0);
      if (Atomics.load(p.flag, 0) === 1) {
        this.stats.prefetched++;
        return new Uint8Array(p.data);
      }
      // The worker failed: read here, where the error (if it persists) names the shard.
    }
    this.stats.direct++;
    const sz = this.imageBytes;
    const out = new Uint8Array(indices.length * sz);
    const per = this.manifest.shardSize;
    for (let b = 0; b < indices.length; b++) {
      const i = indices[b];
      const s = Math.floor(i / per);
      const got = fs.readSync(this.fd(s), out, b * sz, sz, (i - s * per) * sz);
      if (got !== sz)
        throw new DatasetError(this.files[s], `short read of image ${i} (${got} of ${sz} bytes): shard truncated, rebuild the cache`);
    }
    return out;
  }

  /** Starts reading `indices` on the worker thread (at most two batches ahead; older hints dropped). */
  prefetch(indices: ArrayLike<number>): void {
    this.check();
    if (this.opts.prefetch === false || indices.length === 0) return;
    for (let b = 0; b < indices.length; b++) if (!Number.isInteger(indices[b]) || indices[b] < 0 || indices[b] >= this.n) return;
    if (this.pending.some((p) => sameIndices(p.indices, indices))) return;
    this.worker ??= this.startWorker();
    const p: Pending = {
      indices: Int32Array.from(indices),
      data: new SharedArrayBuffer(indices.length * this.imageBytes),
      flag: new Int32Array(new SharedArrayBuffer(4)),
    };
    this.worker.postMessage({ indices: p.indices, data: p.data, flag: p.flag.buffer });
    this.pending.push(p);
    if (this.pending.length > 2) this.pending.shift();
  }

  private startWorker(): Worker {
    const w = new Worker(WORKER_CODE, {
      eval: true,
      workerData: { files: this.files, shardSize: this.manifest.shardSize, imageBytes: this.imageBytes },
    });
    w.unref();
    // A worker that dies leaves its flags at 0; read() would wait forever, so fail them.
    w.on('error', () => this.failPending());
    w.on('exit', () => this.failPending());
    return w;
  }

  private failPending(): void {
    for (const p of this.pending) {
      Atomics.compareExchange(p.flag, 0, 0, 2);
      Atomics.notify(p.flag, 0);
    }
    this.worker = undefined;
  }

  /** Closes the shard files and stops the worker; safe to call twice. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const fd of this.fds.values()) fs.closeSync(fd);
    this.fds.clear();
    this.pending = [];
    void this.worker?.terminate();
    this.worker = undefined;
  }

  [Symbol.dispose](): void {
    this.close();
  }
}

function sameIndices(a: Int32Array, b: ArrayLike<number>): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Opens a finished shard cache folder (throws a DatasetError naming the manifest or shard at fault). */
export function openShardCache(dir: string, opts: OpenCacheOptions = {}): ShardDataset {
  return new ShardDataset(dir, readManifest(dir)!, opts);
}

/** Options of `cachedImageFolder`. */
export interface CachedFolderOptions {
  /** The image folder (torchvision ImageFolder layout). */
  readonly path: string;
  /** Decoded [height, width]. */
  readonly size: readonly [number, number];
  /** Decoded channels (default 3). */
  readonly channels?: 1 | 3;
  /** Cache folder (default: `resolveCacheRoot()`: $BIAS_TRANSFER_CACHE or ./.cache). */
  readonly cacheRoot?: string;
  readonly shardSize?: number;
  readonly name?: string;
  readonly prefetch?: boolean;
  /** Progress lines of a build. */
  readonly log?: (line: string) => void;
}

/**
 * An image folder as a streamed dataset: decoded into the shard cache the first time (resuming an
 * interrupted build), opened from it afterwards.
 *
 * @example
 *   using ds = cachedImageFolder({ path: 'photos', size: [224, 224], log: console.error });
 *   for (const { x, y } of batches(ds, { batchSize: 64, spec })) { ... }
 */
export function cachedImageFolder(opts: CachedFolderOptions): ShardDataset {
  const built = buildShardCache(listImageFolder(opts.path), {
    cacheRoot: opts.cacheRoot ?? resolveCacheRoot(),
    settings: { channels: opts.channels ?? 3, size: opts.size },
    shardSize: opts.shardSize,
    name: opts.name,
    log: opts.log,
  });
  return new ShardDataset(built.dir, built.manifest, { prefetch: opts.prefetch, name: opts.name });
}
