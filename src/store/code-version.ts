/**
 * The code version of a result: a hash of exactly the code that determines the numbers, so a
 * stored result is reused only when that code is unchanged — and an edit to the report, the
 * CLI, a server, a queue or the store does not throw results away (the git commit would: other
 * people commit all the time, and uncommitted edits would not count at all).
 *
 * What is hashed: every file of the numeric folders ({@link NUMERIC_CODE_DIRS}: the TypeScript of
 * every layer that computes — src/plan among them: which jobs a run has and how their results
 * become its rows — and the native addon's source), each by its contents under its name
 * relative to the project root, sorted by that name; and from package-lock.json, the resolved
 * version and integrity of the dependencies that touch data or numbers ({@link NUMERIC_DEPENDENCIES}).
 * There is no list of exceptions: report content lives in src/publish, the store in src/store,
 * so a report-only edit (or a file moved between report-only folders) never changes the version,
 * and a copy of the project elsewhere has the same version as this one.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { projectRoot } from './meta.js';

/** Folders (relative to the project root) whose files determine the numbers. */
export const NUMERIC_CODE_DIRS = [
  'src/torch',
  'src/nn',
  'src/data',
  'src/bias',
  'src/train',
  'src/metrics',
  'src/experiment',
  'src/plan',
  'native/src',
] as const;

/** Dependencies whose version can change data or numbers (dataset files, image decoding, config parsing, the addon's build). */
export const NUMERIC_DEPENDENCIES = ['mnist', 'pngjs', 'jpeg-js', 'node-addon-api', 'yaml', 'zod'] as const;

/** The files that make up the code version: every file under {@link NUMERIC_CODE_DIRS}, relative to `root`, sorted. */
export function numericCodeFiles(root: string = projectRoot()): string[] {
  const files: string[] = [];
  const walk = (rel: string) => {
    const abs = path.join(root, rel);
    if (!fs.existsSync(abs)) return;
    const st = fs.statSync(abs);
    if (st.isFile()) files.push(rel);
    else if (st.isDirectory()) for (const e of fs.readdirSync(abs)) walk(`${rel}/${e}`);
  };
  for (const d of NUMERIC_CODE_DIRS) walk(d);
  return files.sort();
}

const memo = new Map<string, string>();

/**
 * The code version (sha256 hex) of the project at `root` (default this project). Memoised per
 * process: a long run keeps the version it started with even if files change meanwhile.
 *
 * @example codeVersion().slice(0, 12) // e.g. '3f9a0c1e77b2', part of every run id
 */
export function codeVersion(root: string = projectRoot()): string {
  const hit = memo.get(root);
  if (hit) return hit;
  const h = createHash('sha256');
  for (const rel of numericCodeFiles(root)) {
    h.update(rel)
      .update('\0')
      .update(fs.readFileSync(path.join(root, rel)))
      .update('\0');
  }
  const lockFile = path.join(root, 'package-lock.json');
  if (fs.existsSync(lockFile)) {
    const lock = JSON.parse(fs.readFileSync(lockFile, 'utf8')) as { packages?: Record<string, { version?: string; integrity?: string }> };
    for (const dep of NUMERIC_DEPENDENCIES) {
      const p = lock.packages?.[`node_modules/${dep}`];
      h.update(`${dep}@${p?.version ?? 'missing'}#${p?.integrity ?? ''}\0`);
    }
  }
  const out = h.digest('hex');
  memo.set(root, out);
  return out;
}
