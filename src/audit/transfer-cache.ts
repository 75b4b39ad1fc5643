/**
 * The references' transfer cache: the ASRs of a clean reference's recovered triggers after
 * transfer to the user's target data (`ReferenceTransfer`, numbers only, no pixels), stored by
 * content beside the scan-statistics cache (./cache.ts), so that auditing a second backbone
 * against the same references and target neither re-scans nor re-transfers them.
 *
 * One JSON file per entry, `<dir>/transfer-<key>.json`, where the key is the sha256 of
 * - the reference's scan-cache key (./cache.ts: its weights' sha256, the scan images' digest, the
 *   normalisation, every scan setting, the thread count, the scan code version), since the
 *   triggers measured are the ones that scan recovers;
 * - `datasetDigest` of the target training and test data;
 * - every transfer setting with its default filled in (`resolveTransferOptions`);
 * - the transfer code version: the caller's numeric code version and the bytes of
 *   {@link TRANSFER_CODE_FILES}.
 * Written atomically (temporary file, then rename), as the scan cache is.
 */
import fs from 'node:fs';
import path from 'node:path';
import { datasetDigest } from '../data/index.js';
import type { ImageDataset } from '../data/types.js';
import { codeFilesVersion, contentKey, scanCacheKey, writeEntryAtomic, type ScanCacheInputs } from './cache.js';
import { resolveTransferOptions, type ReferenceTransfer, type TransferCheckOptions } from './transfer.js';

/** Source files (relative to the project root) whose code computes a cached reference transfer. */
export const TRANSFER_CODE_FILES = [
  'src/audit/transfer.ts',
  'src/train/plateau.ts',
  'src/train/trainer.ts',
  'src/train/transfer.ts',
] as const;

/** What a transfer-cache key is made of (also written into the entry). */
export interface TransferCacheInputs {
  /** The reference's scan-cache key (see ./cache.ts). */
  readonly scan: string;
  /** datasetDigest of the target training and test data. */
  readonly target: { readonly train: string; readonly test: string };
  readonly settings: ReturnType<typeof resolveTransferOptions>;
  readonly code: string;
}

/** sha256 (32 hex) of `numericCode` and the bytes of {@link TRANSFER_CODE_FILES} (see `codeFilesVersion`); memoised. */
export function transferCodeVersion(numericCode: string): string {
  return codeFilesVersion(
    numericCode,
    TRANSFER_CODE_FILES.map((f) => ({ label: f, file: f.replace(/^src\//, '').replace(/\.ts$/, '') })),
  );
}

/** The key inputs of a reference (scanned under `scan`) transferred to `target` with `opts`. */
export function transferCacheInputs(
  scan: ScanCacheInputs,
  target: { train: ImageDataset; test: ImageDataset },
  opts: TransferCheckOptions,
  numericCode: string,
): TransferCacheInputs {
  return {
    scan: scanCacheKey(scan),
    target: { train: datasetDigest(target.train), test: datasetDigest(target.test) },
    settings: resolveTransferOptions(opts),
    code: transferCodeVersion(numericCode),
  };
}

interface Entry {
  readonly key: string;
  readonly file: string;
  readonly inputs: TransferCacheInputs;
  readonly transfers: ReferenceTransfer[];
}

/** A folder of cached reference transfers (see the module comment). */
export class TransferCache {
  /** @param dir the cache folder (the scan cache's; created on the first write). */
  constructor(readonly dir: string) {}

  /** The key (32 hex) of some inputs. */
  static key(inputs: TransferCacheInputs): string {
    return contentKey(inputs);
  }

  /** Path of an entry. */
  entryPath(key: string): string {
    return path.join(this.dir, `transfer-${key}.json`);
  }

  /** The transfers stored for `inputs`, or null (none, or an unreadable entry, overwritten by the next `put`). */
  get(inputs: TransferCacheInputs): ReferenceTransfer[] | null {
    const key = TransferCache.key(inputs);
    try {
      const e = JSON.parse(fs.readFileSync(this.entryPath(key), 'utf8')) as Entry;
      if (e.key !== key || JSON.stringify(e.inputs) !== JSON.stringify(inputs) || !Array.isArray(e.transfers)) return null;
      return e.transfers;
    } catch {
      return null;
    }
  }

  /** Stores the transfers of the reference read from `file` under `inputs`, atomically; returns the entry's path. */
  put(inputs: TransferCacheInputs, transfers: readonly ReferenceTransfer[], file: string): string {
    const key = TransferCache.key(inputs);
    const entry: Entry = { key, file, inputs, transfers: [...transfers] };
    const dest = this.entryPath(key);
    writeEntryAtomic(dest, entry, 'transfer cache');
    return dest;
  }
}
