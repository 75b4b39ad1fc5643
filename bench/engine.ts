/**
 * Engine benchmark: trains and evaluates the small ResNet of bench/smallresnet.ts in this project
 * and the identical nn.Module in PyTorch (bench/smallresnet.py, spawned with /usr/bin/python3 in
 * its default settings), same batch (128), same thread count (2), for 28x28x1 and 32x32x3 inputs.
 *
 *   npm run bench:engine                      # the comparison (about 1-2 minutes)
 *   npm run bench:engine -- --wait-policy     # also: our speed with OMP_WAIT_POLICY PASSIVE vs ACTIVE
 *   npm run bench:engine -- --nchw            # our side without channels-last (for comparison)
 *
 * Prints a table, then as the LAST line one JSON object: `train_ratio` and `infer_ratio` (ours /
 * PyTorch images per second, the lower over the two input sizes) and the raw numbers.
 * Each side runs twice, alternating, and the better run counts (the machine is shared).
 */
import { userOmpWaitPolicy } from './env_snapshot.js';
import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  SGD,
  crossEntropy,
  disposeAll,
  getNumThreads,
  inferenceMode,
  liveTensors,
  manualSeed,
  randint,
  randn,
  setNumThreads,
  tidy,
} from '../src/torch/index.js';
import { forwardSmallResNet, initSmallResNet, trainableNames, type Weights } from './smallresnet.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const PYTHON = process.env.BIAS_TRANSFER_PYTHON ?? '/usr/bin/python3';

/** One benchmark setting. */
export interface BenchCase {
  channels: number;
  size: number;
  batch: number;
  threads: number;
  warmup: number;
  steps: number;
  inferSteps: number;
  /** Our side: NHWC (channels-last) input and conv weights. */
  channelsLast: boolean;
}

/** Images per second for training and evaluation. */
export interface Speed {
  train_ips: number;
  infer_ips: number;
}

/** Times our side in this process. */
export function benchOurs(c: BenchCase): Speed {
  setNumThreads(c.threads);
  manualSeed(0);
  const w: Weights = initSmallResNet({ inChannels: c.channels });
  if (c.channelsLast) {
    for (const k of Object.keys(w)) {
      if (w[k].ndim !== 4) continue;
      const cl = tidy(() => w[k].detach().contiguous({ channelsLast: true }).requiresGrad_(true));
      w[k].dispose();
      w[k] = cl;
    }
  }
  const params = trainableNames(w).map((n) => w[n]);
  const opt = new SGD(params, { lr: 0.05, momentum: 0.9, weightDecay: 5e-4 });
  const x = tidy(() => {
    const r = randn([c.batch, c.channels, c.size, c.size]);
    return c.channelsLast ? r.contiguous({ channelsLast: true }) : r;
  });
  const y = randint(0, 10, [c.batch]);
  const trainStep = (): number => {
    opt.zeroGrad();
    const loss = tidy(() => crossEntropy(forwardSmallResNet(w, x, { training: true }), y));
    loss.backward();
    opt.step();
    const v = loss.item();
    loss.dispose();
    return v;
  };
  const evalStep = (): void => {
    inferenceMode(() => tidy(() => forwardSmallResNet(w, x, { training: false }).dispose()));
  };
  for (let i = 0; i < c.warmup; i++) trainStep();
  let t0 = performance.now();
  for (let i = 0; i < c.steps; i++) trainStep();
  const trainS = (performance.now() - t0) / 1000;
  for (let i = 0; i < c.warmup; i++) evalStep();
  t0 = performance.now();
  for (let i = 0; i < c.inferSteps; i++) evalStep();
  const inferS = (performance.now() - t0) / 1000;
  opt.dispose();
  disposeAll([w, x, y]);
  return { train_ips: (c.batch * c.steps) / trainS, infer_ips: (c.batch * c.inferSteps) / inferS };
}

function childEnv(waitPolicy: string | undefined): NodeJS.ProcessEnv {
  const env = { ...process.env };
  delete env.OMP_WAIT_POLICY;
  if (waitPolicy !== undefined) env.OMP_WAIT_POLICY = waitPolicy;
  return env;
}

function lastJson<T>(stdout: string, what: string): T {
  const lines = stdout.trim().split('\n');
  try {
    return JSON.parse(lines[lines.length - 1]) as T;
  } catch {
    throw new Error(`${what}: no JSON result line in its output:\n${stdout}`);
  }
}

/** Times PyTorch by running bench/smallresnet.py (its defaults: NCHW, eager, no_grad eval). */
export function benchPyTorch(c: BenchCase): Speed {
  const args = [
    join(HERE, 'smallresnet.py'),
    ...['--channels', c.channels, '--size', c.size, '--batch', c.batch, '--threads', c.threads],
    ...['--warmup', c.warmup, '--steps', c.steps, '--infer-steps', c.inferSteps],
  ].map(String);
  const r = spawnSync(PYTHON, args, { encoding: 'utf-8', env: childEnv(userOmpWaitPolicy), timeout: 300_000 });
  if (r.status !== 0) throw new Error(`${PYTHON} bench/smallresnet.py failed (${r.status}): ${r.stderr}`);
  return lastJson<Speed>(r.stdout, 'bench/smallresnet.py');
}

/** Times our side in a child process with the given OMP_WAIT_POLICY (read once by libgomp at start). */
function benchOursChild(c: BenchCase, waitPolicy: string): Speed {
  const r = spawnSync(process.execPath, ['--import', 'tsx', fileURLToPath(import.meta.url), '--worker', JSON.stringify(c)], {
    encoding: 'utf-8',
    env: childEnv(waitPolicy),
    timeout: 300_000,
  });
  if (r.status !== 0) throw new Error(`bench worker (OMP_WAIT_POLICY=${waitPolicy}) failed (${r.status}): ${r.stderr}`);
  return lastJson<Speed>(r.stdout, 'bench worker');
}

function best(a: Speed, b: Speed): Speed {
  return { train_ips: Math.max(a.train_ips, b.train_ips), infer_ips: Math.max(a.infer_ips, b.infer_ips) };
}

function main(argv: string[]): void {
  const wi = argv.indexOf('--worker');
  if (wi >= 0) {
    console.log(JSON.stringify(benchOurs(JSON.parse(argv[wi + 1]) as BenchCase)));
    return;
  }
  const channelsLast = !argv.includes('--nchw');
  const base = { batch: 128, threads: 2, warmup: 3, steps: 10, inferSteps: 20, channelsLast };
  const cases: BenchCase[] = [
    { ...base, channels: 1, size: 28 },
    { ...base, channels: 3, size: 32 },
  ];
  const live0 = liveTensors();
  const rows: Record<string, unknown>[] = [];
  for (const c of cases) {
    const label = `${c.size}x${c.size}x${c.channels}`;
    // Alternate the sides so slow phases of the shared machine hit both.
    const o1 = benchOurs(c);
    const p1 = benchPyTorch(c);
    const o2 = benchOurs(c);
    const p2 = benchPyTorch(c);
    const ours = best(o1, o2);
    const py = best(p1, p2);
    const row: Record<string, unknown> = {
      input: label,
      ours_train_ips: ours.train_ips,
      torch_train_ips: py.train_ips,
      train_ratio: ours.train_ips / py.train_ips,
      ours_infer_ips: ours.infer_ips,
      torch_infer_ips: py.infer_ips,
      infer_ratio: ours.infer_ips / py.infer_ips,
    };
    if (argv.includes('--wait-policy')) {
      const passive = benchOursChild(c, 'PASSIVE');
      const active = benchOursChild(c, 'ACTIVE');
      Object.assign(row, {
        passive_train_ips: passive.train_ips,
        active_train_ips: active.train_ips,
        passive_infer_ips: passive.infer_ips,
        active_infer_ips: active.infer_ips,
      });
    }
    rows.push(row);
  }
  const fmt = (v: unknown): string => (typeof v === 'number' ? (v < 10 ? v.toFixed(3) : v.toFixed(1)) : String(v));
  const cols = Object.keys(rows[0]);
  console.log(cols.map((k) => k.padStart(16)).join(' '));
  for (const r of rows) console.log(cols.map((k) => fmt(r[k]).padStart(16)).join(' '));
  const summary = {
    train_ratio: Math.min(...rows.map((r) => r.train_ratio as number)),
    infer_ratio: Math.min(...rows.map((r) => r.infer_ratio as number)),
    batch: base.batch,
    threads: getNumThreads(),
    channels_last: channelsLast,
    omp_wait_policy: process.env.OMP_WAIT_POLICY,
    python_omp_wait_policy: userOmpWaitPolicy ?? '(libgomp default)',
    leaked_tensors: liveTensors() - live0,
    rows,
  };
  console.log(JSON.stringify(summary));
}

const isMain = process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1];
if (isMain) main(process.argv.slice(2));
