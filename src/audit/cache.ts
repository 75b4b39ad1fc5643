/**
 * The scan-statistics cache: a reference's scan (its mask sizes per headless search and per class)
 * stored by content, so that auditing a second backbone against the same references scans only
 * the new backbone.
 *
 * One JSON file per entry, `<dir>/<key>.json`, where the key is the sha256 of
 * - the sha256 of the reference's weights file (its bytes: a retrained file saved over the old one
 *   is a new entry; a copied or renamed one is the same entry),
 * - `datasetDigest` of the scan images actually used (after `--images`),
 * - the input normalisation, every scan setting with its default filled in, the suspect's class
 *   count when it decides whether the per-class search runs, and the libtorch thread count
 *   (results can differ between thread counts),
 * - the scan code version: the caller's numeric code version (the CLI passes `codeHash`) and the bytes of the
 *   audit files that compute the statistics ({@link SCAN_CODE_FILES}).
 * Entries are written to a temporary file and renamed into place, so a reader never sees half an
 * entry and two scans writing the same entry at once both leave a whole one. No trigger pixels
 * are stored: a reference contributes its numbers, never its patterns.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { datasetDigest } from '../data/index.js';
import type { ImageDataset } from '../data/types.js';
import { fileURLToPath } from 'node:url';
import { getNumThreads } from '../torch/index.js';
import type { ClassFinding, HeadlessFinding, ResolvedScanSettings, ScanStatistics } from './scan.js';
import type { Normalisation } from './search.js';

/** A scan's statistics without the trigger pixels: what a reference contributes to a verdict. */
export interface ScanSummary {
  readonly headless: readonly Omit<HeadlessFinding, 'trigger'>[];
  readonly classes: readonly Omit<ClassFinding, 'trigger'>[];
}

/** Drops the trigger pixels of a scan (see `ScanSummary`). */
export function summariseScan(s: ScanStatistics | ScanSummary): ScanSummary {
  return {
    headless: s.headless.map((h) => ({
      layer: h.layer,
      measure: h.measure,
      target: h.target,
      maskFraction: h.maskFraction,
      similarity: h.similarity,
      reached: h.reached,
    })),
    classes: s.classes.map((c) => ({ cls: c.cls, name: c.name, maskFraction: c.maskFraction, success: c.success, reached: c.reached })),
  };
}

/** The audit files (relative to the project root) whose code computes the cached statistics. */
export const SCAN_CODE_FILES = ['scan', 'search', 'trigger', 'train'] as const;

const codeMemo = new Map<string, string>();
/**
 * A code version (32 hex): sha256 of `numericCode` and, for each of `files`, its `label` and the
 * bytes of the source file `src/<file>` read beside this module's tree (this module's own
 * extension: .ts in a checkout, .js compiled). Memoised per process. Shared by the scan cache
 * ({@link scanCodeVersion}) and the transfer cache (./transfer-cache.ts).
 */
export function codeFilesVersion(numericCode: string, files: readonly { readonly label: string; readonly file: string }[]): string {
  const memoKey = `${numericCode}\0${JSON.stringify(files)}`;
  const hit = codeMemo.get(memoKey);
  if (hit !== undefined) return hit;
  const here = fileURLToPath(import.meta.url);
  const ext = path.extname(here);
  const src = path.resolve(path.dirname(here), '..');
  const h = createHash('sha256').update(numericCode).update('\0');
  for (const f of files)
    h.update(f.label)
      .update('\0')
      .update(fs.readFileSync(path.join(src, `${f.file}${ext}`)))
      .update('\0');
  const v = h.digest('hex').slice(0, 32);
  codeMemo.set(memoKey, v);
  return v;
}

/**
 * The code version of a cached scan (32 hex): sha256 of `numericCode` (the caller's numeric code
 * version: the CLI passes the experiments' `codeHash()`, numeric layers and libtorch) and the bytes
 * of {@link SCAN_CODE_FILES} (see {@link codeFilesVersion}). The audit layer takes the numeric
 * version from its caller rather than importing src/experiment (the layers point down).
 */
export function scanCodeVersion(numericCode: string): string {
  return codeFilesVersion(
    numericCode,
    SCAN_CODE_FILES.map((name) => ({ label: name, file: `audit/${name}` })),
  );
}

const fileDigests = new Map<string, { size: number; mtimeMs: number; digest: string }>();
/** sha256 (hex) of a file's bytes; memoised per path while its size and modification time stay. */
export function fileSha256(file: string): string {
  const st = fs.statSync(file);
  const hit = fileDigests.get(file);
  if (hit !== undefined && hit.size === st.size && hit.mtimeMs === st.mtimeMs) return hit.digest;
  const digest = createHash('sha256').update(fs.readFileSync(file)).digest('hex');
  fileDigests.set(file, { size: st.size, mtimeMs: st.mtimeMs, digest });
  return digest;
}

/** What a cache key is made of (also written into the entry, for people and for checking). */
export interface ScanCacheInputs {
  /** sha256 of the weights file. */
  readonly weights: string;
  /** datasetDigest of the scan images used. */
  readonly data: string;
  readonly norm: Normalisation;
  readonly settings: ResolvedScanSettings;
  readonly threads: number;
  readonly code: string;
}

/** The inputs of the key of `file` scanned on `data` under numeric code version `numericCode` (see the module comment). */
export function scanCacheInputs(
  file: string,
  data: ImageDataset,
  norm: Normalisation,
  settings: ResolvedScanSettings,
  numericCode: string,
): ScanCacheInputs {
  return {
    weights: fileSha256(file),
    data: datasetDigest(data),
    norm: { mean: [...norm.mean], std: [...norm.std] },
    settings,
    threads: getNumThreads(),
    code: scanCodeVersion(numericCode),
  };
}

/** The key (32 hex) of a cache entry's inputs: sha256 of their JSON. */
export function contentKey(inputs: unknown): string {
  return createHash('sha256').update(JSON.stringify(inputs)).digest('hex').slice(0, 32);
}

/** The cache key (32 hex) of some inputs. */
export function scanCacheKey(inputs: ScanCacheInputs): string {
  return contentKey(inputs);
}

/**
 * Writes a cache entry as JSON to `dest` atomically (a temporary sibling, then a rename), creating
 * its folder; on failure the temporary file is removed and the error names `what` and `dest`.
 */
export function writeEntryAtomic(dest: string, entry: unknown, what: string): void {
  fs.mkdirSync(path.dirname(dest), { recursive: true });
  const tmp = `${dest}.tmp-${process.pid}-${Math.random().toString(36).slice(2)}`;
  try {
    fs.writeFileSync(tmp, JSON.stringify(entry, null, 1));
    fs.renameSync(tmp, dest);
  } catch (e) {
    fs.rmSync(tmp, { force: true });
    throw new Error(`${what}: could not write ${dest}: ${(e as Error).message}`);
  }
}

interface Entry {
  readonly key: string;
  /** The weights file when the entry was written (informative; paths are not part of the key). */
  readonly file: string;
  readonly inputs: ScanCacheInputs;
  /** Classes of the reference's own head. */
  readonly numClasses: number;
  readonly statistics: ScanSummary;
}

/** A cache hit: the statistics and the class count of the scanned model's head. */
export interface CachedScan {
  readonly statistics: ScanSummary;
  readonly numClasses: number;
}

/** A folder of cached scan statistics (see the module comment). */
export class ScanCache {
  /** @param dir the cache folder (created on the first write). */
  constructor(readonly dir: string) {}

  /** Path of an entry. */
  entryPath(key: string): string {
    return path.join(this.dir, `${key}.json`);
  }

  /**
   * The statistics stored for `inputs`, or null (none yet, or an unreadable entry, which is then
   * overwritten by the next `put`).
   */
  get(inputs: ScanCacheInputs): CachedScan | null {
    const key = scanCacheKey(inputs);
    let raw: string;
    try {
      raw = fs.readFileSync(this.entryPath(key), 'utf8');
    } catch {
      return null;
    }
    try {
      const e = JSON.parse(raw) as Entry;
      if (e.key !== key || JSON.stringify(e.inputs) !== JSON.stringify(inputs)) return null;
      if (!Array.isArray(e.statistics?.headless) || !Array.isArray(e.statistics?.classes) || !Number.isInteger(e.numClasses)) return null;
      return { statistics: e.statistics, numClasses: e.numClasses };
    } catch {
      return null;
    }
  }

  /**
   * Stores `stats` (without trigger pixels) of a model with `numClasses` head classes, read from
   * `file`, under `inputs`, atomically; returns the entry's path.
   */
  put(inputs: ScanCacheInputs, stats: ScanStatistics | ScanSummary, numClasses: number, file: string): string {
    const key = scanCacheKey(inputs);
    const entry: Entry = { key, file, inputs, numClasses, statistics: summariseScan(stats) };
    const dest = this.entryPath(key);
    writeEntryAtomic(dest, entry, 'scan cache');
    return dest;
  }
}
