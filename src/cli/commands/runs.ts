/**
 * `runs list`, `runs metrics`, `runs compare`: queries of a results folder's run index (the
 * SQLite index of src/store), never a walk of its folders.
 */
import fs from 'node:fs';
import { closestMatch } from '../../experiment/config/suggest.js';
import { indexPath, openStore, type MetricRecord, type RunStatus, type RunStore } from '../../store/index.js';
import { CliError, defineCommand } from '../args.js';
import { defineGroup } from '../tree.js';
import { printJson, runAction, type CommandIO, type FlagsOf, type PositionalsOf } from './io.js';
import { formatTable, type Cell } from './table.js';

const STATUSES = ['queued', 'running', 'done', 'failed'] as const;
const ROOT_FLAG = {
  name: 'root',
  type: 'string',
  valueName: 'dir',
  default: 'runs',
  description: 'Results folder (holds index.sqlite and runs/).',
} as const;
const JSON_FLAG = { name: 'json', type: 'boolean', description: 'Print JSON instead of a table.' } as const;

/** `runs list`: the runs of a results folder. */
export const runsListCommand = defineCommand({
  name: 'list',
  summary: 'List the runs of a results folder (id, name, status, seed, sweep point, start and finish times).',
  flags: [
    ROOT_FLAG,
    { name: 'name', type: 'string', description: 'Only runs of this experiment name.' },
    { name: 'status', type: 'string', choices: STATUSES, description: 'Only runs with this status.' },
    { name: 'sweep', type: 'string', valueName: 'id', description: 'Only runs of this sweep point.' },
    JSON_FLAG,
  ],
  examples: ['runs list --root results --status done'],
  run: (flags, positionals, io): Promise<number> => runRunsList(flags, positionals, io),
});

/** `runs metrics`: the metric rows of one run. */
export const runsMetricsCommand = defineCommand({
  name: 'metrics',
  summary: 'Print the metric rows of one run (condition, transfer mode, source kind, target, value, interval, counts).',
  positionals: [{ name: 'runId', description: 'The run id (see runs list).' }],
  flags: [
    ROOT_FLAG,
    { name: 'metric', type: 'string', description: "Only this metric, e.g. 'asr' or 'accuracy'." },
    { name: 'condition', type: 'string', description: "Only this condition, e.g. 'triggered'." },
    JSON_FLAG,
  ],
  examples: ['runs metrics backdoor-probability=1-seed0-1a2b3c4d-c0123456789ab --metric asr'],
  run: (flags, positionals, io): Promise<number> => runRunsMetrics(flags, positionals, io),
});

/** `runs compare`: one metric across runs and (mode, source kind, condition). */
export const runsCompareCommand = defineCommand({
  name: 'compare',
  summary: 'Tabulate one metric per run × (transfer mode, source kind, condition), with a mean row.',
  description:
    'Columns are named mode/source/condition (with @target when runs span several targets); source-model rows show mode "source".',
  flags: [
    ROOT_FLAG,
    { name: 'metric', type: 'string', description: "The metric to compare, e.g. 'asr' (required)." },
    { name: 'name', type: 'string', description: 'Only runs of this experiment name.' },
    { name: 'condition', type: 'string', description: 'Only this condition.' },
    { name: 'target', type: 'string', description: 'Only this target task.' },
    { name: 'status', type: 'string', choices: STATUSES, description: 'Only runs with this status.' },
    JSON_FLAG,
  ],
  examples: ['runs compare --metric asr --name backdoor', 'runs compare --metric accuracy --condition clean --json'],
  run: (flags, positionals, io): Promise<number> => runRunsCompare(flags, positionals, io),
});

/** `runs`: the group of the run-index queries. */
export const runsGroup = defineGroup({
  name: 'runs',
  summary: "Queries of a results folder's run index.",
  commands: [runsListCommand, runsMetricsCommand, runsCompareCommand],
});

/** Parsed flags of `runs list`. */
export type RunsListFlags = FlagsOf<typeof runsListCommand>;
/** Parsed flags of `runs metrics`. */
export type RunsMetricsFlags = FlagsOf<typeof runsMetricsCommand>;
/** Parsed flags of `runs compare`. */
export type RunsCompareFlags = FlagsOf<typeof runsCompareCommand>;

/** Opens an existing results folder (a CliError when it has no index, rather than creating one). */
function openExisting<T>(root: string, fn: (store: RunStore) => T): T {
  if (!fs.existsSync(indexPath(root))) throw new CliError(`no results index in '${root}' (expected ${indexPath(root)}); give --root`);
  const store = openStore(root);
  try {
    return fn(store);
  } finally {
    store.close();
  }
}

function time(iso: string | null): string | null {
  return iso === null ? null : iso.replace('T', ' ').replace(/\.\d+Z?$|Z$/, '');
}

/** Prints the runs matching the filters, oldest first. */
export async function runRunsList(
  flags: RunsListFlags,
  _positionals: PositionalsOf<typeof runsListCommand>,
  io: CommandIO,
): Promise<number> {
  return runAction(io, () =>
    openExisting(flags.root, (store) => {
      const runs = store.listRuns({ name: flags.name, status: flags.status as RunStatus | undefined, sweepId: flags.sweep });
      if (flags.json) {
        printJson(
          io,
          runs.map(({ paths: _p, ...r }) => r),
        );
        return 0;
      }
      if (runs.length === 0) {
        io.out('no runs match');
        return 0;
      }
      io.out(
        formatTable(
          ['id', 'name', 'status', 'seed', 'sweep', 'started', 'finished'],
          runs.map((r) => [r.id, r.name, r.status, r.seed, r.sweepId, time(r.startedAt), time(r.finishedAt)]),
        ),
      );
      io.out(`${runs.length} run(s)`);
      return 0;
    }),
  );
}

/** Prints the metric rows of one run. */
export async function runRunsMetrics(
  flags: RunsMetricsFlags,
  positionals: PositionalsOf<typeof runsMetricsCommand>,
  io: CommandIO,
): Promise<number> {
  return runAction(io, () =>
    openExisting(flags.root, (store) => {
      const id = positionals.runId;
      if (store.getRun(id) === undefined) {
        const near = closestMatch(
          id,
          store.listRuns().map((r) => r.id),
        );
        throw new CliError(`no run '${id}' in '${flags.root}'${near ? ` (did you mean ${near}?)` : ''}`);
      }
      const rows = store.queryMetrics({ runId: id, metric: flags.metric, condition: flags.condition });
      if (flags.json) {
        printJson(io, rows);
        return 0;
      }
      if (rows.length === 0) {
        io.out(`no metrics match for run '${id}'`);
        return 0;
      }
      io.out(
        formatTable(
          ['metric', 'condition', 'mode', 'source', 'target', 'value', 'lo', 'hi', 'num', 'den'],
          rows.map((r) => [r.metric, r.condition, r.transferMode, r.sourceKind, r.target, r.value, r.lo, r.hi, r.numerator, r.denominator]),
        ),
      );
      return 0;
    }),
  );
}

/** One column of a comparison: a (transfer mode, source kind, condition[, target]) cell key. */
export interface CompareColumn {
  label: string;
  transferMode: string | null;
  sourceKind: string | null;
  condition: string;
  target: string | null;
}

/** A comparison table: the metric's value per run and column (null where a run has no value). */
export interface Comparison {
  metric: string;
  columns: CompareColumn[];
  rows: { runId: string; runName: string; seed: number | null; backbone: string | null; values: (number | null)[] }[];
  /** Mean over the runs that have a value, per column (over all runs, even of different backbones: see `means`). */
  mean: (number | null)[];
  /**
   * Means per backbone (the pretrained weights' sha256 a run transferred, null for a source
   * trained here), so two different files of the same experiment name are not averaged together.
   */
  means: { backbone: string | null; runs: number; values: (number | null)[] }[];
}

/**
 * The backbone a run transferred, from its sources.json: the sha256 of the pretrained weights
 * file of its audited (biased) source, or null for a source trained here or an unreadable file.
 */
export function backboneOf(runDir: string): string | null {
  try {
    const sources = JSON.parse(fs.readFileSync(`${runDir}/sources.json`, 'utf8')) as { key?: string; kind?: string }[];
    const keys = sources.map((s) => s.key ?? '').filter((k) => k.startsWith('pretrained-'));
    return keys.length > 0 ? keys[0].slice('pretrained-'.length) : null;
  } catch {
    return null;
  }
}

/**
 * Arranges metric records of one metric into runs × (mode, source kind, condition) in the order
 * first seen; the target joins the column key when the records span several targets.
 */
export function compareMetric(
  metric: string,
  records: readonly MetricRecord[],
  backbone: (runId: string) => string | null = () => null,
): Comparison {
  const withTarget = new Set(records.map((r) => r.target)).size > 1;
  const columns: CompareColumn[] = [];
  const colIndex = new Map<string, number>();
  const rows: Comparison['rows'] = [];
  const rowIndex = new Map<string, number>();
  for (const r of records) {
    const label = labelOf(r, withTarget);
    if (!colIndex.has(label)) {
      colIndex.set(label, columns.length);
      columns.push({
        label,
        transferMode: r.transferMode,
        sourceKind: r.sourceKind,
        condition: r.condition,
        target: withTarget ? r.target : null,
      });
    }
    if (!rowIndex.has(r.runId)) {
      rowIndex.set(r.runId, rows.length);
      rows.push({ runId: r.runId, runName: r.runName, seed: r.seed, backbone: backbone(r.runId), values: [] });
    }
  }
  for (const row of rows) row.values = columns.map(() => null);
  for (const r of records) rows[rowIndex.get(r.runId)!].values[colIndex.get(labelOf(r, withTarget))!] = r.value;
  const meanOf = (rs: typeof rows) =>
    columns.map((_, j) => {
      const vs = rs.map((r) => r.values[j]).filter((v): v is number => v !== null);
      return vs.length > 0 ? vs.reduce((a, b) => a + b, 0) / vs.length : null;
    });
  const backbones = [...new Set(rows.map((r) => r.backbone))];
  const means = backbones.map((b) => {
    const rs = rows.filter((r) => r.backbone === b);
    return { backbone: b, runs: rs.length, values: meanOf(rs) };
  });
  return { metric, columns, rows, mean: meanOf(rows), means };
}

function labelOf(r: MetricRecord, withTarget: boolean): string {
  return `${r.transferMode ?? 'source'}/${r.sourceKind ?? '-'}/${r.condition}${withTarget ? `@${r.target ?? '-'}` : ''}`;
}

/** Prints one metric per run × (mode, source kind, condition), from a metrics query. */
export async function runRunsCompare(
  flags: RunsCompareFlags,
  _positionals: PositionalsOf<typeof runsCompareCommand>,
  io: CommandIO,
): Promise<number> {
  return runAction(io, () => {
    if (flags.metric === undefined) throw new CliError('--metric is required (e.g. --metric asr)');
    const metric = flags.metric;
    return openExisting(flags.root, (store) => {
      const records = store.queryMetrics({
        metric,
        name: flags.name,
        condition: flags.condition,
        target: flags.target,
        status: flags.status as RunStatus | undefined,
      });
      if (records.length === 0) {
        const known = [...new Set(store.queryMetrics({ name: flags.name }).map((r) => r.metric))];
        throw new CliError(`no '${metric}' values match in '${flags.root}'${known.length ? `; metrics present: ${known.join(', ')}` : ''}`);
      }
      const dirs = new Map<string, string | null>();
      const c = compareMetric(metric, records, (id) => {
        if (!dirs.has(id)) {
          const run = store.getRun(id);
          dirs.set(id, run ? backboneOf(run.paths.dir) : null);
        }
        return dirs.get(id)!;
      });
      if (flags.json) {
        printJson(io, c);
        return 0;
      }
      // Runs of different pretrained files (same experiment name) get a mean each, never one mixed mean.
      const several = c.means.length > 1;
      const short = (b: string | null) => (b === null ? 'trained here' : b.slice(0, 12));
      const body: Cell[][] = c.rows.map((r) => [r.runId, r.seed, ...(several ? [short(r.backbone)] : []), ...r.values]);
      if (several) for (const m of c.means) body.push([`mean (${m.runs} runs)`, null, short(m.backbone), ...m.values]);
      else if (c.rows.length > 1) body.push(['mean', null, ...c.mean]);
      io.out(`${metric}:`);
      io.out(formatTable(['run', 'seed', ...(several ? ['backbone sha256'] : []), ...c.columns.map((col) => col.label)], body));
      if (several) io.out(`${c.means.length} different backbones: one mean per backbone (its weights' sha256), not one over all.`);
      return 0;
    });
  });
}
