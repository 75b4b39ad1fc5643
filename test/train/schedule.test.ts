import assert from 'node:assert/strict';
import { test } from 'node:test';
import { lrMultiplier, type ScheduleSpec } from '../../src/train/schedule.js';

/** Asserts the multiplier at each [iteration, expected] pair (hand-computed). */
function expectAt(spec: ScheduleSpec, clock: { stepsPerEpoch: number; epochs: number }, pairs: [number, number][]): void {
  for (const [step, want] of pairs) {
    const got = lrMultiplier(spec, { ...clock, step });
    assert.ok(Math.abs(got - want) < 1e-12, `${JSON.stringify(spec)} at iteration ${step}: got ${got}, expected ${want}`);
  }
}

test('constant schedule is 1 at every iteration', () => {
  expectAt({ kind: 'constant' }, { stepsPerEpoch: 7, epochs: 3 }, [
    [0, 1],
    [10, 1],
    [20, 1],
  ]);
});

test('linear-warmup-decay rises from 0 to 1 at the peak epoch, then falls to 0 at the end', () => {
  const clock = { stepsPerEpoch: 100, epochs: 10 };
  const pairs: [number, number][] = [
    [0, 0],
    [50, 0.25], // epoch 0.5 of a 2-epoch ramp
    [100, 0.5],
    [200, 1],
    [600, 0.5], // (10 - 6) / (10 - 2)
    [900, 0.125],
    [1000, 0],
  ];
  expectAt({ kind: 'linear-warmup-decay', peakEpoch: 2 }, clock, pairs);
  expectAt({ kind: 'linear-warmup-decay', warmupEpochs: 2 }, clock, pairs);
  // Fractional peak: 0.5 epoch of 10 iterations = 5 iterations.
  expectAt({ kind: 'linear-warmup-decay', peakEpoch: 0.5 }, { stepsPerEpoch: 10, epochs: 2 }, [
    [1, 0.2],
    [5, 1],
    [10, 10 / 15], // (2 - 1) / (2 - 0.5)
  ]);
  // Peak at 0: pure linear decay from 1.
  expectAt({ kind: 'linear-warmup-decay', peakEpoch: 0 }, clock, [
    [0, 1],
    [500, 0.5],
  ]);
});

test('step schedule multiplies by gamma every stepEpochs epochs', () => {
  expectAt({ kind: 'step', stepEpochs: 3, gamma: 0.1 }, { stepsPerEpoch: 10, epochs: 9 }, [
    [0, 1],
    [29, 1],
    [30, 0.1],
    [65, 0.1 ** 2],
  ]);
});

test('cosine schedule follows a half cosine from 1 to 0, with optional warm-up and floor', () => {
  expectAt({ kind: 'cosine' }, { stepsPerEpoch: 10, epochs: 4 }, [
    [0, 1],
    [10, 0.5 * (1 + Math.SQRT1_2)],
    [20, 0.5],
    [30, 0.5 * (1 - Math.SQRT1_2)],
    [40, 0],
  ]);
  expectAt({ kind: 'cosine', warmupEpochs: 1, minFraction: 0.1 }, { stepsPerEpoch: 10, epochs: 5 }, [
    [0, 0],
    [5, 0.5],
    [10, 1],
    [30, 0.55], // halfway through the cosine: 0.1 + 0.9 * 0.5
    [50, 0.1],
  ]);
});
