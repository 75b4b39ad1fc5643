import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { once } from 'node:events';
import { pathToFileURL } from 'node:url';
import { openStore } from '../../src/store/index.js';

const STORE_URL = pathToFileURL(path.resolve('src/store/index.ts')).href;

/** Writes a worker script (.mts: ESM outside the package) into `dir` and starts it with tsx from the repo folder. */
function startWorker(dir: string, name: string, body: string, args: string[]): ChildProcess {
  const file = path.join(dir, `${name}.mts`);
  fs.writeFileSync(file, `import { openStore } from ${JSON.stringify(STORE_URL)};\nimport * as fs from 'node:fs';\n${body}`);
  return spawn(process.execPath, ['--import', 'tsx', file, ...args], { cwd: process.cwd(), stdio: ['ignore', 'pipe', 'pipe'] });
}

async function output(child: ChildProcess): Promise<string> {
  let out = '';
  let err = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (err += d));
  const [code] = (await once(child, 'exit')) as [number | null];
  assert.equal(code, 0, `worker failed: ${err}`);
  return out;
}

const WORKER = `
const [root, tag, readyDir] = process.argv.slice(2);
const store = openStore(root, { owner: tag });
// Start barrier: both workers begin claiming at the same moment.
fs.writeFileSync(readyDir + '/' + tag, '');
const waitFrom = Date.now();
while (fs.readdirSync(readyDir).length < 2) {
  // The other worker never came (it failed to start): give up rather than wait forever.
  if (Date.now() - waitFrom > 60000) { console.error('the other worker never reached the barrier'); process.exit(1); }
  await new Promise((r) => setTimeout(r, 2));
}
const mine = [];
const seen = { done: 0, held: 0 };
for (let i = 0; i < 20; i++) {
  const key = 'job-' + String(i).padStart(2, '0');
  const r = store.claim(key);
  if (r.status !== 'claimed') { seen[r.status]++; continue; }
  const t = Date.now();
  while (Date.now() - t < 15) {} // the work
  store.complete(key, tag + ':' + key);
  mine.push(key);
}
store.close();
console.log(JSON.stringify({ mine, seen }));
`;

test('two processes claiming the same 20 jobs do each job exactly once and leave the database intact', async () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'claims-'));
  const ready = path.join(root, 'ready');
  fs.mkdirSync(ready);
  const a = startWorker(root, 'worker', WORKER, [root, 'A', ready]);
  const b = startWorker(root, 'worker2', WORKER, [root, 'B', ready]);
  const [outA, outB] = await Promise.all([output(a), output(b)]).catch((e: unknown) => {
    // One worker failed: stop the other (it would wait at the barrier) before reporting.
    a.kill();
    b.kill();
    throw e;
  });
  const ra = JSON.parse(outA) as { mine: string[] };
  const rb = JSON.parse(outB) as { mine: string[] };
  const all = [...ra.mine, ...rb.mine].sort();
  assert.equal(all.length, 20, `jobs done: A ${ra.mine.length}, B ${rb.mine.length}`);
  assert.equal(new Set(all).size, 20, 'a job was done twice');
  assert.ok(ra.mine.length > 0 && rb.mine.length > 0, `expected both workers to work (A ${ra.mine.length}, B ${rb.mine.length})`);

  const store = openStore(root);
  try {
    assert.equal(store.integrityCheck(), 'ok');
    const jobs = store.listJobs('job-');
    assert.equal(jobs.length, 20);
    for (const j of jobs) {
      assert.equal(j.status, 'done');
      const owner = ra.mine.includes(j.key) ? 'A' : 'B';
      assert.equal(j.resultRef, `${owner}:${j.key}`);
      assert.equal(j.attempts, 1);
      assert.equal(store.isDone(j.key), true);
    }
    // A restarted sweep finds everything done and runs nothing.
    assert.deepEqual(store.claim('job-07'), { status: 'done', resultRef: jobs[7].resultRef });
  } finally {
    store.close();
  }
});

test('a claim held by a live process is refused; once that process is killed it is taken over', async () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'claims-'));
  const holder = startWorker(
    root,
    'holder',
    `const store = openStore(process.argv[2], { owner: 'holder' });
console.log(JSON.stringify(store.claim('stale-job')));
setInterval(() => {}, 1000);`,
    [root],
  );
  const [line] = (await once(holder.stdout!, 'data')) as [Buffer];
  assert.equal(JSON.parse(line.toString()).status, 'claimed');

  const store = openStore(root, { owner: 'rescuer' });
  try {
    const held = store.claim('stale-job');
    assert.deepEqual(held, { status: 'held', owner: 'holder', pid: holder.pid, host: os.hostname() });
    assert.throws(() => store.complete('stale-job', 'x'), /claimed by holder/);

    holder.kill('SIGKILL');
    await once(holder, 'exit');
    const taken = store.claim('stale-job');
    assert.deepEqual(taken, { status: 'claimed', attempts: 2, takenOverFrom: { owner: 'holder', pid: holder.pid } });
    assert.deepEqual(store.claim('stale-job'), { status: 'claimed', attempts: 2 }, 're-claiming our own job is idempotent');
    store.complete('stale-job', 'run-1');
    assert.equal(store.isDone('stale-job'), true);
    assert.deepEqual(store.claim('stale-job'), { status: 'done', resultRef: 'run-1' });
    assert.throws(() => store.complete('stale-job', 'again'), /already done/);

    // release() hands a failed job back.
    assert.equal(store.claim('flaky').status, 'claimed');
    assert.equal(store.release('flaky'), true);
    assert.equal(store.isDone('flaky'), false);
    assert.deepEqual(store.claim('flaky', 'someone-else'), { status: 'claimed', attempts: 1 });
  } finally {
    store.close();
  }
});
