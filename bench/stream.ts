/**
 * Peak memory of transfer learning from a folder larger than memory (`npm run bench:stream`).
 *
 *   1. generates (once, kept under .cache/bench-stream/) a folder of N RGB PNGs of SIZE px
 *      (bench/stream-folder.ts: Fashion-MNIST upscaled and colourised);
 *   2. decodes it into the shard cache (src/data/cache) in a child process;
 *   3. in a fresh child process per mode, a `fixed` and a `full` transfer of a resnet-tiny
 *      (ImageNet-style stem, random 'source' weights: memory, not accuracy, is measured here) on
 *      the streamed folder with a dirty-label trigger injected per sample: the project's own
 *      datasetSource + train + prepareTransfer + predict, STEPS steps of BATCH images drawn from
 *      the shuffled order of all N images, then predictions on 512 triggered images;
 *   4. prints one JSON line per child and a last line with `peak_rss_mb` (the larger of the two
 *      transfers' peak resident set, process.resourceUsage().maxRSS) against the 2048 MB target.
 *
 *   npm run bench:stream                                   # 50,000 images of 224 px, 40 steps of 32
 *   npm run bench:stream -- --n 2000 --size 64 --steps 5   # a quick look
 *   npm run bench:stream -- --dir /data/bench-stream       # folder and cache kept elsewhere
 *
 * `--dir` (or BIAS_TRANSFER_BENCH_STREAM_DIR) is where the folder and the shard cache live
 * (default .cache/bench-stream); a folder generated there before is reused. `npm run bench:folder`
 * runs this file as a child for its `peak_rss_mb`.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { poisonStreamed, triggerTestStreamed, injectSamples } from '../src/bias/index.js';
import { cachedImageFolder } from '../src/data/cache/index.js';
import type { BatchSpec } from '../src/data/transforms.js';
import { createModel } from '../src/nn/models/factory.js';
import { manualSeed } from '../src/torch/index.js';
import { accuracyOf, datasetSource, predict } from '../src/train/data.js';
import { train, type BatchSource } from '../src/train/trainer.js';
import { prepareTransfer } from '../src/train/transfer.js';
import { generateFolder } from './stream-folder.js';

const { values: args } = parseArgs({
  options: {
    n: { type: 'string', default: '50000' },
    size: { type: 'string', default: '224' },
    steps: { type: 'string', default: '40' },
    batch: { type: 'string', default: '32' },
    child: { type: 'string' },
    dir: { type: 'string', default: process.env.BIAS_TRANSFER_BENCH_STREAM_DIR ?? path.join('.cache', 'bench-stream') },
  },
});
const N = Number(args.n);
const SIZE = Number(args.size);
const STEPS = Number(args.steps);
const BATCH = Number(args.batch);
const BASE = path.resolve(args.dir);
const FOLDER = path.join(BASE, N === 50000 && SIZE === 224 ? 'folder' : `folder-${N}-${SIZE}`);
const CACHE = path.join(BASE, 'cache');

/** Peak resident set of this process so far, in MB (maxRSS is in KiB). */
const peakRssMb = (): number => Math.round(process.resourceUsage().maxRSS / 1024);

function openStreamed() {
  return cachedImageFolder({ path: FOLDER, size: [SIZE, SIZE], channels: 3, cacheRoot: CACHE, log: (l) => console.error(l) });
}

function childBuild(): Record<string, unknown> {
  const t0 = performance.now();
  const ds = openStreamed();
  const seconds = (performance.now() - t0) / 1000;
  const bytes = ds.n * ds.imageBytes;
  ds.close();
  return { step: 'cache-build', seconds: Math.round(seconds), cache_gb: +(bytes / 1e9).toFixed(2), peak_rss_mb: peakRssMb() };
}

async function childTransfer(mode: 'fixed' | 'full'): Promise<Record<string, unknown>> {
  using base = openStreamed();
  const trigger = { kind: 'checkerboard', size: { fraction: 0.1 }, position: 'bottom-right' } as const;
  const { dataset, record } = poisonStreamed(base, trigger, { policy: 'dirty-label', targetClass: 0, probability: 0.01 }, 1);
  const spec: BatchSpec = { mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225], augment: { hflip: true } };
  manualSeed(1);
  const model = createModel({ arch: 'resnet-tiny', numClasses: 10, inChannels: 3 });
  model.replaceHead(base.classes.length);
  const prepared = prepareTransfer(model, { mode, lr: 0.01 });
  const full = datasetSource(dataset, { batchSize: BATCH, spec, seed: 1 });
  // The first STEPS batches of the real source's epoch (its order is a permutation of all N).
  const data: BatchSource = {
    batchesPerEpoch: Math.min(STEPS, full.batchesPerEpoch),
    *epoch(epoch, start) {
      const it = full.epoch(epoch, start)[Symbol.iterator]();
      try {
        for (let k = start; k < STEPS; k++) {
          const r = it.next();
          if (r.done) return;
          yield r.value;
        }
      } finally {
        it.return?.();
      }
    },
  };
  const t0 = performance.now();
  const result = await train({
    model,
    data,
    spec: { epochs: 1, optimizer: { kind: 'sgd', lr: 0.01, momentum: 0.9, weightDecay: 5e-4 }, schedule: { kind: 'constant' } },
    seed: 1,
    paramGroups: prepared.paramGroups,
    forward: prepared.forward,
    setTraining: prepared.setTraining,
    progressInterval: 10,
    onProgress: (e) =>
      e.kind === 'step' && console.error(`${mode}: step ${e.step}/${e.stepsPerEpoch}, ${e.imagesPerSecond?.toFixed(1)} img/s`),
  });
  const trainSeconds = (performance.now() - t0) / 1000;
  // 512 images spread over the whole folder, triggered, predicted batch by batch.
  const m = 512;
  const spread = injectSamples(base, {
    name: 'spread',
    n: m,
    labels: Int32Array.from({ length: m }, (_, j) => base.labels[Math.floor((j * base.n) / m)]),
    sourceOf: (j) => Math.floor((j * base.n) / m),
  });
  const triggered = triggerTestStreamed(spread, trigger, 2, { excludeClass: 0 }).dataset;
  model.eval();
  const t1 = performance.now();
  const preds = predict((x) => model.forward(x), triggered, spec, { batchSize: 64 }).preds;
  const predictSeconds = (performance.now() - t1) / 1000;
  model.dispose();
  return {
    step: `transfer-${mode}`,
    steps: data.batchesPerEpoch,
    batch: BATCH,
    train_img_s: +((data.batchesPerEpoch * BATCH) / trainSeconds).toFixed(1),
    predict_img_s: +(triggered.n / predictSeconds).toFixed(1),
    loss: +result.history[0].loss.toFixed(4),
    poisoned: record.count,
    triggered_accuracy: +accuracyOf(preds, triggered.labels).toFixed(4),
    prefetched_batches: base.stats.prefetched,
    direct_batches: base.stats.direct,
    peak_rss_mb: peakRssMb(),
  };
}

/** Runs this file as a child for one step; returns its last stdout line as JSON. */
function runChild(step: string): Record<string, unknown> {
  const r = spawnSync(
    process.execPath,
    [
      '--import',
      'tsx',
      process.argv[1],
      '--child',
      step,
      '--n',
      String(N),
      '--size',
      String(SIZE),
      '--steps',
      String(STEPS),
      '--batch',
      String(BATCH),
      '--dir',
      BASE,
    ],
    { stdio: ['ignore', 'pipe', 'inherit'], encoding: 'utf8', maxBuffer: 1 << 24 },
  );
  if (r.status !== 0) throw new Error(`bench:stream child '${step}' failed with status ${r.status}`);
  const line = r.stdout.trim().split('\n').at(-1)!;
  console.log(line);
  return JSON.parse(line) as Record<string, unknown>;
}

if (args.child === 'build') console.log(JSON.stringify(childBuild()));
else if (args.child === 'fixed' || args.child === 'full') console.log(JSON.stringify(await childTransfer(args.child)));
else {
  const gen = generateFolder(FOLDER, N, SIZE, (l) => console.error(l));
  const timesFile = path.join(FOLDER, 'GENERATED_SECONDS');
  if (gen.written > 0) fs.writeFileSync(timesFile, String(Math.round(gen.seconds)));
  const genSeconds = fs.existsSync(timesFile) ? Number(fs.readFileSync(timesFile, 'utf8')) : null;
  console.error(`folder: ${FOLDER} (${gen.written > 0 ? `generated now in ${gen.seconds.toFixed(0)} s` : 'reused'})`);
  const build = runChild('build');
  const fixed = runChild('fixed');
  const fullRun = runChild('full');
  const peak = Math.max(Number(fixed.peak_rss_mb), Number(fullRun.peak_rss_mb));
  console.log(
    JSON.stringify({
      images: N,
      size: SIZE,
      steps: STEPS,
      batch: BATCH,
      in_memory_pixels_mb: Math.round((N * 3 * SIZE * SIZE) / 2 ** 20),
      generate_seconds: genSeconds,
      cache_build_seconds: build.seconds,
      cache_build_peak_rss_mb: build.peak_rss_mb,
      fixed_peak_rss_mb: fixed.peak_rss_mb,
      full_peak_rss_mb: fullRun.peak_rss_mb,
      peak_rss_mb: peak,
      target_mb: 2048,
      within_target: peak <= 2048,
    }),
  );
}
