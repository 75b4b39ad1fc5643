/**
 * One source of truth for model defaults: `arch: X` in a config builds the same model as the
 * CLI's `model summary --arch X` and the API's `createModel({ arch: X })` (issue 10: a config's
 * resnet-tiny was a 4.9M-parameter model because its width defaulted to 1 there, 0.25 elsewhere).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { modelSummaryCommand, runModelSummary } from '../../src/cli/commands/model.js';
import { ExperimentConfigSchema, ModelSchema } from '../../src/experiment/config/index.js';
import { configModelSpec } from '../../src/experiment/model-spec.js';
import { ARCH_DEFAULTS, createModel, resolveModelSpec, type ModelSpec } from '../../src/nn/index.js';
import { call } from '../helpers/cli.js';

function params(spec: ModelSpec): number {
  const m = createModel(spec);
  try {
    return m.parameters().reduce((a, t) => a + t.numel, 0);
  } finally {
    m.dispose();
  }
}

function configFor(model: unknown) {
  return ExperimentConfigSchema.parse({
    name: 'x',
    source: { dataset: { name: 'mnist' } },
    model,
    sourceTraining: { epochs: 1, optimizer: { kind: 'sgd', lr: 0.1 } },
    targets: [{ name: 't', dataset: { name: 'mnist' }, testDataset: { name: 'mnist', split: 'test' } }],
    targetTraining: { epochs: 1, optimizer: { kind: 'sgd', lr: 0.1 } },
  });
}

for (const arch of ['resnet-tiny', 'resnet18', 'small-cnn'] as const) {
  test(`arch ${arch}: the config, the CLI and the API build the same model by default`, async () => {
    const api = resolveModelSpec({ arch, numClasses: 10, inChannels: 3 });
    const fromConfig = resolveModelSpec(configModelSpec(configFor({ arch }), 10, 3));
    assert.deepEqual(
      { w: fromConfig.widthMultiplier, l: fromConfig.layers, s: fromConfig.smallInput },
      { w: api.widthMultiplier, l: api.layers, s: api.smallInput },
    );
    assert.equal(api.widthMultiplier, ARCH_DEFAULTS[arch].widthMultiplier);
    const r = await call(modelSummaryCommand, runModelSummary, ['--arch', arch, '--classes', '10', '--json']);
    assert.equal(r.code, 0, r.err);
    const cli = JSON.parse(r.out) as { rows: { params: number }[] };
    const n = params(configModelSpec(configFor({ arch }), 10, 3));
    assert.equal(cli.rows.at(-1)!.params, n, 'CLI and config parameter counts');
    assert.equal(params({ arch, numClasses: 10, inChannels: 3 }), n, 'API and config parameter counts');
  });
}

test('resnet-tiny is the CPU-sized model (width 0.25) unless a config says otherwise', () => {
  const parsed = ModelSchema.parse({ arch: 'resnet-tiny' });
  assert.equal(parsed.widthMultiplier, null, 'null in the config = the architecture default');
  const n = params(configModelSpec(configFor({ arch: 'resnet-tiny' }), 10, 3));
  assert.ok(n < 400_000, `resnet-tiny has ${n} parameters (width 1 would be about 4.9M)`);
  const wide = params(configModelSpec(configFor({ arch: 'resnet-tiny', widthMultiplier: 1 }), 10, 3));
  assert.ok(wide > 4_000_000, `an explicit widthMultiplier 1 is honoured (${wide})`);
});
