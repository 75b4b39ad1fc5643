/**
 * The README's walkthrough (your folder + your torchvision checkpoint → import → evaluate → scan →
 * pretrained-source experiment → report) runs as written: the block between the
 * `walkthrough:start` and `walkthrough:end` markers is run by bash, unchanged, in a fresh folder
 * that links the project's bin/, scripts/ and node_modules/, and each step's output is checked.
 * Its sizes are the README's own (small: about 200 images of 32 px per folder).
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, test } from 'node:test';
import { PYTHON } from '../helpers/pytorch.js';

const repo = resolve('.');
const dir = mkdtempSync(join(tmpdir(), 'bt-walkthrough-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** The shell block of the README between the walkthrough markers. */
function walkthroughBlock(): string {
  const readme = readFileSync(join(repo, 'README.md'), 'utf8');
  const m = /<!-- walkthrough:start -->\s*```sh\n([\s\S]*?)```\s*<!-- walkthrough:end -->/.exec(readme);
  assert.ok(m, 'README.md has a walkthrough block between its markers');
  return m[1];
}

const torchMissing =
  spawnSync(PYTHON, ['-c', 'import torch, torchvision, PIL'], { encoding: 'utf8' }).status !== 0 &&
  'python3-torch/torchvision not installed';

test(
  "the README's walkthrough runs as written: import, evaluate, scan, audit, report",
  { skip: torchMissing, timeout: 30 * 60_000 },
  () => {
    for (const d of ['bin', 'scripts', 'node_modules', 'package.json', 'src', 'native']) symlinkSync(join(repo, d), join(dir, d));
    if (existsSync(join(repo, 'dist'))) symlinkSync(join(repo, 'dist'), join(dir, 'dist'));
    const script = join(dir, 'walkthrough.sh');
    writeFileSync(script, `set -euo pipefail\n${walkthroughBlock()}`);
    const r = spawnSync('bash', [script], {
      cwd: dir,
      encoding: 'utf8',
      maxBuffer: 1 << 28,
      env: { ...process.env, OMP_NUM_THREADS: '2' },
    });
    const out = `${r.stdout}\n${r.stderr}`;
    assert.equal(r.status, 0, `the walkthrough failed:\n${out.slice(-4000)}`);
    // 2. import wrote our file; 3. evaluate printed a top-1 accuracy on the test folder's classes.
    assert.ok(existsSync(join(dir, 'demo', 'resnet18-bt.safetensors')));
    assert.match(out, /top-1/);
    for (const c of ['coat', 'dress', 'pullover', 'trouser', 'tshirt']) assert.match(out, new RegExp(c));
    // 4. scan wrote its report with class names.
    const scan = JSON.parse(readFileSync(join(dir, 'demo', 'scan', 'report.json'), 'utf8')) as { verdict?: unknown };
    assert.ok(scan.verdict !== undefined, 'scan report has a verdict');
    // 5-6. the audit wrote its report, with clean accuracy and ASR rows for every mode.
    const report = join(dir, 'demo', 'runs', 'reports', 'audit');
    assert.ok(existsSync(join(report, 'report.html')));
    const rows = readFileSync(join(report, 'aggregate.csv'), 'utf8').split('\n');
    for (const mode of ['fixed', 'full', 'scratch'])
      assert.ok(
        rows.some((l) => l.includes(`,mydata,${mode},clean,accuracy,`)),
        `clean accuracy of ${mode}`,
      );
    assert.ok(
      rows.some((l) => l.includes(',mydata,fixed,triggered,asr,')),
      'ASR of the fixed transfer under the suspected trigger',
    );
    const summary = JSON.parse(readFileSync(join(report, 'report.json'), 'utf8')) as { experiments: { data: Record<string, string> }[] };
    assert.match(summary.experiments[0].data['targets.mydata.test'], /folder at mydata, test split/);
  },
);
