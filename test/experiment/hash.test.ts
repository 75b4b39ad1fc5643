import { test } from 'node:test';
import assert from 'node:assert/strict';
import { canonicalJson, loadConfig, parseConfigText, stableHash } from '../../src/experiment/config/index.js';
import * as fs from 'node:fs';
import { stringify } from 'yaml';

test('canonical JSON sorts keys at every depth and drops undefined members', () => {
  assert.equal(canonicalJson({ b: 1, a: [2, { d: 3, c: 4 }], u: undefined }), '{"a":[2,{"c":4,"d":3}],"b":1}');
  assert.equal(canonicalJson(-0), '0');
  assert.throws(() => canonicalJson({ x: [NaN] }), /non-finite number NaN at \$\.x\[0\]/);
  assert.throws(() => canonicalJson({ m: new Map() }), /cannot serialise a Map at \$\.m/);
});

test('stableHash ignores key order but not values or array order', () => {
  const h = stableHash({ a: 1, b: { c: [1, 2], d: 'x' } });
  assert.match(h, /^[0-9a-f]{64}$/);
  assert.equal(stableHash({ b: { d: 'x', c: [1, 2] }, a: 1 }), h);
  assert.notEqual(stableHash({ a: 1, b: { c: [2, 1], d: 'x' } }), h);
  assert.notEqual(stableHash({ a: 2, b: { c: [1, 2], d: 'x' } }), h);
  assert.notEqual(stableHash({ a: '1', b: { c: [1, 2], d: 'x' } }), h);
});

test('a config hashes the same whatever the key order in the file and whether defaults are written out', () => {
  const a = loadConfig('experiments/example.yaml');
  const reordered = Object.fromEntries(Object.entries(a.config).reverse());
  const b = parseConfigText(stringify(reordered), { file: 'reordered.yaml' });
  assert.equal(b.hash, a.hash);
  const c = parseConfigText(fs.readFileSync('experiments/example.yaml', 'utf8'), { file: 'copy.yaml' });
  assert.equal(c.hash, a.hash);
  const d = loadConfig('experiments/example.yaml', { overrides: ['sourceTraining.epochs=4'] });
  assert.notEqual(d.hash, a.hash);
});
