/**
 * Is the process that holds a claim still alive? A pid alone can be reused after the process
 * dies, so on Linux a claim also records the process start time (/proc/<pid>/stat field 22) and
 * a live pid with a different start time counts as dead.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';

/** Start time of `pid` in clock ticks since boot (Linux), or null where unknown. */
export function processStartTime(pid: number): string | null {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may contain spaces and ')': fields resume after the last ')'.
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return rest[19] ?? null; // field 22 = index 19 after the state field (field 3)
  } catch {
    return null;
  }
}

/** True when /proc says `pid` is a zombie (exited, not yet reaped: as good as dead). */
function isZombie(pid: number): boolean {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z');
  } catch {
    return false;
  }
}

/**
 * Whether process `pid` is alive on this machine and, when `startTime` is given and knowable,
 * is the same process that recorded it.
 */
export function isProcessAlive(pid: number, startTime?: string | null): boolean {
  try {
    process.kill(pid, 0);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  if (isZombie(pid)) return false;
  if (startTime) {
    const now = processStartTime(pid);
    if (now !== null && now !== startTime) return false;
  }
  return true;
}

/** This machine's host name (claims from other hosts cannot be checked and count as live). */
export function hostName(): string {
  return os.hostname();
}
