/**
 * Takes the README's screenshot of the web app (docs/serve.png): starts `serve` on a results
 * root, opens the comparison view of its first experiment's sweep points in Debian's chromium
 * and saves a PNG.
 *
 *   npx tsx scripts/serve-screenshot.ts runs/reproduce/quick docs/serve.png
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { startServer } from '../src/serve/index.js';
import { CHROMIUM, CHROMIUM_ARGS } from '../test/serve/browser.js';

const [root, out = 'docs/serve.png', path = '/compare'] = process.argv.slice(2);
if (!root) throw new Error('usage: tsx scripts/serve-screenshot.ts ROOT [OUT.png] [URL path]');
const server = await startServer({ root, port: 0 });
const profile = mkdtempSync(join(tmpdir(), 'bt-chromium-'));
const context = await chromium.launchPersistentContext(profile, {
  executablePath: CHROMIUM,
  headless: true,
  args: CHROMIUM_ARGS,
  viewport: { width: 1100, height: 1000 },
});
try {
  const page = await context.newPage();
  await page.goto(`${server.url}${path}`);
  await page.screenshot({ path: out });
  console.log(`${out}: ${server.url}${path}`);
} finally {
  await context.close();
  rmSync(profile, { recursive: true, force: true });
  await server.close();
}
