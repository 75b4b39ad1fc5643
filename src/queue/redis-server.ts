/**
 * A private Redis server for tests and for `--workers N` without `--queue`: Debian's
 * `redis-server` started on 127.0.0.1 and a free port, with its data in a folder of its own and
 * the append-only file on (every write fsynced before the reply), so a restart loses nothing
 * that was acknowledged. The system's Redis service is never touched.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Options of `startRedisServer`. */
export interface RedisServerOptions {
  /** Data folder (append-only file); default a new temp folder, removed by `stop()`. */
  dir?: string;
  /** TCP port; default a free one. */
  port?: number;
  /** Address to bind; default 127.0.0.1 (reachable from this machine only). */
  bind?: string;
  /** Require this password (`requirepass`); default none. Handed to redis-server on its stdin, never on its command line. */
  password?: string;
  /** The redis-server binary; default `redis-server` on PATH. */
  binary?: string;
}

/** A running private Redis server. */
export interface RedisServer {
  /** `redis://127.0.0.1:PORT` (never with the password). */
  readonly url: string;
  readonly port: number;
  readonly dir: string;
  /** Stops the server (SIGTERM: it flushes the append-only file); removes the folder if it made it. */
  stop(): Promise<void>;
  /** Stops the server and starts it again on the same port and folder (tests of a Redis restart). */
  restart(options?: { downMs?: number; kill?: boolean }): Promise<void>;
}

/** A free TCP port on 127.0.0.1 (asked from the kernel). */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

async function waitForPort(port: number, host: string, child: ChildProcess, timeoutMs: number): Promise<void> {
  const t0 = Date.now();
  for (;;) {
    if (child.exitCode !== null) throw new Error(`redis-server exited with code ${child.exitCode} before listening on ${host}:${port}`);
    const ok = await new Promise<boolean>((resolve) => {
      const c = connect(port, host);
      c.on('connect', () => {
        c.destroy();
        resolve(true);
      });
      c.on('error', () => resolve(false));
    });
    if (ok) return;
    if (Date.now() - t0 > timeoutMs) throw new Error(`redis-server did not listen on ${host}:${port} within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * Starts a private redis-server (append-only file on, `appendfsync always`, no RDB snapshots,
 * protected mode, bound to 127.0.0.1 by default) and resolves once it accepts connections.
 * Throws a clear error when `redis-server` is not installed.
 *
 * @example const r = await startRedisServer(); // r.url === 'redis://127.0.0.1:41234'
 * await r.stop();
 */
export async function startRedisServer(options: RedisServerOptions = {}): Promise<RedisServer> {
  const ownDir = options.dir === undefined;
  const dir = options.dir ?? mkdtempSync(join(tmpdir(), 'bias-transfer-redis-'));
  const bind = options.bind ?? '127.0.0.1';
  const port = options.port ?? (await freePort());
  const binary = options.binary ?? 'redis-server';
  let child: ChildProcess;
  const start = async () => {
    // The config goes on stdin ('-'), so a password never shows in the process list.
    const conf = [
      `port ${port}`,
      `bind ${bind}`,
      'protected-mode yes',
      `dir ${dir}`,
      'appendonly yes',
      'appendfsync always',
      'save ""',
      'daemonize no',
      'loglevel warning',
      'logfile ""',
      ...(options.password !== undefined ? [`requirepass "${options.password.replace(/["\\]/g, '\\$&')}"`] : []),
    ].join('\n');
    child = spawn(binary, ['-'], { stdio: ['pipe', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    const spawned = new Promise<void>((resolve, reject) => {
      child.on('error', (e: NodeJS.ErrnoException) =>
        reject(
          e.code === 'ENOENT'
            ? new Error(`'${binary}' was not found: install Debian's redis-server (bash scripts/setup.sh does) or pass --queue URL`)
            : e,
        ),
      );
      child.on('spawn', () => resolve());
    });
    child.stdin!.end(`${conf}\n`);
    await spawned;
    try {
      await waitForPort(port, bind === '0.0.0.0' ? '127.0.0.1' : bind, child, 10_000);
    } catch (e) {
      child.kill('SIGKILL');
      throw new Error(`${(e as Error).message}${stderr ? `: ${stderr.trim()}` : ''}`);
    }
  };
  const stopChild = async (signal: NodeJS.Signals) => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((r) => child.once('exit', r));
    child.kill(signal);
    await exited;
  };
  await start();
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    dir,
    async stop() {
      await stopChild('SIGTERM');
      if (ownDir) rmSync(dir, { recursive: true, force: true });
    },
    async restart(o = {}) {
      await stopChild(o.kill ? 'SIGKILL' : 'SIGTERM');
      if (o.downMs) await new Promise((r) => setTimeout(r, o.downMs));
      await start();
    },
  };
}
