/**
 * Every command line the documentation shows (README.md, RESULTS.md, bench/README.md, docs/*.md)
 * is one the CLI accepts, spelt as the command tree spells it: each `bias-transfer ...` or
 * `node bin/bias-transfer.js ...` in a code block or code span resolves in the tree (the command,
 * its flags and arguments parse), and no page uses a hidden dashed alias (`runs-list`) where the
 * tree says `runs list`. The README's walkthrough also runs as written (walkthrough.test.ts).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { program } from '../../src/cli/program.js';
import { commandsOf, resolveCommandLine } from '../../src/cli/tree.js';

const PAGES = ['README.md', 'RESULTS.md', 'bench/README.md', ...fs.readdirSync('docs').map((f) => path.join('docs', f))].filter(
  (f) => f.endsWith('.md') && fs.existsSync(f),
);

/** The code of a page: its fenced blocks (continuation lines joined) and its inline code spans. */
function codeOf(text: string): string[] {
  const blocks = [...text.matchAll(/```[^\n]*\n([\s\S]*?)```/g)].map((m) => m[1].replace(/\\\n\s*/g, ' '));
  const prose = text.replace(/```[^\n]*\n[\s\S]*?```/g, '');
  const spans = [...prose.matchAll(/`([^`\n]+)`/g)].map((m) => m[1]);
  return [...blocks.flatMap((b) => b.split('\n')), ...spans];
}

/**
 * Shell words of a command line up to the end of the command (a comment, pipe, redirection,
 * `&&` or `;`), with single and double quotes removed.
 */
function shellWords(line: string): string[] {
  const words: string[] = [];
  let word: string | undefined;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i];
    if (ch === "'" || ch === '"') {
      const end = line.indexOf(ch, i + 1);
      assert.ok(end > i, `unclosed quote in: ${line}`);
      word = (word ?? '') + line.slice(i + 1, end);
      i = end;
    } else if (/\s/.test(ch)) {
      if (word !== undefined) words.push(word);
      word = undefined;
    } else if (word === undefined && ch === '<' && line.indexOf('>', i) > i) {
      // A placeholder such as `<an empty folder>` stands for one word.
      const end = line.indexOf('>', i);
      word = line.slice(i, end + 1);
      i = end;
    } else if (word === undefined && (ch === '#' || ch === '|' || ch === '>' || ch === ';' || ch === '&')) break;
    else word = (word ?? '') + ch;
  }
  if (word !== undefined) words.push(word);
  return words;
}

/** Every documented invocation: the page and the argv after the program. */
function invocations(): { page: string; argv: string[] }[] {
  const found: { page: string; argv: string[] }[] = [];
  for (const page of PAGES) {
    for (const code of codeOf(fs.readFileSync(page, 'utf8'))) {
      for (const m of code.matchAll(/(?:^|[\s$])(?:node bin\/bias-transfer\.js|npx bias-transfer|bias-transfer)((?:\s+\S.*)?)$/gm)) {
        found.push({ page, argv: shellWords(m[1]) });
      }
    }
  }
  return found;
}

test('every documented bias-transfer command line resolves in the command tree', () => {
  const all = invocations();
  let checked = 0;
  const words = new Set(commandsOf(program).flatMap(({ command, path: p }) => [...p, command.name]));
  for (const { page, argv } of all) {
    if (argv.length === 0 || argv[0] === '...') continue; // `bias-transfer` as a name in prose, `bias-transfer ...`
    let r;
    try {
      // A span that only names a command (`bias-transfer scan` in prose) is checked as a name.
      const names = argv.every((w) => words.has(w));
      r = resolveCommandLine(names ? [...argv, '--help'] : argv, program, { version: '0' });
      if (names)
        assert.match(r.kind === 'help' ? r.text : '', new RegExp(`^Usage: bias-transfer ${argv.join(' ')} `), `${page}: ${argv.join(' ')}`);
    } catch (e) {
      assert.fail(`${page}: 'bias-transfer ${argv.join(' ')}' is not accepted: ${(e as Error).message}`);
    }
    if (r.kind === 'command') {
      const spelt = argv.slice(0, r.path.length + 1);
      assert.deepEqual(spelt, [...r.path, r.command.name], `${page}: 'bias-transfer ${argv.join(' ')}' uses a hidden alias`);
    } else
      assert.ok(
        argv.every((w) => w.startsWith('-') || words.has(w)),
        `${page}: ${argv.join(' ')}`,
      );
    checked++;
  }
  assert.ok(checked >= 30, `checked only ${checked} invocations`);
});

test('no page spells a sub-command with a dash (runs-list) but to name it as an alias: the tree says runs list', () => {
  const dashed = commandsOf(program)
    .filter(({ path: p }) => p.length > 0)
    .map(({ command, path: p }) => [...p, command.name].join('-'));
  const pattern = new RegExp(`(?<![\\w/-])(${dashed.join('|')})(?![\\w-])`);
  for (const page of PAGES) {
    fs.readFileSync(page, 'utf8')
      .split('\n')
      .forEach((line, i) => {
        if (!/\balias\b/.test(line)) assert.doesNotMatch(line, pattern, `${page}:${i + 1}`);
      });
  }
});
