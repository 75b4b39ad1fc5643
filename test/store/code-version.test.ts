/**
 * The code version's hand-kept list of report-only files cannot rot: every entry names a file or
 * folder of this project (a renamed report file would otherwise silently count as numeric code,
 * or a deleted entry hide nothing while looking as if it did), and none of them is among the
 * hashed files. The list goes once the report content leaves src/experiment (issue 17).
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { numericCodeFiles, REPORT_ONLY_FILES } from '../../src/store/code-version.js';
import { projectRoot } from '../../src/store/meta.js';

test('every report-only entry exists and none of them is hashed', () => {
  const root = projectRoot();
  for (const rel of REPORT_ONLY_FILES) assert.ok(existsSync(join(root, rel)), `REPORT_ONLY_FILES names ${rel}, which does not exist`);
  const hashed = numericCodeFiles(root);
  for (const rel of REPORT_ONLY_FILES)
    assert.ok(!hashed.some((f) => f === rel || f.startsWith(`${rel}/`)), `${rel} is report-only but hashed`);
  for (const f of hashed) assert.ok(!/^src\/experiment\/report[^/]*\.ts$/.test(f), `${f}: report files are not hashed`);
  assert.ok(hashed.includes('src/experiment/prepare.ts') && hashed.includes('src/nn/fusion.ts'), 'numeric code is hashed');
});
