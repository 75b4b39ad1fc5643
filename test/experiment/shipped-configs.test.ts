/**
 * Shipped configs cannot rot: EVERY file under experiments/ (a glob, so configs added later are
 * covered too) loads, runs through the real runner at a tiny size and renders its report. The
 * sizes are overridden generically — 1 seed, a few hundred source images, ~100 target images,
 * 1 epoch, no bootstrap, a sweep of at most 2 points — so nothing here is tuned per file.
 * Also checked on what the runs wrote: `evaluation.metrics` selects the rows recorded, and every
 * metric row belongs to a family (src/experiment/metric-families.ts).
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, isAbsolute, join, resolve } from 'node:path';
import { after, test } from 'node:test';
import { fashionMnistAvailable } from '../../src/data/index.js';
import { loadConfig, type ExperimentConfig } from '../../src/experiment/config/index.js';
import { ALWAYS_KEPT, metricFamily } from '../../src/experiment/metric-families.js';
import { writeExperimentReport } from '../../src/publish/publish.js';
import { runExperiment } from '../../src/plan/index.js';
import { writeImageFolder } from '../data/folder-fixture.js';

const SOURCE_IMAGES = 300;
const TARGET_IMAGES = 100;
const root = mkdtempSync(join(tmpdir(), 'bt-shipped-'));
after(() => rmSync(root, { recursive: true, force: true }));

const files = readdirSync('experiments')
  .filter((f) => /\.(ya?ml|json)$/.test(f) && f !== 'schema.json')
  .sort();

/** A sweep of at most 2 points: the first key's first and last values (sizes scaled, epochs capped), other keys their first value. */
function tinySweep(sweep: ExperimentConfig['sweep']): Record<string, unknown[]> {
  const out: Record<string, unknown[]> = {};
  Object.entries(sweep).forEach(([key, values], i) => {
    let vs = i === 0 ? [values[0], values[values.length - 1]] : [values[0]];
    if (/\.limit$/.test(key)) {
      const max = Math.max(...values.map(Number));
      vs = vs.map((v) => Math.max(10, Math.round((Number(v) * TARGET_IMAGES) / max)));
    }
    if (/epochs$/.test(key)) vs = vs.map((v) => Math.min(Number(v), 2));
    out[key] = [...new Map(vs.map((v) => [JSON.stringify(v), v])).values()];
  });
  return out;
}

/** Generic tiny-size overrides for a config. */
function tinyOverrides(c: ExperimentConfig): string[] {
  const o = [
    'seeds=[0]',
    'threads=2',
    `source.dataset.limit=${SOURCE_IMAGES}`,
    'sourceTraining.epochs=1',
    'targetTraining.epochs=1',
    'evaluation.bootstrap=0',
    `sweep=${JSON.stringify(tinySweep(c.sweep))}`,
  ];
  c.targets.forEach((_, i) => o.push(`targets.${i}.dataset.limit=${TARGET_IMAGES}`, `targets.${i}.testDataset.limit=${TARGET_IMAGES}`));
  return o;
}

/**
 * Stand-ins for image folders a config names that are not on this machine (the walkthrough's
 * demo/ folders, made by scripts/demo/make_demo.py): for each missing folder path, a small folder
 * in torchvision's layout (train/ and test/, three classes of mixed-size PNGs and JPEGs, each path
 * its own images), as `<key>.path` overrides.
 */
function folderStandIns(c: ExperimentConfig, configDir: string): string[] {
  const made = new Map<string, string>();
  const out: string[] = [];
  const visit = (v: unknown, key: string): void => {
    if (Array.isArray(v)) return v.forEach((x, i) => visit(x, `${key}.${i}`));
    if (v === null || typeof v !== 'object') return;
    const o = v as Record<string, unknown>;
    if (o.name === 'folder' && typeof o.path === 'string' && 'split' in o) {
      const abs = isAbsolute(o.path) ? o.path : resolve(configDir, o.path);
      if (existsSync(abs)) return;
      let stand = made.get(abs);
      if (stand === undefined) {
        stand = join(root, 'folders', String(made.size));
        mkdirSync(stand, { recursive: true });
        for (const [split, seed] of [
          ['train', 10 * made.size],
          ['test', 10 * made.size + 5],
        ] as const)
          renameSync(writeImageFolder({ perClass: 12, seed, tag: `shipped-${split}` }), join(stand, split));
        made.set(abs, stand);
      }
      out.push(`${key}.path=${JSON.stringify(stand)}`);
      return;
    }
    for (const [k, x] of Object.entries(o)) if (!(key === '' && k === 'sweep')) visit(x, key === '' ? k : `${key}.${k}`);
  };
  visit(c, '');
  return out;
}

test('experiments/ holds the paper configs and the example', () => {
  for (const f of ['backdoor.yaml', 'spurious.yaml', 'natural.yaml', 'example.yaml']) assert.ok(files.includes(f), `${f} is shipped`);
});

for (const file of files) {
  test(`experiments/${file} runs at a tiny size through the real runner and renders its report`, async () => {
    const path = join('experiments', file);
    const full = loadConfig(path).config;
    const needsFashion = JSON.stringify(full).includes('fashion-mnist');
    if (needsFashion && !fashionMnistAvailable()) return; // CI installs dataset-fashion-mnist
    const loaded = loadConfig(path, { overrides: [...tinyOverrides(full), ...folderStandIns(full, dirname(path))] });
    const out = await runExperiment({ loaded, root, log: () => {} });
    assert.ok(out.runs.length >= 1, 'at least one run');
    const rows = out.runs.flatMap((r) => r.rows);
    assert.ok(rows.length > 0, 'metric rows were recorded');
    const families = new Set(loaded.config.evaluation.metrics);
    for (const r of rows) {
      if ((ALWAYS_KEPT as readonly string[]).includes(r.metric)) continue;
      const f = metricFamily(r.metric);
      assert.ok(f !== null, `metric '${r.metric}' has no family in src/experiment/metric-families.ts`);
      assert.ok(
        families.has(f),
        `${file}: a '${r.metric}' row (${f}) was recorded though evaluation.metrics is ${[...families].join(', ')}`,
      );
    }
    if (families.has('accuracy'))
      assert.ok(
        rows.some((r) => r.metric === 'accuracy'),
        'clean accuracy rows',
      );
    const report = writeExperimentReport(root, [{ loaded, seconds: out.seconds }], join(root, 'reports', loaded.config.name));
    assert.match(report, /report\.html$/);
    // Which images every number was computed on: in report.json and in the report's overview.
    const summary = JSON.parse(readFileSync(join(root, 'reports', loaded.config.name, 'report.json'), 'utf8')) as {
      experiments: { name: string; data: Record<string, string> }[];
    };
    const data = Object.fromEntries(summary.experiments.map((e) => [e.name, e.data]));
    const mine = data[loaded.config.name];
    for (const t of loaded.config.targets) assert.match(mine[`targets.${t.name}.test`], new RegExp(`^${t.testDataset.name}.*test split`));
    assert.ok(mine['source.accuracy'], 'the source accuracy says which images (or why none)');
    assert.match(readFileSync(report, 'utf8'), /Images behind every number/);
  });
}
