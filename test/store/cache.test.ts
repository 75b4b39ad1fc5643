import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ModelCache } from '../../src/store/index.js';

const tmpRoot = () => fs.mkdtempSync(path.join(os.tmpdir(), 'cache-'));

test('put writes an entry atomically and get returns it with its info', async () => {
  const cache = new ModelCache(tmpRoot());
  assert.equal(cache.get('abc123'), null);
  let sawFinalDuringWrite = true;
  const entry = await cache.put(
    'abc123',
    async (tmp) => {
      fs.writeFileSync(path.join(tmp, 'model.safetensors'), 'weights');
      await new Promise((r) => setTimeout(r, 5));
      sawFinalDuringWrite = cache.has('abc123') || fs.existsSync(cache.entryDir('abc123'));
    },
    { arch: 'small-cnn' },
  );
  assert.equal(sawFinalDuringWrite, false, 'a half-written entry must not be visible');
  assert.equal(entry.created, true);
  assert.equal(entry.dir, cache.entryDir('abc123'));
  assert.equal(fs.readFileSync(path.join(entry.dir, 'model.safetensors'), 'utf8'), 'weights');
  assert.deepEqual(cache.get('abc123')?.info.info, { arch: 'small-cnn' });
  assert.deepEqual(cache.keys(), ['abc123']);
  const again = await cache.put('abc123', () => assert.fail('must not rebuild an existing entry'));
  assert.equal(again.created, false);
});

test('two concurrent builders of one key: the first rename wins, the loser is discarded', async () => {
  const cache = new ModelCache(tmpRoot());
  // Builder 'a' starts first but finishes only after 'b' has renamed its entry into place (no timers:
  // the order is forced, so a loaded machine cannot flip it).
  let bPublished!: () => void;
  const afterB = new Promise<void>((r) => (bPublished = r));
  const pa = cache.put('k', async (tmp) => {
    await afterB;
    fs.writeFileSync(path.join(tmp, 'who'), 'a');
  });
  const pb = cache.put('k', (tmp) => fs.writeFileSync(path.join(tmp, 'who'), 'b')).finally(() => bPublished());
  const [a, b] = await Promise.all([pa, pb]);
  assert.equal(a.created, false);
  assert.equal(b.created, true);
  assert.equal(fs.readFileSync(path.join(cache.entryDir('k'), 'who'), 'utf8'), 'b');
  assert.deepEqual(fs.readdirSync(path.join(cache.dir, '.tmp')), [], 'no temp folder left');
});

test('a failed or crashed write leaves no entry; cleanTemp removes leftovers of dead processes only', async () => {
  const cache = new ModelCache(tmpRoot());
  await assert.rejects(
    cache.put('bad', (tmp) => {
      fs.writeFileSync(path.join(tmp, 'half'), 'x');
      throw new Error('training diverged');
    }),
    /training diverged/,
  );
  assert.equal(cache.get('bad'), null);
  assert.deepEqual(fs.readdirSync(path.join(cache.dir, '.tmp')), []);

  // Simulate a process killed mid-write: its temp folder stays, and is never read as an entry.
  const dead = spawnSync(process.execPath, ['-e', 'console.log(process.pid)'], { encoding: 'utf8' });
  const deadPid = Number(dead.stdout.trim());
  fs.mkdirSync(path.join(cache.dir, '.tmp', `crashed.${deadPid}.00ff`), { recursive: true });
  fs.mkdirSync(path.join(cache.dir, '.tmp', `busy.${process.pid}.00ff`));
  assert.equal(cache.get('crashed'), null);
  assert.deepEqual(cache.keys(), []);
  assert.equal(cache.cleanTemp(), 1);
  assert.deepEqual(fs.readdirSync(path.join(cache.dir, '.tmp')), [`busy.${process.pid}.00ff`]);
  assert.throws(() => cache.entryDir('../x'), /invalid cache key/);
});
