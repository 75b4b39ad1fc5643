/** Test helpers: leak checks and numeric comparison. */
import assert from 'node:assert/strict';
import { liveTensors, type Tensor } from '../../src/torch/index.js';

/** Runs fn and asserts it leaves no more live native tensors than before (after disposing what it returns via `cleanup`). */
export function assertNoLeaks<T>(fn: () => T, cleanup?: (result: T) => void): T {
  const before = liveTensors();
  const r = fn();
  cleanup?.(r);
  const after = liveTensors();
  assert.equal(after, before, `leaked ${after - before} native tensor(s)`);
  return r;
}

/** Largest |a-b| / max(|b|, floor) over two arrays of equal length. */
export function maxRelDiff(a: ArrayLike<number>, b: ArrayLike<number>, floor = 1e-3): number {
  assert.equal(a.length, b.length, `length ${a.length} vs ${b.length}`);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]) / Math.max(Math.abs(b[i]), floor));
  return m;
}

/** Asserts two arrays agree within relative tolerance `tol` (denominator floored at `floor`). */
export function assertClose(a: ArrayLike<number>, b: ArrayLike<number>, tol = 1e-4, what = 'values', floor = 1e-3): void {
  const d = maxRelDiff(a, b, floor);
  assert.ok(d <= tol, `${what}: max relative difference ${d.toExponential(3)} > ${tol}`);
}

/** A tensor's elements as numbers. */
export function arr(t: Tensor): number[] {
  return t.toArray();
}
