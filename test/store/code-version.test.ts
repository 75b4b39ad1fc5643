/**
 * The code version is the hash of the numeric folders' contents under their relative names, with
 * no list of exceptions: report content, the store and the front ends live outside those folders,
 * so editing or moving them never changes it, and every file inside them counts.
 */
import assert from 'node:assert/strict';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { codeVersion, NUMERIC_CODE_DIRS, numericCodeFiles } from '../../src/store/code-version.js';
import { projectRoot } from '../../src/store/meta.js';

const tmp = mkdtempSync(join(tmpdir(), 'code-version-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

function project(name: string, files: Record<string, string>): string {
  const root = join(tmp, name);
  for (const [rel, text] of Object.entries(files)) {
    mkdirSync(join(root, rel, '..'), { recursive: true });
    writeFileSync(join(root, rel), text);
  }
  return root;
}

test('every file of the numeric folders is hashed, and nothing outside them', () => {
  const root = projectRoot();
  const walk = (rel: string): string[] =>
    statSync(join(root, rel)).isDirectory() ? readdirSync(join(root, rel)).flatMap((e) => walk(`${rel}/${e}`)) : [rel];
  const expected = NUMERIC_CODE_DIRS.flatMap((d) => walk(d)).sort();
  const hashed = numericCodeFiles(root);
  assert.deepEqual(hashed, expected);
  assert.ok(hashed.includes('src/experiment/prepare.ts') && hashed.includes('src/nn/fusion.ts'), 'numeric code is hashed');
  for (const f of hashed) assert.doesNotMatch(f, /^src\/(publish|store|report|cli|serve|queue)\//, `${f} is not numeric code`);
});

test('a report-only edit or move keeps the version; a numeric edit, rename or new file changes it', () => {
  const base = {
    'src/experiment/prepare.ts': 'export const p = 1;',
    'src/publish/report.ts': 'export const r = 1;',
    'src/store/db.ts': 'export const d = 1;',
    'native/src/addon.cc': 'int x;',
  };
  const a = codeVersion(project('a', base));
  const moved = project('moved', { ...base, 'src/publish/report.ts': 'export const r = 2;' });
  renameSync(join(moved, 'src/publish/report.ts'), join(moved, 'src/publish/sections.ts'));
  cpSync(join(moved, 'src/store'), join(moved, 'src/store2'), { recursive: true });
  assert.equal(codeVersion(moved), a, 'report and store edits and moves keep the version');
  assert.notEqual(codeVersion(project('edit', { ...base, 'src/experiment/prepare.ts': 'export const p = 2;' })), a, 'a numeric edit');
  const renamed = project('renamed', base);
  renameSync(join(renamed, 'src/experiment/prepare.ts'), join(renamed, 'src/experiment/prep.ts'));
  assert.notEqual(codeVersion(renamed), a, 'a numeric file renamed');
  assert.notEqual(codeVersion(project('added', { ...base, 'src/experiment/new.ts': '' })), a, 'a new numeric file');
});
