/**
 * The natural-bias probe bank on the real pipeline: probes cut from a class of a reference
 * dataset (an RGB image folder) and a PNG stencil with alpha, each with a neutral twin of the
 * same shape and brightness (automatic), ranked in the report by directional skew; the skew rows
 * are recomputed from the stored prediction files.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { PNG } from 'pngjs';
import { parseConfigText } from '../../src/experiment/config/index.js';
import { loadConfiguredDataset, loadSource } from '../../src/experiment/prepare.js';
import { buildProbes } from '../../src/experiment/probes.js';
import { sectionsFor } from '../../src/publish/publish.js';
import { runExperiment } from '../../src/plan/index.js';
import { maskedMean } from '../../src/bias/index.js';
import { readPredictionsCsv, skewExcess } from '../../src/metrics/index.js';

const dir = mkdtempSync(join(tmpdir(), 'bt-probes-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function png(file: string, w: number, h: number, px: (x: number, y: number) => [number, number, number, number]): void {
  const p = new PNG({ width: w, height: h });
  for (let y = 0; y < h; y++)
    for (let x = 0; x < w; x++) {
      const [r, g, b, a] = px(x, y);
      p.data.set([r, g, b, a], 4 * (y * w + x));
    }
  writeFileSync(file, PNG.sync.write(p));
}

// A reference dataset of two classes (RGB, 16x16): 'bars' (vertical stripes) and 'dots'.
for (const [cls, f] of [
  ['bars', (x: number) => (x % 4 < 2 ? 255 : 0)],
  ['dots', (x: number, y: number) => (x % 5 === 0 && y % 5 === 0 ? 255 : 30)],
] as const) {
  mkdirSync(join(dir, 'ref', cls), { recursive: true });
  for (let i = 0; i < 3; i++) png(join(dir, 'ref', cls, `${i}.png`), 16, 16, (x, y) => [f(x, y), f(x, y), 40 * i, 255]);
}
// A stencil: a white cross on a transparent square.
png(join(dir, 'cross.png'), 9, 9, (x, y) => (x === 4 || y === 4 ? [255, 255, 255, 255] : [0, 0, 0, 0]));

const yaml = `
name: probes
seeds: [0]
threads: 1
source:
  dataset: { name: mnist, split: train, classes: [0, 1, 2, 3], limit: 240 }
model: { arch: small-cnn, widthMultiplier: 0.5 }
sourceTraining: { epochs: 1, batchSize: 64, optimizer: { kind: sgd, lr: 0.05 }, evalEvery: 0 }
targets:
  - name: digits
    dataset: { name: mnist, split: train, classes: [5, 6, 7], limit: 150 }
    testDataset: { name: mnist, split: test, classes: [5, 6, 7], limit: 90 }
transfer: { modes: [fixed, scratch] }
targetTraining: { epochs: 1, batchSize: 32, optimizer: { kind: sgd, lr: 0.05 }, evalEvery: 0 }
evaluation:
  bootstrap: 50
  patches:
    - { kind: class-patch, sourceClass: 1, size: 12 }
    - { kind: class-patch, sourceClass: bars, dataset: { name: folder, path: ref }, size: 12, name: stripes }
    - { kind: image, path: cross.png, size: 9, position: center }
`;

test('probes from a reference dataset and a PNG stencil get neutral twins of the same shape and brightness', () => {
  const loaded = parseConfigText(yaml, { file: join(dir, 'probes.yaml') });
  const ctx = {
    config: loaded.config,
    configDir: dir,
    load: (spec: Parameters<typeof loadConfiguredDataset>[0], label: string) => loadConfiguredDataset(spec, dir, 0, label),
  };
  const source = loadSource({ config: loaded.config, configDir: dir }, 0);
  const probes = buildProbes(ctx, 0, source);
  assert.deepEqual(
    probes.map((p) => [p.condition, p.neutralOf]),
    [
      ['patch0', null],
      ['patch1', null],
      ['patch2', null],
      ['patch0-neutral', 'patch0'],
      ['patch1-neutral', 'patch1'],
      ['patch2-neutral', 'patch2'],
    ],
  );
  assert.deepEqual(
    probes.map((p) => p.label),
    ['1 crop', 'stripes', 'cross', 'neutral grey like 1 crop', 'neutral grey like stripes', 'neutral grey like cross'],
  );
  const cross = probes[2].patch;
  // The stencil's alpha is its mask: 17 of 81 pixels (the cross) are pasted.
  assert.equal(Array.from(cross.mask).filter((m) => m > 0.5).length, 17);
  for (const i of [0, 1, 2]) {
    const p = probes[i].patch;
    const n = probes[i + 3].patch;
    assert.deepEqual(Array.from(n.mask), Array.from(p.mask), 'same shape');
    assert.ok(Math.abs(maskedMean(n) - maskedMean(p)) <= 0.5, `same brightness: ${maskedMean(n)} vs ${maskedMean(p)}`);
    assert.equal(new Set(n.pixels).size, 1, 'neutral = one grey level');
  }
  // A class-patch probe on a reference dataset names its config key when the class does not exist.
  const bad = parseConfigText(yaml.replace('sourceClass: bars', 'sourceClass: waves'), { file: join(dir, 'probes.yaml') });
  assert.throws(() => buildProbes({ ...ctx, config: bad.config }, 0, source), /evaluation\.patches\[1\].*waves/);
  // A stencil file that is not there is named.
  const missing = parseConfigText(yaml.replace('cross.png', 'nope.png'), { file: join(dir, 'probes.yaml') });
  assert.throws(() => buildProbes({ ...ctx, config: missing.config }, 0, source), /evaluation\.patches\[2\].*nope\.png/);
});

test('the report ranks every probe by directional skew with its neutral and scratch controls; rows recompute from the prediction files', async () => {
  const root = join(dir, 'root');
  const loaded = parseConfigText(yaml, { file: join(dir, 'probes.yaml') });
  const out = await runExperiment({ loaded, root, log: () => {} });
  const run = out.runs[0];
  // Recompute the fixed model's skew excess of the stencil from the stored CSVs.
  const csv = (cond: string) => readPredictionsCsv(join(root, 'runs', run.runId, 'predictions', `digits-clean-fixed-${cond}.csv`));
  const probe = csv('patch2');
  const neutral = csv('patch2-neutral');
  const ex = skewExcess({ clean: probe.clean, probe: probe.biased!, neutral: neutral.biased! }, probe.numClasses);
  const row = run.rows.find((r) => r.metric === 'skew-excess' && r.condition === 'patch2' && r.transferMode === 'fixed')!;
  assert.equal(row.value, ex.excess);
  assert.ok(row.lo !== null && row.lo! <= row.value && row.value <= row.hi!, JSON.stringify(row));
  const skewRow = run.rows.find((r) => r.metric === 'skew' && r.condition === 'patch2' && r.transferMode === 'fixed')!;
  assert.equal(skewRow.numerator, ex.probe.patched.numerator);
  assert.equal(skewRow.denominator, 90);
  // The report section.
  const { sections } = sectionsFor(root, loaded);
  const sec = sections.find((s) => s.id === 'probes-probes-digits');
  assert.ok(sec, sections.map((s) => s.id).join(', '));
  const table = sec.tables![0];
  assert.equal(table.rows.length, 3, 'one row per probe and transfer mode');
  assert.deepEqual(
    table.rows.map((r) => r[0]),
    [1, 2, 3],
  );
  // Ranked by the contrast, highest first.
  const contrast = (cond: string) =>
    run.rows.find((r) => r.metric === 'skew-excess-minus-scratch' && r.condition === cond && r.transferMode === 'fixed')!.value;
  const names: Record<string, string> = { stripes: 'patch1', cross: 'patch2' };
  const ranked = table.rows.map((r) => contrast(names[String(r[1])] ?? 'patch0'));
  assert.deepEqual(
    ranked,
    [...ranked].sort((a, b) => b - a),
  );
  // One seed: every verdict is indicative, never held.
  assert.ok(
    sec.findings!.every((f) => f.holds === 'indicative'),
    JSON.stringify(sec.findings!.map((f) => f.holds)),
  );
  // Histograms and example images of the top probes.
  assert.equal(sec.charts!.length, 1 + 3);
  assert.equal(sec.images!.length, 3);
  assert.match(sec.charts![0].csv!, /^target,condition,probe,mode/);
});
