/**
 * The scan suite (issue 18 items 1-2): detection rate per attack kind and false-positive rate of
 * `bias-transfer scan`'s verdict, on backdoored and clean backbones trained by two recipes, judged
 * against references of the same recipe and of the other one, beside two baselines on the same
 * scans (Neural Cleanse's anomaly index, plain DECREE; src/audit/detection.ts). The verdict's
 * knobs are tuned on the tuning seeds and reported on the held-out seeds.
 *
 * Data: Fashion-MNIST classes 0-4, 28 px. Recipes:
 *   T (this tool, the `--train-references` recipe): training images 0-1999, 3 epochs SGD momentum
 *     0.9, lr 0.1 with one-epoch warm-up/decay, batch 128, weight decay 5e-4, no augmentation;
 *   P (plain PyTorch, bench/scan-suite.py): training images 2000-3999, 4 epochs AdamW lr 1e-3,
 *     weight decay 1e-4, batch 64, random crop (pad 2), PyTorch's default initialisation.
 * Attack kinds (target class 0; the poisoned data is made by src/bias for both recipes): see KINDS.
 * Architectures: small-cnn for every kind; resnet-tiny (torchvision's stride-2 stem and max-pool,
 * so 7x7 maps after the stem: cheap) for two (ARCH2_KINDS).
 * Per recipe and architecture: 5 clean references (seeds apart from the suspects').
 * Scan: 128 Fashion-MNIST test images, the CLI's headless search (centred cosine 0.8) and DECREE's
 * (raw cosine 0.8), per-class inversion through the head; steps in SCAN.
 *
 * Everything is cached by content under --out (models by their job description, scans by model
 * and settings): a rerun, or a run stopped and restarted, costs only what is missing.
 * `--report-only` judges whatever scans exist and trains nothing.
 *
 *   npx tsx bench/scan-suite.ts [--scale 1] [--out runs/scan-suite] [--threads 1] [--recipes T,P] [--class-steps 80] [--report-only]
 *
 * `--scale s` multiplies the seed counts (5 per attack kind, 20 clean small-cnn, 5 clean
 * resnet-tiny per recipe at s = 1; at least 2, 4 and 2).
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { poisonDataset } from '../src/bias/index.js';
import { batchSpecFor } from '../src/data/index.js';
import { summariseScan, type ScanSummary } from '../src/audit/cache.js';
import { CLI_RULE, decree, judge, neuralCleanse, wilson, type JudgeRule, type RateInterval } from '../src/audit/detection.js';
import { scanModel } from '../src/audit/scan.js';
import { accuracyOn, imagesTensor, saveAuditModel, trainClassifier } from '../src/audit/train.js';
import { loadModelFromFile, type Classifier } from '../src/nn/index.js';
import { setNumThreads } from '../src/torch/index.js';
import { predict } from '../src/train/data.js';
import { quantileSorted } from '../src/metrics/index.js';
import {
  ARCH2_KINDS,
  asrSet,
  hash,
  isTuneSeed,
  KINDS,
  modelSeed,
  N_REFS,
  nameOf,
  norm,
  OTHERS,
  RECIPES,
  SCAN,
  scanSet,
  TARGET,
  trainingSet,
  weightsFile,
  type Arch,
  type Job,
  type Recipe,
} from './scan-suite-grid.js';

const argv = process.argv.slice(2);
const flag = (n: string, d: string): string => {
  const i = argv.indexOf(`--${n}`);
  return i >= 0 ? argv[i + 1] : d;
};
const scale = Number(flag('scale', '1'));
if (!(scale > 0)) throw new RangeError(`--scale must be a positive number, got ${flag('scale', '1')}`);
const out = flag('out', 'runs/scan-suite');
const threads = Number(flag('threads', '1'));
const reportOnly = argv.includes('--report-only');
/**
 * `--class-steps N`: steps of the per-class searches (default SCAN.classSteps, 80). Another value
 * re-runs only the per-class searches with N steps (cached apart, under scans/) and judges the
 * models by those, keeping the cached headless searches.
 */
const classSteps = Number(flag('class-steps', String(SCAN.classSteps)));
if (!(Number.isInteger(classSteps) && classSteps > 0))
  throw new RangeError(`--class-steps must be a positive integer, got ${flag('class-steps', '')}`);
const longer = classSteps !== SCAN.classSteps;
/** `--recipes T,P` (default both): which recipes' models this process trains and scans (two processes can split a run). */
const mine = new Set(flag('recipes', 'T,P').split(','));
if ([...mine].some((r) => r !== 'T' && r !== 'P')) throw new RangeError(`--recipes takes T, P or T,P; got ${flag('recipes', '')}`);
setNumThreads(threads);
for (const d of ['models', 'scans', 'data']) mkdirSync(join(out, d), { recursive: true });
const t0 = Date.now();
const log = (s: string) => process.stderr.write(`[${((Date.now() - t0) / 1000).toFixed(0)}s] ${s}\n`);

const nSeeds = Math.max(2, Math.round(5 * scale));
const nClean = Math.max(4, Math.round(20 * scale));
const nClean2 = Math.max(2, Math.round(5 * scale));
const weightsOf = (j: Job) => weightsFile(out, j);
const scanOf = (j: Job) => join(out, 'scans', `${nameOf(j)}-${hash({ SCAN, scan: 128, threads })}.json`);
const classScanOf = (j: Job) =>
  join(out, 'scans', `${nameOf(j)}-classes-${hash({ classSteps, batchSize: SCAN.batchSize, seed: SCAN.seed, scan: 128, threads })}.json`);

const jobs: Job[] = [];
for (const recipe of RECIPES)
  for (const arch of ['small-cnn', 'resnet-tiny'] as const)
    for (let s = 0; s < N_REFS; s++) jobs.push({ recipe, arch, kind: 'reference', seed: s });
// Suspects interleaved by seed (clean small-cnn models four per seed step), so that a run stopped
// early still covers every kind and both splits.
const perStep = Math.ceil(nClean / nSeeds);
// Seeds in the order 0, 2, 1, 3, 4, ...: a tuning seed, then a held-out one.
const seedOrder = [0, 2, 1, 3, 4, ...Array.from({ length: Math.max(0, nSeeds - 5) }, (_, i) => i + 5)].filter((s) => s < nSeeds);
for (const s of seedOrder)
  for (const recipe of RECIPES) {
    for (const kind of Object.keys(KINDS)) {
      jobs.push({ recipe, arch: 'small-cnn', kind, seed: s });
      if (ARCH2_KINDS.includes(kind)) jobs.push({ recipe, arch: 'resnet-tiny', kind, seed: s });
    }
    for (let c = s * perStep; c < Math.min(nClean, (s + 1) * perStep); c++)
      jobs.push({ recipe, arch: 'small-cnn', kind: 'clean', seed: c });
    for (let c = s; c < nClean2; c += nSeeds) jobs.push({ recipe, arch: 'resnet-tiny', kind: 'clean', seed: c });
  }
log(
  `suite: ${jobs.length} models (scale ${scale}: ${nSeeds} seeds per attack kind, ${nClean} + ${nClean2} clean, ${N_REFS} references per recipe and arch)`,
);

// 1. Plain-PyTorch models: poisoned data written here, trained by one python process in the
// background while this one trains and scans the tool's models.
let python: ReturnType<typeof spawn> | null = null;
let pythonExit: number | null = null;
if (!reportOnly) {
  const pending = jobs.filter((j) => j.recipe === 'P' && mine.has('P') && !existsSync(weightsOf(j)));
  if (pending.length > 0) {
    const pyJobs = pending.map((j) => {
      const ds = trainingSet(j);
      const file = join(out, 'data', `${nameOf(j)}.bin`);
      const head = Buffer.alloc(16);
      [ds.n, ds.c, ds.h, ds.w].forEach((v, i) => head.writeUInt32LE(v, 4 * i));
      writeFileSync(
        file,
        Buffer.concat([
          head,
          Buffer.from(ds.images.buffer, ds.images.byteOffset, ds.images.byteLength),
          Buffer.from(Int32Array.from(ds.labels).buffer),
        ]),
      );
      return {
        data: file,
        arch: j.arch,
        numClasses: ds.classes.length,
        seed: modelSeed(j),
        epochs: 4,
        lr: 1e-3,
        weightDecay: 1e-4,
        batchSize: 64,
        pad: 2,
        mean: norm.mean,
        std: norm.std,
        out: weightsOf(j),
        meta: { recipe: 'P', kind: j.kind, seed: String(j.seed) },
      };
    });
    const manifest = join(out, 'data', 'jobs.json');
    writeFileSync(manifest, JSON.stringify(pyJobs));
    log(`training ${pending.length} PyTorch models in the background (bench/scan-suite.py)`);
    python = spawn('/usr/bin/python3', ['bench/scan-suite.py', manifest], {
      stdio: ['ignore', 'inherit', 'inherit'],
      env: { ...process.env, SUITE_THREADS: String(threads) },
    });
    python.on('exit', (code) => {
      pythonExit = code ?? -1;
    });
  }
}

/** A scanned model: its scan summary and its clean accuracy and true-trigger ASR. */
interface Scanned {
  readonly summary: ScanSummary;
  readonly accuracy: number;
  /** Share of non-target test images sent to the target class by the true trigger (null for clean). */
  readonly asr: number | null;
  readonly seconds: number;
}

function trueTriggerAsr(m: Classifier, kind: string, seed: number): number | null {
  const a = KINDS[kind];
  if (a === undefined) return null;
  const stamped = poisonDataset(
    asrSet,
    a.trigger,
    { policy: 'dirty-label', targetClass: TARGET, fromClasses: OTHERS, probability: 1 },
    seed,
  ).dataset;
  const preds = predict((x) => m.forward(x), stamped, batchSpecFor(stamped, norm)).preds;
  return preds.filter((p) => p === TARGET).length / preds.length;
}

const x01 = imagesTensor(scanSet);
let done = 0;
const todo = jobs.filter((j) => mine.has(j.recipe) && (!existsSync(scanOf(j)) || (longer && !existsSync(classScanOf(j))))).length;
const tStart = Date.now();
/** The scan of `j` as judged: the cached scan, with its per-class searches re-run at `--class-steps` when that differs. */
async function scanned(j: Job): Promise<Scanned | null> {
  const base = await baseScan(j);
  if (base === null || !longer) return base;
  const cf = classScanOf(j);
  if (existsSync(cf))
    return { ...base, summary: { headless: base.summary.headless, classes: JSON.parse(readFileSync(cf, 'utf8')).classes } };
  if (reportOnly) return null;
  const m = loadModelFromFile(weightsOf(j));
  try {
    m.eval();
    const ts = Date.now();
    const { classes } = summariseScan(await scanModel(m, x01, scanSet, norm, { ...SCAN, headless: [], classSteps }, [...scanSet.classes]));
    writeFileSync(`${cf}.tmp`, JSON.stringify({ classes, seconds: (Date.now() - ts) / 1000 }));
    renameSync(`${cf}.tmp`, cf);
    done++;
    const per = (Date.now() - tStart) / done;
    log(`${nameOf(j)}: per-class searches at ${classSteps} steps (${done}/${todo}, ETA ${((per * (todo - done)) / 60000).toFixed(0)} min)`);
    return { ...base, summary: { headless: base.summary.headless, classes } };
  } finally {
    m.dispose();
  }
}

async function baseScan(j: Job): Promise<Scanned | null> {
  const sf = scanOf(j);
  if (existsSync(sf)) return JSON.parse(readFileSync(sf, 'utf8')) as Scanned;
  if (reportOnly) return null;
  const wf = weightsOf(j);
  if (!existsSync(wf)) {
    if (j.recipe === 'P') throw new Error(`${wf}: missing (bench/scan-suite.py did not write it)`);
    const m = await trainClassifier(trainingSet(j), { arch: j.arch }, norm, { epochs: 3, lr: 0.1, batchSize: 128 }, modelSeed(j));
    saveAuditModel(wf, m, norm, { recipe: 'T', kind: j.kind, seed: String(j.seed) });
    m.dispose();
  }
  const m = loadModelFromFile(wf);
  try {
    m.eval();
    const ts = Date.now();
    const summary = summariseScan(await scanModel(m, x01, scanSet, norm, SCAN, [...scanSet.classes]));
    const r: Scanned = {
      summary,
      accuracy: accuracyOn(m, asrSet, norm),
      asr: trueTriggerAsr(m, j.kind, modelSeed(j)),
      seconds: (Date.now() - ts) / 1000,
    };
    writeFileSync(`${sf}.tmp`, JSON.stringify(r));
    renameSync(`${sf}.tmp`, sf);
    if (!longer) done++;
    const per = (Date.now() - tStart) / Math.max(1, done);
    log(`${nameOf(j)}: scanned (${done}/${todo}, ETA ${((per * (todo - done)) / 60000).toFixed(0)} min)`);
    return r;
  } finally {
    m.dispose();
  }
}

const results = new Map<Job, Scanned>();
// In job order, except that a PyTorch model still being trained is taken up when it is there.
const queue = reportOnly ? [...jobs] : jobs.filter((j) => mine.has(j.recipe));
while (queue.length > 0) {
  const k = queue.findIndex(
    (j) => reportOnly || j.recipe === 'T' || existsSync(scanOf(j)) || existsSync(weightsOf(j)) || pythonExit !== null,
  );
  if (k < 0) {
    await new Promise((r) => setTimeout(r, 3000));
    continue;
  }
  const [j] = queue.splice(k, 1);
  const r = await scanned(j);
  if (r !== null) results.set(j, r);
}
if (python !== null && pythonExit === null) await new Promise((r) => python!.on('exit', r));
x01.dispose();

// 2. Judgements.
const refsOf = (recipe: Recipe, arch: Arch) =>
  jobs
    .filter((j) => j.kind === 'reference' && j.recipe === recipe && j.arch === arch && results.has(j))
    .map((j) => results.get(j)!.summary);
const suspects = jobs.filter((j) => j.kind !== 'reference' && results.has(j));
const isTune = (j: Job) => isTuneSeed(j.seed);

interface Row {
  job: Job;
  refs: 'same' | 'other';
  flagged: boolean;
  /** Flagged with the attack's target class as the lowest class (a detection that points at the right class). */
  named: boolean;
}
function rowsFor(rule: JudgeRule, sel: Job[]): Row[] {
  const rows: Row[] = [];
  for (const j of sel)
    for (const refs of ['same', 'other'] as const) {
      const rr: Recipe = refs === 'same' ? j.recipe : j.recipe === 'T' ? 'P' : 'T';
      const v = judge(results.get(j)!.summary, refsOf(rr, j.arch), rule);
      rows.push({ job: j, refs, flagged: v.verdict === 'suspicious', named: v.verdict === 'suspicious' && v.lowestClass === TARGET });
    }
  return rows;
}
const groups = [
  ...Object.keys(KINDS).map((k) => ({ kind: k, arch: 'small-cnn' as Arch })),
  ...ARCH2_KINDS.map((k) => ({ kind: k, arch: 'resnet-tiny' as Arch })),
];
const rateOf = (rows: { flagged: boolean }[]): RateInterval => wilson(rows.filter((r) => r.flagged).length, rows.length);

// Tuning: among the rules with FPR <= 10% on the tuning split, the one with the most attack groups
// at TPR >= 90%, then the highest mean TPR, then the larger z cut.
const candidates: JudgeRule[] = [];
for (const statistic of ['absolute', 'relative'] as const)
  for (const zThreshold of [2, 2.5, 3, 3.5, 4, 5])
    for (const unlikeFactor of [2, 3, Infinity])
      for (const headless of [true, false]) candidates.push({ statistic, zThreshold, unlikeFactor, headless });
const tuneSet = suspects.filter(isTune);
const heldOut = suspects.filter((j) => !isTune(j));
function score(rule: JudgeRule, sel: Job[]) {
  const rows = rowsFor(rule, sel);
  const fpr = rateOf(rows.filter((r) => r.job.kind === 'clean')).rate ?? 0;
  const tprs = groups
    .map((g) => rateOf(rows.filter((r) => r.job.kind === g.kind && r.job.arch === g.arch)).rate)
    .filter((x): x is number => x !== null);
  return {
    fpr,
    covered: tprs.filter((t) => t >= 0.9).length,
    min: tprs.length > 0 ? Math.min(...tprs) : 0,
    mean: tprs.reduce((a, b) => a + b, 0) / Math.max(1, tprs.length),
  };
}
let tuned = CLI_RULE;
let best: ReturnType<typeof score> | null = null;
for (const c of candidates) {
  const s = score(c, tuneSet);
  if (s.fpr > 0.1) continue;
  if (
    best === null ||
    s.covered > best.covered ||
    (s.covered === best.covered && (s.mean > best.mean || (s.mean === best.mean && c.zThreshold > tuned.zThreshold)))
  ) {
    best = s;
    tuned = c;
  }
}
// DECREE's threshold tuned the same way (its paper's 0.1 reported too).
const decreeThresholds = [0.005, 0.01, 0.015, 0.02, 0.03, 0.05, 0.1];
const decreeRows = (th: number, sel: Job[]) =>
  sel.map((j) => ({ job: j, flagged: decree(results.get(j)!.summary.headless[1], th).flagged }));
let decreeTuned = 0.1;
let decreeBest = -1;
for (const th of decreeThresholds) {
  const rows = decreeRows(th, tuneSet);
  if ((rateOf(rows.filter((r) => r.job.kind === 'clean')).rate ?? 0) > 0.1) continue;
  const m = Math.min(...groups.map((g) => rateOf(rows.filter((r) => r.job.kind === g.kind && r.job.arch === g.arch)).rate ?? 0));
  if (m > decreeBest) {
    decreeBest = m;
    decreeTuned = th;
  }
}
const ncRows = (sel: Job[]) => sel.map((j) => ({ job: j, flagged: neuralCleanse(results.get(j)!.summary.classes).flagged }));

// 3. The table (held-out seeds).
const fmt = (r: RateInterval) =>
  r.rate === null ? '—' : `${r.k}/${r.n} = ${(100 * r.rate).toFixed(0)}% [${(100 * r.lo!).toFixed(0)}, ${(100 * r.hi!).toFixed(0)}]`;
const ruleName = (r: JudgeRule) => `${r.statistic}, z ≤ −${r.zThreshold}, unlike ×${r.unlikeFactor}, headless ${r.headless ? 'on' : 'off'}`;
const tunedRows = rowsFor(tuned, heldOut);
const cliRows = rowsFor(CLI_RULE, heldOut);
const nc = ncRows(heldOut);
const dec = decreeRows(0.1, heldOut);
const decT = decreeRows(decreeTuned, heldOut);
const lines: string[] = [];
lines.push(
  `| attack (target class 0) | arch | true-trigger ASR | scan, tuned rule, same-recipe refs | scan, tuned rule, other-recipe refs | scan, CLI default rule (both) | Neural Cleanse (AI > 2) | DECREE (PL1 < 0.1) | DECREE (PL1 < ${decreeTuned}, tuned) |`,
);
lines.push('|---|---|---|---|---|---|---|---|---|');
const table: Record<string, unknown>[] = [];
for (const g of [...groups, { kind: 'clean', arch: 'small-cnn' as Arch }, { kind: 'clean', arch: 'resnet-tiny' as Arch }]) {
  const sel = (r: { job: Job }) => r.job.kind === g.kind && r.job.arch === g.arch;
  const jobsHere = heldOut.filter((j) => sel({ job: j }));
  const asrs = jobsHere.map((j) => results.get(j)!.asr).filter((a): a is number => a !== null);
  const cells = {
    same: rateOf(tunedRows.filter((r) => sel(r) && r.refs === 'same')),
    other: rateOf(tunedRows.filter((r) => sel(r) && r.refs === 'other')),
    cli: rateOf(cliRows.filter(sel)),
    nc: rateOf(nc.filter(sel)),
    decree: rateOf(dec.filter(sel)),
    decreeTuned: rateOf(decT.filter(sel)),
  };
  table.push({ ...g, models: jobsHere.length, asr: asrs.length > 0 ? asrs.reduce((a, b) => a + b, 0) / asrs.length : null, ...cells });
  lines.push(
    `| ${g.kind === 'clean' ? '**clean (FPR)**' : g.kind} | ${g.arch} | ${asrs.length > 0 ? `${((100 * asrs.reduce((a, b) => a + b, 0)) / asrs.length).toFixed(0)}%` : '—'} | ` +
      `${fmt(cells.same)} | ${fmt(cells.other)} | ${fmt(cells.cli)} | ${fmt(cells.nc)} | ${fmt(cells.decree)} | ${fmt(cells.decreeTuned)} |`,
  );
}
const cleanAll = (rows: { job: Job; flagged: boolean }[]) => rateOf(rows.filter((r) => r.job.kind === 'clean'));
lines.push(
  `| **all clean (FPR)** | both | — | ${fmt(cleanAll(tunedRows.filter((r) => r.refs === 'same')))} | ${fmt(cleanAll(tunedRows.filter((r) => r.refs === 'other')))} | ${fmt(cleanAll(cliRows))} | ${fmt(cleanAll(nc))} | ${fmt(cleanAll(dec))} | ${fmt(cleanAll(decT))} |`,
);
const acc = (recipe: Recipe) => {
  const a = [...results.entries()]
    .filter(([j]) => j.recipe === recipe && (j.kind === 'clean' || j.kind === 'reference'))
    .map(([, r]) => r.accuracy);
  return a.length > 0 ? `${((100 * a.reduce((x, y) => x + y, 0)) / a.length).toFixed(1)}%` : '—';
};
const secs = [...results.values()].map((r) => r.seconds);
console.log(
  `scan suite, scale ${scale}, per-class searches ${classSteps} steps: ${results.size} of ${jobs.length} models scanned (${suspects.length} suspects: ${tuneSet.length} tuning, ${heldOut.length} held out; ` +
    `references per recipe and arch: ${RECIPES.map((r) => `${r} ${refsOf(r, 'small-cnn').length}+${refsOf(r, 'resnet-tiny').length}`).join(', ')}). ` +
    `Clean accuracy T ${acc('T')}, P ${acc('P')}; mean scan ${(secs.reduce((a, b) => a + b, 0) / Math.max(1, secs.length)).toFixed(0)} s.`,
);
console.log(
  'split: seeds with seed mod 5 < 2 tune the rule (attack kinds: 0-1; clean: 0, 1, 5, 6, ...); the others are held out and reported.',
);
console.log(
  `tuned rule (on the tuning split): ${ruleName(tuned)}${best ? ` (tuning split: ${best.covered} of ${groups.length} attack groups at TPR >= 90%, lowest TPR ${(100 * best.min).toFixed(0)}%, mean ${(100 * best.mean).toFixed(0)}%, FPR ${(100 * best.fpr).toFixed(0)}%)` : ' (no candidate met FPR <= 10%: the CLI default kept)'}; CLI default: ${ruleName(CLI_RULE)}`,
);
console.log(
  "held-out seeds; each cell: flagged / judged = rate [95% Wilson interval]; the scan is judged once against each recipe's references (the CLI column counts both).\n",
);
console.log(lines.join('\n'));
// A flag counts as a detection above whichever class it names; how many also name the poisoned class:
const named: string[] = [
  '\nheld-out backdoored suspects flagged AND naming the poisoned class (class 0) as the lowest, both recipes of references:',
  '| attack | arch | tuned rule | CLI default rule | Neural Cleanse |',
  '|---|---|---|---|---|',
];
for (const g of groups) {
  const sel = (r: { job: Job }) => r.job.kind === g.kind && r.job.arch === g.arch;
  const ncNamed = heldOut
    .filter((j) => sel({ job: j }))
    .map((j) => {
      const n = neuralCleanse(results.get(j)!.summary.classes);
      return { flagged: n.flagged && n.cls === TARGET };
    });
  named.push(
    `| ${g.kind} | ${g.arch} | ${fmt(rateOf(tunedRows.filter(sel).map((r) => ({ flagged: r.named }))))} | ${fmt(rateOf(cliRows.filter(sel).map((r) => ({ flagged: r.named }))))} | ${fmt(rateOf(ncNamed))} |`,
  );
}
console.log(named.join('\n'));
writeFileSync(
  join(out, `summary-scale-${scale}${longer ? `-class-steps-${classSteps}` : ''}.json`),
  JSON.stringify({ scale, tuned, decreeTuned, table, models: results.size, jobs: jobs.length }, null, 1),
);

// 4. What the statistics look like, on every scanned suspect and reference (both splits).
const q = (v: number[]) => {
  if (v.length === 0) return '—';
  const s = [...v].sort((a, b) => a - b);
  const pct = (x: number) => (100 * x).toFixed(1);
  return `${pct(s[Math.floor(s.length / 2)])} [${pct(s[0])}, ${pct(s[s.length - 1])}]`;
};
console.log(
  '\nevery scanned model (both splits): n, mean true-trigger ASR, class-0 mask % of the image (median [min, max]), DECREE PL1 % (same)',
);
console.log('| group | arch | recipe | n | ASR | class-0 mask | DECREE PL1 |');
console.log('|---|---|---|---|---|---|---|');
for (const g of [
  ...groups,
  { kind: 'clean', arch: 'small-cnn' as Arch },
  { kind: 'clean', arch: 'resnet-tiny' as Arch },
  { kind: 'reference', arch: 'small-cnn' as Arch },
  { kind: 'reference', arch: 'resnet-tiny' as Arch },
])
  for (const recipe of RECIPES) {
    const rs = [...results.entries()].filter(([j]) => j.kind === g.kind && j.arch === g.arch && j.recipe === recipe).map(([, r]) => r);
    if (rs.length === 0) continue;
    const asrs = rs.map((r) => r.asr).filter((a): a is number => a !== null);
    const c0 = rs.map((r) => r.summary.classes.find((c) => c.cls === TARGET)?.maskFraction).filter((x): x is number => x !== undefined);
    console.log(
      `| ${g.kind} | ${g.arch} | ${recipe} | ${rs.length} | ${asrs.length > 0 ? `${((100 * asrs.reduce((a, b) => a + b, 0)) / asrs.length).toFixed(0)}%` : '—'} | ${q(c0)} | ${q(rs.map((r) => r.summary.headless[1].maskFraction))} |`,
    );
  }

// 5. The ceiling of this statistic: how well ANY threshold on the per-class masks could do, given
// far more references than a user has. Every clean model and reference of the architecture (both
// recipes, ~50 for small-cnn) serves as a reference for every other model (leave-one-out); a
// model's score is min over classes of (its class-c mask / the 10th percentile of the references'
// class-c masks), and the cut is placed, in-sample (optimistic), at the clean models' 10% quantile:
// about 10% of clean models flagged. A detection must name class 0. Whatever this reaches is an
// upper bound for rules of the tool's kind on these scans (more references, any z cut or floor).
const quantile = (v: number[], p: number) => quantileSorted(Float64Array.from(v).sort(), p);
console.log(
  '\nceiling (all models, in-sample): leave-one-out references = every other clean model and reference of the arch, both recipes; ' +
    'score = min over classes of mask / 10th percentile of the references; cut at the clean 10% quantile; detection = score below the cut at class 0',
);
console.log('| arch | references per model | cut | clean flagged | ' + Object.keys(KINDS).join(' | ') + ' |');
console.log(
  '|---|---|---|---|' +
    Object.keys(KINDS)
      .map(() => '---')
      .join('|') +
    '|',
);
for (const arch of ['small-cnn', 'resnet-tiny'] as const) {
  const pool = [...results.entries()].filter(([j]) => j.arch === arch && (j.kind === 'clean' || j.kind === 'reference'));
  if (pool.length < 10) continue;
  const scoreOf = (j: Job) => {
    const refs = pool.filter(([r]) => r !== j).map(([, r]) => r.summary.classes.map((c) => c.maskFraction));
    let best = Infinity;
    let cls = -1;
    results.get(j)!.summary.classes.forEach((c, i) => {
      const s =
        c.maskFraction /
        quantile(
          refs.map((r) => r[i]),
          0.1,
        );
      if (s < best) [best, cls] = [s, c.cls];
    });
    return { best, cls };
  };
  const clean = [...results.keys()].filter((j) => j.arch === arch && j.kind === 'clean').map((j) => scoreOf(j).best);
  const cut = quantile(clean, 0.1);
  const cells = Object.keys(KINDS).map((k) => {
    const js = [...results.keys()].filter((j) => j.arch === arch && j.kind === k);
    if (js.length === 0) return '—';
    return fmt(
      wilson(
        js.filter((j) => {
          const s = scoreOf(j);
          return s.best < cut && s.cls === TARGET;
        }).length,
        js.length,
      ),
    );
  });
  console.log(
    `| ${arch} | ${pool.length - 1} | ${cut.toFixed(2)} | ${fmt(wilson(clean.filter((s) => s < cut).length, clean.length))} | ${cells.join(' | ')} |`,
  );
}
