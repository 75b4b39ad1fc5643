/**
 * A run's facts file (src/store/facts.ts): written atomically with its pictures and read back
 * byte for byte; a run without facts (older code) or of another facts version reads as null;
 * a broken file or a missing picture is an error naming the file.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { FACTS_VERSION, readRunFacts, writeRunFacts, type RunFacts } from '../../src/store/index.js';

const tmp = mkdtempSync(join(tmpdir(), 'run-facts-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

const facts: RunFacts = {
  version: FACTS_VERSION,
  seed: 3,
  source: { classes: ['T-shirt/top', 'Trouser'], images: 1200 },
  sourceTest: { name: 'fashion-mnist', split: 'test', limit: 2000 },
  targets: [
    {
      name: 'digits',
      classes: ['0', '1'],
      trainImages: 400,
      testImages: 100,
      conditionLabels: { patch0: 'T-shirt crop' },
      neutralOf: { 'patch0-neutral': 'patch0' },
    },
  ],
  examples: [{ file: 'facts/example-source.png', caption: 'before and after' }],
  probeExamples: { patch0: { file: 'facts/probe-patch0.png', caption: 'T-shirt crop' } },
};
const images = new Map([
  ['facts/example-source.png', Uint8Array.from([137, 80, 78, 71, 1])],
  ['facts/probe-patch0.png', Uint8Array.from([137, 80, 78, 71, 2])],
]);

test('facts and their pictures come back as written, with no temporary files left', () => {
  const dir = join(tmp, 'run-a');
  writeRunFacts(dir, { facts, images });
  const back = readRunFacts(dir);
  assert.deepEqual(back?.facts, facts);
  for (const [file, png] of images) assert.deepEqual(Uint8Array.from(back!.images.get(file)!), png, file);
  assert.deepEqual(readdirSync(dir).sort(), ['facts', 'facts.json']);
  assert.deepEqual(readdirSync(join(dir, 'facts')).sort(), ['example-source.png', 'probe-patch0.png']);
});

test('a run without facts, or with facts of another version, reads as null', () => {
  assert.equal(readRunFacts(join(tmp, 'never-written')), null);
  const dir = join(tmp, 'run-b');
  writeRunFacts(dir, { facts: { ...facts, version: FACTS_VERSION + 1 }, images });
  assert.equal(readRunFacts(dir), null);
});

test('a broken facts file or a missing picture is an error naming the file', () => {
  const dir = join(tmp, 'run-c');
  writeRunFacts(dir, { facts, images });
  unlinkSync(join(dir, 'facts/probe-patch0.png'));
  assert.throws(() => readRunFacts(dir), /facts\.json names picture facts\/probe-patch0\.png, which is missing/);
  writeFileSync(join(dir, 'facts.json'), '{"version": 1, ');
  assert.throws(
    () => readRunFacts(dir),
    (e: Error) => e.message.includes(join(dir, 'facts.json')) && /not a readable run facts file/.test(e.message),
  );
  assert.throws(
    () => writeRunFacts(join(tmp, 'run-d'), { facts, images: new Map() }),
    /facts\.json: the facts name picture facts\/example-source\.png, which was not given/,
  );
});
