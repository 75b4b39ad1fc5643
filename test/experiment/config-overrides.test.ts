import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError, loadConfig, stableHash } from '../../src/experiment/config/index.js';

const EXAMPLE = 'experiments/example.yaml';

test('overrides set nested keys, list items and whole objects, with YAML-parsed values', () => {
  const base = loadConfig(EXAMPLE);
  const { config, raw, hash } = loadConfig(EXAMPLE, {
    overrides: [
      'sourceTraining.epochs=1',
      'seeds=[3, 4]',
      'targets.0.dataset.limit=64',
      'targetTraining.optimizer={kind: adam, lr: 0.01}',
      'source.control=false',
      'description=a b=c',
      'evaluation.confidence=0.9',
    ],
  });
  assert.equal(config.sourceTraining!.epochs, 1);
  assert.deepEqual(config.seeds, [3, 4]);
  assert.equal(config.targets[0].dataset.limit, 64);
  assert.deepEqual(config.targetTraining.optimizer, { kind: 'adam', lr: 0.01, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 0 });
  assert.equal(config.source.control, false);
  assert.equal(config.description, 'a b=c');
  assert.equal(config.evaluation.confidence, 0.9);
  assert.equal((raw as { sourceTraining: { epochs: number } }).sourceTraining.epochs, 1);
  assert.notEqual(hash, base.hash);
  assert.equal(hash, stableHash(config));
});

test('an unknown override key fails like a file typo, naming the override and suggesting the key', () => {
  assert.throws(
    () => loadConfig(EXAMPLE, { overrides: ['source.bias.poison.probabilty=0.3'] }),
    (e: unknown) => {
      assert.ok(e instanceof ConfigError);
      assert.match(
        e.message,
        /^--set source\.bias\.poison\.probabilty=0\.3: source\.bias\.poison\.probabilty: unknown key \(did you mean probability\?\)$/m,
      );
      return true;
    },
  );
});

test('override values of the wrong type and malformed overrides are rejected with the override named', () => {
  assert.throws(
    () => loadConfig(EXAMPLE, { overrides: ['sourceTraining.epochs=abc'] }),
    /--set sourceTraining\.epochs=abc: sourceTraining\.epochs: expected number, got string "abc"/,
  );
  assert.throws(
    () => loadConfig(EXAMPLE, { overrides: ['sourceTraining.epochs'] }),
    /--set sourceTraining\.epochs: .*expected key\.path=value/,
  );
  assert.throws(
    () => loadConfig(EXAMPLE, { overrides: ['targets.5.name=x'] }),
    /--set targets\.5\.name=x: targets\.5\.name: targets has 1 items; index 5 is out of range/,
  );
  assert.throws(() => loadConfig(EXAMPLE, { overrides: ['seeds.x=1'] }), /seeds is a list; 'x' is not an index/);
  assert.throws(() => loadConfig(EXAMPLE, { overrides: ['name.x=1'] }), /name is a string; cannot set 'x' inside it/);
});

test('an error at a key no override touched is located in the file', () => {
  // The override changes source.dataset.name; the missing key is a sibling, so it points at `dataset:` (line 9).
  assert.throws(
    () => loadConfig(EXAMPLE, { overrides: ['source.dataset.name=idx'] }),
    /^experiments\/example\.yaml:10:3: source\.dataset\.imagesFile: dataset 'idx' needs both imagesFile and labelsFile$/m,
  );
});
