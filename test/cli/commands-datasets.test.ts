import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PNG } from 'pngjs';
import { program } from '../../src/cli/program.js';
import { parseCommandLine, runCommandLine } from '../../src/cli/tree.js';
import {
  datasetsGroup,
  datasetsInspectCommand,
  datasetsListCommand,
  datasetsShowCommand,
  runDatasetsInspect,
  runDatasetsList,
  runDatasetsShow,
  describeDataset,
  type DatasetReport,
} from '../../src/cli/commands/index.js';
import { gridLayout } from '../../src/bias/index.js';
import { listBuiltinDatasets, type ImageDataset } from '../../src/data/index.js';
import { capture, parse } from '../helpers/cli.js';

const tmp = (): string => fs.mkdtempSync(path.join(os.tmpdir(), 'bt-cli-datasets-'));

/** Writes MNIST-named IDX files: n images of h x w with pixel (i, y, x) = pixel(i, y, x), and labels. */
function writeIdx(dir: string, labels: number[], h: number, w: number, pixel: (i: number, y: number, x: number) => number): Uint8Array {
  const n = labels.length;
  const img = Buffer.alloc(16 + n * h * w);
  img.writeUInt32BE(0x803, 0);
  img.writeUInt32BE(n, 4);
  img.writeUInt32BE(h, 8);
  img.writeUInt32BE(w, 12);
  for (let i = 0; i < n; i++) for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) img[16 + (i * h + y) * w + x] = pixel(i, y, x);
  const lab = Buffer.alloc(8 + n);
  lab.writeUInt32BE(0x801, 0);
  lab.writeUInt32BE(n, 4);
  labels.forEach((l, i) => (lab[8 + i] = l));
  fs.writeFileSync(path.join(dir, 'train-images-idx3-ubyte'), img);
  fs.writeFileSync(path.join(dir, 'train-labels-idx1-ubyte'), lab);
  return new Uint8Array(img.subarray(16));
}

const LABELS = [0, 1, 1, 2, 2, 2, 0, 1, 2];

test('datasets list prints every built-in dataset with its availability, and the path formats', async () => {
  const c = capture();
  const l = parse(datasetsListCommand, []);
  assert.equal(await runDatasetsList(l.flags, l.positionals, c.io), 0);
  for (const d of listBuiltinDatasets()) assert.match(c.out(), new RegExp(`^${d.name}\\s`, 'm'), `${d.name} missing from:\n${c.out()}`);
  const fm = listBuiltinDatasets().find((d) => d.name === 'fashion-mnist')!;
  assert.match(c.out(), new RegExp(`^fashion-mnist\\s+${fm.available ? 'yes' : 'no'}\\s`, 'm'));
  const j = capture();
  const lj = parse(datasetsListCommand, ['--json']);
  assert.equal(await runDatasetsList(lj.flags, lj.positionals, j.io), 0);
  const parsed = JSON.parse(j.out()) as { builtin: { name: string }[]; pathFormats: { name: string }[] };
  assert.deepEqual(
    parsed.builtin.map((d) => d.name),
    listBuiltinDatasets().map((d) => d.name),
  );
  assert.deepEqual(
    parsed.pathFormats.map((p) => p.name),
    ['idx', 'cifar10', 'cifar100', 'folder'],
  );
});

test('datasets inspect on an IDX folder reports counts per class, shape and pixel mean/std', async () => {
  const dir = tmp();
  const pixels = writeIdx(dir, LABELS, 4, 5, (i, y, x) => (i * 13 + y * 5 + x * 7) % 256);
  let sum = 0;
  let sq = 0;
  for (const v of pixels) sum += v;
  const mean = sum / pixels.length;
  for (const v of pixels) sq += (v - mean) ** 2;
  const std = Math.sqrt(sq / pixels.length);

  // Through the command tree, as main.ts calls it: idx finds the MNIST file names in --path.
  const c = capture();
  assert.equal(await runCommandLine(['datasets', 'inspect', 'idx', '--path', dir, '--json'], program, c.io), 0, c.err());
  const rep = JSON.parse(c.out()) as DatasetReport;
  assert.equal(rep.n, LABELS.length);
  assert.deepEqual(rep.shape, { c: 1, h: 4, w: 5 });
  assert.deepEqual(
    rep.classes.slice(0, 3).map((k) => k.count),
    [2, 3, 4],
  );
  assert.ok(rep.classes.slice(3).every((k) => k.count === 0));
  assert.ok(Math.abs(rep.pixelMean[0] - mean / 255) < 1e-9, `mean ${rep.pixelMean[0]} vs ${mean / 255}`);
  assert.ok(Math.abs(rep.pixelStd[0] - std / 255) < 1e-9, `std ${rep.pixelStd[0]} vs ${std / 255}`);

  const t = capture();
  const p = parse(datasetsInspectCommand, ['idx', '--path', dir, '--classes', '2,0']);
  assert.equal(await runDatasetsInspect(p.flags, p.positionals, t.io), 0, t.err());
  assert.match(t.out(), /samples: 6\b/);
  assert.match(t.out(), /^\s*0\s+2\s+4$/m); // label 0 is class '2' with 4 samples after --classes 2,0
  assert.match(t.out(), /^\s*1\s+0\s+2$/m);
});

test('datasets inspect names an unknown dataset and a missing IDX file', async () => {
  const c = capture();
  const p1 = parse(datasetsInspectCommand, ['fashion-mnst']);
  assert.equal(await runDatasetsInspect(p1.flags, p1.positionals, c.io), 2);
  assert.match(c.err(), /unknown dataset 'fashion-mnst' \(did you mean fashion-mnist\?\)/);
  const d = capture();
  const p2 = parse(datasetsInspectCommand, ['idx', '--split', 'test', '--path', tmp()]);
  assert.equal(await runDatasetsInspect(p2.flags, p2.positionals, d.io), 2);
  assert.match(d.err(), /t10k-images-idx3-ubyte/);
});

test('datasets show writes a PNG grid of the expected size, and a trigger adds rows that show it', async () => {
  const dir = tmp();
  writeIdx(dir, LABELS, 6, 6, (i, y, x) => (i * 3 + y + x) % 40); // dark images, so a white trigger shows
  const plain = path.join(dir, 'plain.png');
  const withT = path.join(dir, 'trigger.png');
  const base = ['idx', '--path', dir, '--per-class', '2', '--seed', '1', '--scale', '2', '--classes', '0,1,2'];
  const show = async (extra: string[]): Promise<number> => {
    const p = parse(datasetsShowCommand, [...base, ...extra]);
    const c = capture();
    const code = await runDatasetsShow(p.flags, p.positionals, c.io);
    assert.equal(code, 0, c.err());
    return code;
  };
  await show(['--out', plain]);
  await show(['--out', withT, '--trigger', JSON.stringify({ kind: 'solid', color: 255, size: 2, position: 'bottom-right' })]);

  const img = { pixels: new Uint8Array(36), c: 1, h: 6, w: 6 };
  const rows = (labels: string[]) => labels.map((label) => ({ label, images: [img, img] }));
  const L1 = gridLayout(rows(['0', '1', '2']), { scale: 2 });
  const L2 = gridLayout(rows(['0', '0+T', '1', '1+T', '2', '2+T']), { scale: 2 });
  const p1 = PNG.sync.read(fs.readFileSync(plain));
  const p2 = PNG.sync.read(fs.readFileSync(withT));
  assert.deepEqual([p1.width, p1.height], [L1.width, L1.height]);
  assert.deepEqual([p2.width, p2.height], [L2.width, L2.height]);

  // Bottom-right image pixel of the first example: dark in the clean row, white in the triggered row.
  const at = (p: PNG, L: typeof L2, row: number): number => p.data[4 * ((L.rowY[row] + 11) * p.width + L.x0 + 11)];
  assert.ok(at(p2, L2, 0) < 40, `clean row pixel ${at(p2, L2, 0)}`);
  assert.equal(at(p2, L2, 1), 255);
  assert.equal(at(p1, L1, 0), at(p2, L2, 0), 'the same examples are drawn with and without a trigger');
});

test('datasets show rejects a malformed trigger naming the key, and reads a YAML trigger file', async () => {
  const dir = tmp();
  writeIdx(dir, LABELS, 6, 6, () => 10);
  const out = path.join(dir, 'x.png');
  const show = async (extra: string[]) => {
    const p = parse(datasetsShowCommand, ['idx', '--path', dir, '--per-class', '1', '--scale', '1', '--out', out, ...extra]);
    const c = capture();
    return { code: await runDatasetsShow(p.flags, p.positionals, c.io), ...c };
  };
  const c = await show(['--trigger', '{"kind":"solid","color":255,"size":2,"positon":"center"}']);
  assert.equal(c.code, 2);
  assert.match(c.err(), /trigger/);
  assert.match(c.err(), /positon|position/);
  assert.ok(!fs.existsSync(out));
  const big = await show(['--trigger', '{"kind":"solid","color":255,"size":9,"position":"center"}']);
  assert.equal(big.code, 2);
  assert.match(big.err(), /larger than the 6x6 image/);
  const zero = await show(['--per-class', '0']);
  assert.equal(zero.code, 2);
  assert.match(zero.err(), /--per-class must be an integer >= 1, got 0/);

  const yamlFile = path.join(dir, 'trigger.yaml');
  fs.writeFileSync(yamlFile, 'trigger:\n  kind: checkerboard\n  size: 3\n  position: top-left\n');
  const y = await show(['--trigger-file', yamlFile]);
  assert.equal(y.code, 0, y.err());
  assert.match(y.out(), /each also with the trigger/);
  const png = PNG.sync.read(fs.readFileSync(out));
  const L = gridLayout(
    ['0', '0+T', '1', '1+T', '2', '2+T'].map((label) => ({ label, images: [{ pixels: new Uint8Array(36), c: 1, h: 6, w: 6 }] })),
    { scale: 1 },
  );
  assert.equal(png.height, L.height);
});

test('datasets commands parse with typed defaults', () => {
  const r = parseCommandLine(['datasets', 'show', 'mnist'], [datasetsGroup]);
  assert.ok(r.kind === 'command' && r.command === 'show');
  assert.equal(r.flags['per-class'], 4);
  assert.equal(r.flags.out, 'examples.png');
  assert.equal(r.flags.split, 'train');
  assert.throws(() => parseCommandLine(['datasets-inspect', 'mnist', '--split', 'val'], [datasetsGroup]), /one of train, test/);
});

test("datasets inspect's pixel statistics are bit-identical to the per-pixel sums it computed before (now the experiments' channelStats)", () => {
  const c = 3;
  const h = 5;
  const w = 7;
  const n = 37;
  const images = new Uint8Array(n * c * h * w);
  let state = 12345;
  for (let i = 0; i < images.length; i++) images[i] = (state = (Math.imul(state, 1103515245) + 12345) >>> 0) >>> 24;
  const ds = { name: 'random', n, c, h, w, images, labels: new Int32Array(n), classes: ['a'] } as ImageDataset;
  // The summation datasets inspect had of its own: every pixel in order, then mean and population std.
  const plane = h * w;
  const mean: number[] = [];
  const std: number[] = [];
  for (let k = 0; k < c; k++) {
    let s = 0;
    let s2 = 0;
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < plane; j++) {
        const v = images[(i * c + k) * plane + j];
        s += v;
        s2 += v * v;
      }
    }
    const m = s / (n * plane);
    mean.push(m / 255);
    std.push(Math.sqrt(Math.max(0, s2 / (n * plane) - m * m)) / 255);
  }
  const r = describeDataset(ds);
  assert.deepEqual(r.pixelMean, mean);
  assert.deepEqual(r.pixelStd, std);
  const empty = describeDataset({ ...ds, n: 0, images: new Uint8Array(0), labels: new Int32Array(0) });
  assert.deepEqual(
    [empty.pixelMean, empty.pixelStd],
    [
      [0, 0, 0],
      [0, 0, 0],
    ],
  );
});
