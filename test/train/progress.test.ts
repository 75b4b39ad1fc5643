import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatPercent } from '../../src/report/format.js';
import { createProgressPrinter, formatDuration, formatProgressEvent, formatRate } from '../../src/train/progress.js';
import type { ProgressEvent } from '../../src/train/trainer.js';

/** A fake stream that records what is written. */
function recorder(opts: { isTTY?: boolean; columns?: number } = {}) {
  const chunks: string[] = [];
  return { chunks, text: () => chunks.join(''), write: (s: string) => void chunks.push(s), ...opts };
}

const STEP: ProgressEvent = {
  kind: 'step',
  epoch: 1,
  epochs: 5,
  step: 120,
  stepsPerEpoch: 469,
  loss: 0.5321,
  accuracy: 0.8125,
  imagesPerSecond: 1234.4,
  etaSeconds: 80,
};
const step = (over: Partial<ProgressEvent>): ProgressEvent => ({ ...STEP, ...over });

test('formatDuration writes seconds, minutes and hours compactly', () => {
  assert.equal(formatDuration(0), '0s');
  assert.equal(formatDuration(42.4), '42s');
  assert.equal(formatDuration(59.6), '1m00s');
  assert.equal(formatDuration(80), '1m20s');
  assert.equal(formatDuration(605), '10m05s');
  assert.equal(formatDuration(3599.6), '1h00m');
  assert.equal(formatDuration(7500), '2h05m');
  assert.equal(formatDuration(Infinity), '?');
  assert.equal(formatDuration(NaN), '?');
  assert.equal(formatDuration(-1), '?');
});

test('formatRate groups thousands and keeps a few significant digits for slow rates; formatPercent has one decimal', () => {
  assert.equal(formatRate(1234.4), '1,234 img/s');
  assert.equal(formatRate(1234567), '1,234,567 img/s');
  assert.equal(formatRate(100), '100 img/s');
  assert.equal(formatRate(12.46), '12.5 img/s');
  assert.equal(formatRate(0.254, 'it/s'), '0.25 it/s');
  assert.equal(formatRate(NaN), '? img/s');
  assert.equal(formatPercent(0.812), '81.2%');
  assert.equal(formatPercent(0.8125), '81.3%'); // exact half rounds up
  assert.equal(formatPercent(1), '100.0%');
});

test('formatProgressEvent shows 1-based epochs and every known field', () => {
  assert.equal(
    formatProgressEvent('source biased seed 0', STEP),
    '[source biased seed 0] epoch 2/5  step 120/469  loss 0.532  acc 81.3%  1,234 img/s  ETA 1m20s',
  );
  assert.equal(
    formatProgressEvent('r', step({ loss: undefined, accuracy: undefined, imagesPerSecond: undefined, etaSeconds: undefined })),
    '[r] epoch 2/5  step 120/469',
  );
  assert.equal(
    formatProgressEvent('r', {
      kind: 'epoch',
      epoch: 4,
      epochs: 5,
      step: 469,
      stepsPerEpoch: 469,
      loss: 0.1,
      accuracy: 0.97,
      evalAccuracy: 0.951,
    }),
    '[r] epoch 5/5 done  loss 0.100  acc 97.0%  eval acc 95.1%',
  );
  assert.equal(
    formatProgressEvent('r', { kind: 'eval', epoch: 0, epochs: 5, step: 469, stepsPerEpoch: 469, evalAccuracy: 0.5 }),
    '[r] epoch 1/5  eval acc 50.0%',
  );
  assert.equal(
    formatProgressEvent('r', {
      kind: 'resume',
      epoch: 2,
      epochs: 5,
      step: 40,
      stepsPerEpoch: 469,
      message: 'resumed at epoch 3, batch 40',
    }),
    '[r] resume: resumed at epoch 3, batch 40',
  );
  assert.equal(formatProgressEvent('r', { kind: 'done', epoch: 5, epochs: 5, step: 0, stepsPerEpoch: 469 }, 125), '[r] done in 2m05s');
  assert.equal(
    formatProgressEvent('r', { kind: 'done', epoch: 5, epochs: 5, step: 0, stepsPerEpoch: 469, message: 'reused finished run' }),
    '[r] done: reused finished run',
  );
});

test('interactive printer redraws one status line and prints permanent lines for other events', () => {
  const s = recorder({ isTTY: true });
  let t = 0;
  const print = createProgressPrinter({ label: 'run', stream: s, now: () => t });
  print(step({ step: 1 }));
  t = 100;
  print(step({ step: 2 }));
  t = 2000;
  print({ kind: 'epoch', epoch: 1, epochs: 5, step: 469, stepsPerEpoch: 469, loss: 0.5, accuracy: 0.75 });
  print(step({ epoch: 2, step: 1 }));
  t = 65_000;
  print({ kind: 'done', epoch: 5, epochs: 5, step: 0, stepsPerEpoch: 469 });
  assert.deepEqual(s.chunks, [
    '\r[run] epoch 2/5  step 1/469  loss 0.532  acc 81.3%  1,234 img/s  ETA 1m20s\x1b[K',
    '\r[run] epoch 2/5  step 2/469  loss 0.532  acc 81.3%  1,234 img/s  ETA 1m20s\x1b[K',
    '\r\x1b[K[run] epoch 2/5 done  loss 0.500  acc 75.0%\n',
    '\r[run] epoch 3/5  step 1/469  loss 0.532  acc 81.3%  1,234 img/s  ETA 1m20s\x1b[K',
    '\r\x1b[K[run] done in 1m05s\n',
  ]);
  // Lines are cut to the terminal width.
  const narrow = recorder({ isTTY: true, columns: 21 });
  createProgressPrinter({ label: 'run', stream: narrow })(STEP);
  assert.equal(narrow.chunks[0], '\r[run] epoch 2/5  ste\x1b[K');
});

test('non-interactive printer throttles step lines but always prints epoch, eval, resume and done', () => {
  const s = recorder({ isTTY: false });
  let t = 0;
  const print = createProgressPrinter({ label: 'ci', stream: s, logIntervalSeconds: 10, now: () => t });
  print({ kind: 'resume', epoch: 0, epochs: 2, step: 3, stepsPerEpoch: 10 });
  for (let i = 1; i <= 25; i++) {
    t = i * 1000; // one step per second
    print(step({ epoch: 0, epochs: 2, step: i, stepsPerEpoch: 25 }));
  }
  print({ kind: 'eval', epoch: 0, epochs: 2, step: 25, stepsPerEpoch: 25, evalAccuracy: 0.9 });
  print({ kind: 'epoch', epoch: 0, epochs: 2, step: 25, stepsPerEpoch: 25, loss: 0.2, accuracy: 0.9, evalAccuracy: 0.9 });
  print({ kind: 'done', epoch: 2, epochs: 2, step: 0, stepsPerEpoch: 25 });
  const lines = s
    .text()
    .split('\n')
    .filter((l) => l !== '');
  assert.ok(!s.text().includes('\r') && !s.text().includes('\x1b'), 'control codes in a log');
  assert.deepEqual(
    lines.map((l) => l.replace(/  loss.*/, '')),
    [
      '[ci] resume: epoch 1/2, step 3/10',
      '[ci] epoch 1/2  step 1/25', // first step line at once
      '[ci] epoch 1/2  step 11/25', // then one per 10 s
      '[ci] epoch 1/2  step 21/25',
      '[ci] epoch 1/2  eval acc 90.0%',
      '[ci] epoch 1/2 done',
      '[ci] done in 25s',
    ],
  );
  assert.throws(() => createProgressPrinter({ label: 'x', stream: s, logIntervalSeconds: -1 }), /logIntervalSeconds must be >= 0, got -1/);
});
