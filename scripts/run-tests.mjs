#!/usr/bin/env node
// Runs every test/**/*.test.ts with node's test runner (TypeScript through tsx), one file at a
// time so CPU-heavy training tests do not fight over the two cores. Extra arguments filter files
// by substring: `npm test -- engine data/idx`.
import { spawn } from 'node:child_process';
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

/** Runs node's test runner on `files`, streaming its output; resolves to the exit status and the pass/fail counts. */
function runFiles(files) {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', '--test', '--test-concurrency=1', '--test-reporter=spec', ...files], {
      stdio: ['inherit', 'pipe', 'inherit'],
      env: { ...process.env },
    });
    let out = '';
    child.stdout.on('data', (d) => {
      process.stdout.write(d);
      out += d.toString();
    });
    child.on('close', (code) => {
      const count = (re) => Number((out.match(re) ?? [])[1] ?? 0);
      resolve({ code: code ?? 1, pass: count(/ℹ pass (\d+)/), fail: count(/ℹ fail (\d+)/) });
    });
  });
}

const filters = process.argv.slice(2);
const files = walk('test').filter((f) => filters.length === 0 || filters.some((x) => relative('.', f).includes(x)));
if (files.length === 0) {
  console.error('no test files matched', filters);
  process.exit(1);
}
const r = await runFiles(files);
console.log(`${r.pass} passed, ${r.fail} failed`);
process.exit(r.code);
