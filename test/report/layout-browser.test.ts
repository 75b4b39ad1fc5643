/// <reference lib="dom" />
/**
 * The report as people see it, in Chromium: verdict badges never overlap the claim titles
 * (1024-1920 px and a phone width), example grids are shown at a size where a 5x5 trigger is
 * visible (nearest-neighbour upscaling, not shrunk) and enlarge on click without scripts.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { exampleGridPng, type GridImage } from '../../src/bias/index.js';
import { renderReport, type Finding, type Holds } from '../../src/report/index.js';
import { launchBrowser, recordProblems, type TestBrowser } from '../serve/browser.js';

let browser: TestBrowser;
before(async () => {
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
});

/** A 28x28 grey image with a 5x5 black-and-white checkerboard trigger in the bottom-right corner. */
function triggered(): GridImage {
  const px = new Uint8Array(28 * 28).fill(110);
  for (let y = 21; y < 26; y++) for (let x = 21; x < 26; x++) px[y * 28 + x] = (x + y) % 2 ? 255 : 0;
  return { pixels: px, c: 1, h: 28, w: 28 };
}

function html(): string {
  const holds: Holds[] = ['yes', 'no', 'inconclusive', 'indicative'];
  const findings: Finding[] = holds.map((h) => ({
    claim: `A claim judged '${h}': fixed-feature transfer carries the backdoor more than full fine-tuning, which carries more than scratch.`,
    measured: 'biased 85.7% [72.0, 99.3] (clean accuracy 57.0%) vs clean 14.7% [11.5, 17.9] (clean accuracy 54.3%)',
    holds: h,
    reason: 'intervals over 5 seeds are disjoint',
  }));
  const row = { label: 'biased source', images: Array.from({ length: 8 }, triggered) };
  return renderReport({
    title: 'Layout check',
    generatedAt: '2026-01-01T00:00:00Z',
    banner: { title: 'Smoke test: not a measurement.', text: 'Most target models are under-trained.' },
    sections: [
      {
        id: 'backdoor',
        title: 'Backdoor',
        findings,
        images: [{ png: exampleGridPng([row, { ...row, label: 'clean source' }], { scale: 3 }), caption: 'Source images.' }],
      },
    ],
  });
}

test('verdict badges stay beside (or above) their claim titles from 390 to 1920 px wide, never over them', async () => {
  const page = await browser.context.newPage();
  const problems = recordProblems(page);
  await page.setContent(html());
  // At the default font size and a larger one (a user's font setting, or wider system fonts):
  // a column of fixed pixels cannot hold a badge whose text grows with the font.
  for (const [width, font] of [1024, 1280, 1440, 1920, 390].flatMap((w) => [16, 20].map((f) => [w, f] as const))) {
    await page.setViewportSize({ width, height: 900 });
    await page.evaluate((px) => (document.documentElement.style.fontSize = `${px}px`), font);
    // (No named functions inside the page callback: the test runner's transpiler would wrap them in a helper the page lacks.)
    // The badge's extent is that of its box or of its text, whichever is larger (nowrap text can overflow its box).
    const rects = await page.$$eval('.finding', (els) =>
      els.map((el) =>
        [el.querySelector('.badge')!, el.querySelector('.claim')!, el].map((x, k) => {
          const b = x.getBoundingClientRect();
          const range = document.createRange();
          range.selectNodeContents(x);
          const t = k === 0 ? range.getBoundingClientRect() : b;
          return {
            left: Math.min(b.left, t.left),
            right: Math.max(b.right, t.right),
            top: Math.min(b.top, t.top),
            bottom: Math.max(b.bottom, t.bottom),
          };
        }),
      ),
    );
    const boxes = rects.map(([badge, claim, box]) => ({ badge, claim, box }));
    assert.equal(boxes.length, 4);
    for (const [i, { badge, claim, box }] of boxes.entries()) {
      const apart = badge.right <= claim.left + 0.5 || badge.bottom <= claim.top + 0.5;
      assert.ok(apart, `at ${width} px (font ${font} px), badge ${i} ${JSON.stringify(badge)} overlaps its claim ${JSON.stringify(claim)}`);
      assert.ok(
        badge.right <= box.right + 0.5 && badge.left >= box.left - 0.5,
        `at ${width} px (font ${font} px), badge ${i} sticks out of its finding`,
      );
    }
  }
  assert.deepEqual(problems, []);
  await page.close();
});

test('example grids show each image pixel as at least 3 screen pixels, pixelated, and enlarge on click', async () => {
  const page = await browser.context.newPage();
  await page.setViewportSize({ width: 1024, height: 800 });
  await page.setContent(html());
  const img = page.locator('.images img').first();
  const facts = await img.evaluate((el: HTMLImageElement) => ({
    natural: el.naturalWidth,
    shown: el.getBoundingClientRect().width,
    rendering: getComputedStyle(el).imageRendering,
  }));
  // The grid is drawn at 3x (a 5x5 trigger is 15 px); the page must not shrink it.
  assert.ok(facts.shown >= facts.natural - 1, `shown ${facts.shown} px of ${facts.natural}`);
  assert.ok(['pixelated', 'crisp-edges'].includes(facts.rendering), facts.rendering);
  await img.click();
  await page.waitForURL(/#backdoor-image-0$/, { timeout: 5000 });
  const big = await img.evaluate((el) => el.getBoundingClientRect().width);
  assert.ok(big >= 1.2 * facts.shown, `enlarged to ${big} px from ${facts.shown}`);
  assert.ok(big <= 1024, 'fits the window');
  // A click beside the image closes it.
  await page.mouse.click(5, 795);
  await page.waitForURL(/#backdoor$/, { timeout: 5000 });
  const back = await img.evaluate((el) => el.getBoundingClientRect().width);
  assert.ok(Math.abs(back - facts.shown) < 1, `back to ${back} px`);
  await page.close();
});

test('the smoke-test banner is shown at the top of the report', async () => {
  const page = await browser.context.newPage();
  await page.setContent(html());
  const banner = page.locator('header .banner[role=alert]');
  assert.match((await banner.textContent()) ?? '', /^Smoke test: not a measurement\. Most target models are under-trained\.$/);
  assert.ok(await banner.isVisible());
  await page.close();
});
