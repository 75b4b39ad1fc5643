/** Size arguments given as one integer or an (h, w) pair, as PyTorch's layers take them. */

/** An integer or an (h, w) pair. */
export type Pair = number | readonly [number, number];

/** Normalises a Pair to a checked `[h, w]` tuple; `name` is used in the error. */
export function toPair(v: Pair, name: string, min = 0): [number, number] {
  const p: [number, number] = typeof v === 'number' ? [v, v] : [v[0], v[1]];
  if (!p.every((x) => Number.isInteger(x) && x >= min))
    throw new RangeError(`${name} must be an integer >= ${min} or a pair of them, got ${JSON.stringify(v)}`);
  return p;
}

/** Python's tuple formatting of a pair, as in PyTorch's module descriptions: `(3, 3)`. */
export function pyPair(p: readonly [number, number]): string {
  return `(${p[0]}, ${p[1]})`;
}
