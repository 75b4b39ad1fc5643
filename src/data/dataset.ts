/**
 * Pure helpers on `ImageDataset`: selecting, filtering, limiting, shuffling, splitting and
 * concatenating. Every function returns a new dataset with copied arrays (never a view into the
 * input), and is deterministic: the only randomness comes from an `Rng` passed in.
 */
import { createHash } from 'node:crypto';
import { Rng } from './rng.js';
import { imageSize, isStreamed, type AnyDataset, type DatasetInfo, type ImageDataset } from './types.js';

function checkIndex(ds: ImageDataset, i: number, where: string): void {
  if (!Number.isInteger(i) || i < 0 || i >= ds.n)
    throw new RangeError(`${where}: index ${i} is outside 0..${ds.n - 1} of dataset '${ds.name}'`);
}

/**
 * The samples at `idx`, in that order (repeats allowed), as a new dataset.
 *
 * @example selectIndices(ds, [3, 0, 7]) // 3 samples: ds[3], ds[0], ds[7]
 */
export function selectIndices(ds: ImageDataset, idx: ArrayLike<number>, opts: { name?: string } = {}): ImageDataset {
  const s = imageSize(ds);
  const images = new Uint8Array(idx.length * s);
  const labels = new Int32Array(idx.length);
  const attributes = ds.attributes ? new Uint8Array(idx.length) : undefined;
  const contentIds = ds.contentIds ? new Array<string>(idx.length) : undefined;
  for (let k = 0; k < idx.length; k++) {
    const i = idx[k];
    checkIndex(ds, i, 'selectIndices');
    images.set(ds.images.subarray(i * s, (i + 1) * s), k * s);
    labels[k] = ds.labels[i];
    if (attributes) attributes[k] = ds.attributes![i];
    if (contentIds) contentIds[k] = ds.contentIds![i];
  }
  return {
    name: opts.name ?? ds.name,
    images,
    labels,
    classes: [...ds.classes],
    n: idx.length,
    c: ds.c,
    h: ds.h,
    w: ds.w,
    ...(attributes ? { attributes } : {}),
    ...(contentIds ? { contentIds } : {}),
  };
}

/** Number of samples of each class: an Int32Array of length `ds.classes.length`. */
export function classCounts(ds: DatasetInfo): Int32Array {
  const counts = new Int32Array(ds.classes.length);
  for (let i = 0; i < ds.n; i++) {
    const l = ds.labels[i];
    if (l < 0 || l >= counts.length)
      throw new RangeError(`dataset '${ds.name}': label ${l} of sample ${i} is outside 0..${counts.length - 1}`);
    counts[l]++;
  }
  return counts;
}

/** Resolves class names or indices to label indices, with an error naming an unknown one. */
export function resolveClasses(ds: Pick<ImageDataset, 'name' | 'classes'>, classes: readonly (number | string)[]): number[] {
  return classes.map((c) => {
    const i = typeof c === 'number' ? c : ds.classes.indexOf(c);
    if (!Number.isInteger(i) || i < 0 || i >= ds.classes.length)
      throw new RangeError(
        `dataset '${ds.name}' has no class ${JSON.stringify(c)}; classes are: ${ds.classes.map((n, k) => `${k}=${n}`).join(', ')}`,
      );
    return i;
  });
}

/**
 * Keeps only the samples of the chosen classes (names or label indices), in their original order.
 * With `relabel` (default true) labels become 0..k-1 in the order `classes` lists them and
 * `classes` becomes those names; with `relabel: false` labels and class names are kept as they are.
 *
 * @example filterClasses(ds, ['Sandal', 'Sneaker']) // labels 0 = Sandal, 1 = Sneaker
 */
export function filterClasses(ds: ImageDataset, classes: readonly (number | string)[], opts: { relabel?: boolean } = {}): ImageDataset {
  const ids = resolveClasses(ds, classes);
  if (new Set(ids).size !== ids.length) throw new RangeError(`filterClasses: classes ${JSON.stringify(classes)} name a class twice`);
  const relabel = opts.relabel ?? true;
  const map = new Int32Array(ds.classes.length).fill(-1);
  ids.forEach((c, k) => (map[c] = k));
  const keep: number[] = [];
  for (let i = 0; i < ds.n; i++) if (map[ds.labels[i]] >= 0) keep.push(i);
  const out = selectIndices(ds, keep);
  if (!relabel) return out;
  const labels = out.labels.map((l) => map[l]);
  return { ...out, labels, classes: ids.map((c) => ds.classes[c]) };
}

/** Options of `limit`. */
export interface LimitOptions {
  /** Pick a seeded random subset instead of the first n (the result keeps dataset order). */
  rng?: Rng;
  /** Balance classes: each gets floor(n/k) samples, the first n mod k classes one more. */
  perClass?: boolean;
}

/**
 * At most `n` samples: the first n, or (with `rng`) a seeded random n; with `perClass` a
 * class-balanced n (an error if a class has too few). The result keeps the original order.
 * n >= ds.n without `perClass` returns a copy of the whole dataset.
 */
export function limit(ds: ImageDataset, n: number, opts: LimitOptions = {}): ImageDataset {
  if (!Number.isInteger(n) || n < 0) throw new RangeError(`limit: n must be a non-negative integer, got ${n}`);
  let chosen: number[];
  if (opts.perClass) {
    const k = ds.classes.length;
    const byClass = indicesByClass(ds);
    chosen = [];
    for (let c = 0; c < k; c++) {
      const want = Math.floor(n / k) + (c < n % k ? 1 : 0);
      const pool = byClass[c];
      if (pool.length < want)
        throw new RangeError(
          `limit: class ${c} (${ds.classes[c]}) of '${ds.name}' has ${pool.length} samples, ${want} needed for ${n} balanced`,
        );
      const pick = opts.rng ? Array.from(opts.rng.fork(`class${c}`).sample(pool.length, want), (j) => pool[j]) : pool.slice(0, want);
      chosen.push(...pick);
    }
  } else if (n >= ds.n) chosen = Array.from({ length: ds.n }, (_, i) => i);
  else chosen = opts.rng ? Array.from(opts.rng.sample(ds.n, n)) : Array.from({ length: n }, (_, i) => i);
  chosen.sort((a, b) => a - b);
  return selectIndices(ds, chosen);
}

/** The samples in a seeded random order. */
export function shuffleDataset(ds: ImageDataset, rng: Rng): ImageDataset {
  return selectIndices(ds, rng.permutation(ds.n));
}

function indicesByClass(ds: ImageDataset): number[][] {
  const out: number[][] = ds.classes.map(() => []);
  for (let i = 0; i < ds.n; i++) {
    const l = ds.labels[i];
    if (out[l] === undefined)
      throw new RangeError(`dataset '${ds.name}': label ${l} of sample ${i} is outside 0..${ds.classes.length - 1}`);
    out[l].push(i);
  }
  return out;
}

/**
 * A stratified split: from each class, round(count * valFraction) samples chosen by `rng` go to
 * `val`, the rest to `train`; both keep the original order. Same rng seed → same split.
 */
export function trainValSplit(ds: ImageDataset, valFraction: number, rng: Rng): { train: ImageDataset; val: ImageDataset } {
  if (!(valFraction >= 0 && valFraction <= 1)) throw new RangeError(`trainValSplit: valFraction must be in [0, 1], got ${valFraction}`);
  const isVal = new Uint8Array(ds.n);
  indicesByClass(ds).forEach((pool, c) => {
    const k = Math.round(pool.length * valFraction);
    for (const j of rng.fork(`class${c}`).sample(pool.length, k)) isVal[pool[j]] = 1;
  });
  const train: number[] = [];
  const val: number[] = [];
  for (let i = 0; i < ds.n; i++) (isVal[i] ? val : train).push(i);
  return { train: selectIndices(ds, train, { name: `${ds.name}:train` }), val: selectIndices(ds, val, { name: `${ds.name}:val` }) };
}

/**
 * The datasets one after another. All must share image shape and class names; attributes are
 * kept only if every part has them (an error if only some do).
 */
export function concatDatasets(parts: readonly ImageDataset[], opts: { name?: string } = {}): ImageDataset {
  if (parts.length === 0) throw new RangeError('concatDatasets: no datasets given');
  const [first] = parts;
  const withAttr = parts.filter((p) => p.attributes !== undefined).length;
  if (withAttr !== 0 && withAttr !== parts.length) throw new RangeError('concatDatasets: some datasets have attributes and some do not');
  for (const p of parts) {
    if (p.c !== first.c || p.h !== first.h || p.w !== first.w)
      throw new RangeError(
        `concatDatasets: '${p.name}' has images ${p.c}x${p.h}x${p.w}, '${first.name}' has ${first.c}x${first.h}x${first.w}`,
      );
    if (p.classes.length !== first.classes.length || p.classes.some((c, i) => c !== first.classes[i]))
      throw new RangeError(
        `concatDatasets: '${p.name}' has classes [${p.classes.join(', ')}], '${first.name}' has [${first.classes.join(', ')}]`,
      );
  }
  const n = parts.reduce((a, p) => a + p.n, 0);
  const s = imageSize(first);
  const images = new Uint8Array(n * s);
  const labels = new Int32Array(n);
  const attributes = withAttr ? new Uint8Array(n) : undefined;
  // Content ids survive only when every part has them.
  const contentIds = parts.every((p) => p.contentIds !== undefined) ? parts.flatMap((p) => p.contentIds!.slice(0, p.n)) : undefined;
  let off = 0;
  for (const p of parts) {
    images.set(p.images.subarray(0, p.n * s), off * s);
    labels.set(p.labels.subarray(0, p.n), off);
    if (attributes) attributes.set(p.attributes!.subarray(0, p.n), off);
    off += p.n;
  }
  return {
    name: opts.name ?? parts.map((p) => p.name).join('+'),
    images,
    labels,
    classes: [...first.classes],
    n,
    c: first.c,
    h: first.h,
    w: first.w,
    ...(attributes ? { attributes } : {}),
    ...(contentIds ? { contentIds } : {}),
  };
}

/** A copy of the dataset with the given 0/1 attribute per sample (length n). */
export function withAttributes(ds: ImageDataset, attributes: ArrayLike<number>): ImageDataset {
  if (attributes.length !== ds.n)
    throw new RangeError(`withAttributes: ${attributes.length} attributes for ${ds.n} samples of '${ds.name}'`);
  const a = Uint8Array.from(attributes);
  for (let i = 0; i < a.length; i++)
    if (a[i] > 1) throw new RangeError(`withAttributes: attribute ${i} is ${attributes[i]}, expected 0 or 1`);
  return { ...ds, images: ds.images.slice(), labels: ds.labels.slice(), classes: [...ds.classes], attributes: a };
}

const digests = new WeakMap<AnyDataset, string>();

/** Images a streamed dataset's digest reads at once. */
const DIGEST_CHUNK = 256;

/**
 * sha256 (first 32 hex) of a dataset's content: geometry, class names, pixels, labels and
 * attributes — not its name or where it was read from. Two copies of the same data digest
 * alike; a changed pixel or label does not. A streamed dataset is read in chunks of 256 images
 * and hashed incrementally, so it digests exactly as the same data held in memory. Memoised per
 * dataset object (datasets are immutable).
 *
 * @example datasetDigest(loadDataset({ name: 'mnist', split: 'test' })) // '3f0c…' (32 hex)
 */
export function datasetDigest(ds: AnyDataset): string {
  let d = digests.get(ds);
  if (d === undefined) {
    const h = createHash('sha256');
    h.update(JSON.stringify({ n: ds.n, c: ds.c, h: ds.h, w: ds.w, classes: ds.classes, attributes: ds.attributes !== undefined }));
    if (isStreamed(ds))
      for (let i = 0; i < ds.n; i += DIGEST_CHUNK)
        h.update(ds.read(Int32Array.from({ length: Math.min(DIGEST_CHUNK, ds.n - i) }, (_, j) => i + j)));
    else h.update(ds.images);
    h.update(new Uint8Array(ds.labels.buffer, ds.labels.byteOffset, ds.labels.byteLength));
    if (ds.attributes) h.update(ds.attributes);
    d = h.digest('hex').slice(0, 32);
    digests.set(ds, d);
  }
  return d;
}

/**
 * The same dataset with a content id per sample: sha256 (first 24 hex) of each image's pixels as
 * they are now. Loaders call it on the native pixels, before any resize or channel conversion, so
 * the ids follow the stored images; a dataset that already has ids is returned as it is.
 */
export function withContentIds(ds: ImageDataset): ImageDataset {
  if (ds.contentIds !== undefined) return ds;
  const s = imageSize(ds);
  const contentIds = new Array<string>(ds.n);
  for (let i = 0; i < ds.n; i++)
    contentIds[i] = createHash('sha256')
      .update(ds.images.subarray(i * s, (i + 1) * s))
      .digest('hex')
      .slice(0, 24);
  return { ...ds, contentIds };
}

/** What two datasets share, by content id (`sharedImages`). */
export interface SharedImages {
  /** Number of samples of `b` whose image also occurs in `a`. */
  count: number;
  /** Up to 3 examples: the position of the image in `a` and in `b`. */
  examples: { a: number; b: number }[];
}

/**
 * The images two datasets share, compared by their content ids (see `withContentIds`), whatever
 * their names, specs or preprocessing. Throws when either dataset has no content ids.
 *
 * @example sharedImages(train, test).count // 0 for a proper split
 */
export function sharedImages(a: DatasetInfo, b: DatasetInfo): SharedImages {
  if (a.contentIds === undefined || b.contentIds === undefined)
    throw new RangeError(`sharedImages: '${a.contentIds === undefined ? a.name : b.name}' has no content ids`);
  const where = new Map<string, number>();
  a.contentIds.forEach((id, i) => {
    if (!where.has(id)) where.set(id, i);
  });
  let count = 0;
  const examples: { a: number; b: number }[] = [];
  b.contentIds.forEach((id, i) => {
    const j = where.get(id);
    if (j === undefined) return;
    count++;
    if (examples.length < 3) examples.push({ a: j, b: i });
  });
  return { count, examples };
}
