/**
 * Following a run's progress log (`logs/progress.jsonl`, written by the runner through
 * `createProgressLog`) from another process: read what was appended since a byte offset, whole
 * lines only (a line still being written waits for the next read).
 */
import * as fs from 'node:fs';
import type { ProgressLogEntry } from '../train/progress.js';

/** What `readProgress` returns. */
export interface ProgressChunk {
  /** Entries of the complete lines read, in file order. */
  readonly entries: ProgressLogEntry[];
  /** Byte offset to read from next time (just after the last complete line). */
  readonly offset: number;
  /** Lines that were not a JSON progress entry (skipped). */
  readonly skipped: number;
}

/** Reads at most this many bytes per call (a long log is caught up over several calls). */
const MAX_CHUNK = 4 * 1024 * 1024;

function isEntry(v: unknown): v is ProgressLogEntry {
  const e = v as Partial<ProgressLogEntry> | null;
  return (
    typeof e === 'object' &&
    e !== null &&
    typeof e.label === 'string' &&
    typeof e.kind === 'string' &&
    typeof e.text === 'string' &&
    typeof e.epoch === 'number' &&
    typeof e.epochs === 'number'
  );
}

/**
 * The progress entries appended to `file` after byte `offset`. A missing file reads as empty
 * (the run has not trained yet); a file shorter than `offset` (replaced) is read from the start.
 *
 * @example
 *   let at = 0;
 *   const { entries, offset } = readProgress(run.paths.progress, at); at = offset;
 */
export function readProgress(file: string, offset = 0): ProgressChunk {
  let fd: number;
  try {
    fd = fs.openSync(file, 'r');
  } catch {
    return { entries: [], offset: 0, skipped: 0 };
  }
  try {
    const size = fs.fstatSync(fd).size;
    const from = size < offset ? 0 : offset;
    const length = Math.min(size - from, MAX_CHUNK);
    if (length <= 0) return { entries: [], offset: from, skipped: 0 };
    const buf = Buffer.alloc(length);
    const got = fs.readSync(fd, buf, 0, length, from);
    const lastNewline = buf.subarray(0, got).lastIndexOf(0x0a);
    if (lastNewline < 0) return { entries: [], offset: from, skipped: 0 };
    const entries: ProgressLogEntry[] = [];
    let skipped = 0;
    for (const line of buf.subarray(0, lastNewline).toString('utf8').split('\n')) {
      if (line.trim() === '') continue;
      try {
        const v: unknown = JSON.parse(line);
        if (isEntry(v)) entries.push(v);
        else skipped++;
      } catch {
        skipped++;
      }
    }
    return { entries, offset: from + lastNewline + 1, skipped };
  } finally {
    fs.closeSync(fd);
  }
}
