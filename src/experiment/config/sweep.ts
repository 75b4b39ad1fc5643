/**
 * Sweep expansion: the `sweep` grid of a config becomes one fully validated config per
 * combination of values (cartesian product), each with a stable id built from its values.
 */
import { canonicalJson } from '../../store/hash.js';
import { ConfigError, describeIssues, type ConfigIssue } from './errors.js';
import { formatKeyPath, parseKeyPath, setAtPath, type PathSegment } from './key-path.js';
import { ExperimentConfigSchema, type ExperimentConfig } from './schema.js';

/** One point of a sweep. */
export interface SweepPoint {
  /** Stable id from the assigned values, e.g. 'probability=0.1,weightDecay=0'; 'default' without a sweep. */
  readonly id: string;
  /** Position in the deterministic expansion order (0-based). */
  readonly index: number;
  /** Value assigned to each swept key path, keyed by the path as written in `sweep`. */
  readonly values: Readonly<Record<string, unknown>>;
  /** The validated config of this point (its own `sweep` is empty). */
  readonly config: ExperimentConfig;
}

/** How a swept value is written in a sweep id: strings as-is, everything else canonical JSON. */
export function formatSweepValue(v: unknown): string {
  return typeof v === 'string' ? v : canonicalJson(v);
}

/** For each path, its shortest dotted suffix that no other path shares (used in sweep ids). */
export function shortSweepLabels(paths: readonly (readonly PathSegment[])[]): string[] {
  return paths.map((p, i) => {
    for (let n = 1; n < p.length; n++) {
      const label = formatKeyPath(p.slice(-n));
      if (paths.every((q, j) => j === i || formatKeyPath(q.slice(-n)) !== label)) return label;
    }
    return formatKeyPath(p);
  });
}

/**
 * Expands `config.sweep` into every combination of its values. The order is deterministic:
 * keys in the order written, the last key varying fastest (like nested loops). Each point is
 * the config with the values set at their key paths, re-validated against the schema; a point
 * that fails throws a ConfigError whose issues name the sweep key responsible (`sweepKey`,
 * location "sweep 'key' = value"). Without a sweep the result is one point with id 'default'.
 *
 * @example
 * // sweep: { 'source.bias.poison.probability': [0.1, 0.5], 'targetTraining.optimizer.weightDecay': [0, 5e-4] }
 * expandSweep(cfg).map((p) => p.id)
 * // → ['probability=0.1,weightDecay=0', 'probability=0.1,weightDecay=0.0005', 'probability=0.5,weightDecay=0', ...]
 */
export function expandSweep(config: ExperimentConfig): SweepPoint[] {
  const keys = Object.keys(config.sweep);
  if (keys.length === 0) return [{ id: 'default', index: 0, values: {}, config }];
  const problems: ConfigIssue[] = [];
  const paths = keys.map((k) => {
    try {
      const p = parseKeyPath(k);
      if (p[0] === 'sweep') throw new Error('the sweep cannot sweep itself');
      return p;
    } catch (e) {
      problems.push({ path: ['sweep', k], message: (e as Error).message, sweepKey: k });
      return [];
    }
  });
  keys.forEach((k) => {
    const seen = new Set(config.sweep[k].map(canonicalJson));
    if (seen.size !== config.sweep[k].length) problems.push({ path: ['sweep', k], message: 'swept values must be distinct', sweepKey: k });
  });
  if (problems.length) throw new ConfigError(problems, 'invalid sweep:');

  const labels = shortSweepLabels(paths);
  const points: SweepPoint[] = [];
  const issues = new Map<string, ConfigIssue>();
  const total = keys.reduce((n, k) => n * config.sweep[k].length, 1);
  for (let index = 0; index < total; index++) {
    // Mixed-radix decomposition of `index`, last key fastest.
    const combo: unknown[] = new Array(keys.length);
    let rest = index;
    for (let i = keys.length - 1; i >= 0; i--) {
      const vs = config.sweep[keys[i]];
      combo[i] = vs[rest % vs.length];
      rest = Math.floor(rest / vs.length);
    }
    const values: Record<string, unknown> = {};
    const data = structuredClone({ ...config, sweep: {} }) as Record<string, unknown>;
    // One report per (sweep key, path, message): the same typo fails at every point.
    const add = (i: ConfigIssue) => {
      const k = `${i.sweepKey ?? i.location}|${formatKeyPath(i.path)}|${i.message}`;
      if (!issues.has(k)) issues.set(k, i);
    };
    keys.forEach((k, i) => {
      values[k] = combo[i];
      try {
        setAtPath(data, paths[i], structuredClone(combo[i]));
      } catch (e) {
        add({ path: paths[i], message: (e as Error).message, sweepKey: k, location: `sweep '${k}' = ${formatSweepValue(combo[i])}` });
      }
    });
    const id = keys.map((k, i) => `${labels[i]}=${formatSweepValue(combo[i])}`).join(',');
    const parsed = ExperimentConfigSchema.safeParse(data);
    if (!parsed.success) {
      for (const issue of describeIssues(parsed.error.issues, data, ExperimentConfigSchema)) {
        // Blame the sweep key whose path is the longest prefix of the issue's path.
        let owner = -1;
        paths.forEach((p, i) => {
          const prefix = p.length <= issue.path.length && p.every((s, j) => String(s) === String(issue.path[j]));
          if (prefix && (owner < 0 || p.length > paths[owner].length)) owner = i;
        });
        add(
          owner >= 0
            ? { ...issue, sweepKey: keys[owner], location: `sweep '${keys[owner]}' = ${formatSweepValue(combo[owner])}` }
            : { ...issue, location: `sweep point ${id}` },
        );
      }
      continue;
    }
    points.push({ id, index, values, config: parsed.data });
  }
  if (issues.size) throw new ConfigError([...issues.values()], 'invalid sweep point(s):');
  return points;
}
