/**
 * The reference cache's speed-up, measured on the command users run (`bias-transfer scan`, in a
 * child process each time, start-up included): a cold-cache scan of one suspect against N clean
 * references, then a scan of another suspect against the same references (their statistics
 * read from the cache). The models are trained here once (cached under OUT/models): clean
 * references and a clean suspect, and a suspect with a clean-label checkerboard backdoor on class
 * 0, on 2,000 Fashion-MNIST images (classes 0-4), 3 epochs.
 *
 *   npx tsx bench/scan-cache.ts [--arch small-cnn|resnet-tiny] [--refs 4] [--out runs/scan-cache-bench] [-- scan flags]
 *
 * Prints both times (wall clock, and the CPU seconds of the child process, user + system, which a
 * shared machine's load disturbs less), the speed-ups and whether the two suspects' reports used
 * the cache; the last line is the JSON summary.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { poisonDataset } from '../src/bias/index.js';
import { loadDataset } from '../src/data/index.js';
import { normalisationOf, saveAuditModel, trainClassifier } from '../src/audit/train.js';
import type { AuditReport } from '../src/audit/audit.js';
import { setNumThreads } from '../src/torch/index.js';

const argv = process.argv.slice(2);
const dash = argv.indexOf('--');
const own = dash >= 0 ? argv.slice(0, dash) : argv;
const scanExtra = dash >= 0 ? argv.slice(dash + 1) : [];
const flag = (n: string, d: string): string => {
  const i = own.indexOf(`--${n}`);
  return i >= 0 ? own[i + 1] : d;
};
const archName = flag('arch', 'small-cnn');
const arch = archName === 'resnet-tiny' ? { arch: 'resnet-tiny' as const, smallInput: true } : { arch: 'small-cnn' as const };
const nRefs = Number(flag('refs', '4'));
const threads = flag('threads', '2');
const out = flag('out', 'runs/scan-cache-bench');
setNumThreads(Number(threads));
mkdirSync(join(out, 'models'), { recursive: true });

const source = loadDataset({ name: 'fashion-mnist', split: 'train', classes: [0, 1, 2, 3, 4], limit: 2000 });
const norm = normalisationOf(source);

async function model(name: string, seed: number, backdoor: boolean): Promise<string> {
  const f = join(out, 'models', `${archName}-${name}.safetensors`);
  if (existsSync(f)) return f;
  const ds = backdoor
    ? poisonDataset(
        source,
        { kind: 'checkerboard', size: 5, position: 'bottom-right', cell: 1 },
        { policy: 'clean-label', classes: [0], probability: 1 },
        seed,
      ).dataset
    : source;
  const m = await trainClassifier(ds, arch, norm, { epochs: 3 }, seed);
  saveAuditModel(f, m, norm, { role: name });
  m.dispose();
  process.stderr.write(`trained ${f}\n`);
  return f;
}

const refs: string[] = [];
for (let i = 0; i < nRefs; i++) refs.push(await model(`reference-${i}`, 100 + i, false));
const suspectA = await model('suspect-backdoor', 1, true);
const suspectB = await model('suspect-clean', 2, false);

const cache = join(out, 'cache');
rmSync(cache, { recursive: true, force: true });
const DATA = '{name: fashion-mnist, split: test, classes: [0,1,2,3,4], limit: 256}';
interface Timed {
  seconds: number;
  cpuSeconds: number;
  report: AuditReport;
}
/** Runs the CLI in a child process; bash's `times` gives the child's CPU time. */
function scan(weights: string): Timed {
  const t = Date.now();
  const args = ['bin/bias-transfer.js', 'scan', weights, '--data', DATA, ...refs.flatMap((r) => ['--reference', r])];
  args.push('--cache', cache, '--threads', threads, '--out', join(out, 'scan-out'), '--json', '-q', ...scanExtra);
  const r = spawnSync('bash', ['-c', '"$@" || exit $?; times >&2', '_', process.execPath, ...args], {
    encoding: 'utf8',
    maxBuffer: 1 << 26,
  });
  if (r.status !== 0) throw new Error(`scan ${weights} failed: ${r.stderr}`);
  const seconds = (Date.now() - t) / 1000;
  // `times` prints the shell's own user/sys, then its children's: "0m9.948s 0m1.298s".
  const last = r.stderr.trim().split('\n').at(-1)!;
  const secs = [...last.matchAll(/(\d+)m([\d.]+)s/g)].map((m) => 60 * Number(m[1]) + Number(m[2]));
  return { seconds, cpuSeconds: secs[0] + secs[1], report: JSON.parse(r.stdout) as AuditReport };
}
const cold = scan(suspectA);
const warm = scan(suspectB);
const line = (what: string, r: Timed) =>
  `${what}: ${r.seconds.toFixed(1)} s wall, ${r.cpuSeconds.toFixed(1)} s CPU, verdict ${r.report.verdict}, references from the cache ${r.report.references.cached}/${r.report.references.count}`;
console.log(line('first scan (cold cache, backdoored suspect)', cold));
console.log(line('second scan (another suspect, same references)', warm));
console.log(
  `speed-up ${(cold.seconds / warm.seconds).toFixed(2)}x wall, ${(cold.cpuSeconds / warm.cpuSeconds).toFixed(2)}x CPU ` +
    `(${archName}, ${nRefs} references, ${threads} threads)`,
);
console.log(
  JSON.stringify({
    arch: archName,
    references: nRefs,
    threads: Number(threads),
    scanFlags: scanExtra,
    coldSeconds: cold.seconds,
    warmSeconds: warm.seconds,
    speedup: cold.seconds / warm.seconds,
    coldCpuSeconds: cold.cpuSeconds,
    warmCpuSeconds: warm.cpuSeconds,
    cpuSpeedup: cold.cpuSeconds / warm.cpuSeconds,
    verdicts: [cold.report.verdict, warm.report.verdict],
    cached: [cold.report.references.cached, warm.report.references.cached],
  }),
);
