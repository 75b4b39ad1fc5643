/**
 * Turns zod validation issues into messages a person can act on: the dotted key path, what was
 * expected versus what was given, a "did you mean" for misspelt keys and values, and (filled in by
 * the loader) where the bad value came from: `file:line:col`, an override or a sweep key.
 */
import type { z } from 'zod';
import { formatKeyPath, getAtPath } from './key-path.js';
import { closestMatch } from './suggest.js';

/** One problem in a config. */
export interface ConfigIssue {
  /** Path of the offending key, e.g. ['source', 'bias', 'poison', 'probabilty']. */
  readonly path: readonly PropertyKey[];
  /** What is wrong, e.g. 'unknown key (did you mean probability?)'. */
  readonly message: string;
  /** Where it came from: 'config.yaml:12:5', '--set a.b=1', "sweep 'a.b' = 2", or undefined. */
  location?: string;
  /** The sweep key that produced the bad value, when it came from a sweep. */
  sweepKey?: string;
}

/** Renders one issue as `location: dotted.path: message`. */
export function formatIssue(issue: ConfigIssue): string {
  const key = formatKeyPath(issue.path) || '(root)';
  return `${issue.location ? `${issue.location}: ` : ''}${key}: ${issue.message}`;
}

/** A config that failed to parse or validate; `message` lists every issue, one per line. */
export class ConfigError extends Error {
  readonly issues: readonly ConfigIssue[];
  constructor(issues: readonly ConfigIssue[], header?: string) {
    super([...(header ? [header] : []), ...issues.map(formatIssue)].join('\n'));
    this.name = 'ConfigError';
    this.issues = issues;
  }
}

type AnySchema = z.ZodType;
interface Def {
  type: string;
  innerType?: AnySchema;
  in?: AnySchema;
  getter?: () => AnySchema;
  shape?: Record<string, AnySchema>;
  options?: AnySchema[];
  discriminator?: string;
  element?: AnySchema;
  items?: AnySchema[];
  valueType?: AnySchema;
  values?: unknown[];
}
const defOf = (s: AnySchema): Def => (s as unknown as { _zod: { def: Def } })._zod.def;

function unwrap(s: AnySchema): AnySchema {
  for (;;) {
    const d = defOf(s);
    if (d.innerType && ['optional', 'nullable', 'default', 'prefault', 'readonly', 'catch', 'nonoptional'].includes(d.type))
      s = d.innerType;
    else if (d.type === 'pipe' && d.in) s = d.in;
    else if (d.type === 'lazy' && d.getter) s = d.getter();
    else return s;
  }
}

/** For a union, the option matching `data` (by discriminator, else the first object option). */
function pickOption(s: AnySchema, data: unknown): AnySchema | undefined {
  const d = defOf(s);
  const options = d.options ?? [];
  if (d.discriminator && data && typeof data === 'object') {
    const tag = (data as Record<string, unknown>)[d.discriminator];
    const hit = options.find((o) => {
      const lit = defOf(unwrap(o)).shape?.[d.discriminator!];
      return lit !== undefined && (defOf(unwrap(lit)).values ?? []).includes(tag);
    });
    if (hit) return hit;
  }
  return options.find((o) => defOf(unwrap(o)).type === 'object');
}

/** The schema that validates the value at `path` of `root` (choosing union options by the data). */
export function schemaAt(schema: AnySchema, path: readonly PropertyKey[], root: unknown): AnySchema | undefined {
  let s: AnySchema | undefined = schema;
  for (let i = 0; i <= path.length && s; i++) {
    s = unwrap(s);
    if (defOf(s).type === 'union') s = pickOption(s, getAtPath(root, path.slice(0, i)));
    if (!s || i === path.length) break;
    s = unwrap(s);
    const d = defOf(s);
    const seg = path[i];
    if (d.type === 'object') s = d.shape?.[String(seg)];
    else if (d.type === 'array') s = d.element;
    else if (d.type === 'tuple') s = d.items?.[Number(seg)];
    else if (d.type === 'record') s = d.valueType;
    else s = undefined;
  }
  return s ? unwrap(s) : undefined;
}

function kindOf(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'list';
  if (typeof v === 'object') return 'object';
  return typeof v;
}

function preview(v: unknown): string {
  if (v === undefined) return 'nothing';
  const s = JSON.stringify(v) ?? String(v);
  return `${kindOf(v)} ${s.length > 40 ? `${s.slice(0, 37)}...` : s}`;
}

function didYouMean(word: unknown, candidates: readonly unknown[]): string {
  if (typeof word !== 'string') return '';
  const m = closestMatch(
    word,
    candidates.filter((c): c is string => typeof c === 'string'),
  );
  return m ? ` (did you mean ${m}?)` : '';
}

const quoteAll = (vs: readonly unknown[]) => vs.map((v) => JSON.stringify(v)).join(' | ');

type RawIssue = z.core.$ZodIssue;

/**
 * Converts zod issues (from validating `data` against `schema`) into ConfigIssues with
 * expected-versus-got messages. Unknown keys become one issue each, located at the key itself.
 */
export function describeIssues(
  issues: readonly RawIssue[],
  data: unknown,
  schema: AnySchema,
  prefix: readonly PropertyKey[] = [],
): ConfigIssue[] {
  const out: ConfigIssue[] = [];
  for (const issue of issues) {
    const path = [...prefix, ...issue.path];
    const got = getAtPath(data, path);
    switch (issue.code) {
      case 'unrecognized_keys': {
        const target = schemaAt(schema, path, data);
        const shape = target ? defOf(target).shape : undefined;
        const known = shape ? Object.keys(shape) : [];
        for (const key of issue.keys) {
          const hint = closestMatch(key, known);
          out.push({
            path: [...path, key],
            message: `unknown key${hint ? ` (did you mean ${hint}?)` : known.length ? ` (allowed: ${known.join(', ')})` : ''}`,
          });
        }
        break;
      }
      case 'invalid_type':
        out.push({
          path,
          message:
            got === undefined ? `missing required key (expected ${issue.expected})` : `expected ${issue.expected}, got ${preview(got)}`,
        });
        break;
      case 'invalid_value':
        out.push({
          path,
          message: `expected ${issue.values.length === 1 ? '' : 'one of '}${quoteAll(issue.values)}, got ${preview(got)}${didYouMean(got, issue.values)}`,
        });
        break;
      case 'invalid_union': {
        const disc = (issue as { discriminator?: string; options?: unknown[] }).options;
        if (issue.errors.length === 0 && disc) {
          out.push({
            path,
            message:
              got === undefined
                ? `missing required key (expected one of ${quoteAll(disc)})`
                : `expected one of ${quoteAll(disc)}, got ${preview(got)}${didYouMean(got, disc)}`,
          });
          break;
        }
        // A plain union: if every option fails at its root on the type, say which types were
        // allowed; otherwise report the option that got furthest (deepest first issue).
        const rootTypes = issue.errors.every(
          (branch) =>
            branch.length > 0 && branch.every((b) => b.path.length === 0 && (b.code === 'invalid_type' || b.code === 'invalid_value')),
        );
        if (rootTypes) {
          const expected = issue.errors.flatMap((branch) =>
            branch.map((b) => (b.code === 'invalid_type' ? b.expected : b.code === 'invalid_value' ? quoteAll(b.values) : '')),
          );
          out.push({
            path,
            message: `expected ${[...new Set(expected)].join(' or ')}, got ${preview(got)}${didYouMean(
              got,
              issue.errors.flatMap((b) => b.flatMap((x) => (x.code === 'invalid_value' ? x.values : []))),
            )}`,
          });
          break;
        }
        const depth = (branch: readonly RawIssue[]) =>
          Math.max(...branch.map((b) => b.path.length + (b.code === 'invalid_type' && b.path.length === 0 ? -1 : 0)));
        const best = [...issue.errors].sort((a, b) => depth(b) - depth(a))[0] ?? [];
        out.push(...describeIssues(best, data, schema, path));
        break;
      }
      case 'custom':
        out.push({ path, message: issue.message });
        break;
      default:
        out.push({
          path,
          message: `${issue.message.replace(/^Too (small|big): /, '').replace(/^Invalid string: /, '')}, got ${preview(got)}`,
        });
    }
  }
  return out;
}
