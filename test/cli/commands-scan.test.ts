import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { AuditReport } from '../../src/audit/audit.js';
import { runScan, scanCommand } from '../../src/cli/commands/scan.js';
import { createModel, saveModel } from '../../src/nn/index.js';
import { liveTensors, manualSeed, saveSafetensors } from '../../src/torch/index.js';
import { call } from '../helpers/cli.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bt-cli-scan-'));
function weights(name: string, seed: number, inChannels = 1): string {
  manualSeed(seed);
  const m = createModel({ arch: 'small-cnn', numClasses: 3, inChannels, layers: [4, 8] });
  const f = path.join(dir, `${name}.safetensors`);
  saveModel(f, m);
  m.dispose();
  return f;
}
const backbone = weights('backbone', 0);
const refs = [1, 2, 3].map((s) => weights(`ref${s}`, s));
const DATA = '{name: mnist, split: test, limit: 40}';
const FAST = ['--images', '12', '--steps', '4', '--class-steps', '2', '--quiet', '--cache', path.join(dir, 'cache')];

test('scan --json prints one object: maskFraction, similarity, verdict, the references position, per class; PNGs and report.json written', async () => {
  const before = liveTensors();
  const out = path.join(dir, 'out');
  const args = [backbone, '--data', DATA, ...refs.flatMap((r) => ['--reference', r]), ...FAST, '--out', out, '--json'];
  const r = await call(scanCommand, runScan, args);
  assert.equal(r.code, 0, r.err);
  const rep = JSON.parse(r.out) as AuditReport;
  assert.ok(rep.maskFraction > 0 && rep.maskFraction < 1, `maskFraction ${rep.maskFraction}`);
  assert.equal(typeof rep.similarity, 'number');
  assert.ok(['suspicious', 'no-evidence', 'inconclusive'].includes(rep.verdict));
  assert.ok(rep.reasoning.length >= 2 && rep.reasoning[0].length > 0);
  assert.equal(rep.references.count, 3);
  assert.deepEqual(rep.references.files, refs);
  assert.equal(rep.references.headless.references.length, 3);
  assert.equal(typeof rep.references.headless.z, 'number');
  assert.equal(typeof rep.references.headless.percentile, 'number');
  // Untrained models put most images in one class; a class with fewer than 2 other images is skipped.
  assert.ok(rep.perClass.length >= 1 && rep.perClass.length <= 3);
  for (const c of rep.perClass) assert.ok(c.position !== null && c.position.references.length >= 1);
  assert.equal(rep.images, 12);
  for (const key of ['headless-mask', 'headless-pattern', 'headless-examples', 'report']) {
    const f = rep.files[key] ?? path.join(out, 'report.json');
    assert.ok(fs.existsSync(f), `${key} written`);
  }
  assert.deepEqual([...fs.readFileSync(rep.files['headless-mask']).subarray(1, 4)], [0x50, 0x4e, 0x47]); // "PNG"
  assert.equal(liveTensors(), before);

  // Same flags and seed → the same numbers.
  const again = JSON.parse((await call(scanCommand, runScan, args)).out) as AuditReport;
  assert.equal(again.maskFraction, rep.maskFraction);
  assert.deepEqual(
    again.perClass.map((c) => c.maskFraction),
    rep.perClass.map((c) => c.maskFraction),
  );
});

test('scan without references is inconclusive and says why; the text report names the verdict', async () => {
  const r = await call(scanCommand, runScan, [backbone, '--data', DATA, ...FAST, '--no-per-class', '--out', path.join(dir, 'o2')]);
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /^verdict: inconclusive/);
  assert.match(r.out, /only 0 clean reference/);
});

test('scan flag errors name the flag, the key or the file at fault', async () => {
  const cases: [string[], RegExp][] = [
    [[backbone], /--data is required/],
    [[backbone, '--data', '{name: mnist, limt: 5}'], /--data: invalid dataset spec: .*limt.*did you mean limit/],
    [[backbone, '--data', 'mnist:validation'], /--data: invalid dataset spec: split/],
    [[weights('rgb', 5, 3), '--data', DATA], /1-channel images but .*rgb\.safetensors expects 3/],
    [[backbone, '--data', DATA, '--similarity', '1.5'], /--similarity must be in \(0, 1\], got 1\.5/],
    [[backbone, '--data', DATA, '--images', '1'], /--images must be at least 2/],
    [[backbone, '--data', DATA, '--mean', '0.5'], /give both --mean and --std/],
    [[backbone, '--data', DATA, '--mean', '0.5,0.5', '--std', '0.2,0.2'], /2 mean \/ 2 std values but the scan images have 1 channel/],
    [[path.join(dir, 'missing.safetensors'), '--data', DATA], /weights file '.*missing\.safetensors' does not exist/],
    [
      [backbone, '--data', DATA, '--reference', weights('rgbref', 6, 3)],
      /--reference .*rgbref\.safetensors is a small-cnn with 3 input channel/,
    ],
  ];
  const plain = path.join(dir, 'plain.safetensors');
  manualSeed(0);
  const m = createModel({ arch: 'small-cnn', numClasses: 3, inChannels: 1 });
  saveSafetensors(plain, m.stateDict());
  m.dispose();
  cases.push([[plain, '--data', DATA], /plain\.safetensors stores no model spec: give --arch/]);
  for (const [argv, re] of cases) {
    const r = await call(scanCommand, runScan, [...FAST, ...argv]);
    assert.notEqual(r.code, 0, `${argv.join(' ')} should fail`);
    assert.match(r.err, re);
  }
});

test('scan --target reports the ASR of the recovered triggers and their random-pixel controls after fixed and full transfer', async () => {
  const r = await call(scanCommand, runScan, [
    backbone,
    '--data',
    DATA,
    ...FAST,
    '--no-per-class',
    '--target',
    '{name: mnist, limit: 64}',
    '--target-test',
    '{name: mnist, split: test, limit: 30}',
    '--target-epochs',
    '1',
    '--out',
    path.join(dir, 'o3'),
  ]);
  assert.equal(r.code, 0, r.err);
  // The text output prints the table and the verdicts; report.json holds the same report.
  const rep = JSON.parse(fs.readFileSync(path.join(dir, 'o3', 'report.json'), 'utf8')) as AuditReport;
  assert.deepEqual(
    rep.transfer?.map((t) => t.mode),
    ['fixed', 'full'],
  );
  for (const t of rep.transfer!) {
    assert.deepEqual(
      t.triggers.map((g) => g.name),
      ['recovered-headless', 'random-control-headless'],
    );
    for (const g of t.triggers) {
      assert.ok(g.asr.denominator <= 30 && g.asr.numerator <= g.asr.denominator);
      if (g.asr.rate !== null) assert.ok(g.asrInterval.lo! <= g.asr.rate && g.asr.rate <= g.asrInterval.hi!);
    }
    // One verdict for the recovered trigger against its control; none but 'inconclusive' on an under-trained model.
    assert.deepEqual(
      t.verdicts.map((v) => [v.trigger, v.control]),
      [['recovered-headless', 'random-control-headless']],
    );
    assert.ok(t.majority > 0 && t.majority <= 1);
    assert.equal(
      /under-trained/.test(t.trainingCheck),
      t.accuracy < t.majority + 0.5 * (1 - t.majority),
      `${t.mode}: ${t.accuracy} vs ${t.majority}`,
    );
    // At most 1 epoch (--target-epochs 1): no plateau can be seen, so the model is flagged as still rising.
    assert.equal(t.epochs, 1);
    assert.match(t.trainingCheck, /still rising after 1 epochs/);
    assert.ok(t.verdicts.every((v) => v.verdict === 'inconclusive'));
    // No references: nothing to compare the recovered trigger with.
    assert.equal(t.references, 0);
    assert.ok(r.out.includes(`${t.mode}, recovered headless: ${t.verdicts[0].verdict} (${t.verdicts[0].reason})`), r.out);
    assert.ok(r.out.includes(`${t.mode}: ${t.trainingCheck}`), r.out);
  }
});

test('scan --target with references judges against their recovered triggers, and a second scan takes their transfers from the cache', async () => {
  const cache = path.join(dir, 'cache-transfer');
  const args = [
    backbone,
    '--data',
    DATA,
    ...refs.flatMap((f) => ['--reference', f]),
    ...FAST,
    '--cache',
    cache,
    '--target',
    '{name: mnist, limit: 64}',
    '--target-test',
    '{name: mnist, split: test, limit: 30}',
    '--target-epochs',
    '3',
    '--out',
    path.join(dir, 'o-transfer-cache'),
    '--json',
  ];
  const first = await call(scanCommand, runScan, args);
  assert.equal(first.code, 0, first.err);
  const a = JSON.parse(first.out) as AuditReport;
  assert.equal(a.references.cached, 0);
  // One transfer entry per reference beside its statistics.
  assert.equal(fs.readdirSync(cache).filter((f) => /^transfer-[0-9a-f]{32}\.json$/.test(f)).length, 3);
  const second = await call(scanCommand, runScan, args);
  assert.equal(second.code, 0, second.err);
  const b = JSON.parse(second.out) as AuditReport;
  assert.equal(b.references.cached, 3);
  for (const [i, t] of b.transfer!.entries()) {
    // The references whose transferred model learned enter the comparison, the same ones both times.
    assert.equal(t.references, a.transfer![i].references);
    assert.deepEqual(
      t.verdicts.map((v) => [v.verdict, v.references?.references]),
      a.transfer![i].verdicts.map((v) => [v.verdict, v.references?.references]),
    );
    // Each verdict with references compares the headless trigger with the 3 references' headless triggers.
    for (const v of t.verdicts) if (t.references > 0) assert.equal(v.references?.references.length, t.references);
  }
});

test('scan --train-references N trains N clean references of the same architecture, saves them and judges against them', async () => {
  const out = path.join(dir, 'o4');
  const r = await call(scanCommand, runScan, [
    backbone,
    '--data',
    DATA,
    ...FAST,
    '--no-per-class',
    '--train-references',
    '3',
    '--reference-data',
    '{name: mnist, limit: 64}',
    '--reference-epochs',
    '1',
    '--out',
    out,
    '--json',
  ]);
  assert.equal(r.code, 0, r.err);
  const rep = JSON.parse(r.out) as AuditReport;
  assert.equal(rep.references.count, 3);
  assert.notEqual(rep.verdict, 'inconclusive');
  for (let i = 1; i <= 3; i++) assert.ok(fs.existsSync(path.join(out, 'references', `reference-${i}.safetensors`)));
  assert.equal(rep.references.files[0], path.join(out, 'references', 'reference-1.safetensors'));
});

test('scan --train-references with --target and no --out transfers each in-memory reference again from its kept weights, leaking no tensor', async () => {
  const before = liveTensors();
  // Without --out the scan writes to ./scan-out: run it from a temporary folder, not the checkout.
  const cwd = process.cwd();
  process.chdir(fs.mkdtempSync(path.join(dir, 'cwd-')));
  const r = await call(scanCommand, runScan, [
    backbone,
    '--data',
    DATA,
    ...FAST,
    '--no-per-class',
    '--train-references',
    '2',
    '--reference-data',
    '{name: mnist, limit: 64}',
    '--reference-epochs',
    '1',
    '--target',
    '{name: mnist, limit: 64}',
    '--target-test',
    '{name: mnist, split: test, limit: 30}',
    '--target-epochs',
    '2',
    '--json',
  ]).finally(() => process.chdir(cwd));
  assert.equal(r.code, 0, r.err);
  const rep = JSON.parse(r.out) as AuditReport;
  assert.equal(rep.references.count, 2);
  assert.deepEqual(
    rep.transfer?.map((t) => t.mode),
    ['fixed', 'full'],
  );
  assert.equal(liveTensors(), before);
});

test('scan names classes by the scan data (every reasoning line and table row), prints progress with an ETA, and -q silences it', async () => {
  const fashion = '{name: fashion-mnist, split: test, classes: [0, 1, 2], limit: 40}';
  const args = [backbone, '--data', fashion, ...refs.flatMap((r) => ['--reference', r]), '--images', '12', '--steps', '30'];
  args.push('--class-steps', '30', '--cache', path.join(dir, 'cache'), '--out', path.join(dir, 'o5'));
  const loud = await call(scanCommand, runScan, args);
  assert.equal(loud.code, 0, loud.err);
  assert.match(loud.err, /^scan: backbone: headless centred-cosine at features 1\/30 \(scan \d+%, ETA \?\)$/m);
  assert.match(loud.err, /scan: backbone: class (T-shirt\/top|Trouser|Pullover) \d+\/30 \(scan \d+%, ETA \d+s\)/);
  const rep = JSON.parse(fs.readFileSync(path.join(dir, 'o5', 'report.json'), 'utf8')) as AuditReport;
  const names = ['T-shirt/top', 'Trouser', 'Pullover'];
  for (const c of rep.perClass) assert.equal(c.name, names[c.cls]);
  if (rep.mostSuspiciousClass !== null) assert.equal(rep.mostSuspiciousClassName, names[rep.mostSuspiciousClass]);
  // Untrained models: some class is left with fewer than 3 references, so the verdict is
  // inconclusive and the reasoning lists no class; where it does, the class is named.
  for (const l of rep.reasoning) assert.doesNotMatch(l, /class \d/, l);
  for (const l of rep.reasoning.filter((x) => x.includes('through the source head')))
    assert.match(l, /^class (T-shirt\/top|Trouser|Pullover) through the source head: smallest mask \d+\.\d\d% of the image/);
  for (const c of rep.perClass) assert.ok(loud.out.includes(`${c.name} `), `table row of ${c.name}:\n${loud.out}`);
  assert.equal(rep.statistic, 'absolute');

  const quiet = await call(scanCommand, runScan, [...args, '-q', '--statistic', 'relative']);
  assert.equal(quiet.code, 0, quiet.err);
  assert.equal(quiet.err, '');
  assert.match(quiet.out, /per class \(verdict by the relative statistic/);
});

test('scan --z-threshold and --unlike-factor set the verdict rule; bad values name the flag', async () => {
  const args = [
    backbone,
    '--data',
    DATA,
    ...refs.flatMap((r) => ['--reference', r]),
    ...FAST,
    '--out',
    path.join(dir, 'out-rule'),
    '--json',
  ];
  const r = await call(scanCommand, runScan, [...args, '--no-per-class', '--z-threshold', '7', '--unlike-factor', '1000']);
  assert.equal(r.code, 0, r.err);
  const rep = JSON.parse(r.out) as AuditReport;
  assert.ok(['suspicious', 'no-evidence'].includes(rep.verdict), `${rep.verdict}: ${rep.reasoning.join(' | ')}`);
  assert.match(rep.reasoning[0], /at least 7 robust standard deviations|and 7 robust standard deviations/);
  const bad = await call(scanCommand, runScan, [...args, '--z-threshold', '0']);
  assert.notEqual(bad.code, 0);
  assert.match(bad.err, /--z-threshold must be a positive number, got 0/);
  const badU = await call(scanCommand, runScan, [...args, '--unlike-factor', '0.5']);
  assert.notEqual(badU.code, 0);
  assert.match(badU.err, /--unlike-factor must be a number >= 1, got 0.5/);
});
