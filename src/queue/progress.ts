/**
 * The submitter's live progress line: how many of its jobs are queued, running, done and failed,
 * and what the running ones are doing (their own progress, reported through the job).
 *
 * @example
 *   queue: 3 queued · 2 running · 9 done · 0 failed | tiny seed0 digits/biased/fixed epoch 1/3 step 12/40 · ...
 */
import { formatDuration, type ProgressStream } from '../train/progress.js';
import type { JobProgress } from './worker.js';

/** Counts of a submission's jobs by state. */
export interface QueueCounts {
  queued: number;
  running: number;
  done: number;
  failed: number;
}

/** One line describing a submission's state; never contains a Redis URL or password. */
export function formatQueueStatus(counts: QueueCounts, running: readonly JobProgress[], elapsedSeconds?: number): string {
  const head = `queue: ${counts.queued} queued · ${counts.running} running · ${counts.done} done · ${counts.failed} failed`;
  const jobs = running.map((p) => {
    const parts = [p.label];
    if (p.kind === 'preparing') parts.push('preparing');
    else {
      if (p.epoch !== undefined && p.epochs !== undefined) parts.push(`epoch ${Math.min(p.epoch + 1, p.epochs)}/${p.epochs}`);
      if (p.step !== undefined && p.stepsPerEpoch !== undefined) parts.push(`step ${p.step}/${p.stepsPerEpoch}`);
      if (p.loss !== undefined) parts.push(`loss ${p.loss.toFixed(3)}`);
    }
    return parts.join(' ');
  });
  const t = elapsedSeconds !== undefined ? ` (${formatDuration(elapsedSeconds)})` : '';
  return `${head}${t}${jobs.length ? ` | ${jobs.join(' · ')}` : ''}`;
}

/**
 * A printer of status lines: on a terminal one line updated in place; otherwise a plain line
 * when the counts change, and at most every `logIntervalSeconds` (default 30) in between.
 */
export function createQueueStatusPrinter(
  stream: ProgressStream = process.stderr,
  opts: { interactive?: boolean; logIntervalSeconds?: number } = {},
): { update(counts: QueueCounts, running: readonly JobProgress[], elapsedSeconds?: number): void; end(): void } {
  const interactive = opts.interactive ?? stream.isTTY === true;
  const interval = (opts.logIntervalSeconds ?? 30) * 1000;
  let lastCounts = '';
  let lastAt = 0;
  let open = false;
  return {
    update(counts, running, elapsed) {
      const line = formatQueueStatus(counts, running, elapsed);
      if (interactive) {
        const width = stream.columns ?? 160;
        stream.write(`\r\x1b[K${line.length > width - 1 ? `${line.slice(0, width - 2)}…` : line}`);
        open = true;
        return;
      }
      const key = JSON.stringify(counts);
      const now = Date.now();
      if (key !== lastCounts || now - lastAt >= interval) {
        stream.write(`${line}\n`);
        lastCounts = key;
        lastAt = now;
      }
    },
    end() {
      if (open) stream.write('\n');
      open = false;
    },
  };
}
