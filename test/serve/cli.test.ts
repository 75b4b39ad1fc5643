/**
 * The `serve` command: it listens where told, prints its URL, stops cleanly when signalled, and
 * gives clear errors for a results root that does not exist, a bad port and a port in use.
 */
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { CliError } from '../../src/cli/args.js';
import { runServe, serveCommand } from '../../src/cli/serve.js';
import { renderHelp } from '../../src/cli/help.js';
import { capture, parse } from '../helpers/cli.js';

const root = mkdtempSync(join(tmpdir(), 'bt-serve-cli-'));
after(() => rmSync(root, { recursive: true, force: true }));

test('serve listens on 127.0.0.1 by default, prints its URL and stops when signalled', async () => {
  const p = parse(serveCommand, ['--root', root, '--port', '0']);
  assert.equal(p.flags.host, '127.0.0.1');
  const c = capture();
  const stop = new AbortController();
  const done = runServe(p.flags, c.io, stop.signal);
  let url: string | undefined;
  for (let i = 0; i < 200 && !url; i++) {
    url = /at (http:\/\/127\.0\.0\.1:\d+)\//.exec(c.out())?.[1];
    await new Promise((r) => setTimeout(r, 25));
  }
  assert.ok(url, `no URL printed: ${c.out()}`);
  const res = await fetch(`${url}/`);
  assert.equal(res.status, 200);
  assert.match(await res.text(), /No runs yet/);
  stop.abort();
  assert.equal(await done, 0);
  await assert.rejects(fetch(`${url}/`), 'the server is closed');
});

test('serve: a missing root, a bad port and a port in use are clear errors', async () => {
  const c = capture();
  await assert.rejects(
    runServe(parse(serveCommand, ['--root', join(root, 'nope')]).flags, c.io),
    (e: unknown) => e instanceof CliError && /results root '.*nope' does not exist/.test(e.message),
  );
  await assert.rejects(runServe(parse(serveCommand, ['--root', root, '--port', '70000']).flags, c.io), /--port must be at most 65535/);
  await assert.rejects(runServe(parse(serveCommand, ['--root', root, '--port', '1.5']).flags, c.io), /--port must be an integer/);
  const blocker = createServer();
  await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', () => r()));
  const port = (blocker.address() as { port: number }).port;
  try {
    await assert.rejects(
      runServe(parse(serveCommand, ['--root', root, '--port', String(port)]).flags, c.io),
      new RegExp(`port ${port} on 127\\.0\\.0\\.1 is in use`),
    );
  } finally {
    blocker.close();
  }
});

test('serve --help documents every flag with its default', () => {
  const help = renderHelp(serveCommand);
  for (const want of ['--root', 'default: "runs"', '--port', 'default: 8080', '--host', 'default: "127.0.0.1"', '--queue'])
    assert.ok(help.includes(want), want);
});
