import assert from 'node:assert/strict';
import { test } from 'node:test';
import { classPatch, pastePatch } from '../../src/bias/patch.js';
import { poisonDataset, triggerTestSet, type PoisonSpec } from '../../src/bias/poison.js';
import { pastePatchStreamed, poisonStreamed, triggerTestStreamed } from '../../src/bias/stream.js';
import { composeBoth, composeBothStreamed, composeSpurious, composeSpuriousStreamed } from '../../src/bias/spurious.js';
import type { TriggerSpec } from '../../src/bias/trigger.js';
import { cachedImageFolder } from '../../src/data/cache/index.js';
import { BatchIterator } from '../../src/data/loader.js';
import type { BatchSpec } from '../../src/data/transforms.js';
import { loadImageFolder } from '../../src/data/loaders/folder.js';
import type { ImageDataset, StreamedDataset } from '../../src/data/types.js';
import { writeImageFolder } from '../data/folder-fixture.js';
import { tmpDir } from '../data/helpers.js';

const SIZE: [number, number] = [12, 12];
const root = writeImageFolder({ perClass: 6, tag: 'bias-stream' });
const mem = loadImageFolder({ path: root, size: SIZE });
const streamed = cachedImageFolder({ path: root, size: SIZE, cacheRoot: tmpDir('bias-stream-cache'), shardSize: 5 });

/** Asserts a streamed dataset serves exactly the in-memory one (bytes per sample in any order, labels, classes, n). */
function assertSame(got: StreamedDataset, want: ImageDataset, what: string): void {
  assert.equal(got.name, want.name, `${what}: name`);
  assert.deepEqual([got.n, got.c, got.h, got.w], [want.n, want.c, want.h, want.w], `${what}: geometry`);
  assert.deepEqual(got.classes, want.classes, `${what}: classes`);
  assert.deepEqual(Array.from(got.labels), Array.from(want.labels), `${what}: labels`);
  const all = Int32Array.from({ length: want.n }, (_, i) => i);
  assert.deepEqual(got.read(all), want.images, `${what}: pixels`);
  const backwards = all.slice().reverse();
  const sz = want.c * want.h * want.w;
  const rev = got.read(backwards);
  backwards.forEach((i, b) =>
    assert.deepEqual(rev.subarray(b * sz, (b + 1) * sz), want.images.subarray(i * sz, (i + 1) * sz), `${what}: sample ${i}`),
  );
}

const TRIGGERS: TriggerSpec[] = [
  { kind: 'checkerboard', size: 3, position: 'random' },
  { kind: 'solid', color: [255, 0, 0], size: 2, position: 'bottom-right', opacity: 0.6 },
  { kind: 'noise', seed: 4, scale: 40, size: { fraction: 0.25 }, position: { x: 1, y: 2 } },
];
const POLICIES: PoisonSpec[] = [
  { policy: 'clean-label', classes: ['bee'], probability: 0.5 },
  { policy: 'clean-label-count', classes: ['ant', 'cat'], count: 4 },
  { policy: 'dirty-label', targetClass: 'ant', probability: 0.3 },
  { policy: 'trigger-class', fromClasses: ['bee', 'cat'], count: 5, newClassName: 'triggered' },
];

test('poisoning a streamed dataset per sample equals poisoning it in memory: bytes, labels, classes and record', () => {
  for (const trigger of TRIGGERS) {
    for (const poison of POLICIES) {
      const what = `${trigger.kind}/${poison.policy}`;
      const want = poisonDataset(mem, trigger, poison, 11);
      const got = poisonStreamed(streamed, trigger, poison, 11);
      assert.deepEqual(got.record, want.record, `${what}: record`);
      assert.ok(want.record.count > 0, `${what}: something was poisoned`);
      assertSame(got.dataset, want.dataset, what);
    }
  }
});

test('the attack-success test set and a pasted patch on streamed data equal their in-memory forms', () => {
  for (const trigger of TRIGGERS) {
    const want = triggerTestSet(mem, trigger, 5, { excludeClass: 'ant' });
    const got = triggerTestStreamed(streamed, trigger, 5, { excludeClass: 'ant' });
    assert.deepEqual(got.record, want.record);
    assertSame(got.dataset, want.dataset, `trigger test ${trigger.kind}`);
  }
  const patch = classPatch(mem, 'cat', { mode: 'crop', size: 4, seed: 1 });
  for (const opts of [
    { position: 'random' as const, seed: 3 },
    { position: 'center' as const, indices: [0, 5, 5, 17] },
  ]) {
    const want = pastePatch(mem, patch, opts);
    const got = pastePatchStreamed(streamed, patch, opts);
    assert.deepEqual(got.record, want.record);
    assertSame(got.dataset, want.dataset, `patch ${opts.position}`);
  }
});

test('streamed injection reads only the base samples it needs and leaves the base untouched', () => {
  const before = streamed.read([0, 1, 2, 3]);
  const { dataset, record } = poisonStreamed(streamed, TRIGGERS[0], { policy: 'trigger-class', count: 3 }, 2);
  assert.equal(dataset.n, streamed.n + 3);
  const copies = dataset.read([streamed.n, streamed.n + 1, streamed.n + 2]);
  const sources = streamed.read(record.indices);
  assert.notDeepEqual(copies, sources, 'the copies carry the trigger');
  assert.deepEqual(streamed.read([0, 1, 2, 3]), before, 'the base is unchanged');
  assert.throws(() => dataset.read([dataset.n]), /outside 0\.\.20/);
});

test('training batches of a poisoned streamed dataset equal those of the poisoned in-memory dataset, prefetched through the injection', () => {
  using base = cachedImageFolder({ path: root, size: SIZE, cacheRoot: tmpDir('bias-stream-cache2'), shardSize: 5 });
  const poison: PoisonSpec = { policy: 'trigger-class', count: 4 };
  const want = poisonDataset(mem, TRIGGERS[0], poison, 3).dataset;
  const got = poisonStreamed(base, TRIGGERS[0], poison, 3).dataset;
  const spec: BatchSpec = { mean: [0.5, 0.5, 0.5], std: [0.5, 0.5, 0.5], augment: { cropPadding: 1, hflip: true } };
  const values = (ds: ImageDataset | StreamedDataset) =>
    Array.from(new BatchIterator(ds, { batchSize: 5, spec, shuffle: true, seed: 4, epoch: 1 }), (b) => {
      const v = [Array.from(b.x.toFloat32Array()), Array.from(b.y.toInt32Array())];
      b.x.dispose();
      b.y.dispose();
      return v;
    });
  assert.deepEqual(values(got), values(want));
  assert.equal(base.stats.prefetched, 4, '5 batches: the first read on the spot, the other four prefetched through the injection');
});

test('spurious composition of a streamed dataset equals composeSpurious / composeBoth in memory: bytes, labels, attributes, record', () => {
  const attribute = loadImageFolder({
    path: writeImageFolder({ perClass: 2, seed: 9, tag: 'bias-stream-attr' }),
    size: [6, 6],
    channels: 1,
  });
  for (const attr of [attribute, { kind: 'shape', shape: 'disc', color: [0, 255, 0] } as const]) {
    const layout = { attribute: attr, canvas: { h: 20, w: 18 }, attributeScale: 0.3, seed: 4 };
    const opts = { ...layout, probabilityPerClass: { bee: 0.8 }, defaultProbability: 0.2 };
    const a = composeSpurious({ ...opts, main: mem });
    const b = composeSpuriousStreamed({ ...opts, main: streamed });
    assertSame(b.dataset, a.dataset, 'composeSpurious');
    assert.deepEqual(b.dataset.attributes, a.dataset.attributes);
    assert.deepEqual(b.record, a.record);
    const pa = composeBoth({ ...layout, main: mem });
    const pb = composeBothStreamed({ ...layout, main: streamed });
    assertSame(pb.withAttribute, pa.withAttribute, 'composeBoth with');
    assertSame(pb.withoutAttribute, pa.withoutAttribute, 'composeBoth without');
    assert.deepEqual(pb.record, pa.record);
  }
});
