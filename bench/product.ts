/**
 * Product benchmark: the path users run — src/train's `train` with `datasetSource` (real
 * Fashion-MNIST training images, shuffled, random crop + flip, normalised) on models of the zoo
 * (src/nn `createModel`), and `predict` for evaluation — against the same models and loop in
 * PyTorch 1.13 at its best here (bench/product.py, spawned with /usr/bin/python3: NCHW and
 * channels-last both timed, the faster counts), same thread count on both sides.
 *
 *   npm run bench:product                                  # all three architectures (several minutes)
 *   npm run bench:product -- --arch small-cnn --repeats 1  # one architecture, one round
 *   npm run bench:product -- --no-fused                    # the product without its fused kernels
 *
 * Architectures: small-cnn (widths 16/32/64), resnet-tiny (small-input ResNet, [1,1,1,1], base 16)
 * and resnet18 (small input, width 0.5: base 32), 1x28x28 inputs, 10 classes. Training: batch 128,
 * SGD lr 0.05 momentum 0.9 weight decay 5e-4, `--warmup` untimed then `--steps` timed steps.
 * Evaluation: `predict` in batches of 256 over the test split's first `--infer-steps` batches.
 *
 * The machine is shared: the two sides alternate (which one goes first alternates too), each runs
 * `--repeats` times, and the MEDIANS count. Besides wall-clock images per second, images per
 * CPU-second of the process (user + system time, all threads) are reported: a measure that load
 * on the other cores disturbs less. Both sides run with the same OMP_WAIT_POLICY (PASSIVE, this
 * project's default, unless the caller sets one): libgomp's spinning default collapses under load.
 *
 * The LAST line is JSON: `train_ratio_min` and `infer_ratio_min` (ours / PyTorch-best wall-clock
 * img/s, the minimum over the architectures), the same over CPU time, and every row.
 */
import './env_snapshot.js';
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { channelStats, limit, loadDataset, type BatchSpec, type ImageDataset } from '../src/data/index.js';
import { createModel, fastPaths, type ModelSpec } from '../src/nn/index.js';

import { liveTensors, manualSeed, setNumThreads, getNumThreads } from '../src/torch/index.js';
import { datasetSource, predict } from '../src/train/data.js';
import { train, type BatchSource } from '../src/train/trainer.js';
import { prepareTransfer } from '../src/train/transfer.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const PYTHON = process.env.BIAS_TRANSFER_PYTHON ?? '/usr/bin/python3';

/** The architectures raced, as model specs of the zoo (numClasses/inChannels filled in later). */
export const PRODUCT_ARCHS: Record<string, Omit<ModelSpec, 'numClasses' | 'inChannels'>> = {
  'small-cnn': { arch: 'small-cnn' },
  'resnet-tiny': { arch: 'resnet-tiny', smallInput: true, widthMultiplier: 0.25, layers: [1, 1, 1, 1] },
  resnet18: { arch: 'resnet18', smallInput: true, widthMultiplier: 0.5 },
};

/** One benchmark setting. */
export interface ProductCase {
  arch: keyof typeof PRODUCT_ARCHS;
  batch: number;
  evalBatch: number;
  threads: number;
  warmup: number;
  steps: number;
  inferSteps: number;
  cropPadding: number;
  hflip: boolean;
}

/** Images per second, wall clock and per CPU-second. */
export interface ProductSpeed {
  train_ips: number;
  infer_ips: number;
  train_ips_cpu: number;
  infer_ips_cpu: number;
}

interface Data {
  train: ImageDataset;
  test: ImageDataset;
  norm: { mean: number[]; std: number[] };
}

function cpuSeconds(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
}

/** The first `n` batches of each epoch of `src` (the trainer runs whole epochs). */
function firstBatches(src: BatchSource, n: number): BatchSource {
  return {
    batchesPerEpoch: n,
    *epoch(e, start) {
      let k = start;
      for (const b of src.epoch(e, start)) {
        if (k >= n) {
          b.x.dispose();
          b.y.dispose();
          break;
        }
        k++;
        yield b;
      }
    },
  };
}

/** Times the product path in this process: `train` for training, `predict` for evaluation. */
export async function benchProduct(c: ProductCase, data: Data): Promise<ProductSpeed> {
  setNumThreads(c.threads);
  manualSeed(0);
  const model = createModel({ ...PRODUCT_ARCHS[c.arch], numClasses: 10, inChannels: 1 } as ModelSpec);
  try {
    const spec: BatchSpec = {
      mean: data.norm.mean,
      std: data.norm.std,
      augment: c.cropPadding > 0 || c.hflip ? { cropPadding: c.cropPadding, hflip: c.hflip } : undefined,
    };
    const lr = 0.05;
    const prep = prepareTransfer(model, { mode: 'scratch', lr });
    // Marks: wall and CPU time after each step (the 'step' event comes after the optimizer step).
    const marks: { wall: number; cpu: number }[] = [];
    await train({
      model,
      data: firstBatches(datasetSource(data.train, { batchSize: c.batch, spec, seed: 0 }), c.warmup + c.steps),
      spec: {
        epochs: 1,
        optimizer: { kind: 'sgd', lr, momentum: 0.9, weightDecay: 5e-4 },
        schedule: { kind: 'constant' },
        evalEvery: 0,
      },
      seed: 0,
      paramGroups: prep.paramGroups,
      forward: prep.forward,
      setTraining: prep.setTraining,
      progressInterval: 0,
      onProgress: (e) => {
        if (e.kind === 'step') marks.push({ wall: performance.now(), cpu: cpuSeconds() });
      },
    });
    if (marks.length !== c.warmup + c.steps) throw new Error(`bench: expected ${c.warmup + c.steps} step events, got ${marks.length}`);
    const a = marks[c.warmup - 1];
    const b = marks[marks.length - 1];
    const nTrain = c.batch * c.steps;

    model.eval();
    const evalSpec: BatchSpec = { mean: data.norm.mean, std: data.norm.std };
    predict((x) => model.forward(x), limit(data.test, c.evalBatch * c.warmup), evalSpec, { batchSize: c.evalBatch });
    const timed = limit(data.test, c.evalBatch * c.inferSteps);
    const w0 = performance.now();
    const c0 = cpuSeconds();
    predict((x) => model.forward(x), timed, evalSpec, { batchSize: c.evalBatch });
    const inferS = (performance.now() - w0) / 1000;
    const inferCpu = cpuSeconds() - c0;
    return {
      train_ips: nTrain / ((b.wall - a.wall) / 1000),
      infer_ips: timed.n / inferS,
      train_ips_cpu: nTrain / (b.cpu - a.cpu),
      infer_ips_cpu: timed.n / inferCpu,
    };
  } finally {
    model.dispose();
  }
}

/** glibc settings equal to those native/src/addon.cc sets with mallopt (passed to PyTorch's process). */
export const TUNED_MALLOC = { MALLOC_ARENA_MAX: '1', MALLOC_MMAP_THRESHOLD_: '33554432', MALLOC_TRIM_THRESHOLD_: '134217728' };

/** PyTorch's speeds per memory format (bench/product.py). */
export interface PyTorchSpeeds {
  nchw: ProductSpeed;
  channels_last: ProductSpeed;
}

function lastJson<T>(stdout: string, what: string): T {
  const lines = stdout.trim().split('\n');
  try {
    return JSON.parse(lines[lines.length - 1]) as T;
  } catch {
    throw new Error(`${what}: no JSON result line in its output:\n${stdout}`);
  }
}

/** Times PyTorch on the same case (both memory formats) in a child process. */
export function benchPyTorchProduct(c: ProductCase, defaultMalloc = false): PyTorchSpeeds {
  const args = [
    join(HERE, 'product.py'),
    ...['--arch', c.arch, '--batch', c.batch, '--eval-batch', c.evalBatch, '--threads', c.threads],
    ...['--warmup', c.warmup, '--steps', c.steps, '--infer-steps', c.inferSteps],
    ...['--crop-padding', c.cropPadding, '--hflip', c.hflip ? 1 : 0],
  ].map(String);
  // Same OMP_WAIT_POLICY as this process (src/torch/native.ts set PASSIVE unless the user chose),
  // and the glibc malloc settings our addon applies to itself (one arena, mmap threshold 32 MB,
  // trim threshold 128 MB): Python's default glibc thresholds cost PyTorch 2.5x CPU time per
  // training step here (page faults on every activation buffer). `defaultMalloc` leaves glibc's.
  const env: NodeJS.ProcessEnv = { ...process.env };
  if (!defaultMalloc) Object.assign(env, TUNED_MALLOC);
  const r = spawnSync(PYTHON, args, { encoding: 'utf-8', env, timeout: 900_000 });
  if (r.status !== 0) throw new Error(`${PYTHON} bench/product.py failed (${r.status}): ${r.stderr}`);
  return lastJson<PyTorchSpeeds>(r.stdout, 'bench/product.py');
}

/** Median of a non-empty list. */
export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/**
 * The benchmark's setting for `arch` at `threads` threads: batch 128 (256 evaluating), 2 px crop
 * + flip, 3 warm-up steps. Timed batches per round: rounds of ~1 s per side were too short to
 * resolve 20% changes even on an idle machine (an evaluation ratio moved 0.66-1.30 between runs),
 * so 30 training and 40 evaluation batches for the small models, 6 and 8 for resnet18 (a step is
 * ~0.35 s here).
 */
export function defaultCase(arch: ProductCase['arch'], threads: number): ProductCase {
  const big = arch === 'resnet18';
  return {
    arch,
    batch: 128,
    evalBatch: 256,
    threads,
    warmup: 3,
    cropPadding: 2,
    hflip: true,
    steps: big ? 6 : 30,
    inferSteps: big ? 8 : 40,
  };
}

/** The value after flag `name` in argv, or undefined. */
export function arg(argv: string[], name: string): string | undefined {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] : undefined;
}

async function main(argv: string[]): Promise<void> {
  const repeats = Number(arg(argv, '--repeats') ?? 3);
  const archs = (arg(argv, '--arch') ?? Object.keys(PRODUCT_ARCHS).join(',')).split(',');
  for (const a of archs)
    if (!(a in PRODUCT_ARCHS)) throw new Error(`--arch: unknown '${a}'; known: ${Object.keys(PRODUCT_ARCHS).join(', ')}`);
  const steps = arg(argv, '--steps');
  const inferSteps = arg(argv, '--infer-steps');
  const threads = Number(arg(argv, '--threads') ?? 2);
  const defaultMalloc = argv.includes('--torch-default-malloc');
  // --no-fused: the product without its fast paths (src/nn/fusion.ts), for before/after.
  if (argv.includes('--no-fused')) fastPaths.enabled = false;

  const t0 = performance.now();
  const train = loadDataset({ name: 'fashion-mnist', split: 'train' });
  const test = loadDataset({ name: 'fashion-mnist', split: 'test' });
  const data: Data = { train, test, norm: channelStats(train) };
  const live0 = liveTensors();
  const rows: Record<string, unknown>[] = [];
  for (const a of archs) {
    const c = defaultCase(a as ProductCase['arch'], threads);
    if (steps !== undefined) c.steps = Number(steps);
    if (inferSteps !== undefined) c.inferSteps = Number(inferSteps);
    const ours: ProductSpeed[] = [];
    const py: PyTorchSpeeds[] = [];
    for (let r = 0; r < repeats; r++) {
      // Alternate which side goes first, so a slow phase of the shared machine hits both.
      if (r % 2 === 0) {
        ours.push(await benchProduct(c, data));
        py.push(benchPyTorchProduct(c, defaultMalloc));
      } else {
        py.push(benchPyTorchProduct(c, defaultMalloc));
        ours.push(await benchProduct(c, data));
      }
      const el = ((performance.now() - t0) / 1000).toFixed(0);
      console.error(
        `[${el}s] ${a} round ${r + 1}/${repeats}: ours train ${ours[r].train_ips.toFixed(0)} eval ${ours[r].infer_ips.toFixed(0)} | ` +
          `torch nchw ${py[r].nchw.train_ips.toFixed(0)}/${py[r].nchw.infer_ips.toFixed(0)} ` +
          `cl ${py[r].channels_last.train_ips.toFixed(0)}/${py[r].channels_last.infer_ips.toFixed(0)} img/s`,
      );
    }
    const med = (xs: ProductSpeed[], k: keyof ProductSpeed): number => median(xs.map((s) => s[k]));
    const row: Record<string, unknown> = { arch: a };
    for (const k of ['train_ips', 'infer_ips', 'train_ips_cpu', 'infer_ips_cpu'] as const) {
      const o = med(ours, k);
      const n = med(
        py.map((p) => p.nchw),
        k,
      );
      const l = med(
        py.map((p) => p.channels_last),
        k,
      );
      const bestPy = Math.max(n, l);
      const stem = k.replace('_ips', '');
      Object.assign(row, {
        [`ours_${k}`]: o,
        [`torch_nchw_${k}`]: n,
        [`torch_cl_${k}`]: l,
        [`${stem}_ratio`]: o / bestPy,
      });
    }
    rows.push(row);
  }
  const cols = ['arch', 'ours_train_ips', 'torch_nchw_train_ips', 'torch_cl_train_ips', 'train_ratio'];
  const cols2 = ['arch', 'ours_infer_ips', 'torch_nchw_infer_ips', 'torch_cl_infer_ips', 'infer_ratio'];
  const cols3 = ['arch', 'train_cpu_ratio', 'infer_cpu_ratio'];
  const fmt = (v: unknown): string => (typeof v === 'number' ? (v < 10 ? v.toFixed(2) : v.toFixed(0)) : String(v));
  for (const cs of [cols, cols2, cols3]) {
    console.log(cs.map((k) => k.padStart(21)).join(' '));
    for (const r of rows) console.log(cs.map((k) => fmt(r[k]).padStart(21)).join(' '));
  }
  const min = (k: string): number => Math.min(...rows.map((r) => r[k] as number));
  console.log(
    JSON.stringify({
      train_ratio_min: min('train_ratio'),
      infer_ratio_min: min('infer_ratio'),
      train_cpu_ratio_min: min('train_cpu_ratio'),
      infer_cpu_ratio_min: min('infer_cpu_ratio'),
      statistic: `median of ${repeats} alternating rounds per side; PyTorch-best = faster of NCHW and channels-last`,
      threads: getNumThreads(),
      omp_wait_policy: process.env.OMP_WAIT_POLICY,
      torch_malloc: defaultMalloc ? 'glibc default' : TUNED_MALLOC,
      batch: defaultCase('small-cnn', threads).batch,
      eval_batch: defaultCase('small-cnn', threads).evalBatch,
      leaked_tensors: liveTensors() - live0,
      rows,
    }),
  );
}

const isMain = process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1];
if (isMain)
  main(process.argv.slice(2)).catch((e: unknown) => {
    console.error(e);
    process.exit(1);
  });
