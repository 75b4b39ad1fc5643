/**
 * The web app reads the SQLite index read-only while a sweep writes it and never blocks the
 * writer: a writer process that never waits for a lock (busy timeout 0, so a lock held by the app
 * would fail its write at once) writes runs and metric rows while the app answers a stream of
 * page and API requests; every write succeeds and the reads see the index grow. The app's
 * connection is read-only, and a root whose index does not exist yet is served empty until a
 * sweep creates it.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { openStore } from '../../src/store/index.js';
import { ResultsReader, startServer } from '../../src/serve/index.js';

const base = mkdtempSync(join(tmpdir(), 'bt-serve-reader-'));
after(() => rmSync(base, { recursive: true, force: true }));

test('a root without an index is served empty, and its runs show once a sweep creates it', async () => {
  const root = join(base, 'fresh');
  const reader = new ResultsReader(root);
  assert.equal(reader.hasIndex(), false);
  assert.deepEqual(reader.runs(), []);
  const store = openStore(root);
  store.createRun({ name: 'x', config: { name: 'x' }, seed: 0, id: 'x-seed0-0000' });
  store.close();
  assert.equal(reader.hasIndex(), true);
  assert.deepEqual(
    reader.runs().map((r) => r.id),
    ['x-seed0-0000'],
  );
  assert.equal(reader.readonly, true, 'the app never opens the index for writing');
  reader.close();
});

test('a writer with busy timeout 0 keeps writing while the app reads: no write fails, reads see the index grow', async () => {
  const root = join(base, 'busy');
  openStore(root).close(); // the tables exist before both start
  const server = await startServer({ root, port: 0 });
  try {
    const child = spawn(process.execPath, ['--import', 'tsx', 'test/serve/fixtures/writer.ts', root, '24'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    const exited = new Promise<number>((resolve) => child.on('close', (code) => resolve(code ?? 1)));
    let running = true;
    void exited.then(() => (running = false));
    const seen = new Set<number>();
    let reads = 0;
    const urls = [
      '/api/runs',
      '/',
      '/partials/runs',
      '/compare?experiment=w&by=point',
      '/compare.csv?experiment=w&by=run&run=w-seed0-0000',
    ];
    while (running) {
      for (const u of urls) {
        const res = await fetch(`${server.url}${u}`);
        // The writer may not have created the compared run or experiment yet: 404 is a fine answer then.
        assert.ok(res.status === 200 || res.status === 404, `${u}: ${res.status} ${await res.clone().text()}`);
        if (u === '/api/runs') seen.add(((await res.json()) as unknown[]).length);
        else await res.arrayBuffer();
        reads++;
      }
      await new Promise((r) => setTimeout(r, 10)); // leave the writer some CPU
    }
    assert.equal(await exited, 0, err);
    const result = JSON.parse(out.trim().split('\n').pop()!) as { writes: number; errors: string[] };
    assert.deepEqual(result.errors, [], 'a write failed while the app was reading');
    assert.equal(result.writes, 96);
    assert.ok(seen.size >= 3, `reads should interleave with the writes (saw run counts ${[...seen].join(', ')} over ${reads} reads)`);
    const final = (await (await fetch(`${server.url}/api/runs`)).json()) as unknown[];
    assert.equal(final.length, 24);
    const store = openStore(root);
    assert.equal(store.integrityCheck(), 'ok');
    assert.equal(store.queryMetrics({ name: 'w' }).length, 72);
    store.close();
  } finally {
    await server.close();
  }
});
