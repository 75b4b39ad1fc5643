/**
 * Process-wide engine settings: manualSeed makes libtorch's randomness repeatable, the thread
 * count can be set and read back, deterministic mode can be switched, and build info reports the
 * linked libtorch.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  buildInfo,
  dropout,
  getNumThreads,
  isDeterministic,
  manualSeed,
  ones,
  rand,
  randint,
  randn,
  setDeterministic,
  setNumThreads,
  tidy,
} from '../../src/torch/index.js';

describe('runtime settings', () => {
  test('manualSeed: same seed, same draws from rand, randn, randint and dropout; other seed differs', () => {
    const draw = (seed: number): number[] =>
      tidy(() => {
        manualSeed(seed);
        return [
          ...rand([4]).toArray(),
          ...randn([4]).toArray(),
          ...randint(0, 1000, [4]).toArray(),
          ...dropout(ones([8]), 0.5, true).toArray(),
        ];
      });
    assert.deepEqual(draw(42), draw(42));
    assert.notDeepEqual(draw(42), draw(43));
    assert.throws(() => manualSeed(-1), RangeError);
  });

  test('setNumThreads / getNumThreads round-trip', () => {
    const prev = getNumThreads();
    try {
      setNumThreads(1);
      assert.equal(getNumThreads(), 1);
      setNumThreads(2);
      assert.equal(getNumThreads(), 2);
      assert.throws(() => setNumThreads(0), RangeError);
      assert.throws(() => setNumThreads(1.5), RangeError);
    } finally {
      setNumThreads(prev);
    }
  });

  test('setDeterministic switches libtorch deterministic algorithms', () => {
    const prev = isDeterministic();
    try {
      setDeterministic(true);
      assert.equal(isDeterministic(), true);
      setDeterministic(false);
      assert.equal(isDeterministic(), false);
    } finally {
      setDeterministic(prev);
    }
  });

  test('buildInfo names torch 1.13 and its parallel backend', () => {
    const b = buildInfo();
    assert.match(b.torchVersion, /^1\.13\./);
    assert.match(b.parallelInfo, /OpenMP|threads/i);
    assert.equal(typeof b.mkldnn, 'boolean');
  });
});
