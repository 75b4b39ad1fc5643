import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ConfigError, ExperimentConfigSchema, exportJsonSchema, loadConfig, parseConfigText } from '../../src/experiment/config/index.js';

const EXAMPLE = path.resolve('experiments/example.yaml');

const MINIMAL = `name: tiny
source:
  dataset: { name: mnist, limit: 100 }
model: { arch: small-cnn }
sourceTraining: { epochs: 1 }
targets:
  - name: t
    dataset: { name: mnist, limit: 50 }
    testDataset: { name: mnist, split: test, limit: 50 }
targetTraining: { epochs: 1 }
`;

function configError(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof ConfigError, `expected a ConfigError, got ${String(e)}`);
    return e;
  }
  assert.fail('expected the config to be rejected');
}

test('the committed example config validates', () => {
  const { config, hash } = loadConfig(EXAMPLE);
  assert.equal(config.name, 'example-backdoor-fmnist');
  assert.equal(config.source.bias.kind, 'backdoor');
  assert.match(hash, /^[0-9a-f]{64}$/);
});

test('defaults are filled in at every level', () => {
  const { config } = parseConfigText(MINIMAL, { file: 'tiny.yaml' });
  assert.deepEqual(config.seeds, [0]);
  assert.equal(config.description, '');
  assert.equal(config.threads, null);
  assert.deepEqual(config.source.bias, { kind: 'none' });
  assert.equal(config.source.control, true);
  assert.equal(config.source.dataset.split, 'train');
  assert.equal(config.source.dataset.path, null);
  assert.deepEqual(config.sourceTraining!.optimizer, { kind: 'sgd', lr: 0.1, momentum: 0.9, nesterov: false, weightDecay: 5e-4 });
  assert.deepEqual(config.sourceTraining!.schedule, { kind: 'constant' });
  assert.deepEqual(config.sourceTraining!.augment, { cropPadding: 0, hflip: false });
  assert.equal(config.sourceTraining!.batchSize, 128);
  assert.deepEqual(config.transfer, { modes: ['fixed', 'full'], bnTrainInFixed: true, headLr: null, backboneLr: null });
  assert.equal(config.evaluation.trigger, null);
  assert.equal(config.evaluation.bootstrap, 1000);
  assert.deepEqual(config.sweep, {});
  assert.equal(config.model.widthMultiplier, null); // null = the architecture's default (src/nn ARCH_DEFAULTS)
});

test('defaults inside a discriminated union branch are filled (trigger, adam)', () => {
  const text = MINIMAL.replace(
    'source:\n',
    'source:\n  bias: { kind: backdoor, trigger: { kind: checkerboard }, poison: { policy: clean-label, classes: [0], probability: 0.5 } }\n',
  ).replace('targetTraining: { epochs: 1 }', 'targetTraining: { epochs: 1, optimizer: { kind: adam } }');
  const { config } = parseConfigText(text, { file: 't.yaml' });
  assert.ok(config.source.bias.kind === 'backdoor');
  assert.deepEqual(config.source.bias.trigger, {
    kind: 'checkerboard',
    colors: [0, 255],
    cell: 1,
    size: 4,
    position: 'bottom-right',
    opacity: 1,
  });
  assert.deepEqual(config.targetTraining.optimizer, { kind: 'adam', lr: 1e-3, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 0 });
});

test('a misspelt key three levels deep fails with its dotted path, YAML line:col and a suggestion', () => {
  const text = `name: typo
source:
  dataset: { name: mnist }
  bias:
    kind: backdoor
    trigger: { kind: solid }
    poison:
      policy: clean-label
      classes: [0]
      probabilty: 0.5
model: { arch: small-cnn }
sourceTraining: { epochs: 1 }
targets: [{ name: t, dataset: { name: mnist }, testDataset: { name: mnist, split: test } }]
targetTraining: { epochs: 1 }
`;
  const e = configError(() => parseConfigText(text, { file: 'config.yaml' }));
  assert.match(e.message, /^config\.yaml:10:7: source\.bias\.poison\.probabilty: unknown key \(did you mean probability\?\)$/m);
  // The required key it was meant to be is reported too, at the parent key.
  assert.match(e.message, /^config\.yaml:7:5: source\.bias\.poison\.probability: missing required key \(expected number\)$/m);
  assert.deepEqual(e.issues.find((i) => i.message.startsWith('unknown key'))?.path, ['source', 'bias', 'poison', 'probabilty']);
});

test('a typo inside a flow mapping in a list is located too', () => {
  const text = MINIMAL.replace(
    'testDataset: { name: mnist, split: test, limit: 50 }',
    'testDataset: { name: mnist, splt: test, limit: 50 }',
  );
  const e = configError(() => parseConfigText(text, { file: 'c.yaml' }));
  assert.match(e.message, /^c\.yaml:9:33: targets\.0\.testDataset\.splt: unknown key \(did you mean split\?\)$/m);
});

test('a wrong type says what was expected and what was given', () => {
  const e = configError(() =>
    parseConfigText(MINIMAL.replace('sourceTraining: { epochs: 1 }', 'sourceTraining: { epochs: "three" }'), { file: 'c.yaml' }),
  );
  assert.match(e.message, /^c\.yaml:5:19: sourceTraining\.epochs: expected number, got string "three"$/m);
  const e2 = configError(() => parseConfigText(MINIMAL.replace('arch: small-cnn', 'arch: resnet-18'), { file: 'c.yaml' }));
  assert.match(e2.message, /model\.arch: expected one of .*"resnet18".*, got string "resnet-18" \(did you mean resnet18\?\)/);
  const e3 = configError(() => parseConfigText(MINIMAL.replace('name: tiny', 'name: Tiny Model'), { file: 'c.yaml' }));
  assert.match(e3.message, /^c\.yaml:1:1: name: expected lower-case letters, digits, "-" or "_", got string "Tiny Model"$/m);
});

test('bad discriminators, union members and cross-field rules are reported by path', () => {
  const biased = (bias: string) => MINIMAL.replace('source:\n', `source:\n  bias: ${bias}\n`);
  const e = configError(() => parseConfigText(biased('{ kind: backdor }'), { file: 'c.yaml' }));
  assert.match(
    e.message,
    /source\.bias\.kind: expected one of "none" \| "backdoor" \| "spurious", got string "backdor" \(did you mean backdoor\?\)/,
  );
  const e2 = configError(() =>
    parseConfigText(
      biased('{ kind: backdoor, trigger: { kind: solid, size: { fraction: 1.5 } }, poison: { policy: dirty-label, targetClass: 0 } }'),
      { file: 'c.yaml' },
    ),
  );
  assert.match(e2.message, /source\.bias\.trigger\.size\.fraction: expected number to be <=1, got number 1\.5/);
  assert.match(e2.message, /source\.bias\.poison: policy 'dirty-label' needs exactly one of probability or count/);
  const e3 = configError(() =>
    parseConfigText(MINIMAL.replace('targetTraining:', 'transfer: { modes: [fixed, partial:0] }\ntargetTraining:'), { file: 'c.yaml' }),
  );
  assert.match(e3.message, /transfer\.modes\.1: expected 'fixed', 'full', 'scratch' or 'partial:<k>'/);
  assert.doesNotThrow(() =>
    parseConfigText(MINIMAL.replace('targetTraining:', 'transfer: { modes: [fixed, "partial:2"] }\ntargetTraining:'), { file: 'c.yaml' }),
  );
});

test('JSON configs validate the same way, with positions', () => {
  const raw = { ...ExperimentConfigSchema.parse(parseConfigText(MINIMAL).raw), model: { arch: 'small-cnn', widthMultiplyer: 1 } };
  const text = JSON.stringify(raw, null, 2);
  const e = configError(() => parseConfigText(text, { file: 'c.json' }));
  const line = text.split('\n').findIndex((l) => l.includes('"widthMultiplyer"')) + 1;
  assert.match(
    e.message,
    new RegExp(`^c\\.json:${line}:\\d+: model\\.widthMultiplyer: unknown key \\(did you mean widthMultiplier\\?\\)`, 'm'),
  );
  const e2 = configError(() => parseConfigText('{ "name": "x", }', { file: 'bad.json' }));
  assert.match(e2.message, /bad\.json: invalid JSON/);
});

test('YAML syntax errors and duplicate keys name the file, line and column', () => {
  const e = configError(() => parseConfigText('name: a\nname: b\n', { file: 'dup.yaml' }));
  assert.match(e.message, /^dup\.yaml:2:1: /m);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cfg-'));
  assert.throws(() => loadConfig(path.join(dir, 'missing.yaml')), /missing\.yaml: cannot read config/);
});

test('exported JSON Schema describes fields, forbids unknown keys, and matches the committed file', () => {
  const schema = exportJsonSchema() as {
    properties: Record<string, { description?: string }>;
    additionalProperties: boolean;
    $defs: Record<string, { additionalProperties?: boolean; properties?: Record<string, { description?: string }> }>;
  };
  assert.equal(schema.additionalProperties, false);
  assert.match(schema.properties.seeds.description ?? '', /One run per seed/);
  assert.equal(schema.$defs.DatasetSpec.additionalProperties, false);
  assert.match(schema.$defs.DatasetSpec.properties?.limit.description ?? '', /at most this many samples/);
  const committed = fs.readFileSync('experiments/schema.json', 'utf8');
  assert.equal(committed, `${JSON.stringify(schema, null, 2)}\n`, 'experiments/schema.json is stale: run npx tsx scripts/export-schema.ts');
});
