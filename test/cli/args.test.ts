import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CliError, SET_FLAG, defineCommand } from '../../src/cli/args.js';
import { parseCommandLine } from '../../src/cli/tree.js';
import { renderHelp } from '../../src/cli/help.js';

const run = defineCommand({
  name: 'run',
  summary: 'Run an experiment.',
  description: 'Trains the source models, transfers them and evaluates.',
  positionals: [{ name: 'config', description: 'Experiment YAML or JSON file.' }],
  flags: [
    { name: 'out', short: 'o', type: 'string', description: 'Results folder.', default: 'results', valueName: 'dir' },
    { name: 'threads', type: 'number', description: 'libtorch threads per process.' },
    { name: 'dry-run', type: 'boolean', description: 'Only print the planned runs.' },
    { name: 'device', type: 'string', description: 'Where to compute.', choices: ['cpu', 'cuda'], default: 'cpu' },
    SET_FLAG,
  ],
  examples: ['run experiments/example.yaml --set seeds=[0]'],
});
const report = defineCommand({
  name: 'report',
  summary: 'Write reports.',
  positionals: [{ name: 'runs', description: 'Run ids.', variadic: true, required: false }],
  flags: [{ name: 'format', type: 'string', description: 'Output format.', default: 'html' }],
});
const commands = [run, report] as const;

test('parses typed flags, defaults, repeated --set and positionals', () => {
  const r = parseCommandLine(
    ['run', 'exp.yaml', '--threads', '4', '--dry-run', '--set', 'seeds=[0]', '--set=model.arch=small-cnn', '-o', 'out/x'],
    commands,
  );
  assert.equal(r.kind, 'command');
  if (r.kind !== 'command' || r.command !== 'run') return;
  const threads: number | undefined = r.flags.threads; // compile-time: typed as number
  assert.equal(threads, 4);
  assert.equal(r.flags['dry-run'], true);
  assert.equal(r.flags.out, 'out/x');
  assert.equal(r.flags.device, 'cpu');
  assert.deepEqual(r.flags.set, ['seeds=[0]', 'model.arch=small-cnn']);
  assert.equal(r.positionals.config, 'exp.yaml');
});

test('absent flags take their defaults; booleans false and lists empty', () => {
  const r = parseCommandLine(['run', 'a.yaml'], commands);
  assert.ok(r.kind === 'command' && r.command === 'run');
  assert.deepEqual(r.flags, { out: 'results', threads: undefined, 'dry-run': false, device: 'cpu', set: [] });
});

test('variadic optional positionals collect the rest', () => {
  const r = parseCommandLine(['report', 'a', 'b', '--format', 'csv'], commands);
  assert.ok(r.kind === 'command' && r.command === 'report');
  assert.deepEqual(r.positionals.runs, ['a', 'b']);
  assert.equal(r.flags.format, 'csv');
});

test('unknown flags are rejected with the flag named and a suggestion', () => {
  assert.throws(
    () => parseCommandLine(['run', 'a.yaml', '--thread', '2'], commands),
    (e: unknown) => {
      assert.ok(e instanceof CliError);
      assert.match(e.message, /unknown flag '--thread'/);
      assert.match(e.message, /did you mean --threads\?/);
      return true;
    },
  );
  assert.throws(() => parseCommandLine(['run', 'a.yaml', '-x'], commands), /unknown flag '-x'/);
});

test('malformed values, choices, missing and extra positionals are errors', () => {
  assert.throws(() => parseCommandLine(['run', 'a.yaml', '--threads', 'two'], commands), /--threads expects a number, got 'two'/);
  assert.throws(
    () => parseCommandLine(['run', 'a.yaml', '--device', 'cdua'], commands),
    /one of cpu, cuda, got 'cdua' \(did you mean cuda\?\)/,
  );
  assert.throws(() => parseCommandLine(['run', 'a.yaml', '--set', 'seeds'], commands), /--set: expected key.path=value, got 'seeds'/);
  assert.throws(() => parseCommandLine(['run', 'a.yaml', '--dry-run=yes'], commands), /--dry-run takes no value/);
  assert.throws(() => parseCommandLine(['run', 'a.yaml', '--out'], commands), /--out needs a value/);
  assert.throws(() => parseCommandLine(['run'], commands), /missing argument <config>/);
  assert.throws(() => parseCommandLine(['run', 'a.yaml', 'b.yaml'], commands), /unexpected argument 'b.yaml'/);
  assert.throws(() => parseCommandLine(['rnu'], commands), /unknown command 'rnu' \(did you mean run\?\)/);
});

test('--help and -h anywhere print usage generated from the definitions', () => {
  for (const argv of [
    ['run', '--help'],
    ['run', 'a.yaml', '-h', '--bogus'],
    ['help', 'run'],
  ]) {
    const r = parseCommandLine(argv, commands);
    assert.equal(r.kind, 'help', argv.join(' '));
    if (r.kind !== 'help') continue;
    assert.match(r.text, /^Usage: bias-transfer run \[options\] <config>/);
    for (const f of run.flags) {
      assert.ok(r.text.includes(f.description), `help lacks the description of --${f.name}`);
      assert.ok(r.text.includes(`--${f.name}`), `help lacks --${f.name}`);
    }
    assert.ok(r.text.includes('Experiment YAML or JSON file.'));
    assert.ok(r.text.includes('default: "results"'));
  }
  const top = parseCommandLine(['--help'], commands, { summary: 'Bias transfer toolkit.' });
  assert.ok(top.kind === 'help');
  assert.match(top.text, /run\s+Run an experiment\./);
  assert.match(top.text, /report\s+Write reports\./);
  assert.equal(renderHelp(report).includes('[runs...]'), true);
});

test('defineCommand rejects bad declarations', () => {
  assert.throws(() => defineCommand({ name: 'x', summary: '', flags: [{ name: 'help', type: 'boolean', description: '' }] }), /built in/);
  assert.throws(
    () =>
      defineCommand({
        name: 'x',
        summary: '',
        flags: [{ name: 'a', type: 'number', description: '', default: 'no' as unknown as number }],
      }),
    /default of --a/,
  );
  assert.throws(
    () =>
      defineCommand({
        name: 'x',
        summary: '',
        flags: [],
        positionals: [
          { name: 'a', description: '', variadic: true },
          { name: 'b', description: '' },
        ],
      }),
    /must be last/,
  );
});
