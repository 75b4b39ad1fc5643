/** The content digest of one file, shared by pretrained weights checks and run inputs (./inputs.ts). */
import { createHash } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';

const fileMemo = new Map<string, string>();

/**
 * sha256 (first 32 hex) of a file's bytes, memoised per path, size and modification time.
 * Throws an error naming `key`, what the file is (`what`, e.g. 'weights file') and the file when
 * it cannot be read.
 */
export function fileDigest(file: string, key: string, what = 'file'): string {
  let stamp: string;
  try {
    const st = statSync(file);
    if (!st.isFile()) throw new Error('not a file');
    stamp = `${file}\0${st.size}\0${st.mtimeMs}\0${st.ino}`;
  } catch (e) {
    throw new Error(`${key}: cannot read ${what} '${file}': ${(e as Error).message}`);
  }
  let d = fileMemo.get(stamp);
  if (d === undefined) {
    d = createHash('sha256').update(readFileSync(file)).digest('hex').slice(0, 32);
    fileMemo.set(stamp, d);
  }
  return d;
}
