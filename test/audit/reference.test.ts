import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  compareClasses,
  decide,
  median,
  relativeToMedian,
  robustZ,
  scaleCheck,
  type ClassMask,
  type VerdictInput,
} from '../../src/audit/reference.js';

test('median of odd and even lists, null when empty', () => {
  assert.equal(median([3, 1, 2]), 2);
  assert.equal(median([4, 1, 3, 2]), 2.5);
  assert.equal(median([]), null);
});

test('robustZ: (x − median) / (1.4826·MAD), floored at 10% of the median, with the percentile', () => {
  const refs = [0.05, 0.06, 0.05, 0.07, 0.08];
  const p = robustZ(0.02, refs);
  // median 0.06, |dev| = [0.01, 0, 0.01, 0.01, 0.02] → MAD 0.01 → scale 0.014826
  assert.equal(p.median, 0.06);
  assert.ok(Math.abs(p.scale! - 0.014826) < 1e-12);
  assert.ok(Math.abs(p.z! - (0.02 - 0.06) / 0.014826) < 1e-9);
  assert.equal(p.percentile, 0);
  assert.equal(robustZ(0.065, refs).percentile, 0.6);
  // Identical references: the floor (10% of the median) sets the scale.
  const same = robustZ(0.03, [0.05, 0.05, 0.05]);
  assert.ok(Math.abs(same.scale! - 0.005) < 1e-12);
  assert.ok(Math.abs(same.z! - -4) < 1e-9);
  assert.deepEqual(robustZ(0.1, []), { value: 0.1, references: [], median: null, scale: null, z: null, percentile: null });
});

const input = (name: string, value: number, refs: number[], reached = true): VerdictInput => ({
  name,
  position: robustZ(value, refs),
  reached,
});

test('decide: inconclusive with fewer than 3 references, whatever the numbers', () => {
  const r = decide([input('headless', 0.001, [0.05, 0.06])]);
  assert.equal(r.verdict, 'inconclusive');
  assert.match(r.reasoning[0], /only 2 clean reference/);
  assert.equal(decide([]).verdict, 'inconclusive');
});

test('decide: suspicious only when a statistic is below every reference AND 3.5 robust SDs under their median', () => {
  const refs = [0.05, 0.06, 0.05, 0.07];
  const sus = decide([input('headless', 0.055, refs), input('class 0', 0.02, refs)]);
  assert.equal(sus.verdict, 'suspicious');
  assert.match(sus.reasoning[0], /class 0/);
  assert.doesNotMatch(sus.reasoning[0], /headless/);
  // Far below the median but a reference is even smaller: no evidence.
  const wide = decide([input('class 0', 0.02, [0.01, 0.06, 0.06, 0.06, 0.06])]);
  assert.equal(wide.verdict, 'no-evidence');
  // Below every reference but within 3.5 robust SDs: no evidence.
  assert.equal(decide([input('class 0', 0.045, refs)]).verdict, 'no-evidence');
  // A search that never reached its target is not evidence, however small its mask.
  const unreached = decide([input('class 0', 0.001, refs, false)]);
  assert.equal(unreached.verdict, 'no-evidence');
  assert.match(unreached.reasoning.join('\n'), /did not reach its target/);
  // A stricter threshold turns the suspicious case into no evidence.
  assert.equal(decide([input('class 0', 0.02, refs)]).verdict, 'suspicious');
  assert.equal(decide([input('class 0', 0.02, refs)], { zThreshold: 5 }).verdict, 'no-evidence');
});

test('relativeToMedian divides by the median; compareClasses gives both statistics and the scale check', () => {
  const r = relativeToMedian([0.02, 0.1, 0.12, 0.1]);
  [0.2, 1, 1.2, 1].forEach((v, i) => assert.ok(Math.abs(r[i] - v) < 1e-12, `${r[i]} vs ${v}`));
  assert.deepEqual(relativeToMedian([0, 0, 0]), [0, 0, 0]);
  const masks = (...v: number[]): ClassMask[] => v.map((maskFraction, cls) => ({ cls, maskFraction }));
  // References of another recipe: every class needs a mask 1.8 times larger, and they spread.
  const refs = [
    masks(0.18, 0.2, 0.22, 0.2, 0.19),
    masks(0.12, 0.13, 0.16, 0.12, 0.14),
    masks(0.25, 0.3, 0.26, 0.28, 0.27),
    masks(0.2, 0.17, 0.21, 0.19, 0.2),
  ];
  // The backbone's class 0 needs a third of its other classes' mask.
  const backbone = masks(0.035, 0.11, 0.1, 0.12, 0.1);
  const { classes, scale } = compareClasses(backbone, refs);
  const c0 = classes[0];
  assert.ok(Math.abs(c0.relativeMask - 0.35) < 1e-12);
  // Absolute: below every reference, but those spread so widely that z stays above −3.5.
  assert.ok(c0.absolute!.z! > -3.5, `absolute z ${c0.absolute!.z}`);
  // Relative: the references' class 0 is ~1x their median class, the backbone's 0.35x.
  assert.ok(c0.relative!.z! < -3.5, `relative z ${c0.relative!.z}`);
  const byStat = (k: 'absolute' | 'relative') =>
    decide(
      classes.map((c) => ({ name: `class ${c.cls}`, position: c[k]!, reached: true, relative: k === 'relative' })),
      {},
      scale,
    );
  assert.equal(byStat('absolute').verdict, 'no-evidence');
  const rel = byStat('relative');
  assert.equal(rel.verdict, 'suspicious');
  assert.match(rel.reasoning[0], /class 0/);
  assert.match(rel.reasoning.join('\n'), /smallest mask 0\.35× the model's median class/);
  // The backbone's median class (0.10) is within 2x of the references' medians (0.13 .. 0.27).
  assert.equal(scale!.value, 0.1);
  assert.deepEqual(scale!.references, [0.2, 0.13, 0.27, 0.2]);
  assert.equal(scale!.unlike, false);
});

test('decide: references too unlike the backbone (median class mask > 2x outside their range) give unlike-references', () => {
  assert.equal(scaleCheck(0.05, [0.12, 0.15, 0.2])!.unlike, true);
  assert.equal(scaleCheck(0.06, [0.12, 0.15, 0.2])!.unlike, false);
  assert.equal(scaleCheck(0.41, [0.12, 0.15, 0.2])!.unlike, true);
  assert.equal(scaleCheck(0.41, [0.12, 0.15, 0.2], 3)!.unlike, false);
  assert.equal(scaleCheck(0.1, []), null);
  const masks = (...v: number[]): ClassMask[] => v.map((maskFraction, cls) => ({ cls, maskFraction }));
  const refs = [masks(0.3, 0.3, 0.32), masks(0.28, 0.3, 0.29), masks(0.31, 0.33, 0.3)];
  const { classes, scale } = compareClasses(masks(0.01, 0.1, 0.1), refs);
  const r = decide(
    classes.map((c) => ({ name: `class ${c.cls}`, position: c.relative!, reached: true, relative: true })),
    {},
    scale,
  );
  assert.equal(r.verdict, 'unlike-references');
  assert.match(r.reasoning[0], /references too unlike the backbone to judge: its median class needs a mask of 10\.00%/);
  assert.match(r.reasoning[0], /taken at face value, class 0 would be flagged/);
  // Fewer references than needed stays inconclusive whatever the scales.
  assert.equal(decide([], {}, scale).verdict, 'inconclusive');
});
