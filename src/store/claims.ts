/**
 * Job claiming for sweeps: each unit of work has a key; a process claims it before working and
 * completes it afterwards. A restarted sweep skips what is done, and two sweeps on one folder
 * never run the same job at once. Every decision happens inside one `BEGIN IMMEDIATE`
 * transaction, so claims are atomic across processes. A claim whose process died (pid gone, or
 * the pid now belongs to a process with another start time) is taken over.
 */
import type Database from 'better-sqlite3';
import { hostName, isProcessAlive, processStartTime } from './process.js';

/** Who claims: a free-form owner label plus the claiming process. */
export interface ClaimOwner {
  /** Label stored with the claim, e.g. 'sweep:backdoor-fmnist'. */
  readonly owner: string;
  /** Defaults to process.pid. */
  readonly pid?: number;
}

/** Result of a claim attempt. */
export type ClaimResult =
  | { readonly status: 'claimed'; readonly attempts: number; readonly takenOverFrom?: { readonly owner: string; readonly pid: number } }
  | { readonly status: 'done'; readonly resultRef: string | null }
  | { readonly status: 'held'; readonly owner: string; readonly pid: number; readonly host: string };

/** One row of the jobs table. */
export interface JobRecord {
  readonly key: string;
  readonly status: 'claimed' | 'done';
  readonly owner: string;
  readonly pid: number;
  readonly host: string;
  readonly attempts: number;
  readonly claimedAt: string;
  readonly completedAt: string | null;
  readonly resultRef: string | null;
}

interface JobRow {
  key: string;
  status: 'claimed' | 'done';
  owner: string;
  pid: number;
  host: string;
  proc_start: string | null;
  attempts: number;
  claimed_at: string;
  completed_at: string | null;
  result_ref: string | null;
}

const toRecord = (r: JobRow): JobRecord => ({
  key: r.key,
  status: r.status,
  owner: r.owner,
  pid: r.pid,
  host: r.host,
  attempts: r.attempts,
  claimedAt: r.claimed_at,
  completedAt: r.completed_at,
  resultRef: r.result_ref,
});

/** Claim operations on an open index database. */
export class JobClaims {
  readonly #db: Database.Database;
  readonly #host = hostName();
  constructor(db: Database.Database) {
    this.#db = db;
  }

  /**
   * Atomically claims `jobKey`: 'claimed' if it was free, already ours, or held by a dead
   * process on this host (then `takenOverFrom` says whose); 'done' if completed (with its
   * result reference); 'held' if a live process holds it. Claims from other hosts cannot be
   * checked and count as live.
   */
  claim(jobKey: string, who: ClaimOwner): ClaimResult {
    const pid = who.pid ?? process.pid;
    const procStart = processStartTime(pid);
    const now = new Date().toISOString();
    return this.#db
      .transaction((): ClaimResult => {
        const row = this.#db.prepare('SELECT * FROM jobs WHERE key = ?').get(jobKey) as JobRow | undefined;
        if (!row) {
          this.#db
            .prepare('INSERT INTO jobs (key, status, owner, pid, host, proc_start, attempts, claimed_at) VALUES (?, ?, ?, ?, ?, ?, 1, ?)')
            .run(jobKey, 'claimed', who.owner, pid, this.#host, procStart, now);
          return { status: 'claimed', attempts: 1 };
        }
        if (row.status === 'done') return { status: 'done', resultRef: row.result_ref };
        const ours = row.pid === pid && row.host === this.#host && row.owner === who.owner && row.proc_start === procStart;
        if (ours) return { status: 'claimed', attempts: row.attempts };
        if (row.host !== this.#host || isProcessAlive(row.pid, row.proc_start)) {
          return { status: 'held', owner: row.owner, pid: row.pid, host: row.host };
        }
        this.#db
          .prepare('UPDATE jobs SET owner = ?, pid = ?, host = ?, proc_start = ?, attempts = attempts + 1, claimed_at = ? WHERE key = ?')
          .run(who.owner, pid, this.#host, procStart, now, jobKey);
        return { status: 'claimed', attempts: row.attempts + 1, takenOverFrom: { owner: row.owner, pid: row.pid } };
      })
      .immediate();
  }

  /**
   * Marks `jobKey` done with an optional result reference (e.g. a run id or cache key).
   * Throws if the job is not currently claimed by `who` (the claim was lost or never made).
   */
  complete(jobKey: string, resultRef: string | null, who: ClaimOwner): void {
    const pid = who.pid ?? process.pid;
    this.#db
      .transaction(() => {
        const row = this.#db.prepare('SELECT * FROM jobs WHERE key = ?').get(jobKey) as JobRow | undefined;
        if (!row) throw new Error(`job '${jobKey}' was never claimed`);
        if (row.status === 'done') throw new Error(`job '${jobKey}' is already done (result ${row.result_ref ?? 'none'})`);
        if (row.owner !== who.owner || row.pid !== pid || row.host !== this.#host) {
          throw new Error(`job '${jobKey}' is claimed by ${row.owner} (pid ${row.pid} on ${row.host}), not by ${who.owner} (pid ${pid})`);
        }
        this.#db
          .prepare("UPDATE jobs SET status = 'done', completed_at = ?, result_ref = ? WHERE key = ?")
          .run(new Date().toISOString(), resultRef, jobKey);
      })
      .immediate();
  }

  /** Drops our claim on `jobKey` (after a failure) so that it can be claimed again; no-op if not ours. */
  release(jobKey: string, who: ClaimOwner): boolean {
    const pid = who.pid ?? process.pid;
    const r = this.#db
      .prepare("DELETE FROM jobs WHERE key = ? AND status = 'claimed' AND owner = ? AND pid = ? AND host = ?")
      .run(jobKey, who.owner, pid, this.#host);
    return r.changes > 0;
  }

  /** Whether `jobKey` has been completed. */
  isDone(jobKey: string): boolean {
    return this.#db.prepare("SELECT 1 FROM jobs WHERE key = ? AND status = 'done'").get(jobKey) !== undefined;
  }

  /** Every job row, ordered by key; `prefix` keeps keys starting with it. */
  list(prefix = ''): JobRecord[] {
    const rows = this.#db.prepare('SELECT * FROM jobs WHERE substr(key, 1, length(?)) = ? ORDER BY key').all(prefix, prefix) as JobRow[];
    return rows.map(toRecord);
  }
}
