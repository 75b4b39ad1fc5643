/**
 * The run store: a results folder (see layout.ts) with its SQLite index of runs, metric rows
 * and job claims, and the model cache. Several processes may open the same root at once.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type Database from 'better-sqlite3';
import { stableHash } from './hash.js';
import { ModelCache } from './cache.js';
import { JobClaims, type ClaimResult, type JobRecord } from './claims.js';
import { openDatabase } from './db.js';
import { assertSafeId, indexPath, runPaths, type RunPaths } from './layout.js';
import { collectRunMeta, type RunMeta } from './meta.js';
import { hostName } from './process.js';
import { metricsQuery, runsQuery, type MetricFilter, type RunFilter, type RunStatus } from './query.js';

const STATUSES: readonly RunStatus[] = ['queued', 'running', 'done', 'failed'];

/** One metric value, named by condition rather than position. */
export interface MetricRow {
  /** Evaluation condition, e.g. 'clean', 'triggered', 'with_attribute', 'without_attribute'. */
  readonly condition: string;
  /** Transfer mode ('fixed', 'full', 'partial:2', 'scratch'); null for source-model metrics. */
  readonly transferMode?: string | null;
  /** Whether the source model was the biased one or the clean control. */
  readonly sourceKind?: 'biased' | 'clean' | null;
  /** Target task name; null for source-model metrics. */
  readonly target?: string | null;
  /** Metric name, e.g. 'accuracy', 'asr'. */
  readonly metric: string;
  /** The value (a finite number; fractions in 0..1, not percent). */
  readonly value: number;
  /** Confidence interval bounds, when computed. */
  readonly lo?: number | null;
  readonly hi?: number | null;
  /** Counts behind a ratio (e.g. successes / triggered test images), when it is one. */
  readonly numerator?: number | null;
  readonly denominator?: number | null;
}

/** A metric row with the run it belongs to. */
export interface MetricRecord extends Required<MetricRow> {
  readonly runId: string;
  readonly runName: string;
  readonly seed: number | null;
  readonly sweepId: string | null;
}

/** One row of the runs table. */
export interface RunRecord {
  readonly id: string;
  readonly name: string;
  readonly configHash: string;
  readonly status: RunStatus;
  readonly sweepId: string | null;
  readonly seed: number | null;
  readonly createdAt: string;
  readonly startedAt: string | null;
  readonly finishedAt: string | null;
  readonly error: string | null;
  readonly paths: RunPaths;
}

/** Options of createRun. */
export interface CreateRunOptions {
  /** Experiment name. */
  readonly name: string;
  /** The resolved config, written to config.json. */
  readonly config: unknown;
  /** Default stableHash(config). */
  readonly configHash?: string;
  readonly seed: number;
  /** Sweep point id ('default' or null without a sweep). */
  readonly sweepId?: string | null;
  /** Run id (a safe folder name). Default: `<name>[-<sweep id>]-seed<seed>-<first 8 hex of the hash>`. */
  readonly id?: string;
  /** What to do when the run already exists: 'error' (default) or 'replace' (delete its folder and metric rows, start afresh). */
  readonly ifExists?: 'error' | 'replace';
  /** libtorch version for meta.json. */
  readonly libtorch?: string | null;
  /** Extra fields for meta.json. */
  readonly extra?: Readonly<Record<string, unknown>>;
}

/** A row of the index's `runs` table, as SQLite returns it. */
export interface RunRow {
  id: string;
  name: string;
  config_hash: string;
  status: RunStatus;
  sweep_id: string | null;
  seed: number | null;
  created_at: string;
  started_at: string | null;
  finished_at: string | null;
  error: string | null;
}

/** The run record of an index row under results root `root` (also used by read-only readers of the index). */
export function runRecordOf(root: string, r: RunRow): RunRecord {
  return {
    id: r.id,
    name: r.name,
    configHash: r.config_hash,
    status: r.status,
    sweepId: r.sweep_id,
    seed: r.seed,
    createdAt: r.created_at,
    startedAt: r.started_at,
    finishedAt: r.finished_at,
    error: r.error,
    paths: runPaths(root, r.id),
  };
}

const CSV_COLUMNS = [
  'run_id',
  'condition',
  'transfer_mode',
  'source_kind',
  'target',
  'metric',
  'value',
  'lo',
  'hi',
  'numerator',
  'denominator',
] as const;

function csvCell(v: unknown): string {
  if (v === null || v === undefined) return '';
  const s = String(v);
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** Default run id: `<name>[-<sweep id, made folder-safe>]-seed<seed>-<hash8>`. */
export function defaultRunId(o: { name: string; sweepId?: string | null; seed: number; configHash: string }): string {
  const sweep = o.sweepId && o.sweepId !== 'default' ? `-${o.sweepId.replace(/[^A-Za-z0-9._=,+-]/g, '_').slice(0, 120)}` : '';
  return `${o.name}${sweep}-seed${o.seed}-${o.configHash.slice(0, 8)}`;
}

/** A results folder opened for reading and writing. Close it with `close()`. */
export class RunStore {
  /** The results root. */
  readonly root: string;
  /** Cached source models. */
  readonly cache: ModelCache;
  /** Default claim owner of this store: `<host>:<pid>`. */
  readonly owner: string;
  readonly #db: Database.Database;
  readonly #claims: JobClaims;
  #closed = false;

  constructor(root: string, options: { owner?: string; timeoutMs?: number } = {}) {
    this.root = path.resolve(root);
    fs.mkdirSync(path.join(this.root, 'runs'), { recursive: true });
    this.#db = openDatabase(indexPath(this.root), options.timeoutMs);
    this.#claims = new JobClaims(this.#db);
    this.cache = new ModelCache(this.root);
    this.owner = options.owner ?? `${hostName()}:${process.pid}`;
  }

  #open(): Database.Database {
    if (this.#closed) throw new Error(`run store ${this.root} is closed`);
    return this.#db;
  }

  /**
   * Creates run folder `runs/<id>/` (with logs/, checkpoints/, predictions/), writes
   * config.json and meta.json, and indexes the run as 'queued'. Returns its record.
   */
  createRun(options: CreateRunOptions): RunRecord {
    const db = this.#open();
    const configHash = options.configHash ?? stableHash(options.config);
    const id = options.id ?? defaultRunId({ ...options, configHash });
    assertSafeId(id, 'run id');
    const paths = runPaths(this.root, id);
    const meta: RunMeta = collectRunMeta({ seeds: [options.seed], libtorch: options.libtorch, extra: options.extra });
    db.transaction(() => {
      const exists = db.prepare('SELECT status FROM runs WHERE id = ?').get(id) as { status: RunStatus } | undefined;
      if (exists || fs.existsSync(paths.dir)) {
        if (options.ifExists !== 'replace') {
          throw new Error(
            `run '${id}' already exists in ${this.root}${exists ? ` (status ${exists.status})` : ''}; pass ifExists: 'replace' to start it again`,
          );
        }
        db.prepare('DELETE FROM runs WHERE id = ?').run(id); // metrics go with it (ON DELETE CASCADE)
        fs.rmSync(paths.dir, { recursive: true, force: true });
      }
      db.prepare('INSERT INTO runs (id, name, config_hash, status, sweep_id, seed, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)').run(
        id,
        options.name,
        configHash,
        'queued',
        options.sweepId ?? null,
        options.seed,
        meta.createdAt,
      );
      for (const d of [paths.logs, paths.checkpoints, paths.predictions]) fs.mkdirSync(d, { recursive: true });
      fs.writeFileSync(paths.config, `${JSON.stringify(options.config, null, 2)}\n`);
      fs.writeFileSync(paths.meta, `${JSON.stringify(meta, null, 2)}\n`);
    }).immediate();
    return this.getRun(id)!;
  }

  /** The run with this id, or undefined. */
  getRun(id: string): RunRecord | undefined {
    const row = this.#open().prepare('SELECT * FROM runs WHERE id = ?').get(id) as RunRow | undefined;
    return row && this.#toRecord(row);
  }

  #toRecord(r: RunRow): RunRecord {
    return runRecordOf(this.root, r);
  }

  /**
   * Sets a run's status. 'running' stamps started_at; 'done' and 'failed' stamp finished_at;
   * `error` (a message) is stored with 'failed'.
   */
  setStatus(runId: string, status: RunStatus, options: { error?: string } = {}): void {
    if (!STATUSES.includes(status)) throw new Error(`unknown run status '${status}' (expected ${STATUSES.join(', ')})`);
    const now = new Date().toISOString();
    const r = this.#open()
      .prepare(
        `UPDATE runs SET status = @status,
           started_at = CASE WHEN @status = 'running' THEN @now ELSE started_at END,
           finished_at = CASE WHEN @status IN ('done', 'failed') THEN @now WHEN @status = 'running' THEN NULL ELSE finished_at END,
           error = @error
         WHERE id = @id`,
      )
      .run({ status, now, error: options.error ?? null, id: runId });
    if (r.changes === 0) throw new Error(`no run '${runId}' in ${this.root}`);
  }

  /** Appends a timestamped line to the run's logs/run.log. */
  appendLog(runId: string, line: string): void {
    const p = runPaths(this.root, runId);
    fs.mkdirSync(p.logs, { recursive: true });
    fs.appendFileSync(p.log, `${new Date().toISOString()} ${line}\n`);
  }

  /**
   * Adds metric rows to a run (one transaction), then rewrites the run's metrics.json and
   * metrics.csv with all its rows. Throws, naming the row, on a non-finite value or a
   * missing condition/metric.
   */
  recordMetrics(runId: string, rows: readonly MetricRow[]): void {
    const db = this.#open();
    rows.forEach((r, i) => {
      if (!r.metric || !r.condition) throw new Error(`metric row ${i} of run '${runId}' needs a metric and a condition`);
      if (typeof r.value !== 'number' || !Number.isFinite(r.value)) {
        throw new Error(`metric row ${i} of run '${runId}' (${r.metric}/${r.condition}) has a non-finite value ${r.value}`);
      }
    });
    const insert = db.prepare(
      `INSERT INTO metrics (run_id, condition, transfer_mode, source_kind, target, metric, value, lo, hi, numerator, denominator)
       VALUES (@runId, @condition, @transferMode, @sourceKind, @target, @metric, @value, @lo, @hi, @numerator, @denominator)`,
    );
    db.transaction(() => {
      if (!db.prepare('SELECT 1 FROM runs WHERE id = ?').get(runId)) throw new Error(`no run '${runId}' in ${this.root}`);
      for (const r of rows) {
        insert.run({
          runId,
          condition: r.condition,
          transferMode: r.transferMode ?? null,
          sourceKind: r.sourceKind ?? null,
          target: r.target ?? null,
          metric: r.metric,
          value: r.value,
          lo: r.lo ?? null,
          hi: r.hi ?? null,
          numerator: r.numerator ?? null,
          denominator: r.denominator ?? null,
        });
      }
    }).immediate();
    this.#writeMetricFiles(runId);
  }

  #writeMetricFiles(runId: string): void {
    const all = this.queryMetrics({ runId });
    const p = runPaths(this.root, runId);
    const rows = all.map(({ runName: _n, seed: _s, sweepId: _w, ...r }) => r);
    fs.writeFileSync(p.metricsJson, `${JSON.stringify(rows, null, 2)}\n`);
    const csv = [CSV_COLUMNS.join(',')];
    for (const r of all) {
      csv.push(
        [r.runId, r.condition, r.transferMode, r.sourceKind, r.target, r.metric, r.value, r.lo, r.hi, r.numerator, r.denominator]
          .map(csvCell)
          .join(','),
      );
    }
    fs.writeFileSync(p.metricsCsv, `${csv.join('\n')}\n`);
  }

  /** Runs matching `filter`, oldest first. */
  listRuns(filter: RunFilter = {}): RunRecord[] {
    const q = runsQuery(filter, 'asc');
    return (this.#open().prepare(q.sql).all(q.args) as RunRow[]).map((r) => this.#toRecord(r));
  }

  /** Metric rows matching `filter`, with their run's name, seed and sweep id; in insertion order. */
  queryMetrics(filter: MetricFilter = {}): MetricRecord[] {
    const q = metricsQuery(filter);
    return this.#open().prepare(q.sql).all(q.args) as MetricRecord[];
  }

  /**
   * Atomically claims job `jobKey` for `owner` (default this store's owner) and this process.
   * See JobClaims.claim: 'claimed' | 'done' | 'held' (stale claims of dead processes are taken over).
   */
  claim(jobKey: string, owner: string = this.owner): ClaimResult {
    this.#open();
    return this.#claims.claim(jobKey, { owner });
  }

  /** Marks a job this process claimed as done, with a reference to its result (a run id, a cache key...). */
  complete(jobKey: string, resultRef: string | null = null, owner: string = this.owner): void {
    this.#open();
    this.#claims.complete(jobKey, resultRef, { owner });
  }

  /** Gives up this process's claim on a job (e.g. after a failure) so it can be claimed again. */
  release(jobKey: string, owner: string = this.owner): boolean {
    this.#open();
    return this.#claims.release(jobKey, { owner });
  }

  /** Whether job `jobKey` is done. */
  isDone(jobKey: string): boolean {
    this.#open();
    return this.#claims.isDone(jobKey);
  }

  /** Job rows whose key starts with `prefix` (all by default). */
  listJobs(prefix = ''): JobRecord[] {
    this.#open();
    return this.#claims.list(prefix);
  }

  /** `PRAGMA integrity_check` result: 'ok' when the database is sound. */
  integrityCheck(): string {
    return this.#open().pragma('integrity_check', { simple: true }) as string;
  }

  /** Closes the database; further calls throw. Safe to call twice. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#db.close();
  }

  [Symbol.dispose](): void {
    this.close();
  }
}

/**
 * Opens (creating if needed) the results folder `root`.
 *
 * @example
 * const store = openStore('results');
 * const run = store.createRun({ name: cfg.name, config: cfg, seed: 0 });
 * store.setStatus(run.id, 'running');
 * store.recordMetrics(run.id, [{ condition: 'triggered', transferMode: 'fixed', sourceKind: 'biased', target: 'mnist', metric: 'asr', value: 0.83 }]);
 * store.close();
 */
export function openStore(root: string, options: { owner?: string; timeoutMs?: number } = {}): RunStore {
  return new RunStore(root, options);
}
