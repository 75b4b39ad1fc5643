import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError, expandSweep, parseConfigText, stableHash } from '../../src/experiment/config/index.js';
import * as fs from 'node:fs';

const BASE = fs.readFileSync('experiments/example.yaml', 'utf8').replace(/\nsweep:\n[\s\S]*$/, '\n');

function withSweep(sweep: string) {
  return parseConfigText(`${BASE}sweep:\n${sweep}`, { file: 'sweep.yaml', checkSweep: false }).config;
}

test('a sweep expands to the cartesian product in a deterministic order, last key fastest', () => {
  const cfg = withSweep(`  source.bias.poison.probability: [0.1, 0.5, 1.0]\n  targetTraining.optimizer.weightDecay: [0, 5e-4]\n`);
  const points = expandSweep(cfg);
  assert.equal(points.length, 6);
  assert.deepEqual(
    points.map((p) => p.id),
    [
      'probability=0.1,weightDecay=0',
      'probability=0.1,weightDecay=0.0005',
      'probability=0.5,weightDecay=0',
      'probability=0.5,weightDecay=0.0005',
      'probability=1,weightDecay=0',
      'probability=1,weightDecay=0.0005',
    ],
  );
  for (const p of points) {
    const bias = p.config.source.bias;
    assert.ok(bias.kind === 'backdoor' && bias.poison.policy === 'clean-label');
    assert.equal(bias.poison.probability, p.values['source.bias.poison.probability']);
    assert.equal(p.config.targetTraining.optimizer.weightDecay, p.values['targetTraining.optimizer.weightDecay']);
    assert.deepEqual(p.config.sweep, {});
  }
  assert.equal(new Set(points.map((p) => stableHash(p.config))).size, 6, 'every point is a distinct config');
  assert.deepEqual(
    expandSweep(cfg).map((p) => p.id),
    points.map((p) => p.id),
    'expansion is repeatable',
  );
  // The source config is not modified by expansion.
  assert.ok(
    cfg.source.bias.kind === 'backdoor' && cfg.source.bias.poison.policy === 'clean-label' && cfg.source.bias.poison.probability === 0.5,
  );
});

test('ids use the shortest suffix that tells keys apart, and array indices work', () => {
  const cfg = withSweep(
    `  sourceTraining.optimizer.lr: [0.1, 0.2]\n  targetTraining.optimizer.lr: [0.01]\n  targets.0.dataset.limit: [100]\n`,
  );
  const points = expandSweep(cfg);
  assert.deepEqual(
    points.map((p) => p.id),
    [
      'sourceTraining.optimizer.lr=0.1,targetTraining.optimizer.lr=0.01,limit=100',
      'sourceTraining.optimizer.lr=0.2,targetTraining.optimizer.lr=0.01,limit=100',
    ],
  );
  assert.equal(points[1].config.targets[0].dataset.limit, 100);
});

test('no sweep gives one point with id default', () => {
  const cfg = parseConfigText(BASE, { file: 'x.yaml' }).config;
  const points = expandSweep(cfg);
  assert.equal(points.length, 1);
  assert.equal(points[0].id, 'default');
  assert.equal(points[0].config, cfg);
});

test('a point that fails re-validation names the sweep key and value', () => {
  const cfg = withSweep(`  source.bias.poison.probabilty: [0.1, 0.2]\n  sourceTraining.epochs: [1, -1]\n`);
  assert.throws(
    () => expandSweep(cfg),
    (e: unknown) => {
      assert.ok(e instanceof ConfigError);
      assert.match(
        e.message,
        /sweep 'source\.bias\.poison\.probabilty' = 0\.1: source\.bias\.poison\.probabilty: unknown key \(did you mean probability\?\)/,
      );
      assert.match(e.message, /sweep 'sourceTraining\.epochs' = -1: sourceTraining\.epochs: expected number to be >0, got number -1/);
      assert.ok(e.issues.some((i) => i.sweepKey === 'sourceTraining.epochs'));
      assert.equal(e.issues.filter((i) => i.sweepKey === 'source.bias.poison.probabilty').length, 1, 'the same typo is reported once');
      return true;
    },
  );
});

test('loadConfig checks the sweep and points at the sweep key in the file', () => {
  const text = `${BASE}sweep:\n  targetTraining.optimizer.weightDecy: [0, 1]\n`;
  const line = text.split('\n').findIndex((l) => l.includes('weightDecy')) + 1;
  assert.throws(
    () => parseConfigText(text, { file: 's.yaml' }),
    new RegExp(
      `s\\.yaml:${line}:3: sweep 'targetTraining\\.optimizer\\.weightDecy' = 0: targetTraining\\.optimizer\\.weightDecy: unknown key \\(did you mean weightDecay\\?\\)`,
    ),
  );
  assert.throws(
    () => parseConfigText(`${BASE}sweep:\n  seeds: [[0], [0]]\n`, { file: 's.yaml' }),
    /sweep\.seeds: swept values must be distinct/,
  );
});
