/**
 * Read-only access to a results root's SQLite index for the web app, while sweeps write it
 * (the same statements as the writer's, from ./query.ts).
 *
 * The index is opened with `readonly: true` (the app can never write it, and never takes a write
 * lock), in WAL mode as the writers set it: readers see the last committed state and never block
 * a writer. Every query is one statement, so every read transaction ends as soon as its rows are
 * fetched (no long-lived snapshot that would hold back checkpoints). When the root has no index
 * yet (a sweep not started), the reader answers empty lists and opens the index once it appears.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import Database from 'better-sqlite3';
import { notADatabase } from './db.js';
import { indexPath } from './layout.js';
import { metricsQuery, runsQuery, type MetricFilter, type RunFilter } from './query.js';
import { runRecordOf, type MetricRecord, type RunRecord, type RunRow } from './store.js';

/** Filter of `ResultsReader.runs` (the store's `RunFilter`). */
export type RunQuery = RunFilter;

/** Filter of `ResultsReader.metrics` (the store's `MetricFilter`). */
export type MetricQuery = MetricFilter;

/** Code version of a run, from its meta.json (null fields when meta.json is missing or unreadable). */
export interface CodeVersion {
  readonly version: string | null;
  readonly gitCommit: string | null;
  readonly srcHash: string | null;
}

/** The results index of one root, opened read-only on demand. Close it with `close()`. */
export class ResultsReader {
  /** The results root (absolute). */
  readonly root: string;
  #db: Database.Database | null = null;
  #closed = false;
  readonly #meta = new Map<string, { mtimeMs: number; code: CodeVersion }>();

  constructor(root: string) {
    this.root = path.resolve(root);
  }

  /** The open index, or null while the root has none. */
  #open(): Database.Database | null {
    if (this.#closed) throw new Error(`results reader of ${this.root} is closed`);
    if (this.#db) return this.#db;
    const file = indexPath(this.root);
    if (!fs.existsSync(file)) return null;
    const db = new Database(file, { readonly: true, fileMustExist: true, timeout: 5000 });
    // A brand-new index may not have its tables yet (a writer is creating them).
    let ready: { n: number };
    try {
      ready = db.prepare("SELECT count(*) AS n FROM sqlite_master WHERE type = 'table' AND name IN ('runs', 'metrics')").get() as {
        n: number;
      };
    } catch (e) {
      db.close();
      throw notADatabase(file, e);
    }
    if (ready.n < 2) {
      db.close();
      return null;
    }
    this.#db = db;
    return db;
  }

  /** Whether the root has an index yet. */
  hasIndex(): boolean {
    return this.#open() !== null;
  }

  /** Whether the connection is read-only (always true; tests check it). */
  get readonly(): boolean {
    return this.#open()?.readonly ?? true;
  }

  #record(r: RunRow): RunRecord {
    return runRecordOf(this.root, r);
  }

  /** Runs matching `q`, newest first (by creation time, then id). */
  runs(q: RunQuery = {}): RunRecord[] {
    const db = this.#open();
    if (!db) return [];
    const { sql, args } = runsQuery(q, 'desc');
    return (db.prepare(sql).all(args) as RunRow[]).map((r) => this.#record(r));
  }

  /** The run with this id, or undefined. */
  run(id: string): RunRecord | undefined {
    const db = this.#open();
    if (!db) return undefined;
    const row = db.prepare('SELECT * FROM runs WHERE id = ?').get(id) as RunRow | undefined;
    return row && this.#record(row);
  }

  /** Metric rows matching `q`, with their run's name, seed and sweep id, in insertion order. */
  metrics(q: MetricQuery = {}): MetricRecord[] {
    const db = this.#open();
    if (!db) return [];
    const { sql, args } = metricsQuery(q);
    return db.prepare(sql).all(args) as MetricRecord[];
  }

  /** The distinct metric names of an experiment's rows (all experiments without `name`). */
  metricNames(name?: string): string[] {
    const db = this.#open();
    if (!db) return [];
    const rows = (
      name === undefined
        ? db.prepare('SELECT DISTINCT metric FROM metrics').all()
        : db.prepare('SELECT DISTINCT m.metric FROM metrics m JOIN runs r ON r.id = m.run_id WHERE r.name = ?').all(name)
    ) as { metric: string }[];
    return rows.map((r) => r.metric);
  }

  /** Number of metric rows per run id (runs without rows are absent). */
  metricCounts(): Map<string, number> {
    const db = this.#open();
    if (!db) return new Map();
    const rows = db.prepare('SELECT run_id AS id, count(*) AS n FROM metrics GROUP BY run_id').all() as { id: string; n: number }[];
    return new Map(rows.map((r) => [r.id, r.n]));
  }

  /** The code version recorded in a run's meta.json (re-read only when the file changes). */
  codeVersion(run: RunRecord): CodeVersion {
    const none: CodeVersion = { version: null, gitCommit: null, srcHash: null };
    let st: fs.Stats;
    try {
      st = fs.statSync(run.paths.meta);
    } catch {
      return none;
    }
    const hit = this.#meta.get(run.id);
    if (hit && hit.mtimeMs === st.mtimeMs) return hit.code;
    let code = none;
    try {
      const meta = JSON.parse(fs.readFileSync(run.paths.meta, 'utf8')) as { codeVersion?: Partial<Record<keyof CodeVersion, unknown>> };
      const cv = meta.codeVersion ?? {};
      const str = (v: unknown) => (typeof v === 'string' ? v : null);
      code = { version: str(cv.version), gitCommit: str(cv.gitCommit), srcHash: str(cv.srcHash) };
    } catch {
      code = none;
    }
    this.#meta.set(run.id, { mtimeMs: st.mtimeMs, code });
    return code;
  }

  /** Closes the index; further queries throw. Safe to call twice. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#db?.close();
    this.#db = null;
  }
}
