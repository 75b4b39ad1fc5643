import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import {
  metricsFromPredictions,
  readPredictionsCsv,
  readPredictionsJson,
  writePredictionsCsv,
  writePredictionsJson,
  type PredictionRecord,
} from '../../src/metrics/index.js';

const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'bt-predictions-'));

function record(): PredictionRecord {
  return {
    ids: Int32Array.of(10, 11, 12, 13, 14, 15),
    labels: Int32Array.of(0, 1, 2, 1, 2, 0),
    clean: Int32Array.of(0, 1, 2, 0, 2, 0),
    biased: Int32Array.of(0, 0, 0, 0, 1, 0),
    attributes: Uint8Array.of(1, 0, 1, 0, 0, 1),
    // awkward float32 values: 0.1, 1/3, a tiny and a huge one, negative zero, NaN
    cleanLogits: Float32Array.from({ length: 18 }, (_, i) => [0.1, 1 / 3, -2.5e-38, 3.4e38, -0, Math.PI][i % 6] * (i + 1)),
    biasedLogits: Float32Array.from({ length: 18 }, (_, i) => (i === 5 ? NaN : -i / 7)),
    numClasses: 3,
  };
}

function assertSameRecord(a: PredictionRecord, b: PredictionRecord) {
  assert.equal(a.numClasses, b.numClasses);
  for (const k of ['ids', 'labels', 'clean', 'biased', 'attributes', 'cleanLogits', 'biasedLogits'] as const) {
    const x = a[k];
    const y = b[k];
    assert.equal(x?.constructor, y?.constructor, `${k}: array type`);
    if (x && y) assert.ok(Object.is(x.length, y.length) && x.every((v, i) => Object.is(v, y[i])), `${k} differs`);
  }
}

test('predictions CSV round-trips exactly, logits included', () => {
  const file = path.join(tmp(), 'sub', 'predictions.csv');
  const rec = record();
  writePredictionsCsv(file, rec);
  const text = fs.readFileSync(file, 'utf8');
  assert.match(
    text.split('\n')[0],
    /^id,label,clean,biased,attribute,num_classes,clean_logit_0,clean_logit_1,clean_logit_2,biased_logit_0/,
  );
  assert.match(text.split('\n')[1], /^10,0,0,0,1,3,/);
  assertSameRecord(readPredictionsCsv(file), rec);
});

test('predictions CSV without optional columns round-trips', () => {
  const file = path.join(tmp(), 'p.csv');
  const rec: PredictionRecord = { ids: Int32Array.of(0, 1), labels: Int32Array.of(1, 0), clean: Int32Array.of(1, 1), numClasses: 2 };
  writePredictionsCsv(file, rec);
  assert.equal(fs.readFileSync(file, 'utf8'), 'id,label,clean,num_classes\n0,1,1,2\n1,0,1,2\n');
  assertSameRecord(readPredictionsCsv(file), rec);
});

test('predictions JSON round-trips exactly, NaN logits included', () => {
  const file = path.join(tmp(), 'p.json');
  const rec = record();
  writePredictionsJson(file, rec);
  assertSameRecord(readPredictionsJson(file), rec);
});

test('reading a malformed predictions file names the file, line and column', () => {
  const dir = tmp();
  const bad = path.join(dir, 'bad.csv');
  fs.writeFileSync(bad, 'id,label,clean,num_classes\n0,1,1,2\n1,x,1,2\n');
  assert.throws(
    () => readPredictionsCsv(bad),
    (e: Error) => e.message.includes('bad.csv:3') && e.message.includes('label'),
  );
  fs.writeFileSync(bad, 'id,label,clean,num_classes\n0,1,7,2\n');
  assert.throws(() => readPredictionsCsv(bad), /clean\[0\] = 7/);
  const badJson = path.join(dir, 'bad.json');
  fs.writeFileSync(
    badJson,
    JSON.stringify({ format: 'bias-transfer/predictions@1', numClasses: 2, ids: [0], labels: [0], clean: [0], extra: 1 }),
  );
  assert.throws(() => readPredictionsJson(badJson), /bad\.json: unknown key "extra"/);
});

test('metricsFromPredictions recomputes every metric from a saved file', () => {
  const file = path.join(tmp(), 'p.csv');
  writePredictionsCsv(file, record());
  const m = metricsFromPredictions(readPredictionsCsv(file), { targetClass: 0, bootstrap: { resamples: 50, seed: 1 } });
  // labels 0 1 2 1 2 0 ; clean 0 1 2 0 2 0 → 5/6
  assert.deepEqual(m.clean.accuracy, { rate: 5 / 6, numerator: 5, denominator: 6 });
  // biased 0 0 0 0 1 0 → correct at 0,5 → 2/6
  assert.equal(m.biased!.accuracy.numerator, 2);
  // ASR: clean-correct 0,1,2,4,5 → wrong with trigger 1,2,4 → 3/5
  assert.deepEqual(m.asr, { rate: 0.6, numerator: 3, denominator: 5 });
  // targeted (t=0): y≠0 and clean-correct: 1,2,4 → biased = 0 at 1,2 → 2/3
  assert.deepEqual(m.targetedAsr, { rate: 2 / 3, numerator: 2, denominator: 3 });
  // class-0 share: clean 3/6 → biased 5/6, shift 1/3
  assert.ok(Math.abs(m.histogramShift!.target!.shift! - 1 / 3) < 1e-12);
  // subgroup (clean): with attr 0,2,5 → 3/3 ; without 1,3,4 → 2/3
  assert.ok(Math.abs(m.subgroup!.overall.gap! - 1 / 3) < 1e-12);
  assert.equal(m.intervals!.accuracy.estimate, 5 / 6);
  assert.equal(m.intervals!.asr!.estimate, 0.6);
  assert.equal(m.intervals!.targetedAsr!.estimate, 2 / 3);
  assert.ok(m.intervals!.tvShift!.estimate! > 0);
  assert.equal(m.clean.confusion[1][0], 1);
  // no biased predictions → no ASR fields
  const plain = metricsFromPredictions({ ids: Int32Array.of(0), labels: Int32Array.of(0), clean: Int32Array.of(0), numClasses: 2 });
  assert.equal(plain.asr, undefined);
  assert.equal(plain.intervals, undefined);
});
