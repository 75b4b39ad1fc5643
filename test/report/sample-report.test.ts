import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { writeReport } from '../../src/report/index.js';
import { sampleReport } from './sample.js';
import { assertWellFormed } from './wellFormed.js';

test('a full sample report built from synthetic metrics is written, self-contained and well-formed', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bt-sample-report-'));
  const report = sampleReport(50);
  const file = writeReport(path.join(dir, 'report.html'), report);
  const html = fs.readFileSync(file, 'utf8');
  assertWellFormed(html, 'sample report');
  assert.equal((html.match(/<svg/g) ?? []).length, 4);
  assert.equal((html.match(/<img src="data:image\/png;base64,/g) ?? []).length, 1);
  assert.doesNotMatch(html, /(src|href)="https?:/);
  assert.doesNotMatch(html, /NaN|Infinity/);
  // the ASR table's numbers are the ones in the bar tooltips
  const table = report.sections[0].tables![0];
  for (const row of table.rows) {
    const asr = row[2] as number;
    assert.ok(html.includes(`${row[0]} — ${row[1]}: ${Number(asr.toPrecision(6))} [`), `tooltip for ${row[0]} / ${row[1]}`);
  }
  assert.ok(html.length < 200_000, `report is ${html.length} bytes`);
});
