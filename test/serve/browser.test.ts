/// <reference lib="dom" />
/// <reference lib="dom.iterable" />
/**
 * `bias-transfer serve` in a real browser (Debian's chromium through playwright-core), on the
 * real pipeline: the server and a tiny sweep run as two CLI processes on one results root; the
 * browser watches the first run appear in the runs table and follows its progress live until it
 * is done, opens the experiment's report, uses the comparison view (sweep points, then single
 * runs picked in the form, then the CSV download), and checks the static HTML report from disk.
 * Every page fails the test on a console error, an uncaught exception, an HTTP error, a chart that
 * renders empty or a link that leads nowhere. With redis-server installed, the queue's page
 * (bull-board) is opened too; without it that part is skipped.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, before, test } from 'node:test';
import type { Page } from 'playwright-core';
import { openQueue } from '../../src/queue/names.js';
import { startRedisServer, type RedisServer } from '../../src/queue/redis-server.js';
import { parseCsv } from '../../src/report/index.js';
import { checkCharts, checkLinks, launchBrowser, recordProblems, type TestBrowser } from './browser.js';

const root = mkdtempSync(join(tmpdir(), 'bt-serve-browser-'));
const CONFIG = 'test/serve/fixtures/tiny-sweep.yaml';
const hasRedis = !spawnSync('redis-server', ['--version']).error;
const children: ChildProcess[] = [];
let browser: TestBrowser;
let redis: RedisServer | null = null;
let base: string;
let page: Page;
let problems: string[];

/** Starts the CLI (from the TypeScript sources) with `args`; resolves with the process. */
function cli(args: string[]): ChildProcess & { out: () => string; err: () => string } {
  const p = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(p);
  let out = '';
  let err = '';
  p.stdout!.on('data', (d) => (out += d));
  p.stderr!.on('data', (d) => (err += d));
  return Object.assign(p, { out: () => out, err: () => err });
}

function exited(p: ChildProcess): Promise<number> {
  return p.exitCode !== null ? Promise.resolve(p.exitCode) : new Promise((resolve) => p.on('close', (code) => resolve(code ?? 1)));
}

function noProblems(where: string): void {
  assert.deepEqual(problems, [], `problems ${where}`);
}

before(async () => {
  const launching = launchBrowser();
  redis = hasRedis ? await startRedisServer() : null;
  const server = cli(['serve', '--root', root, '--port', '0', ...(redis ? ['--queue', redis.url] : [])]);
  const started = Date.now();
  while (!/serving .* at (http:\/\/\S+)\//.test(server.out())) {
    if (server.exitCode !== null) throw new Error(`serve exited with ${server.exitCode}: ${server.err()}`);
    if (Date.now() - started > 90_000) throw new Error(`serve did not start: ${server.err()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  base = /serving .* at (http:\/\/\S+)\//.exec(server.out())![1];
  browser = await launching;
  page = await browser.context.newPage();
  problems = recordProblems(page);
});

after(async () => {
  await browser?.close();
  for (const c of children) if (c.exitCode === null) c.kill('SIGTERM');
  await Promise.all(children.map(exited));
  await redis?.stop();
  rmSync(root, { recursive: true, force: true });
});

let sweep: ReturnType<typeof cli>;
let firstRun = '';

test('a run appears in the open runs table and its progress is followed live until it is done', async () => {
  await page.goto(`${base}/`);
  assert.equal(await page.locator('#runs [data-runs="0"]').count(), 1, 'an empty root shows no runs');
  await checkLinks(page);
  sweep = cli(['sweep', CONFIG, '--root', root, '--quiet']);
  // The page is not reloaded: the runs table refreshes itself.
  const row = page.locator('#runs tr[data-run]').first();
  await row.waitFor({ timeout: 300_000 });
  firstRun = (await row.getAttribute('data-run'))!;
  await row.locator('a[href^="/runs/"]').click();
  await page.waitForURL(`**/runs/${encodeURIComponent(firstRun)}`);
  const initial = await page.locator('#progress').getAttribute('data-initial-status');
  assert.ok(initial === 'queued' || initial === 'running', `the run should still be running when opened, was ${initial}`);
  // Follow the page until the run ends: record the status badge and the events received.
  const statuses: string[] = [];
  const received: number[] = [];
  const points: number[] = [];
  for (const t0 = Date.now(); ;) {
    const s = await page
      .locator('[data-run-status] .status')
      .getAttribute('data-status')
      .catch(() => null);
    const n = Number(
      (await page
        .locator('#progress')
        .getAttribute('data-received')
        .catch(() => null)) ?? 0,
    );
    if (s && statuses.at(-1) !== s) statuses.push(s);
    received.push(n);
    if ((await page.locator('table.metrics').count()) === 0)
      points.push(
        Number(
          (await page
            .locator('#curves')
            .getAttribute('data-points')
            .catch(() => null)) ?? 0,
        ),
      );
    if ((await page.locator('table.metrics').count()) > 0) break;
    assert.ok(Date.now() - t0 < 300_000, `run ${firstRun} did not finish in the page (statuses ${statuses.join(' → ')})`);
    await page.waitForTimeout(200);
  }
  assert.deepEqual(statuses.slice(0, 1), ['running'], `status seen ${statuses.join(' → ')}`);
  assert.equal(statuses.at(-1), 'done', `status seen ${statuses.join(' → ')}`);
  assert.ok(
    received.some((n, i) => i > 0 && n > received[0]),
    'progress events arrived while the page was open',
  );
  assert.ok(
    points.some((n, i) => i > 0 && n > points[0]),
    `the training curves grew while the page was open (${points[0]} → ${points.at(-1)} points)`,
  );
  // After it ended the page reloaded with the metric rows and every job's progress complete.
  assert.ok(Number(await page.locator('table.metrics').getAttribute('data-metrics')) > 10);
  const jobs = page.locator('#progress tr[data-job]');
  await page.waitForFunction(() => document.querySelectorAll('#progress tr[data-job]').length >= 5);
  const labels = await jobs.evaluateAll((trs) => trs.map((tr) => tr.getAttribute('data-job')));
  for (const want of ['source biased seed 0', 'source clean seed 0', 'digits/scratch', 'digits/biased/fixed', 'digits/biased/full'])
    assert.ok(labels.includes(want), `job ${want} missing from the progress table (${labels.join(', ')})`);
  const values = await page.$$eval('#progress progress', (ps) => ps.map((p) => (p as HTMLProgressElement).value));
  assert.ok(
    values.every((v) => v === 1),
    `every job's progress is complete: ${values.join(', ')}`,
  );
  assert.match((await page.locator('pre.lines').textContent()) ?? '', /\[source biased seed 0\] epoch 16\/16 done/);
  // Every job's loss and accuracy curves: 16 epochs per source, 1 per target job.
  await page.waitForFunction(() => document.querySelectorAll('#curves figure[data-job]').length >= 5);
  const curves = await page
    .locator('#curves figure[data-job]')
    .evaluateAll((fs) => fs.map((f) => [f.getAttribute('data-job'), f.getAttribute('data-epochs')]));
  for (const [job, n] of [
    ['source biased seed 0', '16'],
    ['source clean seed 0', '16'],
    ['digits/scratch', '1'],
    ['digits/biased/fixed', '1'],
    ['digits/biased/full', '1'],
  ])
    assert.ok(
      curves.some(([j, e]) => j === job && e === n),
      `curves of ${job} (${n} epochs) in ${JSON.stringify(curves)}`,
    );
  await checkCharts(page, 5);
  assert.match((await page.locator('tr[data-metric="asr"] td').nth(5).textContent()) ?? '', /^\d+\.\d% \[\d+\.\d%, \d+\.\d%\]$/);
  await checkLinks(page);
  noProblems('on the run page');
});

test('the experiment report opens from the experiments page and passes the browser checks', async () => {
  assert.equal(await exited(sweep), 0, sweep.err());
  await page.goto(`${base}/`);
  const exp = page.locator('tr[data-experiment="tiny-serve"]');
  await exp.waitFor();
  assert.deepEqual(await exp.locator('td').evaluateAll((tds) => tds.slice(1, 3).map((td) => td.textContent)), ['2', '2']);
  assert.equal(await page.locator('#runs tr[data-run]').count(), 2);
  await checkLinks(page);
  await exp.getByRole('link', { name: 'report' }).click();
  await page.waitForURL('**/files/reports/tiny-serve/report.html');
  assert.match(await page.title(), /tiny-serve/);
  const charts = await checkCharts(page, 1);
  assert.ok(
    charts.some((c) => /ASR/.test(c.title)),
    `an ASR chart in the report (${charts.map((c) => c.title).join('; ')})`,
  );
  await checkLinks(page);
  noProblems('on the served report');
});

test('the comparison view: sweep points side by side, then two runs picked in the form, then the CSV', async () => {
  await page.goto(`${base}/`);
  await page.locator('tr[data-experiment="tiny-serve"]').getByRole('link', { name: 'sweep points' }).click();
  await page.waitForURL('**/compare?**');
  let charts = await checkCharts(page, 2);
  assert.equal(await page.locator('figure.chart[data-metric="asr"]').count(), 1, 'ASR per transfer mode is charted');
  assert.ok(charts[0].marks >= 2 * 5, `both points have a bar per mode/source (${charts[0].marks} marks)`);
  const heads = await page.locator('table.comparison thead th').allTextContents();
  assert.deepEqual(heads.slice(3), ['tiny-serve · probability=0.5', 'tiny-serve · probability=1']);
  const asrRow = await page.locator('table.comparison tbody tr').first().locator('td').allTextContents();
  assert.equal(asrRow[0], 'asr');
  assert.match(asrRow[3], /^\d+\.\d% \[\d+\.\d%, \d+\.\d%\]$/, `a percentage with its interval: ${asrRow[3]}`);
  await checkLinks(page);

  // Single runs: switch in the form, tick both runs, compare.
  await page.getByLabel('single runs').check();
  await page.getByRole('button', { name: 'Show choices' }).click();
  await page.waitForURL('**show=choices**');
  const boxes = page.locator('input[name="run"]');
  assert.equal(await boxes.count(), 2);
  for (const b of await boxes.all()) await b.check();
  await page.getByRole('button', { name: 'Compare' }).click();
  await page.waitForURL('**show=compare**');
  charts = await checkCharts(page, 2);
  const runHeads = (await page.locator('table.comparison thead th').allTextContents()).slice(3);
  assert.equal(runHeads.length, 2);
  assert.ok(runHeads.includes(firstRun));
  await checkLinks(page);

  const [download] = await Promise.all([page.waitForEvent('download'), page.locator('a.csv').click()]);
  const csv = parseCsv(readFileSync((await download.path())!, 'utf8'));
  assert.deepEqual(csv[0].slice(0, 6), ['item', 'kind', 'experiment', 'sweep', 'seeds', 'metric']);
  assert.deepEqual(new Set(csv.slice(1).map((r) => r[0])), new Set(runHeads));
  const asr = csv.slice(1).filter((r) => r[5] === 'asr');
  assert.deepEqual(new Set(asr.map((r) => r[7])), new Set(['fixed', 'full', 'scratch']));
  for (const r of asr) {
    const [v, lo, hi] = r.slice(10, 13).map(Number);
    assert.ok(lo <= v && v <= hi && v >= 0 && hi <= 1, `ASR ${v} within [${lo}, ${hi}]`);
  }
  noProblems('on the comparison view');
});

test('the static HTML report from disk passes the same browser checks', async () => {
  await page.goto(pathToFileURL(join(root, 'reports', 'tiny-serve', 'report.html')).href);
  await checkCharts(page, 1);
  assert.ok((await checkLinks(page)) > 3);
  noProblems('on the static report');
});

test('with --queue, the queue is shown by bull-board', { skip: hasRedis ? false : 'redis-server is not installed' }, async () => {
  const q = openQueue(redis!.url);
  try {
    await q.add('experiment', { config: CONFIG });
    await page.goto(`${base}/`);
    await page.getByRole('link', { name: 'Queue' }).click();
    await page.waitForURL('**/queue**');
    await page.getByText('bias-transfer', { exact: false }).first().waitFor({ timeout: 30_000 });
    await page.waitForFunction(() => /waiting/i.test(document.body.innerText), undefined, { timeout: 30_000 });
    noProblems('on the queue page');
  } finally {
    await q.close();
  }
});
