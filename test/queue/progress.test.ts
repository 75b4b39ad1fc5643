/** The submitter's status line: counts by state and the running jobs' own progress. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createQueueStatusPrinter, formatQueueStatus } from '../../src/queue/progress.js';

test('the status line shows the counts and what each running job is doing', () => {
  const line = formatQueueStatus(
    { queued: 3, running: 2, done: 9, failed: 0 },
    [
      { label: 'backdoor seed0 mnist/biased/fixed', kind: 'step', epoch: 1, epochs: 3, step: 12, stepsPerEpoch: 40, loss: 0.5321 },
      { label: 'backdoor seed0 source clean', kind: 'preparing' },
    ],
    80,
  );
  assert.equal(
    line,
    'queue: 3 queued · 2 running · 9 done · 0 failed (1m20s) | backdoor seed0 mnist/biased/fixed epoch 2/3 step 12/40 loss 0.532 · backdoor seed0 source clean preparing',
  );
});

test('in logs a line is printed when the counts change, not on every poll', () => {
  const lines: string[] = [];
  const p = createQueueStatusPrinter({ write: (s: string) => lines.push(s), isTTY: false });
  const c = { queued: 1, running: 1, done: 0, failed: 0 };
  p.update(c, []);
  p.update(c, []);
  p.update({ ...c, running: 0, done: 1 }, []);
  p.end();
  assert.equal(lines.length, 2);
  assert.match(lines[1], /^queue: 1 queued · 0 running · 1 done · 0 failed\n$/);
});
