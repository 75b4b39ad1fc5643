/**
 * Dotted key paths into plain config data: `'source.bias.poison.probability'`,
 * `'targets.0.dataset.limit'` (an all-digit segment indexes an array).
 */

/** One step of a key path: an object key or an array index. */
export type PathSegment = string | number;

/**
 * Splits a dotted key path; all-digit segments become numbers. Throws on empty segments.
 *
 * @example parseKeyPath('targets.0.dataset.limit') → ['targets', 0, 'dataset', 'limit']
 */
export function parseKeyPath(text: string): PathSegment[] {
  const parts = text.split('.');
  if (text.trim() === '' || parts.some((p) => p === '')) throw new Error(`invalid key path '${text}': empty segment`);
  return parts.map((p) => (/^[0-9]+$/.test(p) ? Number(p) : p));
}

/** Writes a path back in dotted form, e.g. ['targets', 0, 'name'] → 'targets.0.name'. */
export function formatKeyPath(path: readonly PropertyKey[]): string {
  return path.map(String).join('.');
}

/** Reads the value at `path`, or undefined when any step is missing. */
export function getAtPath(data: unknown, path: readonly PropertyKey[]): unknown {
  let cur: unknown = data;
  for (const seg of path) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<PropertyKey, unknown>)[seg as string];
  }
  return cur;
}

/**
 * Sets `value` at `path` inside `data` (mutating it), creating missing objects on the way.
 * A number segment indexes an existing array (an index past its end is an error); on an
 * object it is used as a key. Throws when a step lands inside a scalar, naming the step.
 */
export function setAtPath(data: Record<string, unknown>, path: readonly PathSegment[], value: unknown): void {
  if (path.length === 0) throw new Error('empty key path');
  let cur: unknown = data;
  for (let i = 0; i < path.length; i++) {
    const seg = path[i];
    const last = i === path.length - 1;
    const where = formatKeyPath(path.slice(0, i)) || '(root)';
    if (Array.isArray(cur)) {
      if (typeof seg !== 'number') throw new Error(`${where} is a list; '${seg}' is not an index`);
      if (seg >= cur.length) throw new Error(`${where} has ${cur.length} items; index ${seg} is out of range`);
    } else if (cur === null || typeof cur !== 'object') {
      throw new Error(`${where} is ${cur === null ? 'null' : `a ${typeof cur}`}; cannot set '${seg}' inside it`);
    }
    const box = cur as Record<PropertyKey, unknown>;
    if (last) {
      box[seg] = value;
    } else {
      if (box[seg] === undefined) box[seg] = {};
      cur = box[seg];
    }
  }
}
