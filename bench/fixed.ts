/**
 * Cached features against the backbone re-run every batch, on the runner users run
 * (`runExperiment`): a fixed-feature sweep with frozen BatchNorm (`transfer.bnTrainInFixed:
 * false`, no augmentation) — 5 seeds x 3 target sizes (250, 500, 1,000 MNIST images; 500 test
 * images, clean and triggered) from backdoored resnet-tiny Fashion-MNIST sources, 10 epochs with
 * an evaluation after each — once with `featureCaching` off and once on, in ONE process and one
 * results root. The source models are trained first by a warm-up run (1 epoch, smallest size)
 * and found in the cache by both timed runs, so the times are the sweep's alone. Each timed run
 * has its own experiment name, hence its own run ids: nothing of one is reused by the other.
 *
 *   npm run bench:fixed                    # about 2-3 minutes on 2 busy cores
 *   npm run bench:fixed -- --seeds 2 --epochs 4
 *
 * The LAST line is JSON: `fixed_sweep_speedup`, the ratio of the time spent in the sweep's
 * transfer jobs (training and evaluating every head, and with caching the features jobs that
 * compute the features they train on: what caching changes; target >= 10),
 * `fixed_sweep_speedup_cpu` the same ratio of CPU seconds (process.cpuUsage, every thread: on a
 * shared machine wall time also counts the other processes), the load average at the end,
 * `run_speedup`, the ratio of the whole `runExperiment` calls (which also prepare data, write
 * run records and metric rows, the same in both), the seconds behind both, the number of jobs,
 * and the largest difference of any accuracy or ASR between the two runs
 * (test/experiment/cached-features.test.ts pins them equal within float rounding).
 */
import './env_snapshot.js';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os, { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig } from '../src/experiment/config/index.js';
import { featureCaching } from '../src/experiment/features.js';
import { inProcessExecutor, runExperiment, type Executor, type ExperimentOutcome } from '../src/plan/index.js';

/** The value after `--name` in argv, if any. */
function arg(argv: string[], name: string): string | undefined {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] : undefined;
}

/**
 * The heads' learning rate. At 0.05 (the source's) these backbone features (large: the first
 * epoch's loss is about 150) make head training chaotic: the loss rises before it falls and a
 * difference in the last float bit grows to 10-15 points of accuracy by epoch 10 (measured:
 * uncached vs cached seed 3, 64.0% vs 57.8%, with per-epoch losses equal to 5 digits for two
 * epochs), so no two implementations that round differently could agree. At 0.005 the loss
 * falls from about 6 and both paths agree. The time per step does not depend on the rate.
 */
const TARGET_LR = 0.005;

/** The bench's experiment config as YAML. */
function configYaml(o: { name: string; seeds: number; epochs: number; sizes: readonly number[] }): string {
  return `
name: ${o.name}
seeds: [${Array.from({ length: o.seeds }, (_, i) => i).join(', ')}]
threads: 2
source:
  dataset: { name: fashion-mnist, split: train, classes: [0, 1, 2, 3, 4], limit: 1000 }
  bias:
    kind: backdoor
    trigger: { kind: checkerboard, size: 5, position: bottom-right, cell: 1 }
    poison: { policy: clean-label, classes: [0], probability: 1.0 }
  control: false
model: { arch: resnet-tiny }
sourceTraining: { epochs: 1, batchSize: 64, optimizer: { kind: sgd, lr: 0.05, momentum: 0.9 }, evalEvery: 0 }
targets:
  - name: mnist
    dataset: { name: mnist, split: train, limit: ${Math.max(...o.sizes)} }
    testDataset: { name: mnist, split: test, limit: 500 }
transfer: { modes: [fixed], bnTrainInFixed: false }
targetTraining: { epochs: ${o.epochs}, batchSize: 64, optimizer: { kind: sgd, lr: ${TARGET_LR}, momentum: 0.9 }, evalEvery: 1 }
evaluation: { metrics: [accuracy, asr], bootstrap: 0 }
sweep:
  targets.0.dataset.limit: [${o.sizes.join(', ')}]
`;
}

/** Seconds since `t0` (a process.hrtime.bigint()). */
const since = (t0: bigint): number => Number(process.hrtime.bigint() - t0) / 1e9;

/**
 * Runs the config once; `seconds` is the whole `runExperiment`, `jobSeconds` the time inside its
 * transfer jobs (timed at the executor boundary around the in-process executor's transfer jobs).
 */
async function timed(
  dir: string,
  root: string,
  yaml: string,
  cached: boolean,
): Promise<{ seconds: number; jobSeconds: number; jobCpuSeconds: number; out: ExperimentOutcome }> {
  const file = join(dir, `${cached ? 'cached' : 'plain'}-${Date.now()}.yaml`);
  writeFileSync(file, yaml);
  featureCaching.enabled = cached;
  let jobSeconds = 0;
  let jobCpuSeconds = 0;
  // The in-process executor, timed around a run's transfer jobs: its source jobs first (the same
  // in both arms), then the whole run (features jobs included), whose sources are then cache hits.
  const inner = inProcessExecutor();
  const executor: Executor = {
    execute: async (jobs, ctx) => {
      await inner.execute(
        jobs.filter((j) => j.spec.kind === 'source'),
        ctx,
      );
      const t = process.hrtime.bigint();
      const c = process.cpuUsage();
      try {
        return await inner.execute(jobs, ctx);
      } finally {
        jobSeconds += since(t);
        const u = process.cpuUsage(c);
        jobCpuSeconds += (u.user + u.system) / 1e6;
      }
    },
  };
  try {
    const t0 = process.hrtime.bigint();
    const out = await runExperiment({ loaded: loadConfig(file), root, log: () => {}, executor });
    return { seconds: since(t0), jobSeconds, jobCpuSeconds, out };
  } finally {
    featureCaching.enabled = true;
  }
}

/** metric key → value of every accuracy and ASR row of an outcome. */
function rates(o: ExperimentOutcome): Map<string, number> {
  const m = new Map<string, number>();
  for (const r of o.runs)
    for (const row of r.rows)
      if (row.value !== null && (row.metric === 'accuracy' || row.metric === 'asr'))
        m.set(`${r.sweepId}|${r.seed}|${row.transferMode}|${row.condition}|${row.metric}`, row.value);
  return m;
}

async function main(argv: string[]): Promise<void> {
  const seeds = Number(arg(argv, '--seeds') ?? 5);
  const epochs = Number(arg(argv, '--epochs') ?? 10);
  const sizes = [250, 500, 1000];
  const dir = mkdtempSync(join(tmpdir(), 'bench-fixed-'));
  const root = join(dir, 'results');
  try {
    const warm = await timed(dir, root, configYaml({ name: 'fixed-warmup', seeds, epochs: 1, sizes: [sizes[0]] }), false);
    console.error(`warm-up (source models): ${warm.seconds.toFixed(1)} s`);
    const plain = await timed(dir, root, configYaml({ name: 'fixed-uncached', seeds, epochs, sizes }), false);
    console.error(`uncached sweep: ${plain.seconds.toFixed(1)} s, of which transfer jobs ${plain.jobSeconds.toFixed(1)} s`);
    const cached = await timed(dir, root, configYaml({ name: 'fixed-cached', seeds, epochs, sizes }), true);
    console.error(`cached sweep: ${cached.seconds.toFixed(1)} s, of which transfer jobs ${cached.jobSeconds.toFixed(1)} s`);
    const a = rates(plain.out);
    const b = rates(cached.out);
    let maxDiff = 0;
    for (const [k, v] of a) {
      const u = b.get(k);
      if (u === undefined) throw new Error(`the cached run has no row ${k}`);
      maxDiff = Math.max(maxDiff, Math.abs(u - v));
      if (u !== v) console.error(`differs: ${k}: uncached ${v}, cached ${u}`);
    }
    const jobs = plain.out.runs.reduce((s, r) => s + r.jobs.length, 0);
    console.log(
      JSON.stringify({
        seeds,
        target_sizes: sizes,
        epochs,
        jobs,
        uncached_jobs_s: +plain.jobSeconds.toFixed(2),
        cached_jobs_s: +cached.jobSeconds.toFixed(2),
        fixed_sweep_speedup: +(plain.jobSeconds / cached.jobSeconds).toFixed(2),
        uncached_jobs_cpu_s: +plain.jobCpuSeconds.toFixed(2),
        cached_jobs_cpu_s: +cached.jobCpuSeconds.toFixed(2),
        fixed_sweep_speedup_cpu: +(plain.jobCpuSeconds / cached.jobCpuSeconds).toFixed(2),
        load_average: os.loadavg().map((l) => +l.toFixed(1)),
        uncached_run_s: +plain.seconds.toFixed(2),
        cached_run_s: +cached.seconds.toFixed(2),
        run_speedup: +(plain.seconds / cached.seconds).toFixed(2),
        max_rate_diff: maxDiff,
        rows_compared: a.size,
      }),
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

main(process.argv.slice(2)).catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
