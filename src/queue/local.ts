/**
 * Worker processes on this machine: `--workers N` starts N `bias-transfer worker` processes
 * (each with its own libtorch threads) on the given queue, or on a private redis-server started
 * for the occasion when there is no `--queue`, and stops them (and it) when the work is done.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { startRedisServer, type RedisServer } from './redis-server.js';
import { PASSWORD_ENV, redactRedisUrl } from './names.js';

/**
 * How to start the CLI in a child process: the compiled `main.js` next to this module, or the
 * TypeScript sources through tsx in a development checkout.
 */
export function cliCommand(): { command: string; args: string[] } {
  const here = fileURLToPath(import.meta.url);
  if (here.endsWith('.js')) return { command: process.execPath, args: [fileURLToPath(new URL('../cli/main.js', import.meta.url))] };
  return { command: process.execPath, args: ['--import', 'tsx', fileURLToPath(new URL('../cli/main.ts', import.meta.url))] };
}

/** Options of `withLocalWorkers`. */
export interface LocalWorkersOptions {
  /** Number of worker processes (>= 1). */
  workers: number;
  /** Queue URL; default a private redis-server (127.0.0.1, temp folder) for the duration. */
  url?: string;
  /** Scratch folder of every worker (one machine, one disk: the results root is a good choice). */
  scratch: string;
  /** libtorch threads per worker (for configs that leave `threads` null). */
  threads?: number;
  /** Lines from the workers and about them. */
  log?: (line: string) => void;
  /** Lock seconds of the workers (see WorkerOptions.lockSeconds). */
  lockSeconds?: number;
}

/**
 * Starts the workers (and Redis if needed), runs `fn(url, env)` (`env` holds the password of the
 * queue: pass it to `queueExecutor`), then stops them. A private server gets a random
 * password, handed to the workers in their environment (never on a command line). Rejects if
 * every worker exits before `fn` is done (nobody left to do the work).
 */
export async function withLocalWorkers<T>(opts: LocalWorkersOptions, fn: (url: string, env: NodeJS.ProcessEnv) => Promise<T>): Promise<T> {
  if (!Number.isInteger(opts.workers) || opts.workers < 1) throw new Error(`--workers must be a positive integer, got ${opts.workers}`);
  const log = opts.log ?? ((l: string) => process.stderr.write(`${l}\n`));
  let server: RedisServer | null = null;
  let env: NodeJS.ProcessEnv = process.env;
  if (opts.url === undefined) {
    const password = randomBytes(18).toString('base64url');
    env = { ...process.env, [PASSWORD_ENV]: password };
    server = await startRedisServer({ password });
    log(`queue: private redis-server on ${server.url} (data in ${server.dir})`);
  }
  const url = opts.url ?? server!.url;
  const { command, args } = cliCommand();
  const children: ChildProcess[] = [];
  let alive = 0;
  let allGone: (e: Error) => void = () => {};
  const gone = new Promise<never>((_, reject) => (allGone = reject));
  gone.catch(() => {});
  let stopping = false;
  for (let i = 0; i < opts.workers; i++) {
    const a = [...args, 'worker', '--queue', url, '--scratch', opts.scratch];
    if (opts.threads !== undefined) a.push('--threads', String(opts.threads));
    if (opts.lockSeconds !== undefined) a.push('--lock-seconds', String(opts.lockSeconds));
    const child = spawn(command, a, { stdio: ['ignore', 'ignore', 'pipe'], env });
    alive++;
    let buf = '';
    child.stderr!.on('data', (d: Buffer) => {
      buf += d.toString();
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        log(`[worker ${i + 1}] ${buf.slice(0, nl)}`);
        buf = buf.slice(nl + 1);
      }
    });
    child.on('exit', (code, signal) => {
      alive--;
      if (!stopping) log(`[worker ${i + 1}] exited (${signal ?? `code ${code}`})`);
      if (!stopping && alive === 0) allGone(new Error(`every local worker exited before the work was done (see the lines above)`));
    });
    children.push(child);
  }
  log(`queue: ${opts.workers} local worker(s) on ${redactRedisUrl(url)}`);
  // Stopped by a signal: take the workers and the private Redis down too, then exit as killed.
  const onSignal = (sig: NodeJS.Signals) => {
    stopping = true;
    for (const c of children) c.kill('SIGTERM');
    void (server?.stop() ?? Promise.resolve()).finally(() => process.exit(sig === 'SIGINT' ? 130 : 143));
  };
  process.once('SIGTERM', onSignal);
  process.once('SIGINT', onSignal);
  try {
    return await Promise.race([fn(url, env), gone]);
  } finally {
    process.off('SIGTERM', onSignal);
    process.off('SIGINT', onSignal);
    stopping = true;
    await Promise.all(
      children.map(
        (c) =>
          new Promise<void>((resolve) => {
            if (c.exitCode !== null || c.signalCode !== null) return resolve();
            c.once('exit', () => resolve());
            c.kill('SIGTERM');
          }),
      ),
    );
    await server?.stop();
  }
}
