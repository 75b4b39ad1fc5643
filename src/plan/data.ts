/**
 * The data a run's jobs are computed from (its source variants, normalisation, geometry, source
 * test set, and each target's training set and evaluation conditions), built on first use and
 * kept for the run's other jobs: the planner needs the source variants (their content is part of
 * every source-model key), the in-process executor and a queue worker need them and the targets,
 * and the runner needs the targets' facts for the metric rows. All of it is a pure function of
 * the sweep point's config, the seed, the config's folder and the content of the files it reads
 * (the inputs hash), which together key the memo, so data changed in place is never served from
 * memory.
 *
 * Kept within a byte budget ({@link BUDGET_BYTES}) and dropped by `releaseRunData` once a run is
 * stored. The planner adds runs only while they fit (so a large sweep does not push out the runs
 * about to execute, which come first); executors evict the least recently used run instead.
 */
import { stableHash, type ExperimentConfig } from '../experiment/config/index.js';
import type { TargetData } from '../experiment/prepare.js';
import { prepareTarget } from '../experiment/prepare.js';
import { runInputs, type RunInputs } from '../experiment/runner.js';

/** What identifies a run's data: its sweep point's config, seed, folder and inputs hash. */
export interface RunDataKey {
  config: ExperimentConfig;
  configDir: string;
  seed: number;
  /** inputsHash of the config (from the plan). */
  inputs: string;
  /**
   * Where streamed folders' shard caches and file-digest memos live (`stream: true` datasets):
   * the plan's `cacheRoot` (carried by each planned run), or a queue worker's own, resolved once
   * by whoever makes the key. A location, not part of the data's identity, so not part of the key.
   */
  cacheRoot: string;
  /** Where preparing the data reports (a shard cache being built); not part of the key. */
  log?: (line: string) => void;
}

/** A run's data, built on demand. */
export interface RunData {
  /** The source side: variants, normalisation, geometry, source test set. */
  inputs(): RunInputs;
  /** Target `index`'s training set and evaluation conditions. */
  target(index: number): TargetData;
}

/** Bytes of image data kept in memory across runs (512 MiB: about five MNIST-sized runs). */
const BUDGET_BYTES = 512 * 2 ** 20;

interface Entry {
  data: RunData;
  bytes: number;
}
const memo = new Map<string, Entry>();
let memoBytes = 0;

function keyOf(k: RunDataKey): string {
  return stableHash({ config: { ...k.config, seeds: [k.seed] }, seed: k.seed, dir: k.configDir, inputs: k.inputs });
}

function bytesOf(inputs: RunInputs): number {
  const buffers = new Set<ArrayBufferLike>();
  let n = 0;
  for (const ds of [inputs.sourceBase, ...inputs.variants.map((v) => v.dataset), inputs.sourceTest])
    // A streamed dataset holds no pixels in memory (they are read from the shard cache).
    if (ds !== null && 'images' in ds && !buffers.has(ds.images.buffer)) {
      buffers.add(ds.images.buffer);
      n += ds.images.byteLength;
    }
  return n;
}

function build(k: RunDataKey): RunData {
  const pctx = { config: k.config, configDir: k.configDir, cacheRoot: k.cacheRoot, ...(k.log ? { log: k.log } : {}) };
  let inputs: RunInputs | null = null;
  const targets = new Map<number, TargetData>();
  const data: RunData = {
    inputs: () => (inputs ??= runInputs(pctx, k.seed)),
    target(index) {
      let t = targets.get(index);
      if (t === undefined) {
        t = prepareTarget(pctx, index, k.seed, data.inputs().sourceBase);
        targets.set(index, t);
      }
      return t;
    },
  };
  return data;
}

/**
 * The data of the run `k` identifies, from memory or built now (the source side at once).
 * `keep`: 'lru' (default) keeps it, evicting the least recently used runs beyond the budget;
 * 'if-room' keeps it only if it fits without evicting anything (the planner's choice).
 */
export function runData(k: RunDataKey, keep: 'lru' | 'if-room' = 'lru'): RunData {
  const key = keyOf(k);
  const hit = memo.get(key);
  if (hit !== undefined) {
    memo.delete(key);
    memo.set(key, hit);
    return hit.data;
  }
  const data = build(k);
  const bytes = bytesOf(data.inputs());
  if (keep === 'if-room' && memoBytes + bytes > BUDGET_BYTES) return data;
  memo.set(key, { data, bytes });
  memoBytes += bytes;
  for (const [other, e] of memo) {
    if (memoBytes <= BUDGET_BYTES || other === key) break;
    memo.delete(other);
    memoBytes -= e.bytes;
  }
  return data;
}

/** Forgets the data of a run (its results are stored; nothing needs it again). */
export function releaseRunData(k: RunDataKey): void {
  const key = keyOf(k);
  const e = memo.get(key);
  if (e === undefined) return;
  memo.delete(key);
  memoBytes -= e.bytes;
}
