/**
 * `datasets inspect --limit` previews what an experiment loads: the seeded, class-balanced
 * subset of the config's `limit` for a seed and dataset, not the first n images.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { datasetsInspectCommand, runDatasetsInspect, type DatasetReport } from '../../src/cli/commands/datasets.js';
import { describeDataset } from '../../src/cli/commands/datasets.js';
import { loadConfig } from '../../src/experiment/config/index.js';
import { loadSource, prepareTarget } from '../../src/experiment/prepare.js';
import { call } from '../helpers/cli.js';

const inspect = async (argv: string[]): Promise<DatasetReport> => {
  const r = await call(datasetsInspectCommand, runDatasetsInspect, [...argv, '--json']);
  assert.equal(r.code, 0, r.err);
  return JSON.parse(r.out) as DatasetReport;
};

test("datasets inspect --limit shows the very subset an experiment's target loads, for its seed", async () => {
  // The tiny fixture: target 'digits' = mnist train, classes [3, 4], limit 200.
  const loaded = loadConfig('test/experiment/fixtures/tiny-experiment.yaml');
  const ctx = { config: loaded.config, configDir: loaded.dir };
  for (const seed of [0, 1]) {
    const train = prepareTarget(ctx, 0, seed, loadSource(ctx, seed)).train;
    const shown = await inspect(['mnist', '--classes', '3,4', '--limit', '200', '--as', 'target/digits/train', '--seed', String(seed)]);
    assert.deepEqual(shown, { ...describeDataset(train), name: shown.name }, `seed ${seed}`);
    assert.deepEqual(
      shown.classes.map((c) => c.count),
      [100, 100],
      'balanced over the classes',
    );
  }
  const first = await inspect(['mnist', '--classes', '3,4', '--limit', '200', '--as', 'target/digits/train']);
  const other = await inspect(['mnist', '--classes', '3,4', '--limit', '200', '--as', 'target/digits/train', '--seed', '1']);
  assert.notDeepEqual(first.pixelMean, other.pixelMean, 'another seed, another subset');
  // The source's subset is drawn from its own stream.
  const src = loadSource(ctx, 0);
  const shownSrc = await inspect(['mnist', '--classes', '0,1,2', '--limit', '300']);
  assert.deepEqual(shownSrc.pixelMean, describeDataset(src).pixelMean);
});

test('datasets inspect --as rejects a name an experiment does not use', async () => {
  await assert.rejects(
    call(datasetsInspectCommand, runDatasetsInspect, ['mnist', '--limit', '10', '--as', 'digits']),
    /expected source or target\/NAME\/train\|test/,
  );
});
