/**
 * The results root as the only place the web app reads files from: a path taken from a URL is
 * resolved inside the root or refused. Refused: `..` and `.` segments (also when they arrive
 * percent-encoded, `%2e%2e%2f`, or with encoded slashes, `%2F`: the router decodes them once and
 * the decoded text is what is checked), backslashes, NUL bytes, hidden names, and anything whose
 * real path (symlinks followed) lies outside the root's real path.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

/** An error with the HTTP status the web app answers it with. */
export class HttpError extends Error {
  constructor(
    /** HTTP status code, e.g. 400, 403, 404. */
    readonly statusCode: number,
    message: string,
  ) {
    super(message);
    this.name = 'HttpError';
  }
}

/** Content types of the files the app serves from the results root, by extension; other files are not served. */
export const SERVED_TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.csv': 'text/csv; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.jsonl': 'application/x-ndjson; charset=utf-8',
  '.log': 'text/plain; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
  '.yaml': 'text/plain; charset=utf-8',
  '.png': 'image/png',
  '.svg': 'image/svg+xml',
};

/** Whether `child` is `parent` or lies below it (both absolute, already normalised). */
export function isInside(parent: string, child: string): boolean {
  const rel = path.relative(parent, child);
  return rel === '' || (rel !== '..' && !rel.startsWith(`..${path.sep}`) && !path.isAbsolute(rel));
}

/**
 * The real path of the root folder `root`; throws naming it when it does not exist or is not a
 * folder.
 */
export function realRoot(root: string): string {
  let real: string;
  try {
    real = fs.realpathSync(root);
  } catch {
    throw new Error(`results root '${root}' does not exist (give --root the folder a sweep writes to)`);
  }
  if (!fs.statSync(real).isDirectory()) throw new Error(`results root '${root}' is not a folder`);
  return real;
}

/**
 * Checks a relative path from a URL (already percent-decoded once, as the router hands it over)
 * and returns its segments. Throws HttpError 400 for `..`/`.` segments, backslashes and NUL bytes,
 * 404 for hidden names (a segment starting with '.').
 *
 * @example urlPathSegments('reports/backdoor/report.html') // ['reports', 'backdoor', 'report.html']
 */
export function urlPathSegments(rel: string): string[] {
  if (rel.includes('\0') || rel.includes('\\')) throw new HttpError(400, `path ${JSON.stringify(rel)} holds a NUL byte or a backslash`);
  const segments = rel.split('/').filter((s) => s !== '');
  for (const s of segments) {
    if (s === '..' || s === '.')
      throw new HttpError(400, `path ${JSON.stringify(rel)} has a '${s}' segment: only paths inside the results root are served`);
    if (s.startsWith('.')) throw new HttpError(404, `hidden file or folder '${s}' is not served`);
  }
  return segments;
}

/**
 * The absolute real path of the file that the URL path `rel` names inside the results root
 * (`rootReal`, from `realRoot`). Throws HttpError: 400 for a path that tries to climb out (see
 * `urlPathSegments`), 403 when it resolves (through a symlink) outside the root, 404 when it does
 * not exist, is not a regular file, or has a type the app does not serve (`SERVED_TYPES`).
 *
 * @example resolveInRoot('/data/runs', 'reports/backdoor/report.html') // '/data/runs/reports/backdoor/report.html'
 */
export function resolveInRoot(rootReal: string, rel: string): string {
  const segments = urlPathSegments(rel);
  if (segments.length === 0) throw new HttpError(404, 'no file named');
  const joined = path.join(rootReal, ...segments);
  if (!isInside(rootReal, joined)) throw new HttpError(400, `path ${JSON.stringify(rel)} is outside the results root`);
  let real: string;
  try {
    real = fs.realpathSync(joined);
  } catch {
    throw new HttpError(404, `no file '${segments.join('/')}' in the results root`);
  }
  if (!isInside(rootReal, real)) throw new HttpError(403, `'${segments.join('/')}' links to a place outside the results root`);
  const st = fs.statSync(real);
  if (!st.isFile()) throw new HttpError(404, `'${segments.join('/')}' is not a file`);
  if (!(path.extname(real).toLowerCase() in SERVED_TYPES)) throw new HttpError(404, `files of type '${path.extname(real)}' are not served`);
  return real;
}

/**
 * Opens a file that `resolveInRoot` returned, refusing a symlink put in its place since (O_NOFOLLOW),
 * and returns its bytes with its content type.
 */
export function readServedFile(real: string): { body: Buffer; type: string } {
  let fd: number;
  try {
    fd = fs.openSync(real, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW);
  } catch {
    throw new HttpError(404, `cannot open '${path.basename(real)}'`);
  }
  try {
    if (!fs.fstatSync(fd).isFile()) throw new HttpError(404, `'${path.basename(real)}' is not a file`);
    return { body: fs.readFileSync(fd), type: SERVED_TYPES[path.extname(real).toLowerCase()] };
  } finally {
    fs.closeSync(fd);
  }
}
