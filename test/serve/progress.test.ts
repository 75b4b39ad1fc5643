/**
 * Following a run from another process: the runner's progress log (one JSON line per event,
 * the same text the CLI prints) is read back whole lines at a time, and the server turns it into
 * server-sent events: the past first, then each new event as it is written, the run's status on
 * every change, and 'end' once the run is done.
 */
import assert from 'node:assert/strict';
import { appendFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { get, type IncomingMessage } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { openStore } from '../../src/store/index.js';
import { readProgress, startServer } from '../../src/serve/index.js';
import { createProgressLog, formatProgressEvent } from '../../src/train/progress.js';
import type { ProgressEvent } from '../../src/train/trainer.js';

const base = mkdtempSync(join(tmpdir(), 'bt-serve-progress-'));
after(() => rmSync(base, { recursive: true, force: true }));

const step = (s: number): ProgressEvent => ({ kind: 'step', epoch: 0, epochs: 2, step: s, stepsPerEpoch: 10, loss: 1 / s, accuracy: 0.5 });

test('createProgressLog writes one JSON line per event with the printed text; readProgress reads whole lines only', () => {
  const file = join(base, 'a', 'logs', 'progress.jsonl');
  let now = Date.parse('2026-01-01T00:00:00Z');
  const log = createProgressLog(file, { now: () => now });
  log('source biased seed 0', step(1));
  now += 2000;
  log('source biased seed 0', { kind: 'done', epoch: 2, epochs: 2, step: 0, stepsPerEpoch: 10 });
  const r1 = readProgress(file, 0);
  assert.equal(r1.entries.length, 2);
  assert.equal(r1.entries[0].label, 'source biased seed 0');
  assert.equal(r1.entries[0].t, '2026-01-01T00:00:00.000Z');
  assert.equal(r1.entries[0].text, formatProgressEvent('source biased seed 0', step(1)));
  assert.equal(r1.entries[1].kind, 'done');
  // Half a line (a writer mid-append) waits; the offset stays before it.
  appendFileSync(file, '{"t":"2026-01-01T00:00:04.000Z","label":"x","kind":"st');
  const r2 = readProgress(file, r1.offset);
  assert.deepEqual([r2.entries.length, r2.offset], [0, r1.offset]);
  appendFileSync(file, 'ep","epoch":0,"epochs":1,"step":1,"stepsPerEpoch":1,"text":"[x] step"}\nnot json\n{"no":"fields"}\n');
  const r3 = readProgress(file, r2.offset);
  assert.deepEqual(
    r3.entries.map((e) => e.label),
    ['x'],
  );
  assert.equal(r3.skipped, 2, 'a malformed line and a line that is not an entry are skipped');
  // A replaced (shorter) file is read from its start; a missing one is empty.
  writeFileSync(
    file,
    `${JSON.stringify({ t: 'x', label: 'y', kind: 'done', epoch: 1, epochs: 1, step: 0, stepsPerEpoch: 1, text: 'y' })}\n`,
  );
  assert.deepEqual(
    readProgress(file, r3.offset).entries.map((e) => e.label),
    ['y'],
  );
  assert.deepEqual(readProgress(join(base, 'none.jsonl'), 5), { entries: [], offset: 0, skipped: 0 });
});

test('createProgressLog reports a write failure once and never throws into training', () => {
  writeFileSync(join(base, 'blocker'), 'a file where a folder should be');
  const errors: Error[] = [];
  const log = createProgressLog(join(base, 'blocker', 'logs', 'progress.jsonl'), { onError: (e) => errors.push(e) });
  log('x', step(1));
  log('x', step(2));
  assert.equal(errors.length, 1);
});

/** Server-sent events of a response, as they arrive. */
function sseReader(res: IncomingMessage) {
  const events: { event: string; data: unknown }[] = [];
  let buf = '';
  let ended = false;
  const waiters: (() => void)[] = [];
  res.setEncoding('utf8');
  res.on('data', (d: string) => {
    buf += d;
    let i;
    while ((i = buf.indexOf('\n\n')) >= 0) {
      const block = buf.slice(0, i);
      buf = buf.slice(i + 2);
      const ev = /^event: (.*)$/m.exec(block)?.[1];
      const data = /^data: (.*)$/m.exec(block)?.[1];
      if (ev && data) events.push({ event: ev, data: JSON.parse(data) });
    }
    waiters.splice(0).forEach((w) => w());
  });
  res.on('end', () => {
    ended = true;
    waiters.splice(0).forEach((w) => w());
  });
  return {
    events,
    get ended() {
      return ended;
    },
    /** Resolves when `pred` holds (checked on every chunk); rejects after `ms`. */
    until(pred: () => boolean, what: string, ms = 20000): Promise<void> {
      return new Promise((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`timed out waiting for ${what}; got ${JSON.stringify(events.map((e) => e.event))}`)),
          ms,
        );
        const check = () => {
          if (pred()) {
            clearTimeout(timer);
            resolve();
          } else waiters.push(check);
        };
        check();
      });
    },
  };
}

test('the events stream replays the log, sends new events as they are written, status changes, then end', async () => {
  const root = join(base, 'root');
  const store = openStore(root);
  const run = store.createRun({ name: 'demo', config: { name: 'demo' }, seed: 0, id: 'demo-seed0-abc' });
  store.setStatus(run.id, 'running');
  const log = createProgressLog(run.paths.progress);
  log('source biased seed 0', step(1));
  log('source biased seed 0', step(5));
  const server = await startServer({ root, port: 0, pollMs: 50 });
  try {
    const res = await new Promise<IncomingMessage>((resolve, reject) =>
      get(`${server.url}/api/runs/${run.id}/events`, resolve).on('error', reject),
    );
    assert.equal(res.statusCode, 200);
    assert.match(String(res.headers['content-type']), /^text\/event-stream/);
    const s = sseReader(res);
    const progress = () => s.events.filter((e) => e.event === 'progress').map((e) => (e.data as { step: number }).step);
    await s.until(() => progress().length === 2 && s.events.some((e) => e.event === 'status'), 'the replay and the status');
    assert.deepEqual(progress(), [1, 5]);
    assert.equal((s.events.find((e) => e.event === 'status')!.data as { status: string }).status, 'running');
    log('source biased seed 0', step(9));
    await s.until(() => progress().length === 3, 'a new event written after connecting');
    assert.deepEqual(progress(), [1, 5, 9]);
    // Events written just before the status turns 'done' still arrive before 'end'.
    log('source biased seed 0', { kind: 'done', epoch: 2, epochs: 2, step: 0, stepsPerEpoch: 10 });
    store.setStatus(run.id, 'done');
    await s.until(() => s.ended, 'the end of the stream');
    const kinds = s.events.map((e) => (e.event === 'progress' ? (e.data as { kind: string }).kind : e.event));
    assert.deepEqual(kinds.slice(-3), ['done', 'status', 'end']);
    assert.equal((s.events.at(-2)!.data as { status: string }).status, 'done');
  } finally {
    await server.close();
    store.close();
  }
});

test('an unknown run has no events stream (404)', async () => {
  const root = join(base, 'root');
  const server = await startServer({ root, port: 0 });
  try {
    const res = await new Promise<IncomingMessage>((resolve, reject) =>
      get(`${server.url}/api/runs/nope-seed0/events`, resolve).on('error', reject),
    );
    res.resume();
    assert.equal(res.statusCode, 404);
  } finally {
    await server.close();
  }
});
