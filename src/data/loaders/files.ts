/** File reading shared by the loaders: whole-file reads with errors that name the file, and gunzip by magic. */
import fs from 'node:fs';
import zlib from 'node:zlib';
import { DatasetError } from '../errors.js';

/** Reads a whole file; a missing or unreadable file is a DatasetError naming it. */
export function readFileOrThrow(file: string, hint = ''): Buffer {
  try {
    return fs.readFileSync(file);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const what =
      code === 'ENOENT' ? 'file not found' : code === 'EISDIR' ? 'is a folder, expected a file' : `cannot read (${(e as Error).message})`;
    throw new DatasetError(file, `${what}${hint ? `; ${hint}` : ''}`, { cause: e });
  }
}

/** The bytes of a file, gunzipped when it starts with the gzip magic 0x1f 0x8b (whatever its name). */
export function readMaybeGzip(file: string, hint = ''): Uint8Array {
  const raw = readFileOrThrow(file, hint);
  if (raw.length >= 2 && raw[0] === 0x1f && raw[1] === 0x8b) {
    try {
      return zlib.gunzipSync(raw);
    } catch (e) {
      throw new DatasetError(file, `corrupt or truncated gzip data (${(e as Error).message})`, { cause: e });
    }
  }
  return raw;
}

/** Whether a path exists and is a folder. */
export function isDir(p: string): boolean {
  try {
    return fs.statSync(p).isDirectory();
  } catch {
    return false;
  }
}

/** Whether a path exists and is a file. */
export function isFile(p: string): boolean {
  try {
    return fs.statSync(p).isFile();
  } catch {
    return false;
  }
}

/** Non-empty trimmed lines of a text file (class-name lists). */
export function readLines(file: string): string[] {
  return readFileOrThrow(file)
    .toString('utf8')
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l.length > 0);
}
