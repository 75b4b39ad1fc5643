/**
 * The queue's names and connection, in one small stable module (the worker, the submitter and
 * the web server's bull-board all open the queue through it).
 *
 * A Redis URL is `redis://[:PASSWORD@]HOST:PORT[/DB]` (`rediss://` for TLS). The password is best
 * left out of the URL (it would show in `ps` and shell history) and given in the environment
 * variable `BIAS_TRANSFER_REDIS_PASSWORD`; it is never printed: `redactRedisUrl` is the only form
 * of a URL that goes into logs and progress lines.
 */
import { Queue, type RedisOptions } from 'bullmq';

/** The BullMQ queue every job of bias-transfer goes through (job names are the job kinds). */
export const QUEUE_NAME = 'bias-transfer';

/** Every queue name bias-transfer uses (for dashboards such as bull-board). */
export const QUEUE_NAMES: readonly string[] = [QUEUE_NAME];

/** The key prefix of the queue's Redis keys (BullMQ's default), and of the artefact keys beside them. */
export const KEY_PREFIX = 'bull';

/** Environment variable holding the Redis password (used when the URL carries none). */
export const PASSWORD_ENV = 'BIAS_TRANSFER_REDIS_PASSWORD';

/** Environment variable holding a default Redis URL for `--queue` and `worker`. */
export const URL_ENV = 'BIAS_TRANSFER_REDIS_URL';

/**
 * ioredis options for a Redis URL; the password comes from the URL or else from
 * `BIAS_TRANSFER_REDIS_PASSWORD` in `env`. `maxRetriesPerRequest: null` is what BullMQ's workers
 * need to wait through a Redis restart instead of failing. Throws, naming the URL (redacted), on a
 * URL that is not redis:// or rediss:// or lacks a host.
 *
 * @example redisOptions('redis://10.0.0.5:6379') // { host: '10.0.0.5', port: 6379, db: 0, password from the env }
 */
export function redisOptions(url: string, env: NodeJS.ProcessEnv = process.env): RedisOptions {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new Error(`invalid Redis URL '${redactRedisUrl(url)}': expected redis://HOST:PORT`);
  }
  if (u.protocol !== 'redis:' && u.protocol !== 'rediss:') {
    throw new Error(`invalid Redis URL '${redactRedisUrl(url)}': the scheme must be redis:// or rediss://, not ${u.protocol}//`);
  }
  if (!u.hostname) throw new Error(`invalid Redis URL '${redactRedisUrl(url)}': no host`);
  const dbText = u.pathname.replace(/^\//, '');
  const db = dbText === '' ? 0 : Number(dbText);
  if (!Number.isInteger(db) || db < 0) throw new Error(`invalid Redis URL '${redactRedisUrl(url)}': database '${dbText}' is not a number`);
  const password = u.password ? decodeURIComponent(u.password) : env[PASSWORD_ENV] || undefined;
  const username = u.username ? decodeURIComponent(u.username) : undefined;
  return {
    host: u.hostname.replace(/^\[|\]$/g, ''),
    port: u.port ? Number(u.port) : 6379,
    db,
    ...(password !== undefined ? { password } : {}),
    ...(username !== undefined ? { username } : {}),
    ...(u.protocol === 'rediss:' ? { tls: {} } : {}),
    maxRetriesPerRequest: null,
  };
}

/** A Redis URL with any password replaced by `***`: the only form of a URL to print. */
export function redactRedisUrl(url: string): string {
  return url.replace(/^([a-z]+:\/\/)([^@/]*)@/i, (_m, scheme: string, cred: string) => {
    const user = cred.includes(':') ? cred.slice(0, cred.indexOf(':')) : '';
    return `${scheme}${user}:***@`;
  });
}

/**
 * Opens the bias-transfer BullMQ queue on the Redis at `url` (password as in `redisOptions`).
 * Close it with `await queue.close()`.
 *
 * @example const q = openQueue('redis://127.0.0.1:6379'); console.log(await q.getJobCounts()); await q.close();
 */
export function openQueue(url: string, env: NodeJS.ProcessEnv = process.env): Queue {
  return new Queue(QUEUE_NAME, { connection: redisOptions(url, env), prefix: KEY_PREFIX });
}
