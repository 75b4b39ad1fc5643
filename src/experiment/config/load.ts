/**
 * Loading experiment configs: read YAML/JSON (keeping source positions), apply `key.path=value`
 * overrides, validate against the schema, check the sweep, and hash the result.
 *
 * Every error names the key by its dotted path and where it came from, e.g.
 *   config.yaml:12:5: source.bias.poison.probabilty: unknown key (did you mean probability?)
 *   --set sourceTraining.epochs=abc: sourceTraining.epochs: expected number, got string "abc"
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { LineCounter, isMap, isScalar, isSeq, parse as parseYaml, parseDocument, type Document } from 'yaml';
import { ConfigError, describeIssues, type ConfigIssue } from './errors.js';
import { stableHash } from '../../store/hash.js';
import { parseKeyPath, setAtPath, type PathSegment } from './key-path.js';
import { ExperimentConfigSchema, type ExperimentConfig } from './schema.js';
import { expandSweep } from './sweep.js';

/** Options of loadConfig / parseConfigText. */
export interface LoadConfigOptions {
  /** Overrides `key.path=value`; the value is parsed as a YAML scalar or flow collection (`[1, 2]`, `{kind: sgd}`). */
  readonly overrides?: readonly string[];
  /** Expand and validate every sweep point at load time (default true). */
  readonly checkSweep?: boolean;
}

/** A loaded, validated config. */
export interface LoadedConfig {
  /** The validated config, defaults filled in. */
  readonly config: ExperimentConfig;
  /** The data as read from the file with overrides applied, before defaults. */
  readonly raw: unknown;
  /** stableHash(config): sha256 hex of the canonical JSON of the resolved config. */
  readonly hash: string;
  /** The file it came from ('<text>' for parseConfigText without a name). */
  readonly file: string;
  /** Folder that relative paths in the config resolve against. */
  readonly dir: string;
}

/**
 * Reads, overrides and validates an experiment config file (`.yaml`, `.yml` or `.json`).
 * Throws ConfigError listing every problem with its location.
 *
 * @example const { config, hash } = loadConfig('experiments/example.yaml', { overrides: ['seeds=[0]'] });
 */
export function loadConfig(file: string, options: LoadConfigOptions = {}): LoadedConfig {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw new ConfigError([], `${file}: cannot read config: ${(e as Error).message}`);
  }
  return parseConfigText(text, { ...options, file });
}

/**
 * Like loadConfig, from text. `file` names the source in messages and picks the format
 * (`.json` → strict JSON; anything else → YAML) and the folder relative paths resolve against.
 */
export function parseConfigText(text: string, options: LoadConfigOptions & { file?: string } = {}): LoadedConfig {
  const file = options.file ?? '<text>';
  if (file.endsWith('.json')) {
    try {
      JSON.parse(text);
    } catch (e) {
      throw new ConfigError([], `${file}: invalid JSON: ${(e as Error).message}`);
    }
  }
  // JSON is YAML 1.2, so the YAML parser gives positions for both formats.
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, uniqueKeys: true });
  if (doc.errors.length) {
    throw new ConfigError(
      [],
      doc.errors.map((e) => `${file}:${e.linePos?.[0].line ?? '?'}:${e.linePos?.[0].col ?? '?'}: ${e.message.split('\n')[0]}`).join('\n'),
    );
  }
  const parsed: unknown = doc.toJS({ maxAliasCount: 1000 });
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new ConfigError(
      [],
      `${file}: the config must be a mapping of keys to values, got ${parsed === null ? 'nothing' : Array.isArray(parsed) ? 'a list' : typeof parsed}`,
    );
  }
  const raw = parsed as Record<string, unknown>;
  const overrides = applyOverrides(raw, options.overrides ?? []);

  const locate = (issue: ConfigIssue): ConfigIssue => {
    // An override is responsible for an issue at or under its path, and for one above it
    // (e.g. an unknown key) when the file does not hold that key: `--set sourceTrainin.epochs=1`.
    const o = overrides
      .filter((x) => isPrefix(x.path, issue.path) || (issue.path.length > 0 && isPrefix(issue.path, x.path) && !doc.hasIn(issue.path)))
      .pop();
    if (o) return { ...issue, location: `--set ${o.text}` };
    const pos = positionOf(doc, lineCounter, issue.path);
    return { ...issue, location: pos ? `${file}:${pos.line}:${pos.col}` : file };
  };

  const result = ExperimentConfigSchema.safeParse(raw);
  if (!result.success) {
    throw new ConfigError(describeIssues(result.error.issues, raw, ExperimentConfigSchema).map(locate), `${file}: invalid config:`);
  }
  const config = result.data;
  if (options.checkSweep ?? true) {
    try {
      expandSweep(config);
    } catch (e) {
      if (!(e instanceof ConfigError)) throw e;
      throw new ConfigError(
        e.issues.map((i) => {
          if (i.sweepKey === undefined) return { ...i, location: `${file}: ${i.location ?? 'sweep'}` };
          const where = locate({ path: ['sweep', i.sweepKey], message: '' }).location;
          return { ...i, location: `${where}: ${i.location ?? `sweep '${i.sweepKey}'`}` };
        }),
        `${file}: invalid sweep:`,
      );
    }
  }
  return { config, raw, hash: stableHash(config), file, dir: path.dirname(path.resolve(file === '<text>' ? '.' : file)) };
}

interface AppliedOverride {
  readonly text: string;
  readonly path: PathSegment[];
}

/**
 * Applies `key.path=value` overrides to `data` in order (mutating it). The value is parsed as
 * YAML (`0.5` → number, `true`, `null`, `[0, 1]`, `{kind: adam}`; empty → ''). Throws
 * ConfigError naming the override when its form is wrong or its path cannot be set.
 */
export function applyOverrides(data: Record<string, unknown>, overrides: readonly string[]): AppliedOverride[] {
  const applied: AppliedOverride[] = [];
  const issues: ConfigIssue[] = [];
  for (const text of overrides) {
    const eq = text.indexOf('=');
    if (eq < 1) {
      issues.push({ path: [], message: 'expected key.path=value', location: `--set ${text}` });
      continue;
    }
    let p: PathSegment[] = [];
    try {
      p = parseKeyPath(text.slice(0, eq).trim());
      const valueText = text.slice(eq + 1);
      const value: unknown = valueText.trim() === '' ? '' : parseYaml(valueText);
      setAtPath(data, p, value);
      applied.push({ text, path: p });
    } catch (e) {
      issues.push({ path: p, message: (e as Error).message, location: `--set ${text}` });
    }
  }
  if (issues.length) throw new ConfigError(issues, 'invalid override(s):');
  return applied;
}

function isPrefix(prefix: readonly PropertyKey[], full: readonly PropertyKey[]): boolean {
  return prefix.length <= full.length && prefix.every((s, i) => String(s) === String(full[i]));
}

/**
 * 1-based line and column of the node at `path` in a YAML document: the key itself for a
 * mapping member (so unknown keys point at their name), the item for a list entry, and the
 * nearest existing ancestor's key when the path is missing (a required key left out).
 */
export function positionOf(
  doc: Document,
  lineCounter: LineCounter,
  path: readonly PropertyKey[],
): { line: number; col: number } | undefined {
  let node: unknown = doc.contents;
  let offset: number | undefined = (doc.contents as { range?: number[] } | null)?.range?.[0];
  for (const seg of path) {
    if (isMap(node)) {
      const pair = node.items.find((p) => isScalar(p.key) && String(p.key.value) === String(seg));
      if (!pair) break;
      offset = (pair.key as { range?: number[] }).range?.[0] ?? offset;
      node = pair.value;
    } else if (isSeq(node) && typeof seg === 'number' && node.items[seg] !== undefined) {
      node = node.items[seg];
      offset = (node as { range?: number[] }).range?.[0] ?? offset;
    } else break;
  }
  return offset === undefined ? undefined : lineCounter.linePos(offset);
}
