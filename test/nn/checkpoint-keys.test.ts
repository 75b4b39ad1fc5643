/**
 * Diagnosis of state dicts that do not fit: the wrapper prefix to strip (nested or unusual ones
 * too) and the architecture of the zoo whose keys fit, with ties broken by the first conv's width.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { archKeys, closestArchitectures, keyMismatchAdvice, suggestKeyPrefix } from '../../src/nn/index.js';

test('suggestKeyPrefix finds the common, nested and unusual prefixes, and nothing when the keys already fit', () => {
  const keys = archKeys('resnet18');
  const withPrefix = (p: string) => keys.map((k) => p + k);
  assert.deepEqual(suggestKeyPrefix(withPrefix('module.'), keys), {
    prefix: 'module.',
    matchedBefore: 0,
    matchedAfter: keys.length,
    expected: keys.length,
  });
  assert.equal(suggestKeyPrefix(withPrefix('module.backbone.'), keys)?.prefix, 'module.backbone.');
  assert.equal(suggestKeyPrefix(withPrefix('student.'), keys)?.prefix, 'student.');
  assert.equal(suggestKeyPrefix(keys, keys), null);
  // Only some keys prefixed (a head kept outside the wrapper): stripping still helps.
  const mixed = [...withPrefix('encoder.').filter((k) => !k.includes('fc.')), 'fc.weight', 'fc.bias'];
  assert.deepEqual(suggestKeyPrefix(mixed, keys), {
    prefix: 'encoder.',
    matchedBefore: 2,
    matchedAfter: keys.length,
    expected: keys.length,
  });
});

test('closestArchitectures names each architecture of the zoo from its keys, and custom block counts with --layers', () => {
  for (const arch of ['resnet18', 'resnet34', 'resnet50', 'small-cnn'] as const) {
    const keys = archKeys(arch);
    const [best] = closestArchitectures(keys);
    assert.deepEqual([best.flags, best.matched, best.expected], [`--arch ${arch}`, keys.length, keys.length], arch);
  }
  const one = archKeys('resnet18', [1, 1, 1, 1]);
  assert.equal(closestArchitectures(one, { conv1Out: 64 })[0].flags, '--arch resnet18 --layers 1,1,1,1');
  assert.equal(closestArchitectures(one, { conv1Out: 16 })[0].flags, '--arch resnet-tiny');
  assert.equal(closestArchitectures(archKeys('resnet18', [2, 1, 3, 1]))[0].flags, '--arch resnet18 --layers 2,1,3,1');
  assert.equal(closestArchitectures(archKeys('resnet50', [1, 2, 1, 1]))[0].flags, '--arch resnet50 --layers 1,2,1,1');
});

test('keyMismatchAdvice: the prefix first, then the architecture; null when the requested one fits best', () => {
  const r34 = archKeys('resnet34');
  const spec = { arch: 'resnet18', numClasses: 10, inChannels: 3 } as const;
  assert.equal(
    keyMismatchAdvice(r34, spec, archKeys('resnet18')),
    `this looks like resnet34: ${r34.length} of ${r34.length} keys match (use --arch resnet34)`,
  );
  assert.match(
    keyMismatchAdvice(
      r34.map((k) => `module.${k}`),
      spec,
      archKeys('resnet18'),
    )!,
    /^the keys start with 'module\.'.* with --strip-prefix module\. /,
  );
  // A resnet18 file missing one tensor still looks most like resnet18: no advice.
  assert.equal(keyMismatchAdvice(archKeys('resnet18').slice(1), spec, archKeys('resnet18')), null);
});
