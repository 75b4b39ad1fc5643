import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { datasetSource } from '../../src/train/data.js';
import { train, type ProgressEvent, type TrainOptions, type TrainResult } from '../../src/train/trainer.js';
import { liveTensors, setNumThreads } from '../../src/torch/index.js';
import { changedKeys, snapshot, SPEC, stripesDataset, tinyModel } from './fixtures.js';

const SCRIPT = fileURLToPath(new URL('./fixtures/resumable-run.ts', import.meta.url));
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const base = mkdtempSync(join(tmpdir(), 'bt-interrupt-'));
after(() => rmSync(base, { recursive: true, force: true }));

interface Started {
  child: ChildProcess;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>;
}

function start(dir: string, seed: number, msPerStep: number): Started {
  const child = spawn(process.execPath, ['--import', 'tsx', SCRIPT, dir, String(seed), String(msPerStep)], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>((resolve) =>
    child.on('exit', (code, signal) => resolve({ code, signal, stdout, stderr })),
  );
  return { child, exited };
}

/** Runs the script to completion and returns its TrainResult. */
async function runToEnd(dir: string, seed: number): Promise<TrainResult> {
  const r = await start(dir, seed, 0).exited;
  assert.equal(r.code, 0, `training run in ${dir} failed (${r.signal ?? r.code}):\n${r.stderr}`);
  const lines = r.stdout.trim().split('\n');
  return JSON.parse(lines[lines.length - 1]) as TrainResult;
}

function lastCheckpointName(dir: string): string | null {
  try {
    return (JSON.parse(readFileSync(join(dir, 'last.json'), 'utf-8')) as { dir: string }).dir;
  } catch {
    return null; // not written yet
  }
}

/**
 * Starts the run, waits until it has written a checkpoint other than `notThis`, waits a random
 * 0-400 ms more, then SIGKILLs it. Returns the checkpoint it had reached when killed.
 */
async function startAndKill(dir: string, seed: number, notThis: string | null): Promise<string> {
  const s = start(dir, seed, 20);
  let finished = false;
  void s.exited.then(() => (finished = true));
  const t0 = Date.now();
  while (!finished) {
    const name = lastCheckpointName(dir);
    if (name !== null && name !== notThis) break;
    if (Date.now() - t0 > 30_000) break;
    await new Promise((r) => setTimeout(r, 5));
  }
  const delay = Math.floor(Math.random() * 400);
  await new Promise((r) => setTimeout(r, delay));
  assert.ok(!finished, `the run finished before it could be killed (delay ${delay} ms)`);
  s.child.kill('SIGKILL');
  const r = await s.exited;
  assert.equal(r.signal, 'SIGKILL', `expected the run to die by SIGKILL:\n${r.stderr}`);
  assert.ok(!existsSync(join(dir, 'done.json')), `run killed after ${delay} ms had already finished`);
  const reached = lastCheckpointName(dir);
  assert.ok(reached !== null, 'no checkpoint index after the kill');
  return reached;
}

test('a run SIGKILLed twice at random moments and restarted ends with the weights of an uninterrupted run', async () => {
  const seed = 21;
  const refDir = join(base, 'uninterrupted');
  const cutDir = join(base, 'interrupted');
  const ref = await runToEnd(refDir, seed);
  assert.equal(ref.resumedFrom, null);

  const first = await startAndKill(cutDir, seed, null);
  const second = await startAndKill(cutDir, seed, first);
  assert.notEqual(second, first, 'the restarted run wrote no new checkpoint before the second kill');
  const resumed = await runToEnd(cutDir, seed);
  assert.ok(resumed.resumedFrom !== null, 'the third start did not resume from a checkpoint');
  assert.equal(resumed.reused, false);

  const refBytes = readFileSync(join(refDir, 'final.safetensors'));
  const cutBytes = readFileSync(join(cutDir, 'final.safetensors'));
  assert.ok(
    refBytes.equals(cutBytes),
    `final weights differ after kills at ${first} and ${second} (resumed from ${JSON.stringify(resumed.resumedFrom)})`,
  );
  assert.ok(readFileSync(join(refDir, 'best.safetensors')).equals(readFileSync(join(cutDir, 'best.safetensors'))), 'best weights differ');
  // Metrics carried through the checkpoints too (the wall-clock seconds aside).
  const strip = (r: TrainResult) => r.history.map(({ seconds: _s, ...h }) => h);
  assert.deepEqual(strip(resumed), strip(ref));
  assert.equal(resumed.bestEvalAccuracy, ref.bestEvalAccuracy);
  // A finished run cleans its intermediate checkpoints.
  assert.deepEqual(readdirSync(cutDir).sort(), ['best.safetensors', 'done.json', 'final.safetensors']);
});

test('a finished run started again is reused without training', async () => {
  const dir = join(base, 'uninterrupted');
  assert.ok(existsSync(join(dir, 'done.json')), 'the previous test left no finished run');
  const before = readFileSync(join(dir, 'final.safetensors'));
  const r = await runToEnd(dir, 21);
  assert.equal(r.reused, true);
  assert.equal(r.history.length, 4);
  assert.ok(readFileSync(join(dir, 'final.safetensors')).equals(before), 'reusing rewrote the final weights');
});

test('an aborted run (AbortSignal) resumes in-process from its last checkpoint to the uninterrupted weights, leaking nothing', async () => {
  setNumThreads(2);
  const ds = stripesDataset({ n: 96, seed: 5 });
  const options = (dir: string | undefined, model: ReturnType<typeof tinyModel>): TrainOptions => ({
    model,
    data: datasetSource(ds, { batchSize: 16, spec: SPEC, seed: 2 }),
    spec: {
      epochs: 3,
      optimizer: { kind: 'sgd', lr: 0.05, momentum: 0.9, nesterov: true },
      schedule: { kind: 'step', stepEpochs: 1, gamma: 0.5 },
      checkpointEverySteps: 4,
    },
    seed: 2,
    paramGroups: [{ params: model.parameters() }],
    checkpointDir: dir,
    progressInterval: 0,
  });
  const ref = tinyModel({ seed: 2 });
  await train(options(undefined, ref));

  const dir = join(base, 'aborted');
  const model = tinyModel({ seed: 2 });
  const before = liveTensors();
  const ac = new AbortController();
  await assert.rejects(
    train({
      ...options(dir, model),
      signal: ac.signal,
      onProgress: (e) => void (e.kind === 'step' && e.epoch === 1 && e.step === 1 && ac.abort()),
    }),
    /training aborted/,
  );
  assert.equal(liveTensors(), before, 'the aborted run leaked tensors');
  assert.equal(lastCheckpointName(dir), 'ckpt-6', 'expected the epoch-end checkpoint of epoch 1 (6 iterations)');
  // What a session killed mid-save leaves behind: a half-written checkpoint folder and a temp index.
  mkdirSync(join(dir, 'ckpt-999'));
  writeFileSync(join(dir, 'last.json.tmp-12345'), '{');
  const fresh = tinyModel({ seed: 99 }); // different initial weights: everything must come from the checkpoint
  const events: ProgressEvent[] = [];
  const r = await train({ ...options(dir, fresh), onProgress: (e) => events.push(e) });
  assert.deepEqual(r.resumedFrom, { epoch: 1, step: 0 });
  assert.equal(events[0].kind, 'resume');
  assert.deepEqual(changedKeys(snapshot(ref), snapshot(fresh)), [], 'resumed weights differ from the uninterrupted run');
  assert.deepEqual(readdirSync(dir).sort(), ['done.json', 'final.safetensors'], 'leftovers of the interrupted sessions remain');
  // Started again: reused, the weights loaded from final.safetensors, nothing leaked.
  const again = tinyModel({ seed: 98 });
  const live = liveTensors();
  const reused = await train(options(dir, again));
  assert.equal(reused.reused, true);
  assert.equal(liveTensors(), live, 'reusing a finished run leaked tensors');
  assert.deepEqual(changedKeys(snapshot(ref), snapshot(again)), [], 'reused run did not load the final weights');
  for (const m of [ref, model, fresh, again]) m.dispose();
});
