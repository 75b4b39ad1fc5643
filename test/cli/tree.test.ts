/**
 * The command tree (src/cli/tree.ts over src/cli/program.ts): `--help` at every level, the
 * dashed spellings of earlier versions as hidden aliases, unknown sub-commands named with the
 * valid ones, and one handler of every group run through the one dispatch.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { CliError, defineCommand } from '../../src/cli/args.js';
import { program } from '../../src/cli/program.js';
import { commandsOf, defineGroup, isGroup, resolveCommandLine, runCommandLine, type CommandGroup } from '../../src/cli/tree.js';
import { openStore } from '../../src/store/index.js';
import { capture } from '../helpers/cli.js';

const tmp = (): string => fs.mkdtempSync(path.join(os.tmpdir(), 'bt-cli-tree-'));
const groups = program.commands.filter(isGroup) as readonly CommandGroup[];

/** The help text argv resolves to (fails when it resolves to a command). */
function helpText(argv: string[]): string {
  const r = resolveCommandLine(argv, program);
  assert.equal(r.kind, 'help', `'${argv.join(' ')}' should give help`);
  return r.kind === 'help' ? r.text : '';
}

test('the program has the groups datasets, model and runs, and every command has a handler', () => {
  assert.deepEqual(
    groups.map((g) => g.name),
    ['datasets', 'model', 'runs'],
  );
  for (const { command, path: words } of commandsOf(program))
    assert.equal(typeof command.run, 'function', `'${[...words, command.name].join(' ')}' has no handler`);
});

test('help at the top lists every command, every group and its sub-commands, and no dashed alias', () => {
  for (const argv of [[], ['--help'], ['-h'], ['help']]) {
    const text = helpText(argv);
    assert.match(text, /^Usage: bias-transfer <command> \[options\]/);
    for (const c of program.commands) assert.match(text, new RegExp(`^  ${c.name} `, 'm'), `top help lacks ${c.name}`);
    for (const g of groups)
      for (const c of g.commands)
        assert.ok(text.includes(`    ${c.name}`) && text.includes(c.summary), `top help lacks ${g.name} ${c.name}`);
    assert.doesNotMatch(text, /runs-list|model-import|datasets-show/);
  }
});

test('help of a group lists its sub-commands with their summaries: runs --help, runs, help runs', () => {
  for (const g of groups) {
    for (const argv of [[g.name, '--help'], [g.name, '-h'], [g.name], ['help', g.name]]) {
      const text = helpText(argv);
      assert.match(text, new RegExp(`^Usage: bias-transfer ${g.name} <command> \\[options\\]`), argv.join(' '));
      for (const c of g.commands) assert.ok(text.includes(`  ${c.name}`) && text.includes(c.summary), `${argv.join(' ')} lacks ${c.name}`);
      assert.ok(text.includes(`Run 'bias-transfer ${g.name} <command> --help'`));
    }
  }
  assert.doesNotMatch(helpText(['runs', '--help']), /--root/, 'a group has no options of its own to show');
});

test("help of a sub-command shows that command's flags, under its spaced name, from every spelling", () => {
  for (const { command, path: words } of commandsOf(program)) {
    const spaced = [...words, command.name];
    const spellings = [[...spaced, '--help'], ['help', ...spaced], ...(words.length > 0 ? [[spaced.join('-'), '--help']] : [])];
    for (const argv of spellings) {
      const text = helpText(argv);
      assert.match(text, new RegExp(`^Usage: bias-transfer ${spaced.join(' ')} \\[options\\]`), argv.join(' '));
      for (const f of command.flags) assert.ok(text.includes(`--${f.name}`), `${argv.join(' ')} lacks --${f.name}`);
    }
  }
  assert.match(helpText(['runs', 'list', '--help']), /--status <value>\s+Only runs with this status/);
});

test('the dashed spelling of every nested command parses exactly like its spaced one (a hidden alias)', () => {
  const argv = { list: [], metrics: ['some-run-id'], inspect: ['mnist'], show: ['mnist'], import: ['f.safetensors'] };
  for (const g of groups) {
    for (const c of g.commands) {
      const rest = argv[c.name as keyof typeof argv] ?? [];
      const spaced = resolveCommandLine([g.name, c.name, ...rest], program);
      const dashed = resolveCommandLine([`${g.name}-${c.name}`, ...rest], program);
      assert.ok(spaced.kind === 'command' && dashed.kind === 'command');
      assert.equal(dashed.command, spaced.command, `${g.name}-${c.name}`);
      assert.deepEqual(dashed.path, [g.name]);
      assert.deepEqual(dashed.flags, spaced.flags);
      assert.deepEqual(dashed.positionals, spaced.positionals);
    }
  }
  // Flags keep their meaning under both spellings.
  const r = resolveCommandLine(['runs-compare', '--metric', 'asr', '--status', 'done', '--json'], program);
  assert.ok(r.kind === 'command');
  assert.deepEqual(r.flags, {
    root: 'runs',
    metric: 'asr',
    name: undefined,
    condition: undefined,
    target: undefined,
    status: 'done',
    json: true,
  });
});

test('an unknown sub-command is an error naming the valid ones, with a did-you-mean when one is close', async () => {
  const message = (argv: string[]) => {
    try {
      resolveCommandLine(argv, program);
    } catch (e) {
      assert.ok(e instanceof CliError, String(e));
      return e.message;
    }
    assert.fail(`'${argv.join(' ')}' did not fail`);
  };
  assert.equal(
    message(['runs', 'lst']),
    "unknown runs command 'lst' (did you mean list?); runs commands: list, metrics, compare (see 'bias-transfer runs --help')",
  );
  assert.equal(
    message(['model', 'frobnicate']),
    "unknown model command 'frobnicate'; model commands: summary, export, import, inspect (see 'bias-transfer model --help')",
  );
  assert.match(message(['rnus', 'list']), /^unknown command 'rnus' \(did you mean runs\?\); commands: run, sweep, .*, runs \(see/);
  assert.match(message(['model-improt', 'x']), /^unknown command 'model-improt' \(did you mean model import\?\)/);
  assert.match(message(['runs', '--json']), /^expected a runs command before '--json'; runs commands: list, metrics, compare/);
  assert.match(message(['runs', 'list', '--bogus']), /unknown flag '--bogus' for 'runs list' \(see 'bias-transfer runs list --help'\)/);
  // Through the dispatch: the message on err, status 2, nothing on out.
  const c = capture();
  assert.equal(await runCommandLine(['datasets', 'shwo'], program, c.io), 2);
  assert.equal(c.out(), '');
  assert.match(c.err(), /^error: unknown datasets command 'shwo' \(did you mean show\?\); datasets commands: list, inspect, show/);
});

test('one handler of every group runs through the dispatch: datasets list, model export + inspect, runs list, schema', async () => {
  const dir = tmp();
  const run = async (argv: string[]) => {
    const c = capture();
    const code = await runCommandLine(argv, program, c.io);
    assert.equal(code, 0, `${argv.join(' ')}: ${c.err()}`);
    return c.out();
  };
  const datasets = JSON.parse(await run(['datasets', 'list', '--json'])) as { builtin: { name: string }[]; pathFormats: unknown[] };
  assert.ok(datasets.builtin.some((d) => d.name === 'mnist'));
  assert.ok(datasets.pathFormats.length > 0);

  const file = path.join(dir, 'tiny.safetensors');
  const wrote = await run([
    'model',
    'export',
    '--arch',
    'resnet-tiny',
    '--classes',
    '3',
    '--in-channels',
    '1',
    '--small-input',
    '--out',
    file,
  ]);
  assert.match(wrote, /wrote .*tiny\.safetensors/);
  const listing = JSON.parse(await run(['model-inspect', file, '--json'])) as { tensors: { name: string; shape: number[] }[] };
  assert.deepEqual(listing.tensors.find((t) => t.name === 'fc.weight')?.shape.slice(0, 1), [3]);

  openStore(dir).close();
  assert.equal(await run(['runs', 'list', '--root', dir]), 'no runs match');
  assert.deepEqual(JSON.parse(await run(['runs-list', '--root', dir, '--json'])), []);

  const schema = JSON.parse(await run(['schema'])) as { type?: string; properties?: Record<string, unknown> };
  assert.ok(schema.properties && 'targets' in schema.properties);

  // A handler's own errors keep their exit codes: a usage error (no index here) is 2.
  const c = capture();
  assert.equal(await runCommandLine(['runs', 'list', '--root', path.join(dir, 'none')], program, c.io), 2);
  assert.match(c.err(), /^error: no results index in/);
});

test('the real entry point: runs --help exits 0 with the sub-commands, runs-list keeps working, a bad sub-command exits 2', () => {
  const cli = (...argv: string[]) => spawnSync(process.execPath, ['bin/bias-transfer.js', ...argv], { encoding: 'utf8' });
  const help = cli('runs', '--help');
  assert.equal(help.status, 0, help.stderr);
  assert.match(help.stdout, /^Usage: bias-transfer runs <command>/);
  const dir = tmp();
  openStore(dir).close();
  const alias = cli('runs-list', '--root', dir, '--json');
  assert.equal(alias.status, 0, alias.stderr);
  assert.deepEqual(JSON.parse(alias.stdout), []);
  const bad = cli('runs', 'lsit');
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /unknown runs command 'lsit' \(did you mean list\?\)/);
});

test('defineGroup refuses an empty group, a name twice, and a name that is also a dashed alias', () => {
  const leaf = (name: string) => defineCommand({ name, summary: '', flags: [] });
  assert.throws(() => defineGroup({ name: 'g', summary: '', commands: [] }), /has no commands/);
  assert.throws(() => defineGroup({ name: 'g', summary: '', commands: [leaf('a'), leaf('a')] }), /'a' is declared twice/);
  const runs = defineGroup({ name: 'runs', summary: '', commands: [leaf('list')] });
  assert.throws(() => defineGroup({ name: 'g', summary: '', commands: [runs, leaf('runs-list')] }), /'runs-list' clashes/);
  assert.throws(() => defineGroup({ name: 'g', summary: '', commands: [leaf('Bad Name')] }), /kebab-case/);
});
