/// <reference lib="dom" />
/// <reference lib="dom.iterable" />
/**
 * The run browser's tables and run pages in Chromium, over a results root written through the
 * store and the runner's own file writers (no training, so it runs in seconds): the runs table
 * sorted by a clicked header and filtered by the text box (both kept when the table refreshes
 * itself), its metric columns as percentages with intervals and the config keys that differ; the
 * overall ETA of a running experiment; a finished run's training curves drawn from its saved
 * histories (sources.json, jobs' result.json) with its metric values named by class; and a
 * running run's curves growing live as its progress log is appended to.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { Page } from 'playwright-core';
import { openStore, type RunStore } from '../../src/store/index.js';
import { startServer, type RunningServer } from '../../src/serve/index.js';
import { createProgressLog } from '../../src/train/progress.js';
import { checkCharts, checkLinks, launchBrowser, recordProblems, type TestBrowser } from './browser.js';

const root = mkdtempSync(join(tmpdir(), 'bt-serve-runs-'));
let server: RunningServer;
let browser: TestBrowser;
let page: Page;
let problems: string[];
let store: RunStore;

/** A resolved config as the runner writes it (the parts the app reads). */
function config(p: number, epochs: number) {
  return {
    name: 'bd',
    seeds: [0],
    source: { dataset: { name: 'fashion-mnist' }, bias: { kind: 'backdoor', poison: { probability: p } }, control: true, pretrained: null },
    targets: [{ name: 'shoes', dataset: { name: 'fashion-mnist', classes: [5, 7] } }],
    transfer: { modes: ['fixed', 'scratch'] },
    targetTraining: { epochs },
    sweep: {},
  };
}

const history = (n: number, acc0: number) =>
  Array.from({ length: n }, (_, i) => ({
    epoch: i + 1,
    loss: 1 / (i + 2),
    accuracy: acc0 + i * 0.05,
    evalAccuracy: acc0 + i * 0.04,
    lr: 0.05,
    seconds: 1,
  }));

/** A finished run: metric rows, sources.json and the jobs' result.json as the runner writes them; no progress log. */
function finishedRun(p: number, asr: number, acc: number): string {
  const r = store.createRun({ name: 'bd', config: config(p, 3), seed: 0, sweepId: `probability=${p}`, id: `bd-p${p}-seed0-x` });
  store.setStatus(r.id, 'running');
  const base = { target: 'shoes' };
  store.recordMetrics(r.id, [
    {
      ...base,
      condition: 'clean',
      transferMode: 'fixed',
      sourceKind: 'biased',
      metric: 'accuracy',
      value: acc,
      lo: acc - 0.05,
      hi: acc + 0.03,
    },
    {
      ...base,
      condition: 'triggered',
      transferMode: 'fixed',
      sourceKind: 'biased',
      metric: 'asr',
      value: asr,
      lo: asr - 0.1,
      hi: asr + 0.1,
    },
    { ...base, condition: 'clean', transferMode: 'scratch', sourceKind: null, metric: 'accuracy', value: 0.8 },
    { ...base, condition: 'triggered', transferMode: 'fixed', sourceKind: 'biased', metric: 'targeted-asr-class', value: 1 },
    { ...base, condition: 'with_attribute', transferMode: 'fixed', sourceKind: 'biased', metric: 'class-accuracy:0', value: 0.75 },
  ]);
  writeFileSync(join(r.paths.dir, 'sources.json'), JSON.stringify([{ train: history(4, 0.5) }, { train: history(4, 0.55) }]));
  for (const [dir, job, n] of [
    ['shoes-scratch', 'shoes/scratch', 3],
    ['shoes-biased-fixed', 'shoes/biased/fixed', 3],
    ['shoes-clean-fixed', 'shoes/clean/fixed', 3],
  ] as const) {
    mkdirSync(join(r.paths.dir, 'jobs', dir), { recursive: true });
    writeFileSync(
      join(r.paths.dir, 'jobs', dir, 'result.json'),
      JSON.stringify({ job, train: { history: history(n, 0.6) }, predictions: {} }),
    );
  }
  store.setStatus(r.id, 'done');
  return r.id;
}

let runningId = '';
let progress: (label: string, e: Parameters<ReturnType<typeof createProgressLog>>[1]) => void;
let clock = Date.now() - 20_000;

before(async () => {
  store = openStore(root);
  finishedRun(0.1, 0.3, 0.92);
  finishedRun(0.5, 0.9, 0.88);
  finishedRun(1, 0.6, 0.9);
  const r = store.createRun({ name: 'bd', config: config(0.25, 3), seed: 0, sweepId: 'probability=0.25', id: 'bd-p0.25-seed0-x' });
  store.setStatus(r.id, 'running');
  runningId = r.id;
  progress = createProgressLog(r.paths.progress, { now: () => clock });
  const ev = { step: 0, stepsPerEpoch: 10, epochs: 4 };
  progress('source biased seed 0', { kind: 'epoch', epoch: 0, ...ev, loss: 0.9, accuracy: 0.5 });
  clock += 5000;
  progress('source biased seed 0', { kind: 'epoch', epoch: 1, ...ev, loss: 0.6, accuracy: 0.7, evalAccuracy: 0.68 });
  clock += 5000;
  progress('source biased seed 0', { kind: 'done', epoch: 4, ...ev });
  mkdirSync(join(root, 'reports', 'bd'), { recursive: true });
  writeFileSync(join(root, 'reports', 'bd', 'report.html'), '<!DOCTYPE html><title>bd</title><p>report</p>');
  server = await startServer({ root, port: 0, pollMs: 100 });
  browser = await launchBrowser();
  page = await browser.context.newPage();
  problems = recordProblems(page);
});

after(async () => {
  await browser?.close();
  await server?.close();
  store?.close();
  rmSync(root, { recursive: true, force: true });
});

const runIds = (p: Page) => p.locator('#runs tbody tr:not([hidden])').evaluateAll((trs) => trs.map((tr) => tr.getAttribute('data-run')));

test('the runs table: metric columns in percent with intervals, differing config keys, sorting by a header, filtering, kept across refreshes', async () => {
  await page.goto(`${server.url}/`);
  const heads = await page.locator('#runs thead th').allTextContents();
  for (const h of ['source.bias.poison.probability', 'clean acc fixed', 'clean acc scratch', 'ASR fixed'])
    assert.ok(heads.includes(h), `column '${h}' in ${heads.join(' | ')}`);
  assert.ok(!heads.includes('name') && !heads.includes('targetTraining.epochs'), 'only keys that differ are columns');
  const asrCol = heads.indexOf('ASR fixed');
  const cell = await page.locator('tr[data-run="bd-p0.5-seed0-x"] td').nth(asrCol).textContent();
  assert.equal(cell, '90.0% [80.0%, 100.0%]');

  // Sort by ASR: ascending, then descending on a second click; runs without a value stay last.
  await page.getByRole('button', { name: 'ASR fixed', exact: true }).click();
  assert.deepEqual(await runIds(page), ['bd-p0.1-seed0-x', 'bd-p1-seed0-x', 'bd-p0.5-seed0-x', runningId]);
  assert.equal(await page.locator('th[aria-sort="ascending"]').textContent(), 'ASR fixed');
  await page.getByRole('button', { name: 'ASR fixed', exact: true }).click();
  assert.deepEqual(await runIds(page), ['bd-p0.5-seed0-x', 'bd-p1-seed0-x', 'bd-p0.1-seed0-x', runningId]);

  // Filter: every word must appear in the row.
  await page.getByLabel('Filter runs').fill('done probability=0.');
  assert.deepEqual(await runIds(page), ['bd-p0.5-seed0-x', 'bd-p0.1-seed0-x']);
  assert.equal(await page.locator('#runs-filter-count').textContent(), '2 of 4 runs');

  // A new run makes the table refresh itself: the sort and the filter still hold.
  const r = store.createRun({ name: 'bd', config: config(0.75, 3), seed: 0, sweepId: 'probability=0.75', id: 'bd-p0.75-seed0-x' });
  store.setStatus(r.id, 'running');
  store.recordMetrics(r.id, [
    { condition: 'triggered', transferMode: 'fixed', sourceKind: 'biased', target: 'shoes', metric: 'asr', value: 0.95, lo: 0.9, hi: 1 },
  ]);
  store.setStatus(r.id, 'done');
  const button = page.getByRole('button', { name: 'ASR fixed', exact: true });
  await button.focus();
  await page.waitForFunction(() => document.querySelectorAll('#runs tbody tr').length === 5);
  assert.ok(await button.evaluate((b) => b === document.activeElement), 'the refresh kept the focused header button');
  assert.deepEqual(await runIds(page), ['bd-p0.75-seed0-x', 'bd-p0.5-seed0-x', 'bd-p0.1-seed0-x']);
  assert.equal(await page.locator('th[aria-sort="descending"]').textContent(), 'ASR fixed');
  await page.getByLabel('Filter runs').fill('');
  assert.equal((await runIds(page)).length, 5);

  // Links: each run's experiment report and comparison.
  const row = page.locator('tr[data-run="bd-p0.5-seed0-x"]');
  assert.equal(await row.getByRole('link', { name: 'report' }).getAttribute('href'), '/files/reports/bd/report.html');
  await checkLinks(page);
  await row.getByRole('link', { name: 'compare' }).click();
  await page.waitForURL('**/compare?**');
  assert.deepEqual((await page.locator('table.comparison thead th').allTextContents()).slice(3), ['bd-p0.5-seed0-x']);
  const asrRow = await page.locator('table.comparison tbody tr').first().locator('td').allTextContents();
  assert.deepEqual([asrRow[0], asrRow[3]], ['asr', '90.0% [80.0%, 100.0%]']);
  // ... and back from the comparison to the run.
  await page.locator('table.comparison thead').getByRole('link', { name: 'bd-p0.5-seed0-x' }).click();
  await page.waitForURL('**/runs/bd-p0.5-seed0-x');
  assert.deepEqual(problems, []);
});

test('a running experiment shows its overall ETA, and its running run the whole run ETA', async () => {
  clock = Date.now();
  progress('source clean seed 0', {
    kind: 'step',
    epoch: 0,
    step: 5,
    stepsPerEpoch: 10,
    epochs: 4,
    loss: 1,
    accuracy: 0.4,
    etaSeconds: 20,
  });
  await page.goto(`${server.url}/`);
  const eta = page.locator('tr[data-experiment="bd"] .eta');
  const seconds = Number(await eta.getAttribute('data-eta'));
  // The clean source's own ETA (20 s from its last event), then 3 target jobs, each assumed to
  // take a quarter of the finished source's 10 s.
  assert.ok(seconds > 20 && seconds <= 27.5, `experiment ETA ${seconds} s`);
  assert.match((await eta.textContent()) ?? '', /^\d+s$/);
  assert.match((await page.locator(`tr[data-run="${runningId}"] .eta`).textContent()) ?? '', /^ETA \d+s$/);
  await page.goto(`${server.url}/runs/${runningId}`);
  await page.waitForFunction(() => /jobs done/.test(document.getElementById('run-eta')?.textContent ?? ''));
  assert.match((await page.locator('#run-eta').textContent()) ?? '', /^\d+s \(1 of 5 jobs done, now source clean seed 0\)$/);
  assert.deepEqual(problems, []);
});

test("a running run's curves grow while the page is open", async () => {
  await page.goto(`${server.url}/runs/${runningId}`);
  await page.waitForSelector('#curves figure[data-job="source biased seed 0"] svg');
  assert.equal(await page.locator('#curves figure').count(), 1, 'only jobs with a finished epoch have curves');
  assert.equal(await page.locator('#curves').getAttribute('data-points'), '2');
  const ev = { step: 0, stepsPerEpoch: 10, epochs: 4 };
  progress('source clean seed 0', { kind: 'epoch', epoch: 0, ...ev, loss: 0.8, accuracy: 0.6, evalAccuracy: 0.62 });
  progress('source clean seed 0', { kind: 'epoch', epoch: 1, ...ev, loss: 0.5, accuracy: 0.75, evalAccuracy: 0.7 });
  await page.waitForFunction(() => document.getElementById('curves')?.getAttribute('data-points') === '4');
  const labels = await page.locator('#curves figure').evaluateAll((fs) => fs.map((f) => f.getAttribute('data-job')));
  assert.deepEqual(labels, ['source biased seed 0', 'source clean seed 0']);
  const tips = await page.locator('figure[data-job="source clean seed 0"] circle title').allTextContents();
  assert.ok(tips.includes('source clean seed 0: epoch 2, eval 70.0%'), tips.join(' | '));
  await checkCharts(page, 2);
  assert.deepEqual(problems, []);
});

test("a finished run's page: curves of every job from the saved histories, metric values by class name, links to its report and comparisons", async () => {
  await page.goto(`${server.url}/runs/bd-p0.5-seed0-x`);
  await page.waitForFunction(() => document.getElementById('curves')?.getAttribute('data-points') === String(4 + 4 + 3 * 3));
  const labels = await page.locator('#curves figure').evaluateAll((fs) => fs.map((f) => f.getAttribute('data-job')));
  assert.deepEqual(labels, ['source biased seed 0', 'source clean seed 0', 'shoes/biased/fixed', 'shoes/clean/fixed', 'shoes/scratch']);
  const charts = await checkCharts(page, 5);
  assert.ok(charts.every((c) => c.visible > 0));
  assert.equal(await page.locator('figure[data-job="source biased seed 0"] circle[data-series="training"]').count(), 8);
  const cells = async (metric: string) => page.locator(`tr[data-metric="${metric}"] td`).allTextContents();
  assert.equal((await cells('asr'))[5], '90.0% [80.0%, 100.0%]');
  assert.equal((await cells('targeted-asr-class'))[5], 'Sneaker', 'a class index is shown as its class name');
  assert.equal((await cells('class-accuracy:0'))[0], 'class-accuracy: Sandal');
  assert.equal(await page.locator('a[data-link="report"]').getAttribute('href'), '/files/reports/bd/report.html');
  await checkLinks(page);
  await page.locator('a[data-link="compare-point"]').click();
  await page.waitForURL('**/compare?**');
  assert.deepEqual((await page.locator('table.comparison thead th').allTextContents()).slice(3), ['bd · probability=0.5']);
  assert.deepEqual(problems, []);
});
