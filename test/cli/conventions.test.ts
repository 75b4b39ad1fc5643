/**
 * CLI conventions a newcomer expects: --version, help without repeated notes and with pointers to
 * model import, short flags, a real-looking run id in examples, and errors that name what the
 * user typed (the flag, the --set, the config key, the file).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseCommandArgs } from '../../src/cli/args.js';
import { modelExportCommand, modelSummaryCommand, runModelSummary } from '../../src/cli/commands/model.js';
import { runsMetricsCommand } from '../../src/cli/commands/runs.js';
import { scanCommand } from '../../src/cli/commands/scan.js';
import { reportCommand, runCommand, runRun } from '../../src/cli/experiment.js';
import { program } from '../../src/cli/program.js';
import { commandsOf, resolveCommandLine } from '../../src/cli/tree.js';
import { renderHelp } from '../../src/cli/help.js';
import { ConfigError, loadConfig, parseConfigText } from '../../src/experiment/config/index.js';
import { inputDigests } from '../../src/experiment/inputs.js';
import { codeOfRunId } from '../../src/experiment/run-ids.js';
import { openStore } from '../../src/store/index.js';
import { ResultsReader } from '../../src/store/reader.js';
import { saveSafetensors, zeros } from '../../src/torch/index.js';
import { call } from '../helpers/cli.js';

const tmp = (): string => fs.mkdtempSync(path.join(os.tmpdir(), 'bt-cli-conv-'));

test('--version and -V print the package version (from package.json, through the real entry point)', () => {
  const version = (JSON.parse(fs.readFileSync('package.json', 'utf8')) as { version: string }).version;
  const r = resolveCommandLine(['--version'], program, { version: '9.9.9' });
  assert.deepEqual(r, { kind: 'help', text: 'bias-transfer 9.9.9' });
  const p = spawnSync(process.execPath, ['bin/bias-transfer.js', '-V'], { encoding: 'utf8' });
  assert.equal(p.status, 0, p.stderr);
  assert.equal(p.stdout.trim(), `bias-transfer ${version}`);
});

test('no help says "(repeatable)" twice; model summary and model export point at model import', () => {
  for (const { command, path } of commandsOf(program)) {
    const help = renderHelp(command, { path });
    assert.doesNotMatch(help, /repeatable\)?\.? \(repeatable/, `${[...path, command.name].join(' ')} --help repeats "repeatable"`);
  }
  assert.match(renderHelp(modelSummaryCommand), /model import/);
  assert.match(renderHelp(modelExportCommand), /model import/);
});

test('short flags: scan -q, report -o', () => {
  const s = parseCommandArgs(['w.safetensors', '--data', 'mnist', '-q'], scanCommand);
  assert.equal(s.kind === 'command' && s.flags.quiet, true);
  const r = parseCommandArgs(['c.yaml', '-o', 'out'], reportCommand);
  assert.equal(r.kind === 'command' && r.flags.out, 'out');
});

test("runs metrics's example id has a real run id's shape (name, sweep point, seed, 8 hex, -c and 12 hex)", () => {
  const id = /runs metrics (\S+)/.exec(runsMetricsCommand.examples![0])![1];
  assert.match(id, /^[a-z0-9_-]+-(?:[A-Za-z0-9._=,+-]+-)?seed\d+-[0-9a-f]{8}-c[0-9a-f]{12}$/);
  assert.notEqual(codeOfRunId(id), null);
});

test('--threads 0 is reported as --threads, not as the --set it becomes', async () => {
  await assert.rejects(
    call(runCommand, runRun, ['test/experiment/fixtures/tiny-experiment.yaml', '--threads', '0', '--root', tmp()]),
    (e: Error) => {
      assert.equal(e.message, '--threads must be an integer >= 1, got 0');
      return true;
    },
  );
});

test('a --set typo is reported at the --set, not at a line of the file', () => {
  assert.throws(
    () => loadConfig('test/experiment/fixtures/tiny-experiment.yaml', { overrides: ['sourceTrainin.epochs=1'] }),
    (e: Error) => {
      assert.ok(e instanceof ConfigError);
      assert.match(e.message, /--set sourceTrainin\.epochs=1: sourceTrainin: unknown key \(did you mean sourceTraining\?\)/);
      assert.doesNotMatch(e.message, /\.yaml:\d+:\d+/);
      return true;
    },
  );
  // A key that is in the file is still located in the file.
  assert.throws(
    () => loadConfig('test/experiment/fixtures/tiny-experiment.yaml', { overrides: ['sourceTraining.epochs=0'] }),
    /--set sourceTraining\.epochs=0: sourceTraining\.epochs/,
  );
});

test("a missing or empty dataset folder's error names the file and the config key", () => {
  const dir = tmp();
  fs.mkdirSync(path.join(dir, 'empty'));
  const text = fs
    .readFileSync('test/experiment/fixtures/tiny-experiment.yaml', 'utf8')
    .replace('dataset: { name: mnist, split: train, classes: [3, 4], limit: 200 }', 'dataset: { name: folder, path: FOLDER }');
  for (const folder of ['./no-such-folder', './empty']) {
    const loaded = parseConfigText(text.replace('FOLDER', folder), { file: path.join(dir, 'c.yaml') });
    assert.throws(
      () => inputDigests(loaded.config, loaded.dir),
      (e: Error) => {
        assert.ok(e.message.startsWith(path.join(dir, folder)), e.message);
        assert.ok(e.message.endsWith(`(config key targets[0].dataset.path = ${folder})`), e.message);
        return true;
      },
    );
  }
});

test("'file is not a database' names the index file, from the store and from serve's reader", () => {
  const root = tmp();
  const file = path.join(root, 'index.sqlite');
  fs.writeFileSync(file, 'this is not sqlite, just some text long enough to have a header'.repeat(4));
  const check = (e: Error) => {
    assert.ok(e.message.startsWith(`${file}: file is not a database`), e.message);
    return true;
  };
  assert.throws(() => openStore(root), check);
  assert.throws(() => new ResultsReader(root).hasIndex(), check);
});

test('model summary --weights on a raw state dict (no spec) says to use --arch or model import', async () => {
  const file = path.join(tmp(), 'raw.safetensors');
  const w = zeros([2, 2]);
  saveSafetensors(file, { 'fc.weight': w });
  w.dispose();
  const r = await call(modelSummaryCommand, runModelSummary, ['--weights', file]);
  assert.equal(r.code, 2);
  assert.match(r.err, /has no model spec \(a raw state dict/);
  assert.match(r.err, /give --arch/);
  assert.match(r.err, new RegExp(`model import ${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} --arch ARCH`));
});
