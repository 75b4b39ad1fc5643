#!/usr/bin/env node
// Runs every test/**/*.test.ts with node's test runner (TypeScript through tsx), one file at a
// time so CPU-heavy training tests do not fight over the two cores. Extra arguments filter files
// by substring: `npm test -- engine data/idx`.
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

function walk(dir) {
  const out = [];
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...walk(p));
    else if (name.endsWith('.test.ts')) out.push(p);
  }
  return out;
}
const filters = process.argv.slice(2);
const files = walk('test').filter((f) => filters.length === 0 || filters.some((x) => relative('.', f).includes(x)));
if (files.length === 0) {
  console.error('no test files matched', filters);
  process.exit(1);
}
const r = spawnSync(
  process.execPath,
  ['--import', 'tsx', '--test', '--test-concurrency=1', '--test-reporter=spec', ...files],
  { stdio: 'inherit', env: { ...process.env } },
);
process.exit(r.status ?? 1);
