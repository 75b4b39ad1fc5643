import assert from 'node:assert/strict';
import { test } from 'node:test';
import { barChart, dotPlot, histogramChart, lineChart } from '../../src/report/index.js';
import { assertWellFormed, coordinateNumbers } from './wellFormed.js';

function assertFiniteSvg(svg: string, what: string) {
  assert.ok(svg.startsWith('<svg') && svg.endsWith('</svg>'), `${what}: not an <svg> string`);
  assert.doesNotMatch(svg, /NaN|Infinity/, `${what}: NaN or Infinity in the output`);
  const nums = coordinateNumbers(svg);
  assert.ok(nums.length > 0, `${what}: no coordinates found`);
  for (const t of nums) assert.ok(Number.isFinite(Number(t)), `${what}: coordinate ${t} is not finite`);
  assertWellFormed(svg, what);
}

/** Data bars: rects inside a tooltip group (legend swatches and the background are not). */
const rects = (svg: string) => [
  ...svg.matchAll(/<g><title>[^<]*<\/title><rect x="([\d.]+)" y="([\d.]+)" width="([\d.]+)" height="([\d.]+)"/g),
];

test('bar chart tooltips show each exact value and interval, and bar heights are proportional', () => {
  const svg = barChart({
    title: 'ASR by transfer mode',
    yLabel: 'ASR',
    yMax: 1,
    groups: [
      {
        label: 'fixed-feature',
        bars: [
          { series: 'biased source', value: 0.873, lo: 0.81, hi: 0.9 },
          { series: 'clean source', value: 0.4365 },
        ],
      },
    ],
  });
  assertFiniteSvg(svg, 'bar chart');
  assert.match(svg, /<title>fixed-feature — biased source: 0\.873 \[0\.81, 0\.9\]<\/title>/);
  assert.match(svg, /<title>fixed-feature — clean source: 0\.4365<\/title>/);
  assert.match(svg, /<title>ASR by transfer mode<\/title>/);
  assert.match(svg, />biased source</); // legend
  const [a, b] = rects(svg).map((m) => Number(m[4]));
  assert.ok(Math.abs(a / b - 2) < 0.01, `heights ${a} and ${b} should be in ratio 2`);
  assert.equal((svg.match(/<path d="M/g) ?? []).length, 1, 'one error bar (only the first bar has an interval)');
});

test('bar chart with null values or no bars stays finite and marks missing data', () => {
  const nulls = barChart({ title: 't', yLabel: 'y', groups: [{ label: 'a', bars: [{ series: 's', value: null, lo: null, hi: 0.5 }] }] });
  assertFiniteSvg(nulls, 'null bar');
  assert.match(nulls, /n\/a/);
  assert.match(nulls, /<title>a — s: —<\/title>/);
  const empty = barChart({ title: 't', yLabel: 'y', groups: [] });
  assertFiniteSvg(empty, 'empty bar chart');
  assert.match(empty, /no data/);
  const negative = barChart({
    title: 'gap',
    yLabel: 'gap',
    groups: [
      {
        label: 'g',
        bars: [
          { series: 's', value: -0.25 },
          { series: 't', value: 0.5 },
        ],
      },
    ],
  });
  assertFiniteSvg(negative, 'negative bars');
  assert.match(negative, />-0\.4</, 'axis extends below zero');
});

test('chart text is escaped, so a <script> label stays text', () => {
  const evil = '<script>alert("x")</script>';
  const svgs = [
    barChart({ title: evil, yLabel: evil, groups: [{ label: evil, bars: [{ series: evil, value: 1 }] }] }),
    lineChart({ title: evil, xLabel: evil, yLabel: evil, series: [{ name: evil, points: [{ x: 1, y: 1 }] }] }),
    histogramChart({ title: evil, classes: [evil], series: [{ name: evil, proportions: [1] }] }),
    dotPlot({ title: evil, xLabel: evil, rows: [{ label: evil, dots: [{ series: evil, value: 1 }] }] }),
  ];
  for (const svg of svgs) {
    assert.doesNotMatch(svg, /<script/);
    assert.match(svg, /&lt;script&gt;alert\(&quot;x&quot;\)&lt;\/script&gt;/);
    assertWellFormed(svg, 'escaped chart');
  }
});

test('line chart shades intervals, breaks at missing points and puts exact numbers in tooltips', () => {
  const svg = lineChart({
    title: 'ASR vs poisoned images',
    xLabel: 'poisoned',
    yLabel: 'ASR',
    logX: true,
    series: [
      {
        name: 'biased',
        points: [
          { x: 10, y: 0.2, lo: 0.1, hi: 0.3 },
          { x: 100, y: 0.5, lo: 0.4, hi: 0.6 },
          { x: 1000, y: null },
          { x: 3000, y: 0.9 },
        ],
      },
      {
        name: 'clean',
        points: [
          { x: 0, y: 0.1 },
          { x: 10, y: 0.05 },
        ],
      },
    ],
  });
  assertFiniteSvg(svg, 'line chart');
  assert.equal((svg.match(/<polygon/g) ?? []).length, 1, 'one shaded band');
  const biasedPath = svg.match(/<path d="([^"]+)" fill="none" stroke="#0072B2"/)![1];
  assert.equal((biasedPath.match(/M/g) ?? []).length, 2, 'line restarts after the null point');
  assert.match(svg, /<title>biased: poisoned = 100, ASR = 0\.5 \[0\.4, 0\.6\]<\/title>/);
  assert.doesNotMatch(svg, /poisoned = 0,/, 'x = 0 is dropped on a log axis');
  assert.match(svg, />1000</, 'log ticks at powers of ten');
});

test('line, histogram and dot charts stay finite with empty or all-null input', () => {
  const cases = {
    'no series': lineChart({ title: 't', xLabel: 'x', yLabel: 'y', series: [] }),
    'empty series': lineChart({ title: 't', xLabel: 'x', yLabel: 'y', logX: true, series: [{ name: 'a', points: [] }] }),
    'all-null line': lineChart({
      title: 't',
      xLabel: 'x',
      yLabel: 'y',
      series: [
        {
          name: 'a',
          points: [
            { x: 1, y: null },
            { x: 2, y: null },
          ],
        },
      ],
    }),
    'single point': lineChart({ title: 't', xLabel: 'x', yLabel: 'y', logX: true, series: [{ name: 'a', points: [{ x: 5, y: 0 }] }] }),
    'empty histogram': histogramChart({ title: 't', classes: ['a', 'b'], series: [{ name: 's', proportions: null }] }),
    'no rows': dotPlot({ title: 't', xLabel: 'x', rows: [] }),
    'zero-height bar axis': barChart({
      title: 't',
      yLabel: 'y',
      yMin: 0,
      yMax: 0,
      groups: [{ label: 'a', bars: [{ series: 's', value: 0, lo: 0, hi: 0 }] }],
    }),
    'zero-height line axis': lineChart({
      title: 't',
      xLabel: 'x',
      yLabel: 'y',
      yMin: 0.5,
      yMax: 0.5,
      series: [{ name: 'a', points: [{ x: 1, y: 0.5 }] }],
    }),
    'zero-width dot axis': dotPlot({
      title: 't',
      xLabel: 'x',
      xMin: 1,
      xMax: 1,
      rows: [{ label: 'c', dots: [{ series: 'a', value: 1 }] }],
    }),
    'null dots': dotPlot({ title: 't', xLabel: 'x', rows: [{ label: 'c', dots: [{ series: 'with', value: null }] }] }),
  };
  for (const [what, svg] of Object.entries(cases)) assertFiniteSvg(svg, what);
});

test('histogram chart has one bar per class and series, and rejects a wrong-length series', () => {
  const svg = histogramChart({
    title: 'Predicted classes',
    classes: ['cat', 'dog', 'ship'],
    series: [
      { name: 'transferred', proportions: [0.7, 0.2, 0.1] },
      { name: 'scratch', proportions: [0.3, 0.3, 0.4] },
    ],
  });
  assertFiniteSvg(svg, 'histogram');
  assert.equal(rects(svg).length, 6);
  assert.match(svg, /<title>ship — scratch: 0\.4<\/title>/);
  assert.throws(
    () => histogramChart({ title: 't', classes: ['a', 'b'], series: [{ name: 'bad', proportions: [1] }] }),
    /series "bad" has 1 proportions for 2 classes/,
  );
});

test('dot plot joins paired values with a gap segment and shows both in tooltips', () => {
  const svg = dotPlot({
    title: 'Subgroups',
    xLabel: 'accuracy',
    xMin: 0,
    xMax: 1,
    rows: [
      {
        label: 'cat',
        dots: [
          { series: 'with attribute', value: 0.9, lo: 0.85, hi: 0.95 },
          { series: 'without attribute', value: 0.6 },
        ],
      },
    ],
  });
  assertFiniteSvg(svg, 'dot plot');
  assert.match(svg, /<title>cat — with attribute: 0\.9 \[0\.85, 0\.95\]<\/title>/);
  assert.match(svg, /<title>cat — without attribute: 0\.6<\/title>/);
  const gap = svg.match(/<line x1="([\d.]+)" x2="([\d.]+)" y1="[\d.]+" y2="[\d.]+" stroke="#999"/)!;
  const circles = [...svg.matchAll(/<circle cx="([\d.]+)"/g)].map((m) => Number(m[1]));
  assert.deepEqual([Number(gap[1]), Number(gap[2])], [Math.min(...circles), Math.max(...circles)]);
});
