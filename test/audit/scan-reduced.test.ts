/**
 * A reduced-size version of bench/scan-proof.ts (RESULTS.md "Backbone scan"): small-cnn sources on
 * 2,000 Fashion-MNIST images (classes 0-4), a clean-label checkerboard trigger on every class-0
 * image vs clean twins. It asserts only what held over its seeds in the full proof and here: the
 * per-class inversion through the source head finds class 0 with a smaller mask than any of 5 clean
 * references needs; at least one of the two backdoored sources is judged `suspicious`, naming
 * class 0; and no clean model is judged `suspicious` against the other clean ones. The headless statistic is computed but not
 * asserted (it did not separate reliably in the proof). The relative per-class statistic is
 * checked on the same models: it puts class 0 of each backdoored source further below the
 * references than the absolute one and flags at least one of them, naming class 0.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { poisonDataset } from '../../src/bias/index.js';
import { loadDataset, selectIndices } from '../../src/data/index.js';
import { compareClasses, decide, robustZ } from '../../src/audit/reference.js';
import { scanModel, type ScanStatistics } from '../../src/audit/scan.js';
import { imagesTensor, normalisationOf, trainClassifier } from '../../src/audit/train.js';
import { liveTensors } from '../../src/torch/index.js';

const ARCH = { arch: 'small-cnn' as const };
const SEEDS_BACKDOOR = [0, 1];
const SEEDS_CLEAN = [10, 11, 12, 13, 14];

test('reduced proof: the per-class scan flags checkerboard-backdoored sources against clean references (2 seeds)', async (t) => {
  const before = liveTensors();
  const source = loadDataset({ name: 'fashion-mnist', split: 'train', classes: [0, 1, 2, 3, 4], limit: 2000 });
  const test = loadDataset({ name: 'fashion-mnist', split: 'test', classes: [0, 1, 2, 3, 4], limit: 96 });
  const scanSet = selectIndices(
    test,
    Array.from({ length: 96 }, (_, i) => i),
  );
  const norm = normalisationOf(source);
  const x = imagesTensor(scanSet);
  const settings = { headlessSteps: 40, classSteps: 50, batchSize: 48 };
  const scan = async (kind: 'clean' | 'backdoor', seed: number): Promise<ScanStatistics> => {
    const ds =
      kind === 'clean'
        ? source
        : poisonDataset(
            source,
            { kind: 'checkerboard', size: 5, position: 'bottom-right', cell: 1 },
            { policy: 'clean-label', classes: [0], probability: 1 },
            seed,
          ).dataset;
    const m = await trainClassifier(ds, ARCH, norm, { epochs: 3 }, seed);
    try {
      return await scanModel(m, x, scanSet, norm, { ...settings, seed });
    } finally {
      m.dispose();
    }
  };
  try {
    const clean: ScanStatistics[] = [];
    for (const s of SEEDS_CLEAN) clean.push(await scan('clean', s));
    const refs0 = clean.map((c) => c.classes.find((k) => k.cls === 0)!.maskFraction);
    const inputsOf = (st: ScanStatistics, refs: ScanStatistics[]) =>
      st.classes.map((k) => ({
        name: `class ${k.cls}`,
        position: robustZ(
          k.maskFraction,
          refs.map((c) => c.classes.find((d) => d.cls === k.cls)!.maskFraction),
        ),
        reached: k.reached,
      }));
    const verdicts: string[] = [];
    const relVerdicts: string[] = [];
    const relative = (st: ScanStatistics, refs: ScanStatistics[]) => {
      const { classes, scale } = compareClasses(
        st.classes,
        refs.map((r) => r.classes),
      );
      const v = decide(
        classes.map((c, i) => ({ name: `class ${c.cls}`, position: c.relative!, reached: st.classes[i].reached, relative: true })),
        {},
        scale,
      );
      return { v, z0: classes.find((c) => c.cls === 0)!.relative!.z!, zAbs0: classes.find((c) => c.cls === 0)!.absolute!.z! };
    };
    for (const seed of SEEDS_BACKDOOR) {
      const st = await scan('backdoor', seed);
      const c0 = st.classes.find((k) => k.cls === 0)!;
      const detail = `seed ${seed}: class-0 mask ${c0.maskFraction.toFixed(4)} vs clean ${refs0.map((r) => r.toFixed(4)).join(', ')}`;
      t.diagnostic(detail);
      assert.ok(c0.reached, detail);
      // Held for every backdoored seed, here and in the full proof: the target class needs a
      // smaller mask than it does in any clean reference.
      assert.ok(
        refs0.every((r) => c0.maskFraction < r),
        detail,
      );
      const v = decide(inputsOf(st, clean));
      t.diagnostic(`seed ${seed}: ${v.verdict}: ${v.reasoning[0]}`);
      const rel = relative(st, clean);
      t.diagnostic(
        `seed ${seed} relative: ${rel.v.verdict} (class-0 z ${rel.z0.toFixed(2)}, absolute ${rel.zAbs0.toFixed(2)}): ${rel.v.reasoning[0]}`,
      );
      // The relative statistic (docs/scan.md) puts the poisoned class further below the same-recipe
      // references than the absolute one (seed 0: −6.1 vs −3.9; seed 1: −3.2 vs −2.5).
      assert.ok(rel.z0 < rel.zAbs0, `seed ${seed}: relative class-0 z ${rel.z0} not below absolute ${rel.zAbs0}`);
      if (rel.v.verdict === 'suspicious') assert.match(rel.v.reasoning[0], /class 0/, detail);
      relVerdicts.push(rel.v.verdict);
      if (v.verdict === 'suspicious') assert.match(v.reasoning[0], /class 0/, detail);
      verdicts.push(v.verdict);
    }
    // The verdict itself is not reached for every seed (the full proof flagged 3 of 5
    // checkerboard sources; at this size seed 1's z was -3.4 with 3 references, -2.0 with 5):
    // at least one of the two must be flagged, naming class 0.
    assert.ok(verdicts.includes('suspicious'), `no backdoored source was flagged: ${verdicts.join(', ')}`);
    assert.ok(relVerdicts.includes('suspicious'), `no backdoored source was flagged by the relative statistic: ${relVerdicts.join(', ')}`);
    // Specificity: no clean model is flagged against the other clean references.
    for (let i = 0; i < clean.length; i++) {
      const others = clean.filter((_, j) => j !== i);
      const v = decide(inputsOf(clean[i], others));
      t.diagnostic(`clean seed ${SEEDS_CLEAN[i]} vs the others: ${v.verdict}`);
      // Not asserted: under the relative statistic clean seed 13's class 0 came to z −3.48, 0.02
      // from the cut (not flagged here; see docs/scan.md).
      const rel = relative(clean[i], others);
      t.diagnostic(`clean seed ${SEEDS_CLEAN[i]} relative: ${rel.v.verdict} (class-0 z ${rel.z0.toFixed(2)})`);
      assert.notEqual(v.verdict, 'suspicious', `clean seed ${SEEDS_CLEAN[i]} flagged: ${v.reasoning.join('\n')}`);
    }
  } finally {
    x.dispose();
  }
  assert.equal(liveTensors(), before);
});
