/**
 * A dataset spec (src/data/registry.ts) read through the shard cache instead of into memory: the
 * same images, labels, classes, holdout, class filter and limit as `loadDataset`, each sample's
 * pixels read from the cache when a batch needs them.
 *
 * The selection (holdout, classes, limit, and an experiment's range and seeded limit) is computed
 * by the very functions the in-memory path uses (`trainValSplit`, `filterClasses`, `limit`,
 * `selectIndices`), run on a one-byte-per-sample stand-in whose content ids carry the sample
 * indices (`selectStreamedVia`), so a streamed spec selects the same images in the same order as
 * `loadDataset` by construction, not by a second implementation.
 */
import path from 'node:path';
import { filterClasses, limit as limitDataset, trainValSplit } from '../dataset.js';
import { fixedOutputSize } from '../decode.js';
import { DatasetError } from '../errors.js';
import { folderSplitDir } from '../loaders/folder.js';
import { hasOwnTestSplit, type DatasetSpec } from '../registry.js';
import { Rng } from '../rng.js';
import { checkIndices, type ImageDataset, type StreamedDataset } from '../types.js';
import type { DecodeSettings } from './decode.js';
import { buildShardCache, cacheKey, fileDigests, listImageFolder } from './shards.js';
import { ShardDataset } from './streamed.js';

/**
 * The samples `indices` of a streamed dataset, in that order, as a streamed dataset (no pixels
 * are read until a batch asks). Labels and classes may be replaced (a relabelling class filter);
 * content ids and attributes follow the samples.
 */
export function selectStreamed(
  base: StreamedDataset,
  indices: ArrayLike<number>,
  opts: { name?: string; labels?: Int32Array; classes?: readonly string[] } = {},
): StreamedDataset {
  checkIndices(base, indices);
  const map = Int32Array.from(indices);
  const n = map.length;
  const labels = opts.labels ?? Int32Array.from(map, (i) => base.labels[i]);
  if (labels.length !== n) throw new RangeError(`selectStreamed: ${labels.length} labels for ${n} samples`);
  const contentIds = base.contentIds ? Array.from(map, (i) => base.contentIds![i]) : undefined;
  const attributes = base.attributes ? Uint8Array.from(map, (i) => base.attributes![i]) : undefined;
  const ds: StreamedDataset = {
    name: opts.name ?? base.name,
    labels,
    classes: opts.classes ?? base.classes,
    n,
    c: base.c,
    h: base.h,
    w: base.w,
    ...(contentIds ? { contentIds } : {}),
    ...(attributes ? { attributes } : {}),
    read(idx) {
      checkIndices(ds, idx);
      return base.read(Int32Array.from(idx, (i) => map[i]));
    },
    prefetch(idx) {
      for (let b = 0; b < idx.length; b++) if (!Number.isInteger(idx[b]) || idx[b] < 0 || idx[b] >= n) return;
      base.prefetch?.(Int32Array.from(idx, (i) => map[i]));
    },
  };
  return ds;
}

/**
 * Applies an in-memory selection (`filterClasses`, `limit`, `trainValSplit`, `selectIndices`, …:
 * any function that picks, reorders and relabels samples without looking at pixels) to a streamed
 * dataset. `op` runs on a stand-in with the same labels, classes and name and one byte per
 * sample, whose content ids are the sample indices; the chosen indices, labels, classes and name
 * are then applied to `ds` with `selectStreamed`.
 *
 * @example selectStreamedVia(ds, (d) => limit(d, 100, { rng, perClass: true })) // the 100 images limit() would pick
 */
export function selectStreamedVia(ds: StreamedDataset, op: (stub: ImageDataset) => ImageDataset): StreamedDataset {
  const stub: ImageDataset = {
    name: ds.name,
    images: new Uint8Array(ds.n),
    labels: ds.labels,
    classes: ds.classes,
    n: ds.n,
    c: 1,
    h: 1,
    w: 1,
    contentIds: Array.from({ length: ds.n }, (_, i) => String(i)),
  };
  const out = op(stub);
  if (out.contentIds === undefined || out.c !== 1 || out.h !== 1 || out.w !== 1)
    throw new RangeError(`selectStreamedVia: the selection of '${ds.name}' dropped the sample indices or changed the geometry`);
  const idx = Int32Array.from(out.contentIds, Number);
  return selectStreamed(ds, idx, { name: out.name, labels: out.labels, classes: out.classes });
}

/** Options of `streamDataset`. */
export interface StreamDatasetOptions {
  /** The cache folder (`resolveCacheRoot`). */
  readonly cacheRoot: string;
  /** Progress lines of a cache build. */
  readonly log?: (line: string) => void;
  /** Read the next batch on a worker thread (default true). */
  readonly prefetch?: boolean;
}

/** Open shard caches by folder, so one process reads each cache through one set of files and one worker. */
const opened = new Map<string, ShardDataset>();

/**
 * The output [height, width] a streamed spec decodes to: `size`, or the `transform`'s centre crop.
 * Throws a DatasetError when neither fixes it (a cache holds images of one size).
 */
function cachedSize(spec: DatasetSpec, where: string): [number, number] {
  if (spec.size !== undefined) return [spec.size[0], spec.size[1]];
  const fixed = fixedOutputSize(spec.transform);
  if (fixed !== null) return fixed;
  throw new DatasetError(
    where,
    'a streamed folder needs a fixed image size: set size: [h, w] or transform.centerCrop (the shard cache stores every image at one size)',
  );
}

/**
 * The dataset `spec` names, streamed from the shard cache under `opts.cacheRoot` (built on first
 * use, resumed if interrupted, reused afterwards): the same samples, order, labels, classes and
 * content ids as `loadDataset(spec)`, and the same bytes per sample (the cache decodes with the
 * same function). Only image folders can be streamed; other formats are small enough for memory.
 *
 * @example streamDataset({ name: 'folder', split: 'train', path: 'photos', size: [224, 224] }, { cacheRoot: resolveCacheRoot() })
 */
export function streamDataset(spec: DatasetSpec, opts: StreamDatasetOptions): StreamedDataset {
  if (spec.name !== 'folder')
    throw new DatasetError(
      `<dataset ${spec.name}>`,
      `only 'folder' datasets can be streamed from the shard cache ('${spec.name}' is read into memory: drop stream)`,
    );
  if (spec.split !== 'train' && spec.split !== 'test')
    throw new DatasetError(`<dataset ${spec.name}>`, `split must be 'train' or 'test', got ${JSON.stringify(spec.split)}`);
  const root = spec.path;
  if (root === undefined || root === '') throw new DatasetError('<dataset folder>', "the 'path' setting is required for dataset 'folder'");
  const holdout = spec.holdout;
  if (holdout !== undefined) {
    if (!(holdout > 0 && holdout < 1))
      throw new DatasetError(root, `holdout must be a share between 0 and 1 (e.g. 0.2), got ${String(holdout)}`);
    if (hasOwnTestSplit(spec))
      throw new DatasetError(
        root,
        `has a test split of its own, so holdout: ${holdout} does not apply (it would mix the two): remove holdout and use split 'test'`,
      );
  }
  const { dir, name, settings } = cachedFolderOf(spec, root, holdout);
  const built = buildShardCache(listImageFolder(dir), { cacheRoot: opts.cacheRoot, settings, name, log: opts.log });
  let shard = opened.get(built.dir);
  if (shard === undefined) {
    shard = new ShardDataset(built.dir, built.manifest, { name, prefetch: opts.prefetch });
    opened.set(built.dir, shard);
  }
  // Content ids as loadImageFolder makes them: sha256 of the file's bytes, first 24 hex.
  const ids = built.manifest.files.map((f) => f.sha256.slice(0, 24));
  let ds: StreamedDataset = withIds(shard, ids, name);
  if (holdout !== undefined) {
    const seed = spec.holdoutSeed ?? 0;
    ds = selectStreamedVia(ds, (d) => {
      const parts = trainValSplit(d, holdout, new Rng(seed, 'holdout'));
      return { ...parts[spec.split === 'test' ? 'val' : 'train'], name: `${d.name}[holdout ${holdout} seed ${seed}: ${spec.split}]` };
    });
  }
  const classes = spec.classes;
  if (classes !== undefined) ds = selectStreamedVia(ds, (d) => filterClasses(d, classes));
  const lim = spec.limit;
  if (lim !== undefined) ds = selectStreamedVia(ds, (d) => limitDataset(d, lim));
  return ds;
}

/** The split folder a streamed folder spec caches, its dataset name and its decode settings. */
function cachedFolderOf(
  spec: DatasetSpec,
  root: string,
  holdout: number | undefined,
): { dir: string; name: string; settings: DecodeSettings } {
  const dir = folderSplitDir(root, holdout === undefined ? spec.split : 'train');
  const name = `folder/${path.basename(path.resolve(root))}${dir === root ? '' : `/${path.basename(dir)}`}`;
  const size = cachedSize(spec, root);
  return {
    dir,
    name,
    settings: { channels: spec.channels ?? 3, size, ...(spec.transform !== undefined ? { transform: spec.transform } : {}) },
  };
}

/**
 * The shard cache key of a streamed folder spec (its split folder's file contents, labels and
 * classes, and the decode settings), computed without decoding or building anything: the files'
 * digests are read from, or added to, the memo under `cacheRoot`. What a run id records of a
 * streamed dataset's content (src/experiment/inputs.ts); `holdout`, `classes` and `limit` are
 * in the config itself.
 */
export function streamedContentKey(spec: DatasetSpec, cacheRoot: string): string {
  if (spec.name !== 'folder' || spec.path === undefined || spec.path === '')
    throw new DatasetError(`<dataset ${spec.name}>`, "only a 'folder' dataset with a path can be streamed");
  const { dir, settings } = cachedFolderOf(spec, spec.path, spec.holdout);
  const listing = listImageFolder(dir);
  return cacheKey(listing, fileDigests(listing, cacheRoot).digests, settings);
}

/** `ds` (read through) with content ids and a name. */
function withIds(ds: StreamedDataset, contentIds: readonly string[], name: string): StreamedDataset {
  return {
    name,
    labels: ds.labels,
    classes: ds.classes,
    n: ds.n,
    c: ds.c,
    h: ds.h,
    w: ds.w,
    contentIds,
    read: (idx) => ds.read(idx),
    prefetch: (idx) => ds.prefetch?.(idx),
  };
}
