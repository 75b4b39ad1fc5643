/** Helpers of the queue tests: worker processes with their own scratch folders, and a run's numbers. */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/** A `bias-transfer worker` process (the real CLI, through tsx) and everything it printed. */
export interface WorkerProcess {
  child: ChildProcess;
  scratch: string;
  output: () => string;
  /** Resolves when a line matching `re` has been printed; returns the line. */
  waitFor: (re: RegExp, timeoutMs?: number) => Promise<string>;
  exited: Promise<number | null>;
}

/** Starts a worker on `url` with scratch folder `scratch`; the password only in `env`. */
export function startWorkerProcess(url: string, scratch: string, env: NodeJS.ProcessEnv, extra: string[] = []): WorkerProcess {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', 'src/cli/main.ts', 'worker', '--queue', url, '--scratch', scratch, '--threads', '1', ...extra],
    { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } },
  );
  let out = '';
  const waiters: { re: RegExp; resolve: (l: string) => void }[] = [];
  const onData = (d: Buffer) => {
    out += d.toString();
    for (const w of [...waiters]) {
      const line = out.split('\n').find((l) => w.re.test(l));
      if (line !== undefined) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(line);
      }
    }
  };
  child.stdout!.on('data', onData);
  child.stderr!.on('data', onData);
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  return {
    child,
    scratch,
    output: () => out,
    exited,
    waitFor(re, timeoutMs = 120_000) {
      const line = out.split('\n').find((l) => re.test(l));
      if (line !== undefined) return Promise.resolve(line);
      return new Promise((resolve, reject) => {
        const t = setTimeout(() => reject(new Error(`no line matching ${re} within ${timeoutMs} ms; worker printed:\n${out}`)), timeoutMs);
        waiters.push({
          re,
          resolve: (l) => {
            clearTimeout(t);
            resolve(l);
          },
        });
      });
    },
  };
}

/** Stops worker processes (SIGTERM) and waits for them. */
export async function stopWorkers(ws: readonly WorkerProcess[]): Promise<void> {
  for (const w of ws) if (w.child.exitCode === null && w.child.signalCode === null) w.child.kill('SIGTERM');
  await Promise.all(ws.map((w) => w.exited));
}

function dropTimings(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(dropTimings);
  if (v !== null && typeof v === 'object') {
    const o: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) {
      // Wall-clock fields, where the results root put a file, and the run id (it names the root's run) are not numbers of the experiment.
      if (k === 'seconds' || k === 'weights' || k === 'runId' || k === 'imagesPerSecond') continue;
      o[k] = dropTimings(x);
    }
    return o;
  }
  return v;
}

/**
 * Every number a results root holds for its runs: metric rows, per-sample prediction files
 * (bytes), job results and source records (training histories, predictions; wall-clock times
 * left out) and source-model weights (bytes; not cached features), keyed by run folder and file.
 */
export function numbersOf(root: string): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const runs = readdirSync(join(root, 'runs')).sort();
  for (const r of runs) {
    const dir = join(root, 'runs', r);
    out[`${r}/metrics.json`] = dropTimings(JSON.parse(readFileSync(join(dir, 'metrics.json'), 'utf8')));
    out[`${r}/sources.json`] = dropTimings(JSON.parse(readFileSync(join(dir, 'sources.json'), 'utf8')));
    for (const f of readdirSync(join(dir, 'predictions')).sort())
      out[`${r}/predictions/${f}`] = readFileSync(join(dir, 'predictions', f), 'utf8');
    for (const j of readdirSync(join(dir, 'jobs')).sort()) {
      const p = join(dir, 'jobs', j, 'result.json');
      if (existsSync(p)) out[`${r}/jobs/${j}`] = dropTimings(JSON.parse(readFileSync(p, 'utf8')));
    }
  }
  const models = join(root, 'cache', 'models');
  // Source models only: cached features (a features job's) are an intermediate a queue run keeps on its workers.
  for (const k of readdirSync(models)
    .filter((k) => !k.startsWith('.') && existsSync(join(models, k, 'model.safetensors')))
    .sort())
    out[`cache/${k}`] = readFileSync(join(models, k, 'model.safetensors')).toString('base64');
  return out;
}
