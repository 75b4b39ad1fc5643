/**
 * Image-folder throughput against torchvision (run: `npm run bench:folder`).
 *
 * Generates (once, cached under .cache/bench-folder/) a folder of JPEGs in ImageFolder layout:
 * Fashion-MNIST training images colourised per class on a per-image colour gradient, enlarged to
 * mixed sizes from 256×256 to 500×375, with seeded noise so JPEG has photo-like detail, quality 90.
 *
 * decode: images/s of decode + Resize(256) + CenterCrop(224) to uint8 CHW
 *   ours:        `loadImageFolder` (what `loadDataset` runs: sharp on a worker thread, files in
 *                flight on libuv's threadpool, file digests for content ids); the first run also
 *                starts the decode worker (reported apart as `ours_first_img_s`); also the async
 *                `decodeImageFiles` API alone;
 *   torchvision: ImageFolder + DataLoader(batch 64) with Resize(256), CenterCrop(224),
 *                PILToTensor (uint8, like ours), num_workers 0, 1 and 2; the best counts.
 * Each side runs twice, alternating, and its better run counts. Both rates are reported: images
 * per second of wall time (the headline `decode_ratio`) and images per CPU-second of every thread
 * and worker process (`decode_ratio_cpu`), which other load on a shared machine does not skew.
 *
 * peak RSS: then runs `bench/stream.ts` (a `fixed` and a `full` resnet-tiny transfer streamed from
 *   the shard cache of a 50,000-image 224-px folder, each in a fresh process) as a child and takes
 *   its `peak_rss_mb`, the larger of the two transfers' peak resident set.
 *
 * The last line is JSON; each measurement adds a key (`decode`, `stream`), and the headline numbers
 * sit at the top level (`decode_ratio` = ours / torchvision's best, `peak_rss_mb`), with the load
 * average before and after (the machine may be shared). Options: `--images N` (default 2000),
 * `--runs R` (default 2), `--folder-dir D` (parent of the generated JPEG folders, default
 * .cache/bench-folder, or BIAS_TRANSFER_BENCH_FOLDER_DIR), `--stream-dir D` (bench:stream's folder
 * and cache, default .cache/bench-stream, or BIAS_TRANSFER_BENCH_STREAM_DIR), `--no-stream` (skip
 * the streamed transfers, a quick run: `peak_rss_mb` is then null).
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import sharp from 'sharp';
import { decodeImageFiles } from '../src/data/decode.js';
import { loadFashionMnist } from '../src/data/loaders/fashionMnist.js';
import { loadImageFolder } from '../src/data/loaders/folder.js';
import { Rng } from '../src/data/rng.js';

const PYTHON = process.env.BIAS_TRANSFER_PYTHON ?? '/usr/bin/python3';
/** Output sizes [height, width] the generated images take, in turn. */
const SIZES: readonly [number, number][] = [
  [256, 256],
  [375, 500],
  [500, 375],
  [300, 400],
  [333, 500],
  [400, 300],
  [256, 320],
  [360, 480],
];
const PALETTE: readonly [number, number, number][] = [
  [230, 60, 50],
  [60, 180, 75],
  [255, 225, 25],
  [0, 130, 200],
  [245, 130, 48],
  [145, 30, 180],
  [70, 240, 240],
  [240, 50, 230],
  [210, 245, 60],
  [250, 190, 190],
];

/** Options of `generateJpegFolder`. */
export interface JpegFolderOptions {
  /** Number of images (at most Fashion-MNIST's 60,000 training images). */
  images: number;
  /** Parent of the cached folders (default .cache/bench-folder). */
  cacheDir?: string;
  /** Seed of the colours and noise (default 0). */
  seed?: number;
}

/**
 * Writes (or finds, when a previous run finished it) a JPEG image folder in ImageFolder layout
 * (`<root>/<class>/<index>.jpg`, the ten Fashion-MNIST classes) and returns its root. The folder
 * is keyed by image count and seed; a `.complete` marker is written last.
 *
 * @example const root = await generateJpegFolder({ images: 50_000 });
 */
export async function generateJpegFolder(opts: JpegFolderOptions): Promise<string> {
  const seed = opts.seed ?? 0;
  const root = path.resolve(opts.cacheDir ?? '.cache/bench-folder', `fmnist-color-${opts.images}-s${seed}`);
  if (fs.existsSync(path.join(root, '.complete'))) return root;
  const fm = loadFashionMnist({ split: 'train' });
  if (opts.images > fm.n) throw new RangeError(`generateJpegFolder: at most ${fm.n} images, asked for ${opts.images}`);
  fs.rmSync(root, { recursive: true, force: true });
  for (const c of fm.classes) fs.mkdirSync(path.join(root, c.replace(/[^\w-]+/g, '_')), { recursive: true });
  const dirs = fm.classes.map((c) => path.join(root, c.replace(/[^\w-]+/g, '_')));
  const rng = new Rng(seed, 'bench-folder');
  const small = Buffer.alloc(28 * 28 * 3);
  for (let i = 0; i < opts.images; i++) {
    const label = fm.labels[i];
    const fg = PALETTE[label];
    const bg0 = [rng.int(256), rng.int(256), rng.int(256)];
    const bg1 = [rng.int(256), rng.int(256), rng.int(256)];
    for (let y = 0; y < 28; y++)
      for (let x = 0; x < 28; x++) {
        const a = fm.images[i * 784 + y * 28 + x] / 255;
        const t = (x + y) / 54;
        for (let k = 0; k < 3; k++) small[(y * 28 + x) * 3 + k] = Math.round(a * fg[k] + (1 - a) * (bg0[k] * (1 - t) + bg1[k] * t));
      }
    const [h, w] = SIZES[i % SIZES.length];
    const big = await sharp(small, { raw: { width: 28, height: 28, channels: 3 } })
      .resize(w, h, { fit: 'fill', kernel: 'cubic' })
      .raw()
      .toBuffer();
    let s = rng.nextUint32();
    for (let j = 0; j < big.length; j++) {
      s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
      const v = big[j] + ((s >>> 27) - 16);
      big[j] = v < 0 ? 0 : v > 255 ? 255 : v;
    }
    await sharp(big, { raw: { width: w, height: h, channels: 3 } })
      .jpeg({ quality: 90 })
      .toFile(path.join(dirs[label], `${String(i).padStart(5, '0')}.jpg`));
  }
  fs.writeFileSync(path.join(root, '.complete'), `${opts.images} images\n`);
  return root;
}

/** Every image file of an ImageFolder root, in ImageFolder order. */
function folderFiles(root: string): string[] {
  const out: string[] = [];
  for (const c of fs
    .readdirSync(root)
    .filter((n) => !n.startsWith('.'))
    .sort())
    for (const f of fs.readdirSync(path.join(root, c)).sort()) out.push(path.join(root, c, f));
  return out;
}

const TORCHVISION = `
import sys, time, json, resource, torch
import torchvision.datasets as D, torchvision.transforms as T
root, workers = sys.argv[1], int(sys.argv[2])
torch.set_num_threads(1)
ds = D.ImageFolder(root, transform=T.Compose([T.Resize(256), T.CenterCrop(224), T.PILToTensor()]))
dl = torch.utils.data.DataLoader(ds, batch_size=64, num_workers=workers, shuffle=False)
cpu = lambda: sum(getattr(resource.getrusage(w), k) for w in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN) for k in ('ru_utime', 'ru_stime'))
c0 = cpu(); t0 = time.perf_counter(); n = 0
it = iter(dl)
for x, y in it:
    n += x.shape[0]
if hasattr(it, '_shutdown_workers'): it._shutdown_workers()
dt = time.perf_counter() - t0; dc = cpu() - c0
print(json.dumps({"images": n, "seconds": dt, "img_s": n / dt, "img_per_cpu_s": n / dc}))
`;

/** Images/s of wall time and per CPU-second (all threads and worker processes). */
interface Rate {
  img_s: number;
  img_per_cpu_s: number;
}

function torchvisionRate(root: string, workers: number): Rate {
  const r = spawnSync(PYTHON, ['-c', TORCHVISION, root, String(workers)], { encoding: 'utf-8', maxBuffer: 1 << 24 });
  if (r.status !== 0) throw new Error(`torchvision run failed (${r.status}): ${r.stderr}`);
  const lines = r.stdout.trim().split('\n');
  return JSON.parse(lines[lines.length - 1]) as Rate;
}

/** Runs `fn` (which returns the images it handled) and measures its wall and CPU rates (this process, every thread). */
async function ourRate(fn: () => Promise<number> | number): Promise<Rate> {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const n = await fn();
  const wall = (performance.now() - t0) / 1000;
  const c = process.cpuUsage(c0);
  return { img_s: n / wall, img_per_cpu_s: n / ((c.user + c.system) / 1e6) };
}

const better = (a: Rate | undefined, b: Rate): Rate => (a === undefined || b.img_s > a.img_s ? b : a);

/** What `measureDecode` reports (images/s; `_cpu` = images per CPU-second, robust to other load on the machine). */
export interface DecodeMeasurement {
  images: number;
  ours_img_s: number;
  ours_img_per_cpu_s: number;
  /** The first `loadImageFolder` of the process: it also starts the decode worker (kept for later loads). */
  ours_first_img_s: number;
  ours_async_img_s: number;
  torchvision_img_s: Record<string, number>;
  torchvision_img_per_cpu_s: Record<string, number>;
  torchvision_best_img_s: number;
  /** ours / torchvision's best, wall time: the headline. */
  decode_ratio: number;
  /** ours / torchvision's best, per CPU-second (what the wall ratio would be on an idle machine with as many cores as both use). */
  decode_ratio_cpu: number;
}

/** Decode + Resize(256) + CenterCrop(224) throughput of ours and torchvision on `root`; best of `runs` each. */
export async function measureDecode(root: string, runs: number): Promise<DecodeMeasurement> {
  const files = folderFiles(root);
  const transform = { resize: 256, centerCrop: [224, 224] as [number, number] };
  let ours: Rate | undefined;
  let oursAsync: Rate | undefined;
  const tv: Record<string, Rate | undefined> = { '0': undefined, '1': undefined, '2': undefined };
  let oursFirst: Rate | undefined;
  for (let r = 0; r < runs; r++) {
    const run = await ourRate(() => loadImageFolder({ path: root, transform }).n);
    oursFirst ??= run;
    ours = better(ours, run);
    oursAsync = better(oursAsync, await ourRate(async () => (await decodeImageFiles(files, { transform })).n));
    for (const wk of Object.keys(tv)) tv[wk] = better(tv[wk], torchvisionRate(root, Number(wk)));
    console.log(
      `run ${r + 1}: ours ${ours.img_s.toFixed(0)} img/s, ${ours.img_per_cpu_s.toFixed(0)} per CPU-s (async API ${oursAsync.img_s.toFixed(0)}); torchvision ` +
        Object.entries(tv)
          .map(([k, v]) => `w${k} ${v!.img_s.toFixed(0)} img/s, ${v!.img_per_cpu_s.toFixed(0)} per CPU-s`)
          .join('; '),
    );
  }
  const round = (v: number): number => Math.round(v * 10) / 10;
  const tvs = Object.entries(tv).map(([k, v]) => [k, v!] as const);
  const best = Math.max(...tvs.map(([, v]) => v.img_s));
  const bestCpu = Math.max(...tvs.map(([, v]) => v.img_per_cpu_s));
  return {
    images: files.length,
    ours_img_s: round(ours!.img_s),
    ours_img_per_cpu_s: round(ours!.img_per_cpu_s),
    ours_first_img_s: round(oursFirst!.img_s),
    ours_async_img_s: round(oursAsync!.img_s),
    torchvision_img_s: Object.fromEntries(tvs.map(([k, v]) => [k, round(v.img_s)])),
    torchvision_img_per_cpu_s: Object.fromEntries(tvs.map(([k, v]) => [k, round(v.img_per_cpu_s)])),
    torchvision_best_img_s: round(best),
    decode_ratio: Math.round((ours!.img_s / best) * 1000) / 1000,
    decode_ratio_cpu: Math.round((ours!.img_per_cpu_s / bestCpu) * 1000) / 1000,
  };
}

/**
 * Runs `bench/stream.ts` (50,000 images of 224 px, its defaults) in a child process with its
 * folder and cache under `dir`, and returns its last JSON line (`peak_rss_mb` among its keys).
 */
export function measureStream(dir: string): Record<string, unknown> {
  const script = path.join(path.dirname(new URL(import.meta.url).pathname), 'stream.ts');
  const r = spawnSync(process.execPath, ['--import', 'tsx', script, '--dir', dir], {
    stdio: ['ignore', 'pipe', 'inherit'],
    encoding: 'utf8',
    maxBuffer: 1 << 24,
  });
  if (r.status !== 0) throw new Error(`bench/stream.ts failed with status ${r.status}`);
  const lines = r.stdout.trim().split('\n');
  for (const l of lines.slice(0, -1)) console.log(`stream: ${l}`);
  return JSON.parse(lines.at(-1)!) as Record<string, unknown>;
}

if (import.meta.url === `file://${process.argv[1]}` || process.argv[1]?.endsWith('bench/folder.ts')) {
  const { values: args } = parseArgs({
    options: {
      images: { type: 'string', default: '2000' },
      runs: { type: 'string', default: '2' },
      'folder-dir': { type: 'string', default: process.env.BIAS_TRANSFER_BENCH_FOLDER_DIR ?? path.join('.cache', 'bench-folder') },
      'stream-dir': { type: 'string', default: process.env.BIAS_TRANSFER_BENCH_STREAM_DIR ?? path.join('.cache', 'bench-stream') },
      'no-stream': { type: 'boolean', default: false },
    },
  });
  const images = Number(args.images);
  const runs = Number(args.runs);
  const load = (): number[] => os.loadavg().map((v) => Math.round(v * 10) / 10);
  const loadBefore = load();
  console.log(`load average ${loadBefore.join(' ')} (1, 5, 15 min) on ${os.availableParallelism()} cores`);
  let t0 = performance.now();
  const root = await generateJpegFolder({ images, cacheDir: args['folder-dir'] });
  console.log(`folder ${root} (${images} JPEGs) ready in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  t0 = performance.now();
  const decode = await measureDecode(root, runs);
  console.log(`decode measured in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  const loadAfterDecode = load();
  let stream: Record<string, unknown> | null = null;
  if (!args['no-stream']) {
    t0 = performance.now();
    stream = measureStream(path.resolve(args['stream-dir']));
    console.log(`streamed transfers measured in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  }
  const result: Record<string, unknown> = {
    decode,
    stream,
    load_average: { before: loadBefore, after_decode: loadAfterDecode, after: load() },
    cores: os.availableParallelism(),
    decode_ratio: decode.decode_ratio,
    decode_ratio_cpu: decode.decode_ratio_cpu,
    peak_rss_mb: stream === null ? null : stream.peak_rss_mb,
  };
  console.log(JSON.stringify(result));
}
