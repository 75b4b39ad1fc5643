/**
 * Charts tell the truth only if their words are readable: every text element of a chart (title,
 * legend entries, labels, ticks) lies inside the SVG's width, legends wrap onto more rows instead
 * of running off the edge, and legend rows do not overlap. Extents use the same width estimate
 * as the layout (src/report/svg/common.ts textWidth, Helvetica-like advance widths).
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { barChart, dotPlot, histogramChart, lineChart } from '../../src/report/index.js';
import { textWidth } from '../../src/report/svg/common.js';

const LONG = [
  'T-shirt crop',
  'neutral grey like T-shirt crop',
  'Sandal class mean, biased source',
  'neutral grey like Sandal class mean, biased source',
  'scratch (no source)',
  'full fine-tuning, clean source, weight decay 5e-4',
];

function unescape(s: string): string {
  return s
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&amp;/g, '&');
}

/** Every horizontal text element: its extent [lo, hi] in px and its text. */
function textExtents(svg: string): { lo: number; hi: number; y: number; text: string }[] {
  const out: { lo: number; hi: number; y: number; text: string }[] = [];
  for (const m of svg.matchAll(/<text([^>]*)>(.*?)<\/text>/gs)) {
    const attrs = m[1];
    if (/transform=/.test(attrs)) continue; // rotated axis labels: vertical extent, not width
    const text = unescape(m[2].replace(/<title>.*?<\/title>/gs, '').replace(/<[^>]+>/g, ''));
    const x = Number(/\sx="([-\d.]+)"/.exec(attrs)?.[1] ?? 0);
    const y = Number(/\sy="([-\d.]+)"/.exec(attrs)?.[1] ?? 0);
    const size = Number(/font-size="([\d.]+)"/.exec(attrs)?.[1] ?? 12);
    const w = textWidth(text, size);
    const anchor = /text-anchor="(\w+)"/.exec(attrs)?.[1] ?? 'start';
    const lo = anchor === 'middle' ? x - w / 2 : anchor === 'end' ? x - w : x;
    out.push({ lo, hi: lo + w, y, text });
  }
  return out;
}

function assertFits(svg: string, what: string): void {
  const width = Number(/<svg[^>]*\swidth="([\d.]+)"/.exec(svg)![1]);
  const texts = textExtents(svg);
  assert.ok(texts.length > 0);
  for (const t of texts) assert.ok(t.lo >= 0 && t.hi <= width, `${what}: "${t.text}" spans [${t.lo}, ${t.hi}] in a ${width} px chart`);
  // Legend entries on one row must not overlap.
  for (const a of texts)
    for (const b of texts)
      if (a !== b && a.y === b.y && a.y < 80 && a.lo < b.lo) assert.ok(a.hi <= b.lo, `${what}: legend "${a.text}" overlaps "${b.text}"`);
}

test('bar chart: a six-entry legend of long names wraps and stays inside the chart', () => {
  const svg = barChart({
    title: 'Prediction-histogram shift under patches (mnist) — every probe and its neutral control',
    yLabel: 'total variation',
    groups: ['fixed', 'full', 'scratch'].map((label) => ({ label, bars: LONG.map((series, i) => ({ series, value: 0.1 * (i + 1) })) })),
  });
  assertFits(svg, 'bar');
  assert.ok(/height="(\d+)"/.exec(svg) && Number(/height="(\d+)"/.exec(svg)![1]) > 360, 'extra legend rows add height');
  for (const name of LONG) assert.ok(svg.includes(name.replace(/&/g, '&amp;')), `legend shows "${name}" whole`);
});

test('line chart, dot plot and histogram: long legends and row labels stay inside the chart', () => {
  assertFits(
    lineChart({
      title: 'ASR vs poisoned source images',
      xLabel: 'poisoned images',
      yLabel: 'ASR',
      series: LONG.map((name, i) => ({ name, points: [1, 10, 100].map((x) => ({ x, y: 0.1 * i, lo: null, hi: null })) })),
    }),
    'line',
  );
  assertFits(
    dotPlot({
      title: 'Per-class accuracy with vs without the attribute',
      xLabel: 'accuracy',
      rows: LONG.map((label) => ({
        label: `full, biased src, ${label}`,
        dots: [
          { series: 'without attribute', value: 0.4 },
          { series: 'with attribute', value: 0.8 },
        ],
      })),
    }),
    'dot',
  );
  assertFits(
    histogramChart({
      title: 'Predicted classes with neutral grey like T-shirt crop',
      classes: ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'],
      series: LONG.slice(0, 4).map((name, i) => ({ name, proportions: Array.from({ length: 10 }, (_, k) => (k === i ? 0.5 : 0.05)) })),
    }),
    'histogram',
  );
});

test('a title too long for the chart is shortened with an ellipsis, and kept whole in the accessible <title>', () => {
  const title = `Predicted classes with ${'a very long probe name '.repeat(6)}`;
  const svg = barChart({ title, yLabel: 'y', width: 320, groups: [{ label: 'a', bars: [{ series: 's', value: 1 }] }] });
  assertFits(svg, 'narrow bar');
  assert.ok(svg.includes(`<title>${title}</title>`));
  assert.match(svg, /…<\/text>/);
});
