/**
 * `--stream` (and `--cache`) on `datasets inspect` and `evaluate`: a folder read through the on-disk
 * shard cache gives the same report as read into memory (images already at --size, so neither path
 * resizes), the cache lands where --cache says, and misuse is a usage error naming the flag.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, test } from 'node:test';
import pngjs from 'pngjs';
import { datasetsInspectCommand, runDatasetsInspect } from '../../src/cli/commands/datasets.js';
import { evaluateCommand, runEvaluate } from '../../src/cli/commands/evaluate.js';
import { Rng } from '../../src/data/rng.js';
import { createModel, saveModel } from '../../src/nn/index.js';
import { manualSeed } from '../../src/torch/index.js';
import { tmpDir } from '../data/helpers.js';
import { call } from '../helpers/cli.js';

const dir = tmpDir('stream-cli');
after(() => fs.rmSync(dir, { recursive: true, force: true }));

// Three classes of 12×12 RGB PNGs, seeded.
const data = path.join(dir, 'photos');
const rng = new Rng(3, 'stream-cli');
['a', 'b', 'c'].forEach((cls, label) => {
  fs.mkdirSync(path.join(data, cls), { recursive: true });
  for (let i = 0; i < 7; i++) {
    const png = new pngjs.PNG({ width: 12, height: 12 });
    for (let p = 0; p < 144; p++) png.data.set([rng.int(256), (label * 90 + rng.int(60)) & 255, rng.int(256), 255], 4 * p);
    fs.writeFileSync(path.join(data, cls, `img${i}.png`), pngjs.PNG.sync.write(png));
  }
});
const weights = path.join(dir, 'w.safetensors');
manualSeed(0);
const model = createModel({ arch: 'small-cnn', numClasses: 3, inChannels: 3, widthMultiplier: 0.5 });
saveModel(weights, model);
model.dispose();

test('datasets inspect --stream reports what the in-memory load reports, from the cache --cache names', async () => {
  const cache = path.join(dir, 'cache-inspect');
  const mem = await call(datasetsInspectCommand, runDatasetsInspect, ['folder', '--path', data, '--json']);
  const str = await call(datasetsInspectCommand, runDatasetsInspect, [
    'folder',
    '--path',
    data,
    '--size',
    '12,12',
    '--stream',
    '--cache',
    cache,
    '--json',
  ]);
  assert.equal(mem.code, 0, mem.err);
  assert.equal(str.code, 0, str.err);
  assert.deepEqual(JSON.parse(str.out), JSON.parse(mem.out));
  assert.equal(fs.readdirSync(path.join(cache, 'shards')).length, 1, 'one cache, under --cache');
  assert.match(str.err, /cache [0-9a-f]{12}: shard 1\/1/);
  // With --limit too: the experiment's seeded subset, streamed.
  const lim = ['folder', '--path', data, '--size', '12,12', '--limit', '9', '--seed', '2', '--json'];
  const memLim = await call(datasetsInspectCommand, runDatasetsInspect, lim);
  const strLim = await call(datasetsInspectCommand, runDatasetsInspect, [...lim, '--stream', '--cache', cache]);
  assert.deepEqual(JSON.parse(strLim.out), JSON.parse(memLim.out));
  assert.equal(strLim.err, '', 'the cache is reused: nothing decoded');
});

test('evaluate --stream gives the in-memory report, count for count', async () => {
  const args = ['--data', 'folder', '--path', data, '--split', 'train', '--size', '12,12', '--resamples', '50', '--json'];
  const mem = await call(evaluateCommand, runEvaluate, [weights, ...args]);
  const str = await call(evaluateCommand, runEvaluate, [weights, ...args, '--stream', '--cache', path.join(dir, 'cache-eval')]);
  assert.equal(mem.code, 0, mem.err);
  assert.equal(str.code, 0, str.err);
  assert.deepEqual(JSON.parse(str.out), JSON.parse(mem.out));
});

test('--stream misuse is a usage error naming the flag or key', async () => {
  const noSize = await call(evaluateCommand, runEvaluate, [weights, '--data', 'folder', '--path', data, '--split', 'train', '--stream']);
  assert.equal(noSize.code, 2);
  assert.match(noSize.err, /--stream needs --size/);
  const cacheOnly = await call(datasetsInspectCommand, runDatasetsInspect, ['folder', '--path', data, '--cache', dir]);
  assert.equal(cacheOnly.code, 2);
  assert.match(cacheOnly.err, /--cache applies with --stream only/);
  const mnist = await call(datasetsInspectCommand, runDatasetsInspect, ['mnist', '--size', '28,28', '--stream']);
  assert.equal(mnist.code, 2);
  assert.match(mnist.err, /stream.*only 'folder' datasets can be streamed/);
});
