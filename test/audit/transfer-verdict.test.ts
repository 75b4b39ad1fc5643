/**
 * The scan's "would it transfer?" verdict: a recovered trigger transfers only when the transferred
 * model learned its target and the trigger's ASR interval lies above its random-pixel control's;
 * no higher than the control is 'no-transfer'; overlap or an under-trained model (less than halfway
 * from the majority-class rate to 100%) is 'inconclusive'.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { majorityRate, transferTrainingCheck, transferVerdict, type TriggerAsr } from '../../src/audit/transfer.js';

function row(name: string, rate: number | null, lo: number | null, hi: number | null): TriggerAsr {
  const r = { numerator: rate === null ? 0 : Math.round(rate * 100), denominator: rate === null ? 0 : 100, rate };
  const i = { estimate: rate, lo, hi, resamples: 500, validResamples: 500, alpha: 0.05, seed: 0 };
  return { name, asr: r, asrInterval: i, targetClass: 0, targeted: r, targetedInterval: i };
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

test('transfers only when the intervals separate on a model that learned', () => {
  const v = transferVerdict(rec(0.6, 0.5, 0.7), ctl(0.1, 0.05, 0.15), '');
  assert.equal(v.verdict, 'transfers');
  assert.equal(v.trigger, 'recovered-headless');
  assert.equal(v.control, 'random-control-headless');
  assert.match(v.reason, /ASR 60\.0% \[50\.0%, 70\.0%\] vs control 10\.0% \[5\.0%, 15\.0%\]/);
  // The same numbers on a model that learned nothing carry no verdict.
  const untrained = transferVerdict(rec(0.6, 0.5, 0.7), ctl(0.1, 0.05, 0.15), transferTrainingCheck(0.3, 0.25));
  assert.equal(untrained.verdict, 'inconclusive');
  assert.match(untrained.reason, /under-trained/);
});

test('overlapping intervals are inconclusive; no higher than the control is no-transfer; no attackable image is inconclusive', () => {
  assert.equal(transferVerdict(rec(0.3, 0.15, 0.45), ctl(0.2, 0.1, 0.3), '').verdict, 'inconclusive');
  assert.equal(transferVerdict(rec(0.2, 0.1, 0.3), ctl(0.2, 0.1, 0.3), '').verdict, 'no-transfer');
  assert.equal(transferVerdict(rec(0.05, 0.0, 0.1), ctl(0.2, 0.1, 0.3), '').verdict, 'no-transfer');
  const none = transferVerdict(rec(null, null, null), ctl(0.2, 0.1, 0.3), '');
  assert.equal(none.verdict, 'inconclusive');
  assert.match(none.reason, /no correctly classified test image/);
});
