/**
 * Cache of trained source models under ROOT/cache/models/<key>/. An entry is written into a
 * private temporary folder and renamed into place in one step, so a reader sees either no
 * entry or a complete one, never a half-written one (a crash leaves only a temp folder, which
 * `cleanTemp` removes). When two processes build the same entry, the first rename wins and the
 * other's copy is discarded.
 */
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { assertSafeId, modelCacheDir } from './layout.js';
import { isProcessAlive } from './process.js';

/** Name of the marker file every complete entry holds. */
export const ENTRY_FILE = 'entry.json';
const TMP = '.tmp';

/** A complete cache entry. */
export interface CacheEntry {
  readonly key: string;
  /** Folder holding the entry's files. */
  readonly dir: string;
  /** Contents of entry.json: key, creation time and the caller's info. */
  readonly info: { readonly key: string; readonly createdAt: string; readonly info: unknown };
}

/** The model cache of one results root. */
export class ModelCache {
  /** ROOT/cache/models. */
  readonly dir: string;
  constructor(root: string) {
    this.dir = modelCacheDir(root);
  }

  /** Folder of entry `key` (whether or not it exists). `key` must be a safe folder name, e.g. a stableHash. */
  entryDir(key: string): string {
    assertSafeId(key, 'cache key');
    return path.join(this.dir, key);
  }

  /** The complete entry for `key`, or null. */
  get(key: string): CacheEntry | null {
    const dir = this.entryDir(key);
    let text: string;
    try {
      text = fs.readFileSync(path.join(dir, ENTRY_FILE), 'utf8');
    } catch {
      return null;
    }
    return { key, dir, info: JSON.parse(text) as CacheEntry['info'] };
  }

  /** Whether a complete entry exists for `key`. */
  has(key: string): boolean {
    return this.get(key) !== null;
  }

  /**
   * Returns the entry for `key`, building it first if missing: `write(tmpDir)` fills a fresh
   * temporary folder, then entry.json (with `info`) is added and the folder renamed into place.
   * `created` is false when the entry already existed or another process finished it first.
   * If `write` throws, the temporary folder is removed and the error rethrown.
   *
   * @example const { dir } = await cache.put(stableHash(sourceSpec), async (tmp) => saveWeights(path.join(tmp, 'model.safetensors')));
   */
  async put(
    key: string,
    write: (tmpDir: string) => void | Promise<void>,
    info: unknown = null,
  ): Promise<CacheEntry & { readonly created: boolean }> {
    const existing = this.get(key);
    if (existing) return { ...existing, created: false };
    const final = this.entryDir(key);
    const tmpRoot = path.join(this.dir, TMP);
    fs.mkdirSync(tmpRoot, { recursive: true });
    const tmp = path.join(tmpRoot, `${key}.${process.pid}.${randomBytes(4).toString('hex')}`);
    fs.mkdirSync(tmp);
    try {
      await write(tmp);
      const marker = { key, createdAt: new Date().toISOString(), info };
      fs.writeFileSync(path.join(tmp, ENTRY_FILE), `${JSON.stringify(marker, null, 2)}\n`);
      try {
        fs.renameSync(tmp, final);
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        if (code !== 'ENOTEMPTY' && code !== 'EEXIST') throw e;
        fs.rmSync(tmp, { recursive: true, force: true });
        const winner = this.get(key);
        if (!winner) throw new Error(`cache entry ${final} exists but has no ${ENTRY_FILE}: remove it by hand`);
        return { ...winner, created: false };
      }
      return { key, dir: final, info: marker, created: true };
    } catch (e) {
      fs.rmSync(tmp, { recursive: true, force: true });
      throw e;
    }
  }

  /** Removes temporary folders left by processes that died while writing; returns how many. */
  cleanTemp(): number {
    const tmpRoot = path.join(this.dir, TMP);
    let removed = 0;
    for (const name of fs.existsSync(tmpRoot) ? fs.readdirSync(tmpRoot) : []) {
      const pid = Number(name.split('.').at(-2));
      if (Number.isInteger(pid) && isProcessAlive(pid)) continue;
      fs.rmSync(path.join(tmpRoot, name), { recursive: true, force: true });
      removed++;
    }
    return removed;
  }

  /** Keys of every complete entry, sorted. */
  keys(): string[] {
    if (!fs.existsSync(this.dir)) return [];
    return fs
      .readdirSync(this.dir)
      .filter((k) => k !== TMP && fs.existsSync(path.join(this.dir, k, ENTRY_FILE)))
      .sort();
  }
}
