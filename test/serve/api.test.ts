/**
 * The app's pages and JSON API over a results root written through the store (no training):
 * experiments and runs with their code version and duration, a run's metric rows, the
 * comparison's inputs checked by the route schemas (unknown experiment, bad hash, bad run id),
 * CSV answers, and the security headers every page carries.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { openStore } from '../../src/store/index.js';
import { parseCsv } from '../../src/report/index.js';
import { startServer, type RunningServer } from '../../src/serve/index.js';

const root = mkdtempSync(join(tmpdir(), 'bt-serve-api-'));
let server: RunningServer;
const hashes: string[] = [];

before(async () => {
  const store = openStore(root);
  for (const [i, p] of [0.5, 0.5, 1].entries()) {
    const config = { name: 'bd', p };
    const r = store.createRun({ name: 'bd', config, seed: i, sweepId: `p=${p}`, id: `bd-p${p}-seed${i}-x` });
    if (!hashes.includes(r.configHash)) hashes.push(r.configHash);
    store.setStatus(r.id, 'running');
    store.recordMetrics(r.id, [
      {
        condition: 'triggered',
        transferMode: 'fixed',
        sourceKind: 'biased',
        target: 'mnist',
        metric: 'asr',
        value: 0.5 + i / 10,
        lo: 0.4,
        hi: 0.8,
      },
      {
        condition: 'clean',
        transferMode: 'fixed',
        sourceKind: 'biased',
        target: 'mnist',
        metric: 'accuracy',
        value: 0.9,
        numerator: 90,
        denominator: 100,
      },
    ]);
    store.setStatus(r.id, 'done');
  }
  store.createRun({ name: 'other', config: { name: 'other' }, seed: 0, id: 'other-seed0-x' });
  store.close();
  mkdirSync(join(root, 'reports', 'bd'), { recursive: true });
  writeFileSync(join(root, 'reports', 'bd', 'report.html'), '<!DOCTYPE html><title>bd</title>');
  server = await startServer({ root, port: 0 });
});
after(async () => {
  await server?.close();
  rmSync(root, { recursive: true, force: true });
});

const get = (path: string, accept = 'application/json') => fetch(`${server.url}${path}`, { headers: { accept } });

test('experiments and runs as JSON, with status counts, code version and duration', async () => {
  assert.deepEqual(await (await get('/api/experiments')).json(), [
    { name: 'other', byStatus: { queued: 1 } },
    { name: 'bd', byStatus: { done: 3 } },
  ]);
  const runs = (await (await get('/api/runs?experiment=bd')).json()) as {
    id: string;
    seconds: number;
    codeVersion: { version: string };
    paths?: unknown;
  }[];
  assert.equal(runs.length, 3);
  assert.ok(runs.every((r) => r.seconds >= 0 && r.codeVersion.version === '0.1.0' && r.paths === undefined));
  assert.equal((await get('/api/runs?status=sleeping')).status, 400, 'the status filter is checked by the schema');
  const rows = (await (await get('/api/runs/bd-p1-seed2-x/metrics')).json()) as { metric: string; value: number }[];
  assert.deepEqual(
    rows.map((r) => [r.metric, r.value]),
    [
      ['asr', 0.7],
      ['accuracy', 0.9],
    ],
  );
  assert.equal((await get('/api/runs/none-seed0/metrics')).status, 404);
});

test('the experiments page lists the experiments with their report, the runs and the links to compare', async () => {
  const res = await get('/', 'text/html');
  assert.equal(res.status, 200);
  assert.match(String(res.headers.get('content-security-policy')), /script-src 'self'/);
  assert.equal(res.headers.get('x-content-type-options'), 'nosniff');
  const html = await res.text();
  assert.match(html, /<tr data-experiment="bd">.*<a href="\/files\/reports\/bd\/report\.html">report<\/a>/);
  assert.equal((html.match(/<tr data-run=/g) ?? []).length, 4);
  assert.match(html, /href="\/compare\?experiment=bd&amp;by=point"/);
  const page = await (await get('/runs/bd-p1-seed2-x', 'text/html')).text();
  assert.match(page, /data-metrics="2"/);
  assert.match(page, /90 \/ 100/);
  assert.match(page, /href="\/files\/runs\/bd-p1-seed2-x\/metrics\.csv"/);
});

test('comparison: sweep points pool their seeds; the CSV has one line per point and row', async () => {
  const html = await (await get('/compare?experiment=bd&by=point', 'text/html')).text();
  assert.match(html, /<figure class="chart" data-metric="asr">/);
  assert.match(html, /<th scope="col">bd · p=0\.5<\/th><th scope="col">bd · p=1<\/th>/);
  const q = `experiment=bd&by=point&point=${hashes[0]}&point=${hashes[1]}&metric=asr`;
  const res = await get(`/compare.csv?${q}`);
  assert.match(String(res.headers.get('content-disposition')), /attachment; filename="compare-bd\.csv"/);
  const csv = parseCsv(await res.text());
  assert.equal(csv.length, 3);
  assert.deepEqual(
    csv.slice(1).map((r) => [r[0], r[4], r[10], r[13]]),
    [
      ['bd · p=0.5', '0 1', '0.55', '2'],
      ['bd · p=1', '2', '0.7', '1'],
    ],
  );
});

test('comparison inputs are checked: unknown experiment or point is 404, a malformed hash or run id is 400', async () => {
  assert.equal((await get('/compare?experiment=nope', 'text/html')).status, 404);
  assert.equal((await get('/compare?experiment=bd&by=point&point=ffffffffff', 'text/html')).status, 404);
  assert.equal((await get('/compare?experiment=bd&by=point&point=../../x', 'text/html')).status, 400);
  assert.equal((await get('/compare?experiment=bd&by=run&run=..%2Fx', 'text/html')).status, 400);
  assert.equal((await get('/compare?by=sideways', 'text/html')).status, 400);
  const bad = await get('/compare.csv?experiment=bd&by=run');
  assert.equal(bad.status, 400);
  assert.match(((await bad.json()) as { error: string }).error, /pick at least one run or sweep point/);
});
