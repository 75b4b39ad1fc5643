/**
 * The SQL of the index's two read queries, in one place: the writer (`RunStore`) and the
 * read-only reader of the web app (`ResultsReader`) both build their statements here, so a
 * filter key or a column means the same in both.
 */

/** Lifecycle of a run. */
export type RunStatus = 'queued' | 'running' | 'done' | 'failed';

/** Filter of a runs query; every given field must match. */
export interface RunFilter {
  readonly name?: string;
  readonly status?: RunStatus;
  readonly sweepId?: string;
  readonly configHash?: string;
  readonly seed?: number;
}

/** Filter of a metrics query; every given field must match. */
export interface MetricFilter {
  readonly runId?: string;
  /** Experiment name (the run's). */
  readonly name?: string;
  readonly sweepId?: string;
  /** The run's config hash. */
  readonly configHash?: string;
  readonly metric?: string;
  readonly condition?: string;
  readonly transferMode?: string;
  readonly sourceKind?: 'biased' | 'clean';
  readonly target?: string;
  /** Only metrics of runs with this status. */
  readonly status?: RunStatus;
}

/** A statement and its named parameters, for better-sqlite3's `prepare(sql).all(args)`. */
export interface Query {
  readonly sql: string;
  readonly args: Record<string, unknown>;
}

const RUN_COLUMNS: Record<keyof RunFilter, string> = {
  name: 'name',
  status: 'status',
  sweepId: 'sweep_id',
  configHash: 'config_hash',
  seed: 'seed',
};

const METRIC_COLUMNS: Record<keyof MetricFilter, string> = {
  runId: 'm.run_id',
  name: 'r.name',
  sweepId: 'r.sweep_id',
  configHash: 'r.config_hash',
  metric: 'm.metric',
  condition: 'm.condition',
  transferMode: 'm.transfer_mode',
  sourceKind: 'm.source_kind',
  target: 'm.target',
  status: 'r.status',
};

function where<F extends object>(filter: F, columns: Record<keyof F, string>): { clause: string; args: Record<string, unknown> } {
  const parts: string[] = [];
  const args: Record<string, unknown> = {};
  for (const [k, col] of Object.entries(columns) as [keyof F & string, string][]) {
    if (filter[k] !== undefined) {
      parts.push(`${col} = @${k}`);
      args[k] = filter[k];
    }
  }
  return { clause: parts.length ? ` WHERE ${parts.join(' AND ')}` : '', args };
}

/**
 * Runs matching `filter`, by creation time then id: oldest first (`'asc'`, the writer's listing)
 * or newest first (`'desc'`, the web app's; ids still ascending among equal times).
 *
 * @example runsQuery({ name: 'backdoor', status: 'done' }, 'asc').sql
 * // 'SELECT * FROM runs WHERE name = @name AND status = @status ORDER BY created_at, id'
 */
export function runsQuery(filter: RunFilter, order: 'asc' | 'desc'): Query {
  const w = where(filter, RUN_COLUMNS);
  return { sql: `SELECT * FROM runs${w.clause} ORDER BY created_at${order === 'desc' ? ' DESC' : ''}, id`, args: w.args };
}

/**
 * Metric rows matching `filter`, each with its run's name, seed and sweep id (the columns of a
 * `MetricRecord`), in insertion order.
 */
export function metricsQuery(filter: MetricFilter): Query {
  const w = where(filter, METRIC_COLUMNS);
  const sql = `SELECT m.run_id AS runId, r.name AS runName, r.seed AS seed, r.sweep_id AS sweepId,
        m.condition, m.transfer_mode AS transferMode, m.source_kind AS sourceKind, m.target, m.metric,
        m.value, m.lo, m.hi, m.numerator, m.denominator
      FROM metrics m JOIN runs r ON r.id = m.run_id${w.clause} ORDER BY m.rowid`;
  return { sql, args: w.args };
}
