/**
 * Terminal output of training progress: one updating status line on a terminal, plain throttled
 * lines in logs and CI.
 *
 * @example
 *   const onProgress = createProgressPrinter({ label: 'source biased seed 0' });
 *   await train({ ...opts, onProgress });
 *   // [source biased seed 0] epoch 2/5  step 120/469  loss 0.532  acc 81.2%  1,234 img/s  ETA 1m20s
 */
import { appendFileSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { formatPercent } from '../report/format.js';
import type { ProgressEvent } from './trainer.js';

/** The part of a writable stream the printer uses (process.stderr satisfies it). */
export interface ProgressStream {
  write(chunk: string): unknown;
  isTTY?: boolean;
  /** Terminal width in characters; interactive lines are cut to fit. */
  columns?: number;
}

/** Options of `createProgressPrinter`. */
export interface ProgressPrinterOptions {
  /** Shown in brackets at the start of every line, e.g. 'source biased seed 0'. */
  label: string;
  /** Where to write (default process.stderr). */
  stream?: ProgressStream;
  /** One updating line with `\r` (default: whether the stream is a terminal). */
  interactive?: boolean;
  /** Non-interactive: minimum seconds between two 'step' lines (default 30). Other events always print. */
  logIntervalSeconds?: number;
  /** Clock in milliseconds (default Date.now); tests pass a fake one. */
  now?: () => number;
}

/**
 * A duration in seconds as a short human string: `42s`, `1m20s`, `2h05m`; `?` when unknown
 * (negative or not finite). Rounds to whole seconds.
 *
 * @example formatDuration(80) === '1m20s'; formatDuration(7500) === '2h05m'
 */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '?';
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  const m = Math.round(s / 60);
  return `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`;
}

/** An integer with comma thousands separators, independent of the locale: 1234567 → '1,234,567'. */
function groupThousands(n: number): string {
  const neg = n < 0;
  const digits = String(Math.abs(n));
  const parts: string[] = [];
  for (let end = digits.length; end > 0; end -= 3) parts.unshift(digits.slice(Math.max(0, end - 3), end));
  return (neg ? '-' : '') + parts.join(',');
}

/**
 * A rate per second with its unit: whole numbers with thousands separators from 100 up
 * (`1,234 img/s`), one decimal from 1 (`12.5 img/s`), two below (`0.25 img/s`); `? img/s` when
 * unknown.
 */
export function formatRate(perSecond: number, unit = 'img/s'): string {
  if (!Number.isFinite(perSecond) || perSecond < 0) return `? ${unit}`;
  if (perSecond >= 100) return `${groupThousands(Math.round(perSecond))} ${unit}`;
  return `${perSecond.toFixed(perSecond >= 1 ? 1 : 2)} ${unit}`;
}

/** 1-based epoch shown to people (events carry 0-based epochs; 'done' carries the total). */
function shownEpoch(e: ProgressEvent): number {
  return e.kind === 'done' ? e.epochs : Math.min(e.epoch + 1, e.epochs);
}

/**
 * The text of one event, without line breaks or terminal codes. `elapsedSeconds` is shown on
 * 'done' when given.
 *
 * @example formatProgressEvent('run', { kind: 'step', epoch: 1, epochs: 5, step: 120, stepsPerEpoch: 469, loss: 0.532, accuracy: 0.812 })
 *   === '[run] epoch 2/5  step 120/469  loss 0.532  acc 81.2%'
 */
export function formatProgressEvent(label: string, e: ProgressEvent, elapsedSeconds?: number): string {
  const head = `[${label}] epoch ${shownEpoch(e)}/${e.epochs}`;
  const parts: string[] = [];
  const lossAcc = (): void => {
    if (e.loss !== undefined) parts.push(`loss ${e.loss.toFixed(3)}`);
    if (e.accuracy !== undefined) parts.push(`acc ${formatPercent(e.accuracy)}`);
  };
  switch (e.kind) {
    case 'step':
      parts.push(head, `step ${e.step}/${e.stepsPerEpoch}`);
      lossAcc();
      if (e.imagesPerSecond !== undefined) parts.push(formatRate(e.imagesPerSecond));
      if (e.etaSeconds !== undefined) parts.push(`ETA ${formatDuration(e.etaSeconds)}`);
      break;
    case 'epoch':
      parts.push(`${head} done`);
      lossAcc();
      if (e.evalAccuracy !== undefined) parts.push(`eval acc ${formatPercent(e.evalAccuracy)}`);
      break;
    case 'eval':
      parts.push(head, `eval acc ${e.evalAccuracy === undefined ? '?' : formatPercent(e.evalAccuracy)}`);
      break;
    case 'resume':
      parts.push(`[${label}] resume: ${e.message ?? `epoch ${shownEpoch(e)}/${e.epochs}, step ${e.step}/${e.stepsPerEpoch}`}`);
      break;
    case 'done':
      parts.push(
        `[${label}] done${e.message !== undefined ? `: ${e.message}` : ''}${elapsedSeconds !== undefined ? ` in ${formatDuration(elapsedSeconds)}` : ''}`,
      );
      break;
  }
  return parts.join('  ');
}

/**
 * A `ProgressEvent` handler that prints to a terminal or a log.
 *
 * Interactive (a TTY): 'step' events redraw one status line in place (`\r`, then the line, then
 * erase-to-end-of-line), cut to the terminal width; every other event clears that line and
 * prints a permanent one. Non-interactive (CI, files): 'step' lines at most every
 * `logIntervalSeconds`, every other event always, each as a plain line without control codes.
 */
export function createProgressPrinter(opts: ProgressPrinterOptions): (e: ProgressEvent) => void {
  const stream = opts.stream ?? process.stderr;
  const interactive = opts.interactive ?? stream.isTTY === true;
  const intervalMs = (opts.logIntervalSeconds ?? 30) * 1000;
  const now = opts.now ?? Date.now;
  if (!(intervalMs >= 0)) throw new RangeError(`progress printer: logIntervalSeconds must be >= 0, got ${opts.logIntervalSeconds}`);
  let started: number | null = null;
  let lastStepLine = -Infinity;
  let statusOpen = false;

  return (e: ProgressEvent): void => {
    const t = now();
    started ??= t;
    const text = formatProgressEvent(opts.label, e, e.kind === 'done' ? (t - started) / 1000 : undefined);
    if (interactive) {
      if (e.kind === 'step') {
        const width = stream.columns !== undefined && stream.columns > 1 ? stream.columns - 1 : Infinity;
        stream.write(`\r${text.length > width ? text.slice(0, width) : text}\x1b[K`);
        statusOpen = true;
      } else {
        stream.write(`${statusOpen ? '\r\x1b[K' : ''}${text}\n`);
        statusOpen = false;
      }
      return;
    }
    if (e.kind === 'step') {
      if (t - lastStepLine < intervalMs) return;
      lastStepLine = t;
    }
    stream.write(`${text}\n`);
  };
}

/** One line of a progress log (see `createProgressLog`): the event, its label, when, and its printed text. */
export interface ProgressLogEntry extends ProgressEvent {
  /** ISO time the event was written. */
  t: string;
  /** The job label, as in the printed lines (e.g. 'source biased seed 0', 'mnist/biased/fixed'). */
  label: string;
  /** The same text the terminal printer shows for this event (`formatProgressEvent`). */
  text: string;
}

/**
 * A `(label, event)` handler that appends every progress event as one JSON line
 * (`ProgressLogEntry`) to `file`, so another process (the `serve` web app) can follow a run
 * while it trains. The trainer already throttles 'step' events (one per 2 s by default), so every
 * event is written. Appends are whole lines (`appendFileSync` of one string); a write failure
 * (e.g. a full disk) is reported once through `onError` and never interrupts training.
 *
 * @example
 *   const toFile = createProgressLog(run.paths.progress);
 *   onProgress = (label, e) => { printer(label, e); toFile(label, e); };
 */
export function createProgressLog(
  file: string,
  opts: { now?: () => number; onError?: (e: Error) => void } = {},
): (label: string, e: ProgressEvent) => void {
  const now = opts.now ?? Date.now;
  let failed = false;
  let madeDir = false;
  return (label, e) => {
    if (failed) return;
    const entry: ProgressLogEntry = { t: new Date(now()).toISOString(), label, ...e, text: formatProgressEvent(label, e) };
    try {
      if (!madeDir) mkdirSync(dirname(file), { recursive: true });
      madeDir = true;
      appendFileSync(file, `${JSON.stringify(entry)}\n`);
    } catch (err) {
      failed = true;
      opts.onError?.(err as Error);
    }
  };
}
