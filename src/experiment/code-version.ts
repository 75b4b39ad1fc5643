/**
 * The code version of a result: a hash of exactly the code that determines the numbers, so a
 * stored result is reused only when that code is unchanged — and an edit to the report, the
 * CLI, a server or a queue does not throw results away (the git commit would: other people
 * commit all the time, and uncommitted edits would not count at all).
 *
 * What is hashed (paths relative to the project root, contents byte for byte, sorted by path):
 * - the TypeScript of every layer that computes: src/torch, src/nn, src/data, src/bias,
 *   src/train, src/metrics, src/experiment and src/plan (which jobs a run has and how their
 *   results become its rows), except the files listed in
 *   {@link REPORT_ONLY_FILES} and src/experiment/report*.ts (they only present numbers) and the
 *   store (bookkeeping);
 * - the native addon's source, native/src;
 * - from package-lock.json, the resolved version and integrity of the dependencies that touch
 *   data or numbers ({@link NUMERIC_DEPENDENCIES}).
 * A new file in one of those folders counts unless it is added to the report-only list.
 *
 * Each file counts by its contents under its name relative to the project root, so a copy of the
 * project elsewhere has the same version, and the list of report-only files is checked by
 * test/experiment/code-version.test.ts (every entry exists). The list exists because report
 * content (report*.ts, publish, verdict, probe names) still lives in src/experiment beside the
 * numeric code; once it has a folder of its own (issue 17), the version becomes the hash of the
 * numeric folders' contents with no list.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { projectRoot } from './store/meta.js';

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

/**
 * Files and folders inside {@link NUMERIC_CODE_DIRS} that do not change any number (besides
 * these, every `src/experiment/report*.ts`: report sections only present numbers).
 */
export const REPORT_ONLY_FILES = [
  'src/experiment/report.ts',
  'src/experiment/report-sweeps.ts',
  'src/experiment/publish.ts',
  'src/experiment/verdict.ts',
  'src/experiment/probe-names.ts',
  'src/experiment/code-version.ts',
  'src/experiment/store',
  'src/train/progress.ts',
] as const;

/** Dependencies whose version can change data or numbers (dataset files, image decoding, config parsing, the addon's build). */
export const NUMERIC_DEPENDENCIES = ['mnist', 'pngjs', 'jpeg-js', 'node-addon-api', 'yaml', 'zod'] as const;

/** The files that make up the code version, relative to `root`, sorted. */
export function numericCodeFiles(root: string = projectRoot()): string[] {
  const files: string[] = [];
  const skip = new Set<string>(REPORT_ONLY_FILES);
  const walk = (rel: string) => {
    if (skip.has(rel) || /^src\/experiment\/report[^/]*\.ts$/.test(rel)) return;
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
