/**
 * The transfer check on the scan suite (issue 18 item 3): does `scan --transfer`'s verdict tell a
 * backdoored backbone's recovered trigger from a clean one's, and does the recovered trigger carry
 * over as well as the true one?
 *
 * Models: the scan suite's cached, already-trained small-cnn models (bench/scan-suite-grid.ts;
 * run `npm run bench:scan-suite` first): its held-out seeds (`isTuneSeed` false) of the attack
 * kinds in KIND_LIST, the held-out clean suspects, and the 5 references of the same recipe.
 * Source task: Fashion-MNIST classes 0-4. Target task (disjoint classes): Fashion-MNIST classes
 * 5-9 (Sandal, Shirt, Sneaker, Bag, Ankle boot), the first 3000 training images (a sixth held out
 * by the plateau training) and the first 1000 test images.
 *
 * Per model: the suite's scan (SCAN, on the suite's 128 scan images), its recovered triggers kept
 * with their pixels; the suspect class is chosen as `scan` chooses it (lowest robust z of its class
 * mask among the references'); then `transferWithReferences` (the code `scan --transfer` runs):
 * fixed-feature transfer to the target trained to a plateau, the ASR of the recovered headless and
 * suspect-class triggers and of their random-pixel controls, the same on the references, and a
 * verdict per trigger. For backdoored models also the ASR of the TRUE trigger on the same
 * transferred model (the same fixed transfer, same seed).
 *
 * Everything is cached by content under --out: scans (with trigger pixels) under scans/, the
 * references' transfer ASRs under transfer-cache/ (the audit's cache), each suspect's result under
 * results/. A rerun costs only what is missing. No threshold is tuned: the verdict's cuts are the
 * audit's defaults, and only held-out seeds are reported.
 *
 *   npx tsx bench/scan-transfer-suite.ts [--suite runs/scan-suite] [--out runs/scan-transfer] [--recipes T] [--scan-only] [--kinds a,b]
 */
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { triggerTestSet } from '../src/bias/poison.js';
import { scanCacheInputs } from '../src/audit/cache.js';
import { wilson } from '../src/audit/detection.js';
import { compareClasses } from '../src/audit/reference.js';
import { resolveScanSettings, scanModel, type ScanStatistics } from '../src/audit/scan.js';
import { imagesTensor } from '../src/audit/train.js';
import { TransferCache, transferCacheInputs } from '../src/audit/transfer-cache.js';
import {
  DEFAULT_TRANSFER_RULE,
  referenceAsrsFor,
  referenceTransfers,
  transferCheck,
  transferVerdict,
  type ReferenceTransfer,
  type TransferRule,
  type TransferVerdict,
  type TransferCheck,
  type TransferCheckOptions,
} from '../src/audit/transfer.js';
import { permutedTrigger, type RecoveredTrigger } from '../src/audit/trigger.js';
import { loadDataset } from '../src/data/index.js';
import { codeHash } from '../src/experiment/run-ids.js';
import { loadModelFromFile } from '../src/nn/index.js';
import { setNumThreads } from '../src/torch/index.js';
import {
  hash,
  isTuneSeed,
  KINDS,
  modelSeed,
  N_REFS,
  nameOf,
  norm,
  SCAN,
  scanSet,
  TARGET,
  weightsFile,
  type Job,
  type Recipe,
} from './scan-suite-grid.js';

const argv = process.argv.slice(2);
const flag = (n: string, d: string): string => {
  const i = argv.indexOf(`--${n}`);
  return i >= 0 ? argv[i + 1] : d;
};
const suite = flag('suite', 'runs/scan-suite');
const out = flag('out', 'runs/scan-transfer');
const recipes = flag('recipes', 'T,P').split(',') as Recipe[];
if (recipes.some((r) => r !== 'T' && r !== 'P')) throw new RangeError(`--recipes takes T, P or T,P; got ${flag('recipes', '')}`);
/** The attack kinds measured (default all of the suite's). */
const KIND_LIST = flag('kinds', Object.keys(KINDS).join(',')).split(',');
for (const k of KIND_LIST)
  if (KINDS[k] === undefined) throw new RangeError(`--kinds: unknown attack kind '${k}' (known: ${Object.keys(KINDS).join(', ')})`);
const scanOnly = argv.includes('--scan-only');
setNumThreads(1);
for (const d of ['scans', 'results', 'transfer-cache']) mkdirSync(join(out, d), { recursive: true });
const t0 = Date.now();
const log = (s: string) => process.stderr.write(`[${((Date.now() - t0) / 1000).toFixed(0)}s] ${s}\n`);

const jobs: Job[] = [];
for (const recipe of recipes) {
  for (let s = 0; s < N_REFS; s++) jobs.push({ recipe, arch: 'small-cnn', kind: 'reference', seed: s });
  // Interleaved, so that a run stopped early covers every kind and both splits.
  for (const s of [0, 2, 1, 3, 4]) {
    for (const kind of KIND_LIST) jobs.push({ recipe, arch: 'small-cnn', kind, seed: s });
    for (let c = 4 * s; c < 4 * (s + 1); c++) jobs.push({ recipe, arch: 'small-cnn', kind: 'clean', seed: c });
  }
}
for (const j of jobs)
  if (!existsSync(weightsFile(suite, j)))
    throw new Error(`${weightsFile(suite, j)}: missing; run npm run bench:scan-suite -- --out ${suite} first`);

// 1. Scans, with the recovered triggers' pixels.
const b64 = (a: Float32Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength).toString('base64');
const f32 = (s: string) => {
  const b = Buffer.from(s, 'base64');
  return new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
};
type Stored<T> = Omit<T, 'trigger'> & { trigger: { c: number; h: number; w: number; mask: string; pattern: string } };
const pack = (t: RecoveredTrigger) => ({ c: t.c, h: t.h, w: t.w, mask: b64(t.mask), pattern: b64(t.pattern) });
const unpack = (t: Stored<object>['trigger']): RecoveredTrigger => ({ c: t.c, h: t.h, w: t.w, mask: f32(t.mask), pattern: f32(t.pattern) });
const scanFile = (j: Job) => join(out, 'scans', `${nameOf(j)}-${hash({ SCAN, scan: 128, threads: 1 })}.json`);

const x01 = imagesTensor(scanSet);
/** A model's scan with its triggers (cached under scans/). */
async function scanOf(j: Job): Promise<ScanStatistics> {
  const f = scanFile(j);
  if (existsSync(f)) {
    const s = JSON.parse(readFileSync(f, 'utf8')) as {
      headless: Stored<ScanStatistics['headless'][number]>[];
      classes: Stored<ScanStatistics['classes'][number]>[];
    };
    return {
      headless: s.headless.map((h) => ({ ...h, trigger: unpack(h.trigger) })),
      classes: s.classes.map((c) => ({ ...c, trigger: unpack(c.trigger) })),
    };
  }
  const m = loadModelFromFile(weightsFile(suite, j));
  try {
    m.eval();
    const ts = Date.now();
    const s = await scanModel(m, x01, scanSet, norm, SCAN, [...scanSet.classes]);
    const stored = {
      headless: s.headless.map((h) => ({ ...h, trigger: pack(h.trigger) })),
      classes: s.classes.map((c) => ({ ...c, trigger: pack(c.trigger) })),
    };
    writeFileSync(`${f}.tmp`, JSON.stringify(stored));
    renameSync(`${f}.tmp`, f);
    log(`${nameOf(j)}: scanned in ${((Date.now() - ts) / 1000).toFixed(0)} s`);
    return s;
  } finally {
    m.dispose();
  }
}

const scans = new Map<Job, ScanStatistics>();
for (const [i, j] of jobs.entries()) {
  scans.set(j, await scanOf(j));
  if ((i + 1) % 5 === 0) log(`scans: ${i + 1}/${jobs.length}`);
}
x01.dispose();
if (scanOnly) {
  log('--scan-only: done');
  process.exit(0);
}

// 2. The transfer check, on the target task.
const targetData = {
  train: loadDataset({ name: 'fashion-mnist', split: 'train', classes: [5, 6, 7, 8, 9], limit: 3000 }),
  test: loadDataset({ name: 'fashion-mnist', split: 'test', classes: [5, 6, 7, 8, 9], limit: 1000 }),
};
/** The transfer settings: fixed-feature transfer only (the brief's measure), the CLI's other defaults. */
const OPTS: TransferCheckOptions = { modes: ['fixed'], seed: 0, resamples: 500 };
const code = codeHash();
const settings = resolveScanSettings(SCAN);
const tcache = new TransferCache(join(out, 'transfer-cache'));
const refTransfers = new Map<Job, ReferenceTransfer[]>();
async function referenceOf(j: Job): Promise<ReferenceTransfer[]> {
  const had = refTransfers.get(j);
  if (had !== undefined) return had;
  const wf = weightsFile(suite, j);
  const key = transferCacheInputs(scanCacheInputs(wf, scanSet, norm, settings, code), targetData, OPTS, code);
  let t = tcache.get(key);
  if (t === null) {
    const ts = Date.now();
    t = await referenceTransfers(() => loadModelFromFile(wf), targetData, norm, scans.get(j)!, OPTS);
    tcache.put(key, t, wf);
    log(
      `${nameOf(j)}: reference transfer in ${((Date.now() - ts) / 1000).toFixed(0)} s (${t[0].epochs} epochs, accuracy ${pct(t[0].accuracy)})`,
    );
  }
  refTransfers.set(j, t);
  return t;
}

/** One suspect's result (cached under results/). */
interface Result {
  readonly job: Job;
  /** The class `scan` would name (lowest robust z of its class mask among the references'). */
  readonly suspectClass: number;
  readonly check: TransferCheck;
  /** The references' transfers it was judged against. */
  readonly references: ReferenceTransfer[][];
}
const pct = (x: number | null | undefined) => (x === null || x === undefined ? '-' : `${(100 * x).toFixed(1)}%`);
const resultFile = (j: Job) => join(out, 'results', `${nameOf(j)}-${hash({ SCAN, OPTS, target: 'fmnist-5-9-3000-1000' })}.json`);

async function resultOf(j: Job): Promise<Result> {
  const f = resultFile(j);
  if (existsSync(f)) return JSON.parse(readFileSync(f, 'utf8')) as Result;
  const refs = jobs.filter((r) => r.kind === 'reference' && r.recipe === j.recipe);
  const references: ReferenceTransfer[][] = [];
  for (const r of refs) references.push(await referenceOf(r));
  const s = scans.get(j)!;
  const compared = compareClasses(
    s.classes,
    refs.map((r) => scans.get(r)!.classes),
  );
  const zs = compared.classes.map((c, i) => ({ cls: s.classes[i].cls, z: c.absolute?.z ?? s.classes[i].maskFraction }));
  const suspectClass = zs.reduce((a, b) => (b.z < a.z ? b : a)).cls;
  const h0 = s.headless[0].trigger;
  const c0 = s.classes.find((c) => c.cls === suspectClass)!.trigger;
  const a = KINDS[j.kind];
  const ts = Date.now();
  const [check] = await transferCheck(
    () => loadModelFromFile(weightsFile(suite, j)),
    targetData,
    norm,
    [
      { name: 'recovered-headless', trigger: h0 },
      { name: 'random-control-headless', trigger: permutedTrigger(h0, 1) },
      { name: `recovered-class-${suspectClass}`, trigger: c0 },
      { name: `random-control-class-${suspectClass}`, trigger: permutedTrigger(c0, 1) },
    ],
    {
      ...OPTS,
      references,
      triggered:
        a === undefined ? [] : [{ name: 'true-trigger', images: triggerTestSet(targetData.test, a.trigger, modelSeed(j)).dataset.images }],
    },
  );
  const r: Result = { job: j, suspectClass, check, references };
  writeFileSync(`${f}.tmp`, JSON.stringify(r));
  renameSync(`${f}.tmp`, f);
  const v = check.verdicts.map((x) => `${x.trigger} ${x.verdict}`).join(', ');
  log(`${nameOf(j)}: transfer in ${((Date.now() - ts) / 1000).toFixed(0)} s, ${check.epochs} epochs, acc ${pct(check.accuracy)}; ${v}`);
  return r;
}

const results: Result[] = [];
for (const j of jobs) if (j.kind !== 'reference') results.push(await resultOf(j));

// 3. The rule tuned on the tuning seeds (FPR ≤ 10% on their clean models, then the most
// 'transfers' on their backdoored ones, then the stricter rule), reported on the held-out seeds.
type Judged = { headless: TransferVerdict; cls: TransferVerdict };
function verdictsOf(r: Result, rule: TransferRule): Judged {
  const c = r.check;
  const refs = r.references.map((x) => x.find((y) => y.mode === c.mode)!).filter((x) => x.trainingCheck === '');
  const row = (n: string) => c.triggers.find((t) => t.name === n)!;
  const judge = (kind: string) =>
    transferVerdict(
      row(`recovered-${kind}`),
      row(`random-control-${kind}`),
      c.trainingCheck,
      referenceAsrsFor(`recovered-${kind}`, row(`recovered-${kind}`).maskFraction, refs),
      rule,
    );
  return { headless: judge('headless'), cls: judge(`class-${r.suspectClass}`) };
}
const either = (v: Judged) => v.cls.verdict === 'transfers' || v.headless.verdict === 'transfers';
const tune = results.filter((r) => isTuneSeed(r.job.seed));
const held = results.filter((r) => !isTuneSeed(r.job.seed));
const candidates: TransferRule[] = [];
for (const aboveAll of [true, false]) for (const zCut of [1, 1.5, 2, 2.5, 3, 3.5, 4, 5]) candidates.push({ zCut, aboveAll });
const rateOn = (rs: Result[], rule: TransferRule, f: (v: Judged) => boolean) =>
  rs.filter((r) => f(verdictsOf(r, rule))).length / Math.max(1, rs.length);
let rule = DEFAULT_TRANSFER_RULE;
let best: { tpr: number; fpr: number } | null = null;
const tuningLines: string[] = [];
for (const c of candidates) {
  const fpr = rateOn(
    tune.filter((r) => r.job.kind === 'clean'),
    c,
    either,
  );
  const tpr = rateOn(
    tune.filter((r) => r.job.kind !== 'clean'),
    c,
    either,
  );
  tuningLines.push(`zCut ${c.zCut}${c.aboveAll ? ', above all' : ''}: tuning TPR ${pct(tpr)}, FPR ${pct(fpr)}`);
  if (fpr > 0.1) continue;
  if (best === null || tpr > best.tpr || (tpr === best.tpr && c.zCut > rule.zCut)) {
    best = { tpr, fpr };
    rule = c;
  }
}
log(`tuning (${tune.length} models):\n  ${tuningLines.join('\n  ')}`);
log(
  `chosen: zCut ${rule.zCut}, above all references ${rule.aboveAll} (the library default is zCut ${DEFAULT_TRANSFER_RULE.zCut}, above all ${DEFAULT_TRANSFER_RULE.aboveAll})`,
);

const mean = (xs: number[]) => (xs.length === 0 ? null : xs.reduce((a, b) => a + b, 0) / xs.length);
const ci = (k: number, n: number) => {
  const w = wilson(k, n);
  return `${k}/${n} = ${pct(w.rate)} [${pct(w.lo)}, ${pct(w.hi)}]`;
};
const asr = (r: Result, n: string) => r.check.triggers.find((t) => t.name === n)?.asr.rate ?? null;
const lines: string[] = [];
lines.push(
  '| recipe | suspects | n | names class 0 | true trigger ASR | recovered (class) ASR | within 10 points | transfers: class trigger | transfers: headless | transfers: either |',
);
lines.push('|---|---|---:|---:|---:|---:|---:|---|---|---|');
const groups: { recipe: string; kind: string; rs: Result[] }[] = [];
for (const recipe of recipes)
  for (const kind of [...KIND_LIST, 'clean'])
    groups.push({ recipe, kind, rs: held.filter((r) => r.job.recipe === recipe && r.job.kind === kind) });
for (const kind of [...KIND_LIST, 'clean']) groups.push({ recipe: 'both', kind, rs: held.filter((r) => r.job.kind === kind) });
groups.push({ recipe: 'both', kind: 'all backdoored', rs: held.filter((r) => r.job.kind !== 'clean') });
for (const g of groups) {
  const rs = g.rs;
  if (rs.length === 0) continue;
  const clean = g.kind === 'clean';
  const trueA = rs.map((r) => asr(r, 'true-trigger')).filter((x): x is number => x !== null);
  const recA = rs.map((r) => asr(r, `recovered-class-${r.suspectClass}`) ?? 0);
  const within = rs.filter((r) => {
    const t = asr(r, 'true-trigger');
    const c = asr(r, `recovered-class-${r.suspectClass}`);
    return t !== null && c !== null && Math.abs(t - c) <= 0.1;
  }).length;
  const named = rs.filter((r) => r.suspectClass === TARGET).length;
  const v = rs.map((r) => verdictsOf(r, rule));
  const k = (f: (x: Judged) => boolean) => ci(v.filter(f).length, rs.length);
  lines.push(
    `| ${g.recipe} | ${g.kind} | ${rs.length} | ${clean ? '-' : `${named}/${rs.length}`} | ${clean ? '-' : pct(mean(trueA))} | ${pct(mean(recA))} | ${clean ? '-' : `${within}/${rs.length}`} | ${k((x) => x.cls.verdict === 'transfers')} | ${k((x) => x.headless.verdict === 'transfers')} | ${k(either)} |`,
  );
}
const failing = results.filter((r) => r.check.trainingCheck !== '').length;
console.log(lines.join('\n'));
console.log(
  `\nHeld-out seeds only (${held.length} suspects; ${tune.length} tuning-seed suspects chose the rule). Fixed-feature transfer to Fashion-MNIST 5-9 (3000 train images, a sixth held out for the plateau rule; 1000 test), trained to a plateau: ${Math.min(...results.map((r) => r.check.epochs))}-${Math.max(...results.map((r) => r.check.epochs))} epochs, clean accuracy ${pct(Math.min(...results.map((r) => r.check.accuracy)))}-${pct(Math.max(...results.map((r) => r.check.accuracy)))}, ${failing} failing the training check. Rule: above its random-pixel control (intervals apart)${rule.aboveAll ? ', above every reference trigger of its size' : ''} and robust z >= ${rule.zCut} among them. ASR: untargeted, on the target test images; 'within 10 points': |recovered - true| <= 10 points.`,
);
log('done');
