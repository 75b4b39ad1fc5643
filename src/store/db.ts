/**
 * The SQLite index of a results folder (better-sqlite3, WAL journal, busy timeout so that
 * several processes can share it): tables `runs`, `metrics` and `jobs`.
 */
import Database from 'better-sqlite3';

/** Bump when the tables change; older files are migrated in `migrate`. */
export const SCHEMA_VERSION = 1;

const SCHEMA = `
CREATE TABLE IF NOT EXISTS runs (
  id TEXT PRIMARY KEY,
  name TEXT NOT NULL,
  config_hash TEXT NOT NULL,
  status TEXT NOT NULL CHECK (status IN ('queued', 'running', 'done', 'failed')),
  sweep_id TEXT,
  seed INTEGER,
  created_at TEXT NOT NULL,
  started_at TEXT,
  finished_at TEXT,
  error TEXT
);
CREATE INDEX IF NOT EXISTS runs_by_name ON runs (name, status);
CREATE INDEX IF NOT EXISTS runs_by_hash ON runs (config_hash);
CREATE TABLE IF NOT EXISTS metrics (
  run_id TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
  condition TEXT NOT NULL,
  transfer_mode TEXT,
  source_kind TEXT CHECK (source_kind IS NULL OR source_kind IN ('biased', 'clean')),
  target TEXT,
  metric TEXT NOT NULL,
  value REAL NOT NULL,
  lo REAL,
  hi REAL,
  numerator REAL,
  denominator REAL
);
CREATE INDEX IF NOT EXISTS metrics_by_run ON metrics (run_id);
CREATE INDEX IF NOT EXISTS metrics_by_metric ON metrics (metric, condition);
CREATE TABLE IF NOT EXISTS jobs (
  key TEXT PRIMARY KEY,
  status TEXT NOT NULL CHECK (status IN ('claimed', 'done')),
  owner TEXT NOT NULL,
  pid INTEGER NOT NULL,
  host TEXT NOT NULL,
  proc_start TEXT,
  attempts INTEGER NOT NULL DEFAULT 1,
  claimed_at TEXT NOT NULL,
  completed_at TEXT,
  result_ref TEXT
);
`;

/**
 * Opens (creating if needed) the index at `file`: WAL mode, `busy_timeout` = `timeoutMs`,
 * foreign keys on, tables created inside an IMMEDIATE transaction so that two processes
 * opening a fresh folder at once do not race.
 */
export function openDatabase(file: string, timeoutMs = 15000): Database.Database {
  const db = new Database(file, { timeout: timeoutMs });
  try {
    db.pragma('schema_version'); // reads the header: a file that is not SQLite fails here, and is named below
    db.pragma(`busy_timeout = ${Math.floor(timeoutMs)}`);
    walMode(db, timeoutMs);
    db.pragma('synchronous = NORMAL');
    db.pragma('foreign_keys = ON');
    db.transaction(() => {
      const version = db.pragma('user_version', { simple: true }) as number;
      if (version > SCHEMA_VERSION) {
        throw new Error(`${file} was written by a newer bias-transfer (schema ${version} > ${SCHEMA_VERSION})`);
      }
      db.exec(SCHEMA);
      db.pragma(`user_version = ${SCHEMA_VERSION}`);
    }).immediate();
  } catch (e) {
    db.close();
    throw notADatabase(file, e);
  }
  return db;
}

/**
 * Switches `db` to WAL, retrying while another process holds the lock. SQLite does not call the
 * busy handler for this switch (it needs an exclusive lock and gives SQLITE_BUSY at once), so two
 * processes opening a fresh index together could fail with "database is locked" despite
 * `busy_timeout`; once the file is in WAL mode the pragma is a no-op.
 */
function walMode(db: Database.Database, timeoutMs: number): void {
  const deadline = Date.now() + timeoutMs;
  const pause = new Int32Array(new SharedArrayBuffer(4));
  for (;;) {
    try {
      db.pragma('journal_mode = WAL');
      return;
    } catch (e) {
      if ((e as { code?: string }).code !== 'SQLITE_BUSY' || Date.now() >= deadline) throw e;
      Atomics.wait(pause, 0, 0, 10 + Math.floor(Math.random() * 20));
    }
  }
}

/**
 * SQLite's "file is not a database" (and "database disk image is malformed") without the file:
 * the same error with the file named and what it should be. Other errors come back as they are.
 */
export function notADatabase(file: string, e: unknown): unknown {
  const code = (e as { code?: string }).code;
  if (code !== 'SQLITE_NOTADB' && code !== 'SQLITE_CORRUPT') return e;
  return new Error(
    `${file}: ${(e as Error).message} (expected the SQLite results index of a results root; move the file away or give another --root)`,
    { cause: e },
  );
}
