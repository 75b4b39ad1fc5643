/**
 * Cached features (src/experiment/features.ts): fixed-feature transfer with frozen BatchNorm and
 * no augmentation trains its heads on backbone features computed once; the results equal the
 * uncached frozen-BatchNorm path (the backbone re-run every batch) up to float rounding: head
 * weights (the cached job writes the head alone), accuracy, ASR, parameter counts and per-epoch
 * history of every job, on the real runner with a tiny config. The features
 * are cached on disk under the results root and reused; the paper-like default (BatchNorm
 * adapting) never uses them.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, test } from 'node:test';
import { loadConfig } from '../../src/experiment/config/index.js';
import { featureCaching, usesCachedFeatures } from '../../src/experiment/features.js';
import type { TransferJobResult } from '../../src/experiment/jobs.js';
import { runExperiment, type ExperimentOutcome } from '../../src/plan/index.js';
import { loadSafetensors } from '../../src/torch/index.js';
import { assertClose } from '../helpers/tensors.js';

const tmp = mkdtempSync(join(tmpdir(), 'bt-features-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

const YAML = `
name: frozen-bn
seeds: [0, 1]
threads: 1
source:
  dataset: { name: mnist, split: train, classes: [0, 1, 2], limit: 300 }
  bias:
    kind: backdoor
    trigger: { kind: solid, color: 255, size: 4, position: bottom-right }
    poison: { policy: clean-label, classes: [0], probability: 1.0 }
  control: false
model: { arch: resnet-tiny }
sourceTraining: { epochs: 1, batchSize: 64, optimizer: { kind: sgd, lr: 0.05 } }
targets:
  - name: digits
    dataset: { name: mnist, split: train, classes: [3, 4, 5], limit: 240 }
    testDataset: { name: mnist, split: test, classes: [3, 4, 5], limit: 120 }
transfer: { modes: [fixed], bnTrainInFixed: false }
targetTraining: { epochs: 3, batchSize: 32, optimizer: { kind: sgd, lr: 0.05, momentum: 0.9 }, evalEvery: 1 }
evaluation: { bootstrap: 0 }
`;
const file = join(tmp, 'frozen-bn.yaml');
writeFileSync(file, YAML);

/** Every final.safetensors under `dir` (the jobs' trained weights), by path relative to `dir`. */
function finalWeights(dir: string, rel = ''): Map<string, string> {
  const out = new Map<string, string>();
  for (const e of readdirSync(join(dir, rel), { withFileTypes: true })) {
    const r = rel ? `${rel}/${e.name}` : e.name;
    if (e.isDirectory()) for (const [k, v] of finalWeights(dir, r)) out.set(k, v);
    else if (e.name === 'final.safetensors' && r.startsWith('runs/')) out.set(r, join(dir, r));
  }
  return out;
}

async function run(root: string, cached: boolean): Promise<ExperimentOutcome> {
  featureCaching.enabled = cached;
  try {
    return await runExperiment({ loaded: loadConfig(file), root, log: () => {} });
  } finally {
    featureCaching.enabled = true;
  }
}

test('frozen-BatchNorm fixed transfer on cached features equals the uncached path: head weights, accuracy, ASR', async () => {
  const loaded = loadConfig(file);
  assert.equal(usesCachedFeatures(loaded.config, 'fixed', true), true);
  assert.equal(
    usesCachedFeatures({ ...loaded.config, transfer: { ...loaded.config.transfer, bnTrainInFixed: true } }, 'fixed', true),
    false,
  );
  assert.equal(usesCachedFeatures(loaded.config, 'full', true), false);
  const plainRoot = join(tmp, 'plain');
  const cachedRoot = join(tmp, 'cached');
  const plain = await run(plainRoot, false);
  const cached = await run(cachedRoot, true);
  assert.equal(
    readdirSync(join(plainRoot, 'cache', 'models')).filter((d) => !d.startsWith('.')).length,
    2,
    'two source models, no features',
  );
  // Two sources x (train + clean + triggered) feature sets.
  assert.equal(readdirSync(join(cachedRoot, 'cache', 'models')).filter((d) => !d.startsWith('.')).length, 2 + 2 * 3);

  const rowsOf = (o: ExperimentOutcome): Map<string, number | null> =>
    new Map(
      o.runs.flatMap((r) =>
        r.rows.map((m) => [`${r.seed}|${m.sourceKind}|${m.transferMode}|${m.condition}|${m.metric}`, m.value] as const),
      ),
    );
  const a = rowsOf(plain);
  const b = rowsOf(cached);
  assert.deepEqual([...b.keys()].sort(), [...a.keys()].sort());
  for (const k of [
    '0|biased|fixed|clean|accuracy',
    '1|biased|fixed|clean|accuracy',
    '0|biased|fixed|triggered|asr',
    '1|biased|fixed|triggered|asr',
  ])
    assert.ok(a.has(k), `row ${k}`);
  for (const [k, v] of a) {
    if (v === null || !/accuracy|asr/.test(k)) continue;
    assert.ok(Math.abs(v - b.get(k)!) <= 1 / 120 + 1e-9, `${k}: ${v} uncached vs ${b.get(k)} cached`);
  }
  const wa = finalWeights(plainRoot);
  const wb = finalWeights(cachedRoot);
  assert.equal(wa.size, 2, 'one fixed-mode job per seed');
  assert.deepEqual([...wb.keys()].sort(), [...wa.keys()].sort());
  for (const [rel, p] of wa) {
    const x = loadSafetensors(p).tensors;
    const st = loadSafetensors(wb.get(rel)!);
    const y = st.tensors;
    // The cached job writes the head alone; its metadata names the (frozen, unchanged) source backbone.
    assert.deepEqual([...y.keys()].sort(), ['fc.bias', 'fc.weight'], `${rel}: the head's tensors only`);
    assert.match(st.metadata.backbone ?? '', /^[0-9a-f]{32}$/, `${rel}: names the source model`);
    for (const name of ['fc.weight', 'fc.bias'])
      assertClose(x.get(name)!.toFloat32Array(), y.get(name)!.toFloat32Array(), 1e-3, `${rel} ${name}`);
    for (const t of [...x.values(), ...y.values()]) t.dispose();
    // The same record: parameter counts, epochs, per-epoch evaluation.
    const ra = JSON.parse(readFileSync(join(plainRoot, dirname(dirname(rel)), 'result.json'), 'utf-8')) as TransferJobResult;
    const rb = JSON.parse(readFileSync(join(cachedRoot, dirname(dirname(rel)), 'result.json'), 'utf-8')) as TransferJobResult;
    assert.equal(rb.trainable, ra.trainable, `${rel}: trainable parameters`);
    assert.equal(rb.frozen, ra.frozen, `${rel}: frozen parameters`);
    assert.equal(rb.train.history.length, ra.train.history.length);
    for (const [i, h] of ra.train.history.entries()) {
      assert.ok(Math.abs(h.loss - rb.train.history[i].loss) < 1e-4, `${rel} epoch ${i + 1} loss ${h.loss} vs ${rb.train.history[i].loss}`);
      assert.ok(Math.abs(h.evalAccuracy! - rb.train.history[i].evalAccuracy!) <= 1 / 120 + 1e-9, `${rel} epoch ${i + 1} eval accuracy`);
    }
  }
  // A second cached run on the same root reads the features from disk (same results).
  const again = await run(join(tmp, 'cached'), true);
  assert.deepEqual(rowsOf(again), b);
});
