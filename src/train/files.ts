/** Atomic JSON files: readers see the old file or the new one, never a half-written one. */
import { renameSync, writeFileSync } from 'node:fs';

/**
 * Writes `value` as JSON to `path` atomically: into `path.tmp-<pid>` in the same folder, then
 * renamed over `path` (a rename within one file system is atomic). `indent` is JSON.stringify's
 * (default none: one line).
 *
 * @example writeJsonAtomic(join(dir, 'result.json'), result) // a crashed writer leaves only a .tmp-<pid> file
 */
export function writeJsonAtomic(path: string, value: unknown, opts: { indent?: number } = {}): void {
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, JSON.stringify(value, null, opts.indent));
  renameSync(tmp, path);
}
