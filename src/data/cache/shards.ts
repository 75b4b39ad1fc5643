/**
 * An on-disk cache of an image folder decoded once at a configured size: uint8 shard files of up
 * to `shardSize` images each (NCHW, image i of shard s is sample s·shardSize + i) and a JSON
 * manifest (classes, labels, geometry, the file list with each file's sha256).
 *
 * Key: sha256 over the format, the decode recipe and settings, the class names and, per file in
 * order, its label and the sha256 of its CONTENT (not its path or time), so the same images give
 * the same key on any machine and a changed byte gives a new one. Hashing every file on each
 * open would cost a full read of the folder, so digests are memoised per folder under
 * `<cacheRoot>/digests/` by a stat stamp (size, mtime): a file whose stamp is unchanged is not
 * re-read; a file whose stamp changed is hashed again. (A stat stamp alone would not do as the key:
 * it differs between machines for the same images, and copies with preserved mtimes can differ.)
 *
 * Layout: `<cacheRoot>/shards/<key>/shard-00000.u8 …, manifest.json`. Every file is written to a
 * temporary name and renamed, so a reader never sees half a file; the manifest is written last, so
 * a cache is complete exactly when it has one. An interrupted build keeps its finished shards and
 * the next build decodes only the missing ones.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { z } from 'zod';
import { DatasetError } from '../errors.js';
import { isDir } from '../loaders/files.js';
import { fixedOutputSize } from '../decode.js';
import { DECODE_RECIPE, decodeFiles, type DecodeSettings } from './decode.js';

/** Version of the shard layout; part of the key. */
export const SHARD_FORMAT = 'bias-transfer-shards/v1';

/** Images per shard unless told otherwise. */
export const DEFAULT_SHARD_SIZE = 1024;

/** One image file of a folder listing. */
export interface ListedFile {
  /** Path relative to the folder root, '/'-separated. */
  readonly path: string;
  /** Class index. */
  readonly label: number;
}

/** The images of a folder in dataset order, with their classes. */
export interface FolderListing {
  /** The folder (as given). */
  readonly root: string;
  readonly classes: readonly string[];
  readonly files: readonly ListedFile[];
}

// The extensions loadImageFolder reads (src/data/loaders/folder.ts), so both list the same files.
const IMAGE_EXT = /\.(png|jpe?g|webp)$/i;
const byName = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

function listNames(dir: string): fs.Dirent[] {
  try {
    return fs.readdirSync(dir, { withFileTypes: true }).filter((d) => !d.name.startsWith('.'));
  } catch (e) {
    throw new DatasetError(dir, `cannot read folder (${(e as Error).message})`, { cause: e });
  }
}

/**
 * Lists an image folder in the order `loadImageFolder` uses (class sub-folders sorted by name,
 * .png/.jpg/.jpeg files in each sorted by name), so sample i of the cache is sample i of the
 * in-memory loader. Kept apart from folder.ts on purpose: when folder class discovery changes
 * (train/test sub-folders), pass its listing to `buildShardCache` instead.
 */
export function listImageFolder(root: string): FolderListing {
  if (!isDir(root)) throw new DatasetError(root, 'image folder not found');
  const classes = listNames(root)
    .filter((d) => d.isDirectory() || (d.isSymbolicLink() && isDir(path.join(root, d.name))))
    .map((d) => d.name)
    .sort(byName);
  if (classes.length === 0)
    throw new DatasetError(root, 'no class sub-folders found (expected one folder per class holding .png/.jpg images)');
  const files: ListedFile[] = [];
  classes.forEach((cls, label) => {
    const names = listNames(path.join(root, cls))
      .filter((f) => !f.isDirectory() && IMAGE_EXT.test(f.name))
      .map((f) => f.name)
      .sort(byName);
    if (names.length === 0) throw new DatasetError(path.join(root, cls), 'class folder holds no .png/.jpg/.jpeg images');
    for (const name of names) files.push({ path: `${cls}/${name}`, label });
  });
  return { root, classes, files };
}

/**
 * The cache folder: `explicit` (a `--cache DIR` flag), else $BIAS_TRANSFER_CACHE, else
 * `<resultsRoot>/.cache` (the results root defaults to the working directory).
 */
export function resolveCacheRoot(opts: { explicit?: string; resultsRoot?: string } = {}): string {
  return path.resolve(opts.explicit ?? process.env.BIAS_TRANSFER_CACHE ?? path.join(opts.resultsRoot ?? '.', '.cache'));
}

/**
 * A temporary sibling name for `file`, unique across processes and machines (host, pid, random),
 * so builders sharing a cache folder over a network filesystem never write the same file.
 */
function tmpName(file: string): string {
  return `${file}.tmp-${os.hostname()}-${process.pid}-${crypto.randomBytes(4).toString('hex')}`;
}

/** Writes `data` to `file` through a temporary sibling and a rename (readers see all or nothing). */
export function writeAtomic(file: string, data: string | Uint8Array): void {
  const tmp = tmpName(file);
  fs.writeFileSync(tmp, data);
  fs.renameSync(tmp, file);
}

function sha256File(file: string): string {
  let buf: Buffer;
  try {
    buf = fs.readFileSync(file);
  } catch (e) {
    throw new DatasetError(file, `cannot read image (${(e as Error).message})`, { cause: e });
  }
  return crypto.createHash('sha256').update(buf).digest('hex');
}

const DigestMemo = z.strictObject({
  root: z.string().describe('absolute folder the digests belong to'),
  files: z
    .record(z.string(), z.tuple([z.string(), z.string()]))
    .describe('relative path -> [stat stamp "size:mtimeMs", sha256 of content]'),
});

/**
 * Files this process has read and hashed in {@link fileDigests} (memo misses), in all. Grows
 * only: a caller compares two readings, e.g. a test that a first run over a folder hashes each
 * file once (the run id and the shard cache share one memo folder).
 */
export const fileDigestCount = { hashed: 0 };

/**
 * sha256 of every listed file's content, in listing order. Digests of files whose stat stamp
 * (size, mtime) is unchanged since the last call are taken from the memo under
 * `<cacheRoot>/digests/`; the others are read and hashed, and the memo is rewritten.
 */
export function fileDigests(listing: FolderListing, cacheRoot: string): { digests: string[]; hashed: number } {
  const root = path.resolve(listing.root);
  const memoFile = path.join(cacheRoot, 'digests', `${crypto.createHash('sha256').update(root).digest('hex').slice(0, 32)}.json`);
  let memo: Record<string, [string, string]> = {};
  try {
    const parsed = DigestMemo.safeParse(JSON.parse(fs.readFileSync(memoFile, 'utf8')));
    if (parsed.success && parsed.data.root === root) memo = parsed.data.files;
  } catch {
    // No memo (first use) or an unreadable one: hash everything.
  }
  const next: Record<string, [string, string]> = {};
  let hashed = 0;
  const digests = listing.files.map((f) => {
    const file = path.join(root, f.path);
    let st: fs.Stats;
    try {
      st = fs.statSync(file);
    } catch (e) {
      throw new DatasetError(file, `cannot read image (${(e as Error).message})`, { cause: e });
    }
    const stamp = `${st.size}:${st.mtimeMs}`;
    const known = memo[f.path];
    const digest = known !== undefined && known[0] === stamp ? known[1] : (hashed++, sha256File(file));
    next[f.path] = [stamp, digest];
    return digest;
  });
  fileDigestCount.hashed += hashed;
  if (hashed > 0 || Object.keys(memo).length !== listing.files.length) {
    fs.mkdirSync(path.dirname(memoFile), { recursive: true });
    writeAtomic(memoFile, JSON.stringify({ root, files: next }));
  }
  return { digests, hashed };
}

/** The cache key of a listing's content under decode settings (hex sha256). */
export function cacheKey(listing: FolderListing, digests: readonly string[], settings: DecodeSettings): string {
  const h = crypto.createHash('sha256');
  h.update(
    JSON.stringify({
      format: SHARD_FORMAT,
      recipe: DECODE_RECIPE,
      channels: settings.channels,
      size: settings.size,
      // Only when set, so the keys of caches stretched to `size` are what they were before transforms.
      ...(settings.transform !== undefined ? { transform: settings.transform } : {}),
      classes: listing.classes,
    }),
  );
  listing.files.forEach((f, i) => h.update(`\n${f.label} ${digests[i]}`));
  return h.digest('hex');
}

/** manifest.json of a finished cache. */
export const ShardManifest = z.strictObject({
  format: z.literal(SHARD_FORMAT).describe('shard layout version'),
  key: z
    .string()
    .regex(/^[0-9a-f]{64}$/)
    .describe('the cache key (sha256 hex), also the folder name'),
  name: z.string().describe('dataset name for logs'),
  recipe: z.string().describe('decode recipe the bytes were made with'),
  c: z.union([z.literal(1), z.literal(3)]).describe('channels'),
  h: z.number().int().positive().describe('image height in pixels'),
  w: z.number().int().positive().describe('image width in pixels'),
  n: z.number().int().nonnegative().describe('number of images'),
  shardSize: z.number().int().positive().describe('images per shard (the last one may hold fewer)'),
  classes: z.array(z.string()).describe('class names; index = label'),
  files: z
    .array(
      z.strictObject({
        path: z.string().describe('file relative to the folder root'),
        label: z.number().int().nonnegative().describe('class index'),
        sha256: z.string().describe('sha256 of the file content'),
      }),
    )
    .describe('the images in sample order'),
  shards: z.array(z.string()).describe('shard file names in order, relative to the manifest'),
});
/** A parsed manifest. */
export type ShardManifest = z.infer<typeof ShardManifest>;

/** Options of `buildShardCache`. */
export interface BuildCacheOptions {
  /** The cache folder (see `resolveCacheRoot`). */
  readonly cacheRoot: string;
  readonly settings: DecodeSettings;
  /** Images per shard (default 1024). */
  readonly shardSize?: number;
  /** Dataset name written in the manifest (default: the folder's name). */
  readonly name?: string;
  /** Progress lines (default: none). */
  readonly log?: (line: string) => void;
}

/** What `buildShardCache` found or did. */
export interface BuiltCache {
  /** Folder holding manifest.json and the shards. */
  readonly dir: string;
  readonly key: string;
  readonly manifest: ShardManifest;
  /** Shards decoded by this call (0 when the cache was complete). */
  readonly decodedShards: number;
  /** Shards an earlier, interrupted build had finished. */
  readonly reusedShards: number;
  /** Files whose digest had to be computed (not taken from the memo). */
  readonly hashedFiles: number;
  /** Seconds spent hashing and decoding. */
  readonly seconds: number;
}

const shardName = (s: number): string => `shard-${String(s).padStart(5, '0')}.u8`;

/**
 * Decodes `listing` into the shard cache (or finds it there): see the module comment for key,
 * layout and atomicity. Returns where it is. Progress goes to `opts.log`, one line per shard.
 *
 * @example
 *   const built = buildShardCache(listImageFolder('photos'), { cacheRoot: resolveCacheRoot(), settings: { channels: 3, size: [224, 224] } });
 */
export function buildShardCache(listing: FolderListing, opts: BuildCacheOptions): BuiltCache {
  const t0 = performance.now();
  const { settings } = opts;
  const shardSize = opts.shardSize ?? DEFAULT_SHARD_SIZE;
  if (!(Number.isInteger(shardSize) && shardSize > 0)) throw new RangeError(`shardSize must be a positive integer, got ${shardSize}`);
  if (settings.channels !== 1 && settings.channels !== 3) throw new RangeError(`channels must be 1 or 3, got ${String(settings.channels)}`);
  if (!(settings.size.length === 2 && settings.size.every((v) => Number.isInteger(v) && v > 0)))
    throw new DatasetError(listing.root, `size must be [height, width] of positive integers, got ${JSON.stringify(settings.size)}`);
  const fixed = fixedOutputSize(settings.transform);
  if (settings.transform !== undefined && (fixed === null || fixed[0] !== settings.size[0] || fixed[1] !== settings.size[1]))
    throw new DatasetError(
      listing.root,
      `a cached transform must fix the output size to size ${JSON.stringify(settings.size)} (a centerCrop of that size), got ${JSON.stringify(settings.transform)}`,
    );
  const log = opts.log ?? (() => {});
  const { digests, hashed } = fileDigests(listing, opts.cacheRoot);
  const key = cacheKey(listing, digests, settings);
  const dir = path.join(opts.cacheRoot, 'shards', key);
  const manifestFile = path.join(dir, 'manifest.json');
  const existing = readManifest(dir, { quiet: true });
  if (existing)
    return {
      dir,
      key,
      manifest: existing,
      decodedShards: 0,
      reusedShards: existing.shards.length,
      hashedFiles: hashed,
      seconds: (performance.now() - t0) / 1000,
    };

  fs.mkdirSync(dir, { recursive: true });
  const [h, w] = settings.size;
  const c = settings.channels;
  const imageBytes = c * h * w;
  const n = listing.files.length;
  const numShards = Math.ceil(n / shardSize);
  const root = path.resolve(listing.root);
  let decoded = 0;
  let reused = 0;
  let images = 0;
  const tBuild = performance.now();
  for (let s = 0; s < numShards; s++) {
    const file = path.join(dir, shardName(s));
    const count = Math.min(shardSize, n - s * shardSize);
    if (fs.existsSync(file) && fs.statSync(file).size === count * imageBytes) {
      reused++;
      continue;
    }
    const tmp = tmpName(file);
    const fd = fs.openSync(tmp, 'w');
    try {
      // One shard decoded at once (sharp decodes its files concurrently), written in order.
      const files = Array.from({ length: count }, (_, j) => path.join(root, listing.files[s * shardSize + j].path));
      const px = decodeFiles(files, settings);
      fs.writeSync(fd, px, 0, px.length);
    } catch (e) {
      fs.closeSync(fd);
      fs.rmSync(tmp, { force: true });
      throw e;
    }
    fs.closeSync(fd);
    fs.renameSync(tmp, file);
    decoded++;
    images += count;
    const secs = (performance.now() - tBuild) / 1000;
    const rate = images / secs;
    const left = n - (s + 1) * shardSize;
    log(
      `cache ${key.slice(0, 12)}: shard ${s + 1}/${numShards} (${Math.min(n, (s + 1) * shardSize)}/${n} images, ${rate.toFixed(0)} img/s` +
        (left > 0 ? `, about ${Math.ceil(left / rate)} s left)` : ')'),
    );
  }
  const manifest: ShardManifest = {
    format: SHARD_FORMAT,
    key,
    name: opts.name ?? path.basename(root),
    recipe: DECODE_RECIPE,
    c,
    h,
    w,
    n,
    shardSize,
    classes: [...listing.classes],
    files: listing.files.map((f, i) => ({ path: f.path, label: f.label, sha256: digests[i] })),
    shards: Array.from({ length: numShards }, (_, s) => shardName(s)),
  };
  writeAtomic(manifestFile, JSON.stringify(manifest));
  return {
    dir,
    key,
    manifest,
    decodedShards: decoded,
    reusedShards: reused,
    hashedFiles: hashed,
    seconds: (performance.now() - t0) / 1000,
  };
}

/**
 * Reads and checks `<dir>/manifest.json`: undefined when there is none and `quiet` is set; a
 * DatasetError naming the file for a bad one or missing/short shards.
 */
export function readManifest(dir: string, opts: { quiet?: boolean } = {}): ShardManifest | undefined {
  const file = path.join(dir, 'manifest.json');
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    if (opts.quiet && (e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new DatasetError(file, `no shard cache manifest (${(e as Error).message})`, { cause: e });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new DatasetError(file, `not valid JSON (${(e as Error).message})`, { cause: e });
  }
  const parsed = ShardManifest.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new DatasetError(file, `bad shard manifest at '${issue.path.join('.')}': ${issue.message}`);
  }
  const m = parsed.data;
  if (m.files.length !== m.n) throw new DatasetError(file, `manifest lists ${m.files.length} files for n=${m.n}`);
  if (m.shards.length !== Math.ceil(m.n / m.shardSize))
    throw new DatasetError(file, `manifest lists ${m.shards.length} shards, ${Math.ceil(m.n / m.shardSize)} expected`);
  m.files.forEach((f, i) => {
    if (f.label >= m.classes.length) throw new DatasetError(file, `files[${i}].label ${f.label} is not a class (only ${m.classes.length})`);
  });
  const imageBytes = m.c * m.h * m.w;
  m.shards.forEach((s, k) => {
    const want = Math.min(m.shardSize, m.n - k * m.shardSize) * imageBytes;
    let size: number;
    try {
      size = fs.statSync(path.join(dir, s)).size;
    } catch {
      throw new DatasetError(path.join(dir, s), 'shard file missing (rebuild the cache)');
    }
    if (size !== want) throw new DatasetError(path.join(dir, s), `shard holds ${size} bytes, ${want} expected (rebuild the cache)`);
  });
  return m;
}
