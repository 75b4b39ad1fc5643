/**
 * The paper's directions that held over the seeds of the CPU-scale reproduction (RESULTS.md),
 * asserted at a reduced size over 2 seeds on the real pipeline (loaders, poisoning, spurious
 * composition, pretraining, transfer, evaluation, metrics) — each direction that held, and only
 * those:
 * - backdoor (converged MNIST target): fixed-feature ASR from the biased source above its
 *   clean-source control, above full fine-tuning, and above scratch;
 * - spurious (the paper's design: the correlated class in source and target): under fixed
 *   transfer the attribute shifts predictions toward the correlated class (Shirt) more for the
 *   biased source than for its control (whose attribute is independent of the class).
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
const SEEDS = [0, 1];

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
        `seeds=${JSON.stringify(SEEDS)}`,
        'source.dataset.limit=2500',
        'sourceTraining.epochs=3',
        // Enough target steps for full fine-tuning to converge (about 190): with 47 steps it kept
        // more of the backdoor than fixed-feature transfer (0.73 vs 0.68), as under-trained models do.
        'targets.0.dataset.limit=2000',
        'targets.0.testDataset.limit=400',
        'targetTraining.batchSize=64',
        'targetTraining.epochs=6',
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
    for (const seed of SEEDS) {
      const run = out.runs.find((r) => r.seed === seed)!;
      const a = (kind: string) => run.rows.find((r) => r.metric === 'asr' && r.sourceKind === kind && r.transferMode === 'fixed')!.value;
      assert.ok(a('biased') > a('clean'), `seed ${seed}: biased ${a('biased')} vs clean ${a('clean')}`);
    }
  },
);

test(
  'spurious: under fixed transfer the attribute shifts predictions toward the correlated class more for the biased source than its control (2 seeds)',
  { skip: !fashionMnistAvailable() && 'dataset-fashion-mnist not installed' },
  async () => {
    const loaded = loadConfig('experiments/spurious.yaml', {
      overrides: [
        `seeds=${JSON.stringify(SEEDS)}`,
        'source.dataset.limit=3000',
        'sourceTraining.epochs=3',
        'targets.0.dataset.limit=800',
        'targets.0.testDataset.limit=400',
        'targetTraining.epochs=4',
        'transfer.modes=[fixed]',
        'evaluation.bootstrap=0',
      ],
    });
    const out = await runExperiment({ loaded, root, log: () => {} });
    for (const seed of SEEDS) {
      const run = out.runs.find((r) => r.seed === seed)!;
      const shift = (kind: string) =>
        run.rows.find((r) => r.metric === 'shift-toward-correlated' && r.sourceKind === kind && r.transferMode === 'fixed')!.value;
      assert.equal(run.rows.find((r) => r.metric === 'correlated-class')!.value, 1, 'Shirt is class 1 of T-shirt/top vs Shirt');
      assert.ok(
        shift('biased') > shift('clean'),
        `seed ${seed}: shift toward Shirt, biased ${shift('biased')} vs control ${shift('clean')}`,
      );
    }
  },
);
