/**
 * Does the scan's verdict survive references trained with another recipe than the suspect?
 * (issue 18 §2, a first measurement, not the detection-rate suite.) small-cnn models on
 * Fashion-MNIST classes 0-4, two recipes:
 *   A: this tool's `--train-references` recipe: 3 epochs, SGD lr 0.1, batch 128, weight decay 5e-4,
 *      training images 0-1999;
 *   B: 8 epochs, SGD lr 0.02, batch 64, no weight decay, training images 2000-3999.
 * Per recipe: 4 clean references and suspects: clean-label backdoors on class 0 (a 5-px
 * checkerboard bottom-right and a 5-px noise patch top-left, 2 seeds each) and 3 clean models.
 * Every suspect is judged against the references of its own recipe and of the other one, with
 * the absolute and the relative per-class statistic (src/audit/reference.ts), by the same
 * functions the CLI uses. Models and scans are cached under --out; a rerun resumes.
 *
 *   npx tsx bench/scan-recipes.ts [--out runs/scan-recipes] [--threads 2]
 *
 * Prints one line per (suspect, references, statistic) and a summary table; the last line is JSON.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { poisonDataset, type TriggerSpec } from '../src/bias/index.js';
import { loadDataset, selectIndices } from '../src/data/index.js';
import { summariseScan, type ScanSummary } from '../src/audit/cache.js';
import { compareClasses, decide, robustZ, type ClassStatistic, type VerdictInput } from '../src/audit/reference.js';
import { scanModel } from '../src/audit/scan.js';
import { imagesTensor, normalisationOf, saveAuditModel, trainClassifier, type TrainRecipe } from '../src/audit/train.js';
import { loadModelFromFile } from '../src/nn/index.js';
import { setNumThreads } from '../src/torch/index.js';

const argv = process.argv.slice(2);
const flag = (n: string, d: string): string => {
  const i = argv.indexOf(`--${n}`);
  return i >= 0 ? argv[i + 1] : d;
};
const out = flag('out', 'runs/scan-recipes');
setNumThreads(Number(flag('threads', '2')));
for (const d of ['models', 'scans']) mkdirSync(join(out, d), { recursive: true });

const all = loadDataset({ name: 'fashion-mnist', split: 'train', classes: [0, 1, 2, 3, 4], limit: 4000 });
const half = (k: number) =>
  selectIndices(
    all,
    Array.from({ length: 2000 }, (_, i) => i + 2000 * k),
    { name: `train-${k}` },
  );
const RECIPES: Record<string, { data: ReturnType<typeof half>; recipe: TrainRecipe }> = {
  A: { data: half(0), recipe: { epochs: 3, lr: 0.1, batchSize: 128 } },
  B: { data: half(1), recipe: { epochs: 8, lr: 0.02, batchSize: 64, weightDecay: 0 } },
};
const KINDS: Record<string, TriggerSpec | null> = {
  clean: null,
  checkerboard: { kind: 'checkerboard', size: 5, position: 'bottom-right', cell: 1 },
  noise: { kind: 'noise', seed: 1, scale: 100, size: 5, position: 'top-left' },
};
const SUSPECTS: { kind: string; seed: number }[] = [
  { kind: 'checkerboard', seed: 0 },
  { kind: 'checkerboard', seed: 1 },
  { kind: 'noise', seed: 0 },
  { kind: 'noise', seed: 1 },
  { kind: 'clean', seed: 20 },
  { kind: 'clean', seed: 21 },
  { kind: 'clean', seed: 22 },
];
const N_REFS = 4;
// One normalisation for every model (what a user scanning with one --mean/--std would use).
const norm = normalisationOf(RECIPES.A.data);
const test = loadDataset({ name: 'fashion-mnist', split: 'test', classes: [0, 1, 2, 3, 4], limit: 256 });
const scanSet = selectIndices(
  test,
  Array.from({ length: 256 }, (_, i) => i),
  { name: 'scan' },
);
const x01 = imagesTensor(scanSet);
const SETTINGS = { headlessSteps: 100, classSteps: 100 };
const t0 = Date.now();
const log = (s: string) => process.stderr.write(`[${((Date.now() - t0) / 1000).toFixed(0)}s] ${s}\n`);

async function scanned(recipe: string, kind: string, seed: number): Promise<ScanSummary> {
  const name = `${recipe}-${kind}-${seed}`;
  const sf = join(out, 'scans', `${name}.json`);
  if (existsSync(sf)) return JSON.parse(readFileSync(sf, 'utf8')) as ScanSummary;
  const wf = join(out, 'models', `${name}.safetensors`);
  if (!existsSync(wf)) {
    const r = RECIPES[recipe];
    const spec = KINDS[kind];
    const ds = spec === null ? r.data : poisonDataset(r.data, spec, { policy: 'clean-label', classes: [0], probability: 1 }, seed).dataset;
    const m = await trainClassifier(ds, { arch: 'small-cnn' }, norm, r.recipe, 1000 * (recipe === 'A' ? 1 : 2) + seed);
    saveAuditModel(wf, m, norm, { recipe, kind, seed: String(seed) });
    m.dispose();
    log(`trained ${name}`);
  }
  const m = loadModelFromFile(wf);
  try {
    const s = summariseScan(await scanModel(m, x01, scanSet, norm, SETTINGS, [...scanSet.classes]));
    writeFileSync(sf, JSON.stringify(s));
    log(`scanned ${name}`);
    return s;
  } finally {
    m.dispose();
  }
}

const refs: Record<string, ScanSummary[]> = { A: [], B: [] };
for (const r of ['A', 'B']) for (let i = 0; i < N_REFS; i++) refs[r].push(await scanned(r, 'clean', 100 + i));

interface Row {
  suspect: string;
  kind: string;
  refs: string;
  statistic: ClassStatistic;
  verdict: string;
  /** What the verdict flagged: the poisoned class 0, another class, or only the headless statistic. */
  flagged: 'class 0' | 'other class' | 'headless only' | '';
  class0z: number | null;
  minZ: number;
  minZClass: number;
}
const rows: Row[] = [];
for (const sr of ['A', 'B'])
  for (const s of SUSPECTS) {
    const st = await scanned(sr, s.kind, s.seed);
    for (const rr of ['A', 'B'])
      for (const statistic of ['absolute', 'relative'] as const) {
        const rs = refs[rr];
        const { classes, scale } = compareClasses(
          st.classes,
          rs.map((r) => r.classes),
        );
        const inputs: VerdictInput[] = [
          {
            name: 'headless',
            position: robustZ(
              st.headless[0].maskFraction,
              rs.map((r) => r.headless[0].maskFraction),
            ),
            reached: st.headless[0].reached,
          },
          ...classes.map((c, i) => ({
            name: `class ${c.cls}`,
            position: c[statistic]!,
            reached: st.classes[i].reached,
            relative: statistic === 'relative',
          })),
        ];
        const v = decide(inputs, {}, scale);
        const first = v.reasoning[0];
        const flagged =
          v.verdict !== 'suspicious' && !/would be flagged/.test(first)
            ? ''
            : /class 0\b/.test(first)
              ? 'class 0'
              : /class \d/.test(first)
                ? 'other class'
                : 'headless only';
        const zs = classes.map((c) => c[statistic]!.z!);
        const k = zs.indexOf(Math.min(...zs));
        const row: Row = {
          suspect: `${sr}-${s.kind}-${s.seed}`,
          kind: s.kind === 'clean' ? 'clean' : 'backdoor',
          refs: rr,
          statistic,
          verdict: v.verdict,
          flagged,
          class0z: classes.find((c) => c.cls === 0)?.[statistic]?.z ?? null,
          minZ: zs[k],
          minZClass: classes[k].cls,
        };
        rows.push(row);
        console.log(
          `${row.suspect.padEnd(18)} refs ${rr} ${statistic.padEnd(8)} ${v.verdict.padEnd(17)} ${flagged.padEnd(13)} class-0 z ${row.class0z?.toFixed(2)} ` +
            `min z ${row.minZ.toFixed(2)} (class ${row.minZClass}) scale ${scale!.value.toFixed(3)} vs ${scale!.references.map((x) => x.toFixed(3)).join(',')}`,
        );
      }
  }
x01.dispose();

console.log('\nsuspicious verdicts by suspect recipe, reference recipe and statistic:');
console.log('backdoored (of 4): flagged naming class 0 / another class / headless only; clean (of 3): flagged; unlike-references: count');
console.log('suspects  refs  statistic  backdoored      clean  unlike');
const summary: Record<string, unknown>[] = [];
for (const sr of ['A', 'B'])
  for (const rr of ['A', 'B'])
    for (const statistic of ['absolute', 'relative'] as const) {
      const sel = rows.filter((r) => r.suspect.startsWith(sr) && r.refs === rr && r.statistic === statistic);
      const count = (kind: string, v: string, f?: string) =>
        sel.filter((r) => r.kind === kind && r.verdict === v && (f === undefined || r.flagged === f)).length;
      const e = {
        suspects: sr,
        refs: rr,
        statistic,
        backdoorClass0: count('backdoor', 'suspicious', 'class 0'),
        backdoorOtherClass: count('backdoor', 'suspicious', 'other class'),
        backdoorHeadlessOnly: count('backdoor', 'suspicious', 'headless only'),
        cleanFlagged: count('clean', 'suspicious'),
        unlike: count('backdoor', 'unlike-references') + count('clean', 'unlike-references'),
      };
      summary.push(e);
      console.log(
        `${sr.padEnd(9)} ${rr.padEnd(5)} ${statistic.padEnd(10)} ` +
          `${e.backdoorClass0} / ${e.backdoorOtherClass} / ${e.backdoorHeadlessOnly}`.padEnd(15) +
          `${String(e.cleanFlagged).padEnd(6)} ${e.unlike}`,
      );
    }
writeFileSync(join(out, 'summary.json'), JSON.stringify({ rows, summary }, null, 1));
console.log(JSON.stringify(summary));
