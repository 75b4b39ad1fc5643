/**
 * Charts people can read when they get crowded: round ticks without floating-point noise, x
 * labels thinned when there are more groups than fit, and small multiples instead of more lines
 * than the palette has colours.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MAX_SERIES, panels } from '../../src/publish/report-sweeps.js';
import { PALETTE, barChart, lineChart, niceTicks } from '../../src/report/index.js';

test('ticks are round multiples of their step: no 2.56e-17 beside zero', () => {
  assert.deepEqual(niceTicks(-0.6, 0.4), [-0.6, -0.4, -0.2, 0, 0.2, 0.4]);
  for (const [a, b] of [
    [-0.6, 0.4],
    [-0.9, 0.3],
    [-1.3, 0.7],
    [-0.07, 0.31],
  ])
    for (const t of niceTicks(a, b)) assert.ok(t === 0 || Math.abs(t) >= 1e-6, `tick ${t} of [${a}, ${b}]`);
  const svg = barChart({
    title: 'gap',
    yLabel: 'gap',
    groups: [
      {
        label: 'a',
        bars: [
          { series: 's', value: -0.6 },
          { series: 't', value: 0.4 },
        ],
      },
    ],
  });
  assert.doesNotMatch(svg, /e-1\d/);
});

test('40 groups on a 640 px bar chart: rotated labels, thinned so none overlap; every bar keeps its tooltip', () => {
  const groups = Array.from({ length: 40 }, (_, i) => ({ label: `run-${i}-seed0`, bars: [{ series: 'asr', value: i / 40 }] }));
  const svg = barChart({ title: 'ASR per run', yLabel: 'ASR', groups });
  const labels = [
    ...svg.matchAll(/<text x="([\d.]+)" y="[\d.]+" transform="rotate\(-35[^"]*" text-anchor="end" fill="#333">(run-\d+-seed0)<\/text>/g),
  ];
  assert.ok(labels.length >= 10 && labels.length < 40, `${labels.length} labels`);
  const xs = labels.map((m) => Number(m[1]));
  for (let i = 1; i < xs.length; i++) assert.ok(xs[i] - xs[i - 1] >= 16, `labels ${xs[i - 1]} and ${xs[i]} are closer than 16 px`);
  assert.equal(labels[0][2], 'run-0-seed0');
  for (let i = 0; i < 40; i++) assert.ok(svg.includes(`<title>run-${i}-seed0 — asr:`), `tooltip of run-${i}`);
});

test('more lines than colours become small multiples: every panel has at most one line per colour', () => {
  const series = Array.from({ length: 20 }, (_, i) => ({
    name: `mode ${i % 5}, lr=${[0.01, 0.1, 0.3, 1][Math.floor(i / 5)]}`,
    group: `lr=${[0.01, 0.1, 0.3, 1][Math.floor(i / 5)]}`,
    points: [
      { x: 1, y: 0.5, lo: null, hi: null },
      { x: 3, y: 0.4, lo: null, hi: null },
    ],
  }));
  assert.equal(MAX_SERIES, PALETTE.length);
  const ps = panels(series);
  assert.equal(ps.length, 4, 'one panel per lr');
  for (const p of ps) {
    assert.ok(p.length <= MAX_SERIES);
    assert.equal(new Set(p.map((s) => s.group)).size, 1);
    const svg = lineChart({ series: p, title: 't', xLabel: 'epochs', yLabel: 'ASR' });
    const colours = [...svg.matchAll(/<path d="[^"]*" fill="none" stroke="(#[0-9A-Fa-f]{6})"/g)].map((m) => m[1]);
    assert.equal(new Set(colours).size, p.length, 'no two lines share a colour');
  }
  assert.equal(panels(series.slice(0, 8)).length, 1, 'eight lines fit one chart');
});
