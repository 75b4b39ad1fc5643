import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { barChart, parseCsv, renderReport, toCsv, writeReport, type Report } from '../../src/report/index.js';
import { samplePng } from './sample.js';
import { assertWellFormed } from './wellFormed.js';

const EVIL = '<script>alert(1)</script>';

function report(): Report {
  const csv = toCsv(['mode', 'asr'], [['fixed', 0.873]]);
  return {
    title: `Report ${EVIL}`,
    subtitle: 'sub & title',
    generatedAt: new Date(Date.UTC(2024, 4, 6, 7, 8, 9)),
    sections: [
      {
        id: 'asr',
        title: `ASR ${EVIL}`,
        paragraphs: [`para ${EVIL}`],
        findings: [
          { claim: `claim ${EVIL}`, measured: 'ASR 0.873', holds: 'yes' },
          { claim: 'second', measured: 'ASR 0.05', holds: 'no' },
          { claim: 'third', measured: 'overlapping intervals', holds: 'inconclusive' },
          { claim: 'fourth', measured: 'ASR 0.9 vs 0.1', holds: 'indicative', reason: 'one seed, indicative: leans the claimed way' },
        ],
        charts: [
          {
            svg: barChart({
              title: 'ASR',
              yLabel: 'ASR',
              groups: [{ label: EVIL, bars: [{ series: 's', value: 0.873, lo: 0.8, hi: 0.91 }] }],
            }),
            caption: `caption ${EVIL}`,
            csvName: 'asr.csv',
            csv,
          },
        ],
        tables: [{ caption: 'counts', columns: ['name', 'value', 'missing'], rows: [[EVIL, 1 / 3, null]] }],
        images: [{ png: samplePng(), caption: 'trigger example' }],
        config: { seed: 1, note: EVIL, arr: Int32Array.of(1, 2), big: 10n },
      },
      { id: 'empty-section', title: 'Nothing here' },
    ],
  };
}

test('the report is self-contained: no external src/href, no scripts, no stylesheet links', () => {
  const html = renderReport(report());
  assert.doesNotMatch(html, /(src|href)\s*=\s*["']?\s*(https?:)?\/\//i);
  assert.doesNotMatch(html, /<script/i);
  assert.doesNotMatch(html, /<link/i);
  assert.match(html, /<style>/);
  assert.match(html, /<img src="data:image\/png;base64,iVBORw0KGgo/);
});

test('all report text is escaped and the document is well-formed', () => {
  const html = renderReport(report());
  assert.equal((html.match(/&lt;script&gt;alert\(1\)&lt;\/script&gt;/g) ?? []).length >= 8, true);
  assertWellFormed(html, 'report');
  assert.match(html, /sub &amp; title/);
});

test('every chart is an inline <svg> whose tooltips show the numbers, and tables format cells', () => {
  const html = renderReport(report());
  assert.equal((html.match(/<svg/g) ?? []).length, 1);
  assert.match(html, /<title>[^<]*: 0\.873 \[0\.8, 0\.91\]<\/title>/);
  assert.match(html, /<td class="num">0\.333333<\/td>/);
  assert.match(html, /<td class="null">—<\/td>/);
  // the chart's data travels inside the file as a data: link that decodes to the CSV
  const href = html.match(/<a href="data:text\/csv;charset=utf-8;base64,([^"]+)" download="asr\.csv">/)![1];
  assert.deepEqual(parseCsv(Buffer.from(href, 'base64').toString('utf8')), [
    ['mode', 'asr'],
    ['fixed', '0.873'],
  ]);
});

test('contents link to every section and findings are marked held / not held / inconclusive', () => {
  const html = renderReport(report());
  assert.match(html, /<a href="#asr">ASR &lt;script/);
  assert.match(html, /<a href="#empty-section">Nothing here<\/a>/);
  assert.match(html, /<section id="empty-section">/);
  assert.match(html, /<div class="finding yes"><span class="badge yes">✓ holds<\/span><div class="claim">claim &lt;script/);
  assert.match(html, /<div class="finding no"><span class="badge no">✗ does not hold/);
  assert.match(html, /<div class="finding inconclusive"><span class="badge inconclusive">\? inconclusive/);
  assert.match(html, /<div class="finding indicative"><span class="badge indicative">◐ one seed, indicative/);
  assert.match(html, /<div class="reason">Verdict: one seed, indicative: leans the claimed way<\/div>/);
  assert.match(html, />1 held<.*>1 did not hold<.*>1 inconclusive<.*>1 one seed, indicative</s);
  assert.match(html, /Generated 2024-05-06T07:08:09\.000Z/);
  assert.match(html, /<details><summary>Configuration<\/summary><pre>\{\n  &quot;seed&quot;: 1,/);
  assert.match(html, /&quot;arr&quot;: \[\n\s+1,\n\s+2\n\s+\]/);
});

test('renderReport rejects bad input, naming the section and item', () => {
  const base = report();
  const withSection = (patch: object) => ({ ...base, sections: [{ ...base.sections[0], ...patch }] });
  assert.throws(() => renderReport({ ...base, sections: [base.sections[1], base.sections[1]] }), /"empty-section" is used twice/);
  assert.throws(() => renderReport({ ...base, sections: [{ id: '1 bad', title: 'x' }] }), /section id "1 bad"/);
  assert.throws(
    () => renderReport(withSection({ charts: [{ svg: '<svg><script>x()</script></svg>', caption: 'c' }] })),
    /section "asr" chart 0 holds a script/,
  );
  assert.throws(() => renderReport(withSection({ charts: [{ svg: '<div/>', caption: 'c' }] })), /chart 0 is not an <svg>/);
  assert.throws(
    () => renderReport(withSection({ charts: [{ svg: '<svg></svg>', caption: 'c', csvName: '../x.csv' }] })),
    /csvName "..\/x.csv"/,
  );
  assert.throws(
    () => renderReport(withSection({ images: [{ png: Buffer.from('GIF89a'), caption: 'gif' }] })),
    /image 0 \("gif"\) is not a PNG/,
  );
  assert.throws(
    () => renderReport(withSection({ tables: [{ caption: 't', columns: ['a', 'b'], rows: [[1]] }] })),
    /table 0 row 0 has 1 cells, expected 2/,
  );
  assert.throws(() => renderReport(withSection({ findings: [{ claim: 'c', measured: 'm', holds: 'maybe' }] })), /holds = "maybe"/);
});

test('writeReport writes the rendered HTML, creating folders; base64 PNG strings work too', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bt-html-'));
  const r = report();
  const b64 = { ...r, sections: [{ ...r.sections[0], images: [{ png: samplePng().toString('base64'), caption: 'as base64' }] }] };
  const file = writeReport(path.join(dir, 'run', 'report.html'), b64);
  const html = fs.readFileSync(file, 'utf8');
  assert.equal(html, renderReport(b64));
  assert.match(html, /alt="as base64"/);
});
