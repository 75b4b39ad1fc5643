/**
 * Memory scopes: `tidy(fn)` frees every tensor created while `fn` runs except those it returns
 * (found anywhere inside arrays, plain objects and Maps of the result) and those passed to `keep`.
 * Returned tensors move to the enclosing scope, so nested scopes compose.
 *
 * @example
 *   const loss = tidy(() => crossEntropy(model.forward(x), y)); // intermediates freed, loss kept
 */

/** What a scope tracks: anything disposable that records the scope it belongs to. */
export interface Tracked {
  _scope: unknown;
  dispose(): void;
  readonly isDisposed: boolean;
}

class Scope {
  readonly items = new Set<Tracked>();
  constructor(readonly name: string) {}
}

const stack: Scope[] = [];

/** @internal Called by every new Tensor. */
export function track(t: Tracked): void {
  const s = stack[stack.length - 1];
  if (s !== undefined) {
    s.items.add(t);
    t._scope = s;
  }
}

/** @internal Called by Tensor.dispose. */
export function untrack(t: Tracked): void {
  const s = t._scope as Scope | null;
  if (s !== null) s.items.delete(t);
  t._scope = null;
}

/** Keeps a tensor alive past every enclosing `tidy`; the caller now owns it. Returns it. */
export function keep<T extends Tracked>(t: T): T {
  untrack(t);
  return t;
}

function collect(value: unknown, out: Set<Tracked>, seen: Set<unknown>): void {
  if (value === null || typeof value !== 'object' || seen.has(value)) return;
  seen.add(value);
  if ('_scope' in value && 'dispose' in value) {
    out.add(value as Tracked);
    return;
  }
  if (Array.isArray(value)) for (const v of value) collect(v, out, seen);
  else if (value instanceof Map) for (const v of value.values()) collect(v, out, seen);
  else if (Object.getPrototypeOf(value) === Object.prototype) for (const v of Object.values(value)) collect(v, out, seen);
}

/**
 * Runs `fn` and disposes every tensor it created that is not part of its result.
 * `fn` must be synchronous: handing back a Promise throws (an awaited step would escape the scope).
 */
export function tidy<T>(fn: () => T, name = 'tidy'): T {
  const scope = new Scope(name);
  stack.push(scope);
  let result: T;
  try {
    result = fn();
  } catch (e) {
    stack.pop();
    for (const t of scope.items) t.dispose();
    throw e;
  }
  stack.pop();
  if (result instanceof Promise) {
    for (const t of scope.items) t.dispose();
    throw new TypeError(`tidy(${name}): the function returned a Promise; scopes are synchronous, await outside tidy`);
  }
  const kept = new Set<Tracked>();
  collect(result, kept, new Set());
  const parent = stack[stack.length - 1];
  for (const t of scope.items) {
    if (kept.has(t)) {
      t._scope = null;
      if (parent !== undefined) track(t);
    } else t.dispose();
  }
  return result;
}

/** Disposes every tensor found in `value` (arrays, plain objects, Maps). */
export function disposeAll(value: unknown): void {
  const found = new Set<Tracked>();
  collect(value, found, new Set());
  for (const t of found) t.dispose();
}

/** Depth of nested `tidy` scopes (0 outside any). */
export function scopeDepth(): number {
  return stack.length;
}
