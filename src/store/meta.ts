/**
 * Run metadata written to meta.json: which code produced the run (package version, git commit,
 * hash of the src/ files), the versions of the packages it used, the seeds and the runtime.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';

/** Contents of meta.json. */
export interface RunMeta {
  readonly codeVersion: {
    /** package.json name and version. */
    readonly package: string;
    readonly version: string;
    /** `git rev-parse HEAD`, or null outside a git checkout. */
    readonly gitCommit: string | null;
    /** sha256 over every file under src/ (relative path + bytes, sorted): changes with any edit, committed or not. */
    readonly srcHash: string;
  };
  /** Installed version of each dependency in package.json (null when not installed). */
  readonly packages: Readonly<Record<string, string | null>>;
  readonly seeds: readonly number[];
  readonly runtime: {
    readonly node: string;
    /** libtorch version as reported by the caller (the store does not load the native addon). */
    readonly libtorch: string | null;
    readonly platform: string;
    readonly arch: string;
    readonly cpus: number;
  };
  /** ISO time of writing. */
  readonly createdAt: string;
  /** Anything else the caller adds (e.g. sweep values). */
  readonly extra?: Readonly<Record<string, unknown>>;
}

let projectRootMemo: string | undefined;

/** The folder holding this project's package.json (found upwards from this file). */
export function projectRoot(): string {
  if (projectRootMemo) return projectRootMemo;
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (fs.existsSync(path.join(dir, 'package.json')) && fs.existsSync(path.join(dir, 'src'))) return (projectRootMemo = dir);
    const up = path.dirname(dir);
    if (up === dir) throw new Error(`cannot find the project root above ${fileURLToPath(import.meta.url)}`);
    dir = up;
  }
}

const srcHashMemo = new Map<string, string>();

/** sha256 (hex) over every file below `dir`: relative path and contents, in sorted path order. Memoised per process. */
export function hashTree(dir: string): string {
  const memo = srcHashMemo.get(dir);
  if (memo) return memo;
  const files: string[] = [];
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.isFile()) files.push(p);
    }
  };
  walk(dir);
  const h = createHash('sha256');
  for (const f of files.map((f) => path.relative(dir, f).split(path.sep).join('/')).sort()) {
    h.update(f)
      .update('\0')
      .update(fs.readFileSync(path.join(dir, f)))
      .update('\0');
  }
  const out = h.digest('hex');
  srcHashMemo.set(dir, out);
  return out;
}

function gitCommit(root: string): string | null {
  try {
    return execFileSync('git', ['rev-parse', 'HEAD'], {
      cwd: root,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
      env: { ...process.env, GIT_OPTIONAL_LOCKS: '0' },
    }).trim();
  } catch {
    return null;
  }
}

/** Options of collectRunMeta. */
export interface CollectMetaOptions {
  readonly seeds: readonly number[];
  /** libtorch version string, e.g. from src/torch's buildInfo().torchVersion. */
  readonly libtorch?: string | null;
  readonly extra?: Readonly<Record<string, unknown>>;
  /** Project root (default: found from this file). */
  readonly root?: string;
}

/** Gathers the metadata of a run about to start. */
export function collectRunMeta(options: CollectMetaOptions): RunMeta {
  const root = options.root ?? projectRoot();
  const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as {
    name: string;
    version: string;
    dependencies?: Record<string, string>;
  };
  const packages: Record<string, string | null> = {};
  for (const name of Object.keys(pkg.dependencies ?? {}).sort()) {
    try {
      packages[name] = (
        JSON.parse(fs.readFileSync(path.join(root, 'node_modules', name, 'package.json'), 'utf8')) as { version: string }
      ).version;
    } catch {
      packages[name] = null;
    }
  }
  return {
    codeVersion: { package: pkg.name, version: pkg.version, gitCommit: gitCommit(root), srcHash: hashTree(path.join(root, 'src')) },
    packages,
    seeds: [...options.seeds],
    runtime: {
      node: process.version,
      libtorch: options.libtorch ?? null,
      platform: process.platform,
      arch: process.arch,
      cpus: os.cpus().length,
    },
    createdAt: new Date().toISOString(),
    ...(options.extra ? { extra: options.extra } : {}),
  };
}
