/**
 * The paper's directions that held over the seeds of the CPU-scale reproduction (RESULTS.md),
 * asserted at a reduced size over 2 seeds on the real pipeline (loaders, poisoning, spurious
 * composition, pretraining, transfer, evaluation, metrics) — each direction that held, and only
 * those:
 * - backdoor (converged MNIST target): fixed-feature ASR from the biased source above its
 *   clean-source control, above full fine-tuning, and above scratch;
 * Not asserted, because they did not hold over the 3 seeds of the reproduction (RESULTS.md):
 * full fine-tuning above scratch or above its clean control (ASR 5.8% vs 1.9% and 1.8%, intervals
 * overlap), and the spurious shift toward Shirt above its control (19.6% vs 1.8% under fixed
 * transfer: larger on every seed, but one seed carries most of it, so the intervals overlap).
 * Sizes are far below experiments/*.yaml; the full-size numbers are in the report.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { loadConfig } from '../../src/experiment/config/index.js';
import { runExperiment } from '../../src/plan/index.js';
import type { MetricRow } from '../../src/store/index.js';
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
