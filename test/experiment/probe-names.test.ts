/** Probes are named by what they are ("T-shirt crop", "neutral grey like T-shirt crop"), never "patch0". */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { PatchProbeSchema, type PatchProbeSpec } from '../../src/experiment/config/index.js';
import { conditionName, probeName, probeNames } from '../../src/experiment/probe-names.js';

const FASHION = ['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot'];
const probe = (p: unknown): PatchProbeSpec => PatchProbeSchema.parse(p);

test('class patches and their neutral controls are named by class, mode and what they mirror', () => {
  const probes = [
    probe({ kind: 'class-patch', sourceClass: 0, size: 14 }),
    probe({ kind: 'neutral', like: 0 }),
    probe({ kind: 'class-patch', sourceClass: 'Sandal', mode: 'mean', size: 10 }),
    probe({ kind: 'neutral', like: 2 }),
  ];
  assert.deepEqual(probeNames(probes, FASHION), {
    patch0: 'T-shirt crop',
    patch1: 'neutral grey like T-shirt crop',
    patch2: 'Sandal class mean',
    patch3: 'neutral grey like Sandal class mean',
  });
  assert.equal(conditionName('patch0-neutral', probes, FASHION), 'neutral grey like T-shirt crop');
  assert.equal(conditionName('triggered', probes, FASHION), 'triggered');
  assert.equal(conditionName('patch9', probes, FASHION), 'patch9');
});

test('two crops of one class are told apart by size; a given name wins; per-probe class lists', () => {
  const probes = [probe({ kind: 'class-patch', sourceClass: 6, size: 8 }), probe({ kind: 'class-patch', sourceClass: 6, size: 14 })];
  assert.equal(probeName(probes, 0, FASHION), 'Shirt crop 8px');
  assert.equal(probeName(probes, 1, FASHION), 'Shirt crop 14px');
  const named = [{ ...probes[0], name: 'my probe' } as PatchProbeSpec, probe({ kind: 'neutral', like: 0 })];
  assert.equal(probeName(named, 1, FASHION), 'neutral grey like my probe');
  const digits = ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'];
  assert.equal(
    probeName([probe({ kind: 'class-patch', sourceClass: 7, size: 14 })], 0, () => digits),
    '7 crop',
  );
});

test('a probe index out of range is an error naming it', () => {
  assert.throws(() => probeName([], 2, FASHION), /evaluation\.patches\.2 does not exist/);
});
