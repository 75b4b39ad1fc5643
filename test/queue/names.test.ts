/**
 * The queue's connection: a private redis-server with a password from the environment, the
 * queue opened through `openQueue`, and a password never shown by `redactRedisUrl`.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { Redis } from 'ioredis';
import { openQueue, redactRedisUrl, redisOptions, PASSWORD_ENV, QUEUE_NAME } from '../../src/queue/names.js';
import { startRedisServer, type RedisServer } from '../../src/queue/redis-server.js';

let redis: RedisServer;
const password = 'pw-7f3a-secret';
before(async () => {
  redis = await startRedisServer({ password });
});
after(async () => redis?.stop());

test('openQueue reaches a password-protected Redis with the password from the environment only', async () => {
  const q = openQueue(redis.url, { [PASSWORD_ENV]: password });
  try {
    assert.equal(q.name, QUEUE_NAME);
    await q.add('probe', { x: 1 }, { jobId: 'probe-1' });
    const counts = await q.getJobCounts('waiting');
    assert.equal(counts.waiting, 1);
  } finally {
    await q.obliterate({ force: true });
    await q.close();
  }
});

test('without the password the server refuses every command', async () => {
  const r = new Redis({ ...redisOptions(redis.url, {}), maxRetriesPerRequest: 0, retryStrategy: () => null });
  r.on('error', () => {});
  try {
    await assert.rejects(r.ping(), /NOAUTH/);
  } finally {
    r.disconnect();
  }
});

test('URLs: the password in a URL wins over the environment, and is redacted for printing', () => {
  assert.equal(redisOptions('redis://:inurl@h:1/2', { [PASSWORD_ENV]: 'env' }).password, 'inurl');
  assert.deepEqual(
    { ...redisOptions('redis://h:7000', { [PASSWORD_ENV]: 'env' }) },
    { host: 'h', port: 7000, db: 0, password: 'env', maxRetriesPerRequest: null },
  );
  assert.equal(redactRedisUrl('redis://:s3cret@h:1/0'), 'redis://:***@h:1/0');
  assert.equal(redactRedisUrl('redis://user:s3cret@h:1'), 'redis://user:***@h:1');
  assert.equal(redactRedisUrl('redis://h:1'), 'redis://h:1');
  assert.throws(() => redisOptions('http://h:1'), /scheme must be redis/);
  assert.throws(
    () => redisOptions('redis://:pw@h:1/x'),
    (e: Error) => /database 'x'/.test(e.message) && !e.message.includes('pw@'),
  );
});
