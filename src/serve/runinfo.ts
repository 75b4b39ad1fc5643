/**
 * What the web app reads from a run's folder besides the index: per-epoch training curves of
 * every job (from logs/progress.jsonl while it trains, and from the finished jobs' saved
 * histories: sources.json and jobs/<job>/result.json), the resolved config (for the config keys
 * that differ between runs, and class names), and the overall ETA of a running run.
 *
 * Every file is read through `readInRoot`: a path that resolves (through a symlink) outside the
 * results root is not read.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { RunRecord } from '../store/index.js';
import { FASHION_MNIST_CLASSES } from '../data/loaders/fashionMnist.js';
import { className } from '../experiment/probe-names.js';
import type { ProgressLogEntry } from '../train/progress.js';
import { isInside } from './paths.js';
import { readProgress } from './progress.js';

/** One point of a job's training curve: a finished epoch (1-based). */
export interface CurvePoint {
  readonly epoch: number;
  readonly loss: number | null;
  readonly accuracy: number | null;
  readonly evalAccuracy: number | null;
}

/** A job's training curve (a source model or a target transfer job), by its progress label. */
export interface JobCurve {
  /** The job's label as in the progress lines: 'source biased seed 0', 'digits/biased/fixed'. */
  readonly label: string;
  /** Epochs the job trains for (0 when only a saved history is known). */
  readonly epochs: number;
  readonly points: CurvePoint[];
}

/** The text of a file of the root, or null when it is missing, unreadable or links outside the root. */
function readInRoot(rootReal: string, file: string): string | null {
  try {
    const real = fs.realpathSync(file);
    if (!isInside(rootReal, real) || !fs.statSync(real).isFile()) return null;
    return fs.readFileSync(real, 'utf8');
  } catch {
    return null;
  }
}

function readJson(rootReal: string, file: string): unknown {
  const text = readInRoot(rootReal, file);
  if (text === null) return null;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return null;
  }
}

const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);

/** Points of a saved `EpochRecord[]` history (anything malformed is skipped). */
function historyPoints(h: unknown): CurvePoint[] {
  if (!Array.isArray(h)) return [];
  const out: CurvePoint[] = [];
  for (const e of h as Record<string, unknown>[]) {
    const epoch = num(e?.epoch);
    if (epoch === null) continue;
    out.push({ epoch, loss: num(e.loss), accuracy: num(e.accuracy), evalAccuracy: num(e.evalAccuracy) });
  }
  return out;
}

/** Saved results are written once; parsed ones are kept by path and mtime. */
const savedCache = new Map<string, { mtimeMs: number; value: JobCurve | null }>();

function savedJobCurve(rootReal: string, file: string): JobCurve | null {
  let mtimeMs: number;
  try {
    mtimeMs = fs.statSync(file).mtimeMs;
  } catch {
    return null;
  }
  const hit = savedCache.get(file);
  if (hit && hit.mtimeMs === mtimeMs) return hit.value;
  const r = readJson(rootReal, file) as { job?: unknown; train?: { history?: unknown } } | null;
  const value = r && typeof r.job === 'string' ? { label: r.job, epochs: 0, points: historyPoints(r.train?.history) } : null;
  if (savedCache.size > 2000) savedCache.clear();
  savedCache.set(file, { mtimeMs, value });
  return value;
}

/**
 * The source variants' kinds in the order the runner makes them (as sources.json lists them), from
 * the resolved config: the biased source (unless the bias is 'none') and its clean control (with
 * `source.control`, or always without a bias); for a pretrained source the backbone ('biased')
 * and its control when given. Empty when the config does not say.
 */
export function sourceKinds(config: Record<string, unknown> | null): string[] {
  const source = config?.source as { pretrained?: { control?: unknown } | null; control?: unknown; bias?: { kind?: unknown } } | undefined;
  if (!source) return [];
  if (source.pretrained) return ['biased', ...(source.pretrained.control ? ['clean'] : [])];
  if (source.bias?.kind === 'none') return ['clean'];
  return ['biased', ...(source.control === false ? [] : ['clean'])];
}

/**
 * The per-epoch curves of every job of `run`: the 'epoch' events of its progress log, completed
 * by the saved histories of finished jobs (sources.json for the source models, result.json of
 * each transfer job: these also cover cached sources and jobs done by queue workers, which leave
 * no events in this run's log). Sources come first, then the transfer jobs, in training order.
 */
export function runCurves(rootReal: string, run: RunRecord): JobCurve[] {
  const byLabel = new Map<string, { epochs: number; points: Map<number, CurvePoint> }>();
  const add = (label: string, epochs: number, p: CurvePoint) => {
    let c = byLabel.get(label);
    if (!c) byLabel.set(label, (c = { epochs: 0, points: new Map() }));
    c.epochs = Math.max(c.epochs, epochs);
    c.points.set(p.epoch, p);
  };
  const sources = readJson(rootReal, path.join(run.paths.dir, 'sources.json'));
  if (Array.isArray(sources)) {
    const kinds = sourceKinds(readConfig(rootReal, run));
    sources.forEach((s: { train?: unknown } | null, i) => {
      for (const p of historyPoints(s?.train)) add(`source ${kinds[i] ?? `#${i + 1}`} seed ${run.seed ?? 0}`, 0, p);
    });
  }
  let jobDirs: string[] = [];
  try {
    jobDirs = fs.readdirSync(path.join(run.paths.dir, 'jobs')).sort();
  } catch {
    jobDirs = [];
  }
  const saved: JobCurve[] = [];
  for (const d of jobDirs) {
    const c = d.startsWith('.') ? null : savedJobCurve(rootReal, path.join(run.paths.dir, 'jobs', d, 'result.json'));
    if (c) saved.push(c);
  }
  // The progress log: its events are the live part and give the training order.
  const order: string[] = [];
  const progressReal = (() => {
    try {
      const real = fs.realpathSync(run.paths.progress);
      return isInside(rootReal, real) ? real : null;
    } catch {
      return null;
    }
  })();
  if (progressReal)
    for (let offset = 0; ;) {
      const chunk = readProgress(progressReal, offset);
      for (const e of chunk.entries) {
        if (!order.includes(e.label)) order.push(e.label);
        const p = epochPoint(e);
        if (p) add(e.label, e.epochs, p);
        else if (!byLabel.has(e.label)) byLabel.set(e.label, { epochs: e.epochs, points: new Map() });
      }
      if (chunk.offset <= offset || chunk.entries.length === 0) break;
      offset = chunk.offset;
    }
  for (const c of saved) for (const p of c.points) if (!byLabel.get(c.label)?.points.has(p.epoch)) add(c.label, 0, p);
  const labels = [...byLabel.keys()];
  const rank = (l: string) => {
    const i = order.indexOf(l);
    return (l.startsWith('source ') ? 0 : 1e6) + (i < 0 ? 1e5 + labels.indexOf(l) : i);
  };
  return labels
    .sort((a, b) => rank(a) - rank(b))
    .map((label) => {
      const c = byLabel.get(label)!;
      const points = [...c.points.values()].sort((a, b) => a.epoch - b.epoch);
      return { label, epochs: Math.max(c.epochs, points.at(-1)?.epoch ?? 0), points };
    });
}

/** The curve point of a progress log entry: an 'epoch' event (its 0-based epoch made 1-based), else null. */
export function epochPoint(e: ProgressLogEntry): CurvePoint | null {
  if (e.kind !== 'epoch') return null;
  return { epoch: e.epoch + 1, loss: num(e.loss), accuracy: num(e.accuracy), evalAccuracy: num(e.evalAccuracy) };
}

/** config.json of runs (written once when the run is created), by run id. */
const configCache = new Map<string, Record<string, unknown> | null>();

/** A run's resolved config (its config.json), or null when missing or unreadable. */
export function readConfig(rootReal: string, run: RunRecord): Record<string, unknown> | null {
  const key = `${rootReal}\0${run.id}`;
  if (configCache.has(key)) return configCache.get(key)!;
  const c = readJson(rootReal, run.paths.config);
  const value = c !== null && typeof c === 'object' && !Array.isArray(c) ? (c as Record<string, unknown>) : null;
  if (configCache.size > 5000) configCache.clear();
  if (value !== null) configCache.set(key, value);
  return value;
}

/** A config flattened to dotted keys with JSON values: { a: { b: 1 } } → { 'a.b': '1' }. Arrays are one value. */
export function flattenConfig(c: Record<string, unknown>, prefix = '', out: Record<string, string> = {}): Record<string, string> {
  for (const [k, v] of Object.entries(c)) {
    const key = prefix ? `${prefix}.${k}` : k;
    if (v !== null && typeof v === 'object' && !Array.isArray(v)) flattenConfig(v as Record<string, unknown>, key, out);
    else out[key] = JSON.stringify(v);
  }
  return out;
}

/** Keys that say which run it is rather than how it was configured (never shown as differences). */
const IDENTITY_KEYS = new Set(['name', 'seeds', 'sweep']);

/**
 * The config keys whose values differ between `configs` (dotted keys, sorted; a key missing from
 * some config counts as different), leaving out the experiment name, the seed list and the sweep
 * definition. At most `limit` keys (the first ones).
 */
export function differingKeys(configs: readonly Record<string, string>[], limit = 8): string[] {
  if (configs.length < 2) return [];
  const keys = new Set(configs.flatMap((c) => Object.keys(c)));
  const out: string[] = [];
  for (const k of [...keys].sort()) {
    if (IDENTITY_KEYS.has(k.split('.')[0])) continue;
    const first = configs[0][k];
    if (configs.some((c) => c[k] !== first)) out.push(k);
  }
  return out.slice(0, limit);
}

const DIGITS = Array.from({ length: 10 }, (_, i) => String(i));

/** The class names a built-in dataset's label indices stand for (null: not known without loading it). */
function builtinClasses(name: unknown): readonly string[] | null {
  if (name === 'fashion-mnist') return FASHION_MNIST_CLASSES;
  if (name === 'mnist') return DIGITS;
  return null;
}

/**
 * The class names of a run's target `target` (index = the target's label), from its resolved
 * config: the dataset's `classes` list (names as given, indices through the built-in datasets'
 * names), or a built-in dataset's own names; null when not known from the config.
 */
export function targetClassNames(config: Record<string, unknown> | null, target: string | null): readonly string[] | null {
  if (config === null || target === null) return null;
  const targets = Array.isArray(config.targets)
    ? (config.targets as { name?: unknown; dataset?: { name?: unknown; classes?: unknown } }[])
    : [];
  const t = targets.find((x) => x?.name === target);
  if (!t?.dataset) return null;
  const builtin = builtinClasses(t.dataset.name);
  const classes = t.dataset.classes;
  if (Array.isArray(classes))
    return classes.map((c) => (typeof c === 'string' ? c : typeof c === 'number' && builtin ? className(c, builtin) : String(c)));
  return builtin ? builtin.map((c) => className(c, builtin)) : null;
}

/**
 * The class names of a run's target `target` as the run recorded them in its facts
 * (src/store/facts.ts: names of the data it actually loaded, so folder datasets too), or null when
 * the run has no facts (older code, or not finished) or no such target.
 */
export function factClassNames(rootReal: string, run: RunRecord, target: string | null): readonly string[] | null {
  if (target === null) return null;
  const facts = readJson(rootReal, path.join(run.paths.dir, 'facts.json')) as { targets?: { name?: unknown; classes?: unknown }[] } | null;
  const t = Array.isArray(facts?.targets) ? facts.targets.find((x) => x?.name === target) : undefined;
  return Array.isArray(t?.classes) && t.classes.every((c) => typeof c === 'string') ? (t.classes as string[]) : null;
}

/** The overall ETA of a running run, from its progress log. */
export interface RunEta {
  /** Seconds left for the whole run, or null when it cannot be estimated yet. */
  readonly seconds: number | null;
  /** Jobs finished, and jobs in all (null when the config does not say). */
  readonly jobsDone: number;
  readonly jobsTotal: number | null;
  /** The job training now, if any. */
  readonly current: string | null;
}

/**
 * How many training jobs a run has, from its resolved config: its source models (a biased one
 * and, with `source.control`, a clean control; none for a pretrained source), and per target one
 * job per transfer mode per source model (scratch once). Null when the config does not say.
 */
export function jobCount(config: Record<string, unknown> | null): number | null {
  const targets = config?.targets;
  const modes = (config?.transfer as { modes?: unknown } | undefined)?.modes;
  const variants = sourceKinds(config).length;
  if (variants === 0 || !Array.isArray(targets) || !Array.isArray(modes)) return null;
  const perTarget = (modes.includes('scratch') ? 1 : 0) + modes.filter((m) => m !== 'scratch').length * variants;
  return sourcesTrained(config) + targets.length * perTarget;
}

/** How many source models a run trains itself (none for a pretrained source). */
function sourcesTrained(config: Record<string, unknown> | null): number {
  return (config?.source as { pretrained?: unknown } | undefined)?.pretrained ? 0 : sourceKinds(config).length;
}

/**
 * The overall ETA of `run` from its progress log: the job training now reports its own ETA (its
 * last step event); each job not started yet is assumed to take as long as the finished jobs of
 * its kind (source or target) took on average, from their events' times (before one has
 * finished, as long as the job training now will have taken; a target job as a quarter of a
 * source until one has finished). Null seconds until a job has reported an ETA.
 */
export function runEta(rootReal: string, run: RunRecord): RunEta {
  const config = readConfig(rootReal, run);
  const total = jobCount(config);
  const jobs = new Map<string, { first: number; last: number; done: boolean; eta: number | null; at: number }>();
  let progressReal: string | null = null;
  try {
    const real = fs.realpathSync(run.paths.progress);
    progressReal = isInside(rootReal, real) ? real : null;
  } catch {
    progressReal = null;
  }
  if (progressReal)
    for (let offset = 0; ;) {
      const chunk = readProgress(progressReal, offset);
      for (const e of chunk.entries) {
        const t = Date.parse(e.t);
        const j = jobs.get(e.label) ?? { first: t, last: t, done: false, eta: null, at: t };
        j.last = t;
        if (e.kind === 'done') j.done = true;
        if (e.etaSeconds !== undefined) {
          j.eta = e.etaSeconds;
          j.at = t;
        }
        jobs.set(e.label, j);
      }
      if (chunk.offset <= offset || chunk.entries.length === 0) break;
      offset = chunk.offset;
    }
  const list = [...jobs];
  const done = list.filter(([, j]) => j.done);
  const running = list.filter(([, j]) => !j.done);
  const current = running.at(-1) ?? null;
  const now = Date.now();
  const mean = (src: boolean) => {
    const d = done.filter(([l]) => l.startsWith('source ') === src).map(([, j]) => (j.last - j.first) / 1000);
    // No finished job of this kind yet: the one training now, as long as it will have taken.
    if (d.length === 0 && current && current[0].startsWith('source ') === src && current[1].eta !== null)
      d.push((current[1].at - current[1].first) / 1000 + current[1].eta);
    return d.length ? d.reduce((a, b) => a + b, 0) / d.length : null;
  };
  let seconds: number | null = 0;
  if (current) {
    const [, j] = current;
    seconds = j.eta === null ? null : Math.max(0, j.eta - (now - j.at) / 1000);
  }
  if (total !== null) {
    // Jobs not started: the sources first (they train before any target job), then the targets.
    const sourcesTotal = sourcesTrained(config);
    const startedSources = list.filter(([l]) => l.startsWith('source ')).length;
    const startedTargets = list.length - startedSources;
    const leftSources = Math.max(0, sourcesTotal - startedSources);
    const leftTargets = Math.max(0, total - sourcesTotal - startedTargets);
    const ms = mean(true);
    const mt = mean(false) ?? (ms !== null ? ms / 4 : null);
    if (leftSources > 0) seconds = seconds === null || ms === null ? null : seconds + leftSources * ms;
    if (leftTargets > 0) seconds = seconds === null || mt === null ? null : seconds + leftTargets * mt;
  } else if (!current) seconds = null;
  return { seconds, jobsDone: done.length, jobsTotal: total, current: current?.[0] ?? null };
}
