/// <reference lib="dom" />
/// <reference lib="dom.iterable" />
/**
 * Test helpers for real-browser checks: Debian's chromium driven by playwright-core (fresh
 * profile, no network features), a recorder of everything that went wrong on a page (console
 * errors, uncaught exceptions, HTTP errors, failed requests), and the checks every page gets:
 * no chart renders empty, no link leads nowhere.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type BrowserContext, type Page } from 'playwright-core';

/** The browser binary (Debian's chromium; `BIAS_TRANSFER_CHROMIUM` to use another). */
export const CHROMIUM = process.env.BIAS_TRANSFER_CHROMIUM ?? '/usr/bin/chromium';

/** The flags the browser runs with: headless, no sandbox (root in CI), and nothing that reaches the network on its own. */
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** A running browser with a fresh profile folder (its --user-data-dir), removed on close. */
export interface TestBrowser {
  readonly context: BrowserContext;
  close(): Promise<void>;
}

/** Starts chromium with a fresh profile; a clear error when it is not installed. */
export async function launchBrowser(): Promise<TestBrowser> {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} not found: install Debian's chromium (bash scripts/setup.sh does)`);
  const profile = mkdtempSync(join(tmpdir(), 'bt-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_ARGS,
    acceptDownloads: true,
    viewport: { width: 1100, height: 900 },
  });
  return {
    context,
    async close() {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/**
 * Records what goes wrong on `page` from now on: console errors, uncaught exceptions, responses
 * with status >= 400 and failed requests (except requests aborted by a navigation, e.g. an open
 * event stream when the page is left).
 */
export function recordProblems(page: Page): string[] {
  const problems: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error') problems.push(`console error on ${page.url()}: ${m.text()}`);
  });
  page.on('pageerror', (e) => problems.push(`uncaught exception on ${page.url()}: ${e.message}`));
  page.on('response', (r) => {
    if (r.status() >= 400) problems.push(`HTTP ${r.status()} for ${r.url()}`);
  });
  page.on('requestfailed', (r) => {
    const why = r.failure()?.errorText ?? '';
    if (why !== 'net::ERR_ABORTED') problems.push(`request failed: ${r.url()} (${why})`);
  });
  return problems;
}

/** What `checkCharts` measured of one chart. */
export interface ChartFacts {
  title: string;
  width: number;
  height: number;
  /** Drawn data marks (bars, dots, points: each carries a tooltip). */
  marks: number;
  /** Marks with a visible area. */
  visible: number;
  noData: boolean;
}

/**
 * Asserts that the page shows at least `min` charts (inline SVG in figures) and that none renders
 * empty: each has a size, data marks, no 'no data' placeholder, and the charts together draw
 * marks with a visible area. Returns what it measured.
 */
export async function checkCharts(page: Page, min = 1): Promise<ChartFacts[]> {
  const facts = await page.$$eval('figure svg', (svgs) =>
    svgs.map((s) => {
      const box = s.getBoundingClientRect();
      const tips = [...s.querySelectorAll('title')].filter((t) => t.parentElement !== s);
      const marks = tips
        .map((t) => t.parentElement!)
        .flatMap((g) => (g.matches('rect, circle, path') ? [g] : [...g.querySelectorAll('rect, circle, path')]));
      const visible = marks.filter((m) => {
        const b = (m as SVGGraphicsElement).getBoundingClientRect();
        return b.width > 0.5 && b.height > 0.5;
      }).length;
      return {
        title: s.querySelector('title')?.textContent ?? '',
        width: box.width,
        height: box.height,
        marks: tips.length,
        visible,
        noData: [...s.querySelectorAll('text')].some((t) => t.textContent === 'no data'),
      };
    }),
  );
  assert.ok(facts.length >= min, `expected at least ${min} chart(s) on ${page.url()}, found ${facts.length}`);
  for (const f of facts) {
    assert.ok(f.width > 50 && f.height > 50, `chart '${f.title}' on ${page.url()} has no size (${f.width}x${f.height})`);
    assert.ok(f.marks > 0 && !f.noData, `chart '${f.title}' on ${page.url()} renders empty`);
  }
  if (facts.length > 0)
    assert.ok(
      facts.some((f) => f.visible > 0),
      `no chart on ${page.url()} draws a visible mark`,
    );
  return facts;
}

/**
 * Asserts that every link on the page leads somewhere: '#id' to an element of the page, http(s)
 * links of the app's origin answer 200, file: links to existing files, data: links carry data.
 * Links to other origins are an error (the app and the reports work offline). Returns the number
 * of links checked.
 */
export async function checkLinks(page: Page): Promise<number> {
  const links = await page.$$eval('a[href]', (as) =>
    as.map((a) => ({ raw: a.getAttribute('href') ?? '', href: (a as HTMLAnchorElement).href })),
  );
  const here = new URL(page.url());
  const seen = new Set<string>();
  for (const { raw, href } of links) {
    if (seen.has(href)) continue;
    seen.add(href);
    if (raw.startsWith('#')) {
      const id = decodeURIComponent(raw.slice(1));
      assert.ok(
        (await page.locator(`[id="${id.replace(/"/g, '\\"')}"]`).count()) === 1,
        `link ${raw} on ${page.url()} points to no element`,
      );
    } else if (raw.startsWith('data:')) assert.match(raw, /^data:[\w/+.-]+(;[\w=-]+)*(;base64)?,./, `empty data: link on ${page.url()}`);
    else {
      const u = new URL(href);
      if (u.protocol === 'file:') assert.ok(existsSync(fileURLToPath(u)), `link ${raw} on ${page.url()}: no such file`);
      else {
        assert.equal(u.origin, here.origin, `link ${raw} on ${page.url()} leaves the app`);
        const r = await page.request.get(href);
        assert.equal(r.status(), 200, `link ${raw} on ${page.url()} answers ${r.status()}`);
        await r.dispose();
      }
    }
  }
  return seen.size;
}
