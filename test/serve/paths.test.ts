/**
 * The results root is the only place `serve` reads files from: over real HTTP (raw request
 * paths, not normalised by a client), `..`, percent-encoded dots and slashes, backslashes, NUL
 * bytes, and symlinks that point outside the root are all refused, and the secret file beside
 * the root never comes back; files inside the root (and symlinks that stay inside) are served.
 * Also: a loopback-bound server refuses a foreign Host header (DNS rebinding).
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { HttpError, resolveInRoot, startServer, type RunningServer } from '../../src/serve/index.js';

const base = mkdtempSync(join(tmpdir(), 'bt-serve-paths-'));
const root = join(base, 'root');
const SECRET = 'TOP-SECRET-OUTSIDE-THE-ROOT';
let server: RunningServer;
let port: number;

before(async () => {
  mkdirSync(join(root, 'reports', 'demo'), { recursive: true });
  mkdirSync(join(base, 'outside'), { recursive: true });
  writeFileSync(join(base, 'secret.txt'), SECRET);
  writeFileSync(join(base, 'outside', 'secret.txt'), SECRET);
  writeFileSync(join(root, 'reports', 'demo', 'report.html'), '<!DOCTYPE html><title>demo</title><p>inside the root</p>');
  writeFileSync(join(root, 'reports', 'demo', 'model.bin'), 'not a served type');
  writeFileSync(join(root, '.hidden.txt'), 'hidden');
  symlinkSync(join(base, 'outside'), join(root, 'out-dir'));
  symlinkSync(join(base, 'secret.txt'), join(root, 'secret-link.txt'));
  symlinkSync(join(root, 'reports', 'demo', 'report.html'), join(root, 'inside-link.html'));
  server = await startServer({ root, port: 0 });
  port = Number(new URL(server.url).port);
});
after(async () => {
  await server?.close();
  rmSync(base, { recursive: true, force: true });
});

/** A GET with the path sent exactly as given (node:http does not normalise it). */
function get(path: string, host = `127.0.0.1:${port}`): Promise<{ status: number; body: string; headers: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method: 'GET', headers: { host } }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, headers: res.headers }));
    });
    req.on('error', reject);
    req.end();
  });
}

test('a file inside the root is served as it is, with a no-script CSP', async () => {
  const r = await get('/files/reports/demo/report.html');
  assert.equal(r.status, 200);
  assert.match(r.body, /inside the root/);
  assert.match(String(r.headers['content-type']), /^text\/html/);
  assert.match(String(r.headers['content-security-policy']), /default-src 'none'/);
  const link = await get('/files/inside-link.html');
  assert.equal(link.status, 200, 'a symlink that stays inside the root is fine');
  assert.match(link.body, /inside the root/);
});

const ESCAPES = [
  '/files/../secret.txt',
  '/files/reports/../../secret.txt',
  '/files/..%2Fsecret.txt',
  '/files/..%2fsecret.txt',
  '/files/%2e%2e%2fsecret.txt',
  '/files/%2E%2E%2Fsecret.txt',
  '/files/%2e%2e/secret.txt',
  '/files/reports%2F..%2F..%2Fsecret.txt',
  '/files/reports/%2e%2e/%2e%2e/secret.txt',
  '/files/%252e%252e%252fsecret.txt',
  '/files/..%5csecret.txt',
  '/files/reports\\..\\..\\secret.txt',
  '/files/%00/../secret.txt',
  '/files/out-dir/secret.txt',
  '/files/out-dir%2Fsecret.txt',
  '/files/secret-link.txt',
  '/files//etc/passwd',
  '/files/%2Fetc%2Fpasswd',
];

for (const path of ESCAPES)
  test(`refused, and the secret never comes back: ${path}`, async () => {
    const r = await get(path);
    assert.ok([400, 403, 404].includes(r.status), `${path} answered ${r.status}: ${r.body.slice(0, 200)}`);
    assert.ok(!r.body.includes(SECRET), `${path} leaked the secret`);
    assert.ok(!r.body.includes('root:x:0'), `${path} leaked /etc/passwd`);
  });

test('symlinks out of the root are named as such (403), climbing segments as bad requests (400)', async () => {
  assert.equal((await get('/files/secret-link.txt')).status, 403);
  assert.equal((await get('/files/out-dir/secret.txt')).status, 403);
  assert.equal((await get('/files/%2e%2e%2fsecret.txt')).status, 400);
  assert.equal((await get('/files/..%2Fsecret.txt')).status, 400);
});

test('hidden files and types the app does not serve are 404', async () => {
  assert.equal((await get('/files/.hidden.txt')).status, 404);
  assert.equal((await get('/files/reports/demo/model.bin')).status, 404);
  assert.equal((await get('/files/index.sqlite')).status, 404);
});

test('run ids in URLs are checked by the route schema: no way out through /runs/:id or /api/runs/:id', async () => {
  for (const p of ['/runs/..%2F..%2Fsecret.txt', '/runs/%2e%2e', '/api/runs/..%2Fsecret/metrics', '/api/runs/%2e%2e%2f%2e%2e/events']) {
    const r = await get(p);
    assert.ok([400, 404].includes(r.status), `${p} answered ${r.status}`);
    assert.ok(!r.body.includes(SECRET));
  }
});

test('resolveInRoot throws HttpError with the status and the path at fault', () => {
  const rootReal = realpathSync(root);
  assert.throws(
    () => resolveInRoot(rootReal, '../secret.txt'),
    (e: unknown) => e instanceof HttpError && e.statusCode === 400 && /'\.\.' segment/.test(e.message),
  );
  assert.throws(
    () => resolveInRoot(rootReal, 'secret-link.txt'),
    (e: unknown) => e instanceof HttpError && e.statusCode === 403 && /outside the results root/.test(e.message),
  );
  assert.throws(
    () => resolveInRoot(rootReal, 'reports/none.html'),
    (e: unknown) => e instanceof HttpError && e.statusCode === 404,
  );
  assert.equal(resolveInRoot(rootReal, 'reports/demo/report.html'), join(rootReal, 'reports', 'demo', 'report.html'));
});

test('bound to 127.0.0.1 it answers localhost names only (a rebound DNS name gets 403)', async () => {
  assert.equal((await get('/', 'evil.example:80')).status, 403);
  assert.equal((await get('/', `localhost:${port}`)).status, 200);
  assert.equal((await get('/', `127.0.0.1:${port}`)).status, 200);
});
