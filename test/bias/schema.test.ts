import { test } from 'node:test';
import assert from 'node:assert/strict';
import { z } from 'zod';
import { parsePoisonSpec, parseTriggerSpec, poisonSpecSchema, triggerSpecSchema } from '../../src/bias/index.js';

test('trigger and poison specs from configs parse, and bad keys are reported with their path', () => {
  const t = { kind: 'checkerboard', colors: [[0, 0, 0], 255], cell: 2, size: { fraction: 0.1 }, position: { x: 1, y: 2 }, opacity: 0.5 };
  assert.deepEqual(parseTriggerSpec(t), t);
  assert.throws(() => parseTriggerSpec({ kind: 'solid', color: 1, size: 2, position: 'center', opacity: 2 }), /trigger\.opacity: /);
  assert.throws(
    () => parseTriggerSpec({ kind: 'noise', seed: 1, scale: 3, size: 2, position: { x: 1, y: 2, z: 3 } }),
    /trigger\.position: Unrecognized key: "z"/,
  );
  assert.throws(
    () => parseTriggerSpec({ kind: 'solid', color: 1, size: { fraction: 0.1, extra: 1 }, position: 'center' }),
    /trigger\.size/,
  );
  assert.throws(() => parseTriggerSpec({ kind: 'stripes', size: 2, position: 'center' }), /trigger\.kind/);
  const p = { policy: 'dirty-label', fromClasses: ['cat', 1], targetClass: 'dog', count: 5 };
  assert.deepEqual(parsePoisonSpec(p), p);
  assert.throws(
    () => parsePoisonSpec({ policy: 'dirty-label', targetClass: 0, count: 5, probability: 0.1 }),
    /exactly one of probability or count/,
  );
  assert.throws(() => parsePoisonSpec({ policy: 'clean-label', classes: ['a'], probability: 0.1, typo: 1 }), /Unrecognized key: "typo"/);
  assert.throws(() => parsePoisonSpec({ policy: 'clean-label', classes: [], probability: 0.1 }), /poison/);
  // JSON Schema export for config documentation.
  assert.equal(typeof z.toJSONSchema(triggerSpecSchema), 'object');
  assert.equal(typeof z.toJSONSchema(poisonSpecSchema), 'object');
});
