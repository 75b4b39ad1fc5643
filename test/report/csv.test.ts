import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { parseCsv, toCsv, writeCsv } from '../../src/report/index.js';

test('toCsv quotes cells holding commas, quotes, line breaks or edge spaces', () => {
  const text = toCsv(
    ['mode', 'asr', 'note'],
    [
      ['fixed, biased', 0.9, 'say "hi"'],
      ['full', null, 'two\nlines'],
      [' padded', -0, undefined],
    ],
  );
  assert.equal(text, 'mode,asr,note\n"fixed, biased",0.9,"say ""hi"""\nfull,,"two\nlines"\n" padded",-0,\n');
});

test('CSV round-trips through the parser, numbers in full precision', () => {
  const columns = ['a,b', 'quote"d', 'plain'];
  const rows = [
    ['x', 1 / 3, 'ünïcødé ✓'],
    ['line\r\nbreak', 1e-12, ''],
    ['"starts with quote', -2.5, ' lead'],
    ['', 123456789.125, 'trail '],
  ];
  const parsed = parseCsv(toCsv(columns, rows));
  assert.deepEqual(parsed, [columns, ...rows.map((r) => r.map(String))]);
  assert.equal(Number(parsed[1][1]), 1 / 3);
});

test('writeCsv creates folders and rejects rows of the wrong width', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bt-csv-'));
  const file = path.join(dir, 'deep', 'data.csv');
  writeCsv(file, ['k', 'v'], [['a', 1]]);
  assert.deepEqual(parseCsv(fs.readFileSync(file, 'utf8')), [
    ['k', 'v'],
    ['a', '1'],
  ]);
  assert.throws(() => toCsv(['k', 'v'], [['a']]), /row 0 has 1 cells, header has 2/);
  assert.throws(() => parseCsv('"open'), /unterminated/);
});
