/**
 * The scan's "would it transfer?" verdict: a recovered trigger transfers only when the transferred
 * model learned its target, the trigger's ASR interval lies above its random-pixel control's, and
 * its ASR is above every clean reference's recovered trigger of its size by the robust-z cut; no
 * higher than the control, or than the references' median, is 'no-transfer'; overlap, an
 * under-trained model, no references or a gap short of the cut is 'inconclusive'.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  asrAtSize,
  DEFAULT_TRANSFER_RULE,
  majorityRate,
  referenceAsrsFor,
  transferTrainingCheck,
  transferVerdict,
  truncatedTrigger,
  type ReferenceTransfer,
  type TriggerAsr,
} from '../../src/audit/transfer.js';
import { maskFraction } from '../../src/audit/trigger.js';

function row(name: string, rate: number | null, lo: number | null, hi: number | null): TriggerAsr {
  const r = { numerator: rate === null ? 0 : Math.round(rate * 100), denominator: rate === null ? 0 : 100, rate };
  const i = { estimate: rate, lo, hi, resamples: 500, validResamples: 500, alpha: 0.05, seed: 0 };
  return { name, maskFraction: 0.03, asr: r, asrInterval: i, targetClass: 0, targetClassName: 'Sandal', targeted: r, targetedInterval: i };
}

const rec = (rate: number | null, lo: number | null, hi: number | null) => row('recovered-headless', rate, lo, hi);
const ctl = (rate: number | null, lo: number | null, hi: number | null) => row('random-control-headless', rate, lo, hi);

test('majorityRate is the share of the most common label', () => {
  assert.equal(majorityRate(Int32Array.from([0, 1, 1, 2, 1])), 0.6);
  assert.equal(majorityRate(new Int32Array(0)), 0);
});

test('a model less than halfway from the majority-class rate to 100% is under-trained; from halfway on, it learned', () => {
  assert.equal(transferTrainingCheck(0.92, 0.5), '');
  assert.equal(transferTrainingCheck(0.75, 0.5), '');
  assert.equal(transferTrainingCheck(0.55, 0.1), '');
  assert.match(
    transferTrainingCheck(0.7, 0.5),
    /^under-trained: clean accuracy 70\.0% is below 75\.0%, halfway from the majority-class rate 50\.0% to 100%/,
  );
  // The earlier proof's 2-epoch transfers (24-39% on ten digit classes) are under-trained.
  assert.match(transferTrainingCheck(0.388, 0.11), /^under-trained/);
});

/** Five clean references' recovered-trigger ASRs at the suspect's size: median 0.11, 1.4826·MAD 0.0148. */
const REFS = [0.1, 0.12, 0.15, 0.11, 0.09];

test('transfers only when the intervals separate on a model that learned and it stands above the references', () => {
  const v = transferVerdict(rec(0.6, 0.5, 0.7), ctl(0.1, 0.05, 0.15), '', REFS);
  assert.equal(v.verdict, 'transfers');
  assert.equal(v.references?.median, 0.11);
  assert.ok(Math.abs(v.references!.z! - (0.6 - 0.11) / (1.4826 * 0.01)) < 1e-9, `z ${v.references?.z}`);
  assert.match(
    v.reason,
    /5 clean references' recovered triggers reach 11\.0% \(median\) to 15\.0%, robust z 33\.\d, at or beyond the cut 2\.5/,
  );
  assert.equal(v.trigger, 'recovered-headless');
  assert.equal(v.control, 'random-control-headless');
  assert.match(v.reason, /ASR 60\.0% \[50\.0%, 70\.0%\] vs control 10\.0% \[5\.0%, 15\.0%\]/);
  // The same numbers on a model that learned nothing carry no verdict.
  const untrained = transferVerdict(rec(0.6, 0.5, 0.7), ctl(0.1, 0.05, 0.15), transferTrainingCheck(0.3, 0.25), REFS);
  assert.equal(untrained.verdict, 'inconclusive');
  assert.match(untrained.reason, /under-trained/);
});

test('overlapping intervals are inconclusive; no higher than the control is no-transfer; no attackable image is inconclusive', () => {
  assert.equal(transferVerdict(rec(0.3, 0.15, 0.45), ctl(0.2, 0.1, 0.3), '', REFS).verdict, 'inconclusive');
  assert.equal(transferVerdict(rec(0.2, 0.1, 0.3), ctl(0.2, 0.1, 0.3), '', REFS).verdict, 'no-transfer');
  assert.equal(transferVerdict(rec(0.05, 0.0, 0.1), ctl(0.2, 0.1, 0.3), '', REFS).verdict, 'no-transfer');
  const none = transferVerdict(rec(null, null, null), ctl(0.2, 0.1, 0.3), '', REFS);
  assert.equal(none.verdict, 'inconclusive');
  assert.match(none.reason, /no correctly classified test image/);
});

test('above its control but judged by the references: none, no more than their median, short of the cut, or beyond it', () => {
  const r = rec(0.6, 0.5, 0.7);
  const c = ctl(0.1, 0.05, 0.15);
  const alone = transferVerdict(r, c, '', null);
  assert.equal(alone.verdict, 'inconclusive');
  assert.match(alone.reason, /no clean reference's recovered trigger to compare with/);
  assert.equal(alone.references, null);
  assert.equal(transferVerdict(r, c, '', []).verdict, 'inconclusive');
  // Clean references' patterns of the same size reach as much: an adversarial patch, not a backdoor.
  const like = transferVerdict(r, c, '', [0.55, 0.6, 0.65, 0.7, 0.62]);
  assert.equal(like.verdict, 'no-transfer');
  assert.match(like.reason, /no more than clean backbones' patterns/);
  // Above every reference, but at z (0.6 − 0.4) / max(1.4826·0.1, 0.04) = 1.35 < 2.5: inconclusive.
  const short = transferVerdict(r, c, '', [0.2, 0.3, 0.4, 0.5, 0.55]);
  assert.equal(short.verdict, 'inconclusive');
  assert.match(short.reason, /short of z ≥ 2\.5/);
  assert.ok(Math.abs(short.references!.z! - 0.2 / (1.4826 * 0.1)) < 1e-9);
  // The same with a laxer cut transfers.
  assert.equal(transferVerdict(r, c, '', [0.2, 0.3, 0.4, 0.5, 0.55], { zCut: 1 }).verdict, 'transfers');
  // The default does not require exceeding every reference: z (0.6 − 0.4) / 0.04 = 5 with one
  // reference at 0.65 transfers; requiring it (aboveAll) makes it inconclusive.
  const outlier = [0.4, 0.4, 0.41, 0.39, 0.65];
  assert.equal(transferVerdict(r, c, '', outlier).verdict, 'transfers');
  const strict = transferVerdict(r, c, '', outlier, { zCut: 2.5, aboveAll: true });
  assert.equal(strict.verdict, 'inconclusive');
  assert.match(strict.reason, /short of above all and z ≥ 2\.5/);
  assert.deepEqual(DEFAULT_TRANSFER_RULE, { zCut: 2.5, aboveAll: false });
});

test('a model still rising at the maximum epochs carries no verdict', () => {
  const note = transferTrainingCheck(0.9, 0.2, { plateaued: false, epochs: 30 });
  assert.match(note, /^still rising after 30 epochs/);
  assert.equal(transferVerdict(rec(0.6, 0.5, 0.7), ctl(0.1, 0.05, 0.15), note, REFS).verdict, 'inconclusive');
  assert.equal(transferTrainingCheck(0.9, 0.2, { plateaued: true, epochs: 7 }), '');
});

test('truncatedTrigger keeps the strongest mask pixels up to the budget; asrAtSize interpolates between budgets', () => {
  const t = { c: 1, h: 2, w: 2, mask: Float32Array.of(0.2, 1, 0.5, 0.9), pattern: Float32Array.of(0.1, 0.2, 0.3, 0.4) };
  const cut = truncatedTrigger(t, 0.5); // 2 of 4 pixels' worth: 1 + 0.9, then 0.1 of the 0.5
  assert.deepEqual(
    [...cut.mask].map((v) => Math.round(v * 1000) / 1000),
    [0, 1, 0.1, 0.9],
  );
  assert.ok(Math.abs(maskFraction(cut.mask) - 0.5) < 1e-6);
  assert.equal(cut.pattern, t.pattern);
  assert.equal(truncatedTrigger(t, 0.9), t); // no larger than the budget: itself
  const r = { maskFraction: 0.2, asr: 0.8, curve: [0.1, 0.3, 0.8] };
  const budgets = [0.01, 0.05, 0.25];
  assert.equal(asrAtSize(r, budgets, 0.005), 0.1);
  assert.ok(Math.abs(asrAtSize(r, budgets, 0.03)! - 0.2) < 1e-12);
  assert.equal(asrAtSize(r, budgets, 0.2), 0.8); // the whole trigger
  const refs: ReferenceTransfer[] = [
    {
      mode: 'fixed',
      accuracy: 0.8,
      trainingCheck: '',
      epochs: 8,
      budgets,
      headless: r,
      classes: [
        { cls: 0, ...r },
        { cls: 1, maskFraction: 0.04, asr: 0.5, curve: [0.2, 0.5, 0.5] },
      ],
    },
  ];
  assert.deepEqual(referenceAsrsFor('recovered-headless', 0.01, refs), [0.1]);
  assert.deepEqual(referenceAsrsFor('recovered-class-3', 0.01, refs), [0.1, 0.2]);
  assert.deepEqual(referenceAsrsFor('recovered-class-3', 0.3, refs), [0.8, 0.5]);
  assert.deepEqual(referenceAsrsFor('true-trigger', 0.01, refs), []);
});
