/**
 * Canonical JSON and content hashes for configs and cache keys: objects are written with their
 * keys sorted, so two values that differ only in key order hash the same.
 */
import { createHash } from 'node:crypto';

/**
 * Serialises `value` as JSON with object keys sorted at every depth (no whitespace).
 * `undefined` object members are dropped and `undefined` array items become `null`, as in
 * JSON.stringify. Throws on values JSON cannot represent faithfully (NaN, Infinity, bigint,
 * functions, symbols, Map/Set, class instances other than Date), naming where they sit.
 *
 * @example canonicalJson({ b: 1, a: [2, { d: 3, c: 4 }] }) === '{"a":[2,{"c":4,"d":3}],"b":1}'
 */
export function canonicalJson(value: unknown): string {
  return write(value, '$');
}

function write(v: unknown, at: string): string {
  if (v === null) return 'null';
  switch (typeof v) {
    case 'string':
    case 'boolean':
      return JSON.stringify(v);
    case 'number':
      if (!Number.isFinite(v)) throw new Error(`canonicalJson: non-finite number ${v} at ${at}`);
      return JSON.stringify(Object.is(v, -0) ? 0 : v);
    case 'object': {
      if (Array.isArray(v)) return `[${v.map((x, i) => (x === undefined ? 'null' : write(x, `${at}[${i}]`))).join(',')}]`;
      if (v instanceof Date) return JSON.stringify(v.toISOString());
      const proto = Object.getPrototypeOf(v);
      if (proto !== Object.prototype && proto !== null) {
        throw new Error(`canonicalJson: cannot serialise a ${proto?.constructor?.name ?? 'object'} at ${at}`);
      }
      const o = v as Record<string, unknown>;
      const parts: string[] = [];
      for (const k of Object.keys(o).sort()) {
        if (o[k] === undefined) continue;
        parts.push(`${JSON.stringify(k)}:${write(o[k], `${at}.${k}`)}`);
      }
      return `{${parts.join(',')}}`;
    }
    default:
      throw new Error(`canonicalJson: cannot serialise a ${typeof v} at ${at}`);
  }
}

/**
 * SHA-256 (lower-case hex, 64 characters) of `canonicalJson(value)`: a stable content key for
 * configs and cached models. Key order does not matter; every value and array order does.
 */
export function stableHash(value: unknown): string {
  return createHash('sha256').update(canonicalJson(value)).digest('hex');
}
