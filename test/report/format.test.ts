import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatPercent, percentOr, withInterval } from '../../src/report/format.js';

test('formatPercent: one decimal by default, more on request; 100 * x and x * 100 give the same text', () => {
  assert.equal(formatPercent(0.8125), '81.3%');
  assert.equal(formatPercent(0.0123, 2), '1.23%');
  for (const x of [0.1, 0.285, 1 / 3, 0.07, 0.9995]) assert.equal(formatPercent(x, 2), `${(100 * x).toFixed(2)}%`);
});

test("percentOr: the caller's missing text for null and undefined, else formatPercent", () => {
  assert.equal(percentOr(null, 'n/a'), 'n/a');
  assert.equal(percentOr(undefined, '-', 2), '-');
  assert.equal(percentOr(0, 'n/a'), '0.0%');
  assert.equal(percentOr(0.5, '-', 2), '50.00%');
});

test("withInterval: mean [lo, hi], the mean alone when an end is missing, 'n/a' without a mean", () => {
  const f = (v: number) => formatPercent(v);
  assert.equal(withInterval({ mean: 0.5, lo: 0.4, hi: 0.6 }, f), '50.0% [40.0%, 60.0%]');
  assert.equal(withInterval({ mean: 0.5, lo: null, hi: 0.6 }, f), '50.0%');
  assert.equal(withInterval({ mean: null, lo: 0.4, hi: 0.6 }, f), 'n/a');
  assert.equal(withInterval(undefined, f), 'n/a');
});
