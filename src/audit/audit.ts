/**
 * `auditBackbone`: the whole scan of one backbone — its statistics, the same statistics on clean
 * references (given, or trained here on labelled data), where it falls among them, the verdict
 * with its reasoning, optionally "would it transfer?" on labelled target data, and the PNGs.
 */
import fs from 'node:fs';
import path from 'node:path';
import { exampleGridPng, type GridImage, type GridRow } from '../bias/grid.js';
import type { ImageDataset } from '../data/types.js';
import { createModel, type Classifier } from '../nn/index.js';
import { noGrad, type Tensor } from '../torch/index.js';
import { formatDuration } from '../train/progress.js';
import type { ProgressEvent } from '../train/trainer.js';
import { scanCacheInputs, summariseScan, ScanCache, type ScanSummary } from './cache.js';
import {
  compareClasses,
  decide,
  robustZ,
  type ClassStatistic,
  type ReferencePosition,
  type ScaleCheck,
  type Verdict,
  type VerdictInput,
  type VerdictRule,
} from './reference.js';
import {
  classLabel,
  resolveScanSettings,
  scanModel,
  type ResolvedScanSettings,
  type ClassFinding,
  type HeadlessFinding,
  type ScanSettings,
  type ScanStatistics,
} from './scan.js';
import type { Normalisation } from './search.js';
import { saveAuditModel, trainClassifier, imagesTensor, type TrainRecipe } from './train.js';
import { referenceTransfers, transferCheck, type ReferenceTransfer, type TransferCheck, type TransferCheckOptions } from './transfer.js';
import { TransferCache, transferCacheInputs } from './transfer-cache.js';
import { permutedTrigger, stampImages, type RecoveredTrigger } from './trigger.js';

/** A backbone to load: a label (its file) and a loader building it with its weights. */
export interface BackboneSource {
  readonly label: string;
  readonly load: () => Classifier;
  /** The weights file when the backbone is one: its sha256 keys the reference cache (see ./cache.ts). */
  readonly file?: string;
}

/** Inputs of `auditBackbone`. */
export interface AuditInput {
  readonly backbone: BackboneSource;
  /** Scan images (labels unused); the first `maxImages` are used. */
  readonly data: ImageDataset;
  readonly norm: Normalisation;
  /** Clean reference backbones of the same architecture. */
  readonly references?: readonly BackboneSource[];
  /** Train this many clean references on `trainReferences.data` (labelled), same architecture as the backbone. */
  readonly trainReferences?: { count: number; data: ImageDataset; recipe?: TrainRecipe; seed?: number };
  readonly scan?: ScanSettings;
  /** Images used by the search (default 256). */
  readonly maxImages?: number;
  readonly rule?: VerdictRule;
  /** How per-class masks are compared with the references' (default 'absolute'; see `ClassStatistic`). */
  readonly statistic?: ClassStatistic;
  /** Labelled target data for "would it transfer?". */
  readonly target?: { train: ImageDataset; test: ImageDataset; options?: TransferCheckOptions };
  /** Folder for PNGs, report.json and trained references (nothing written without it). */
  readonly outDir?: string;
  /** Folder of cached reference statistics (see ./cache.ts); none read or written without it. */
  readonly cacheDir?: string;
  /** The caller's numeric code version (the CLI passes `codeHash()`), part of every cache key; needed with `cacheDir`. */
  readonly codeVersion?: string;
  /**
   * Progress lines: what is searched and how far, with the share of all search steps done and an
   * ETA once a few steps were timed, e.g. `reference 2/4: class Dress 40/100 (scan 45%, ETA 1m20s)`.
   */
  readonly onProgress?: (line: string) => void;
}

/** Statistics of one headless search, without the trigger pixels. */
export type HeadlessSummary = Omit<HeadlessFinding, 'trigger'> & { position: ReferencePosition };
/**
 * Statistics of one class, without the trigger pixels: `position` by the statistic the verdict
 * used, `positions` by both (see `ClassStatistic`), `relativeMask` the mask over the model's
 * median class mask.
 */
export type ClassSummary = Omit<ClassFinding, 'trigger'> & {
  position: ReferencePosition | null;
  relativeMask: number;
  positions: { absolute: ReferencePosition | null; relative: ReferencePosition | null };
};

/** What `auditBackbone` returns (and `scan --json` prints). */
export interface AuditReport {
  readonly weights: string;
  /** PL1 of the headless trigger (fraction of the image). */
  readonly maskFraction: number;
  /** Collapse reached by the headless trigger on the scan images. */
  readonly similarity: number;
  readonly verdict: Verdict;
  readonly reasoning: string[];
  /** The per-class statistic the verdict used. */
  readonly statistic: ClassStatistic;
  /** The backbone's median class mask against the references' (null without per-class references). */
  readonly scale: ScaleCheck | null;
  /** Where the backbone's headless statistic falls among the references. */
  readonly references: {
    count: number;
    files: string[];
    headless: ReferencePosition;
    /** How many references' statistics came from the cache (not scanned again). */
    cached: number;
  };
  /** The cache folder used, or null. */
  readonly cache: string | null;
  readonly headless: HeadlessSummary[];
  /** Per-class inversion through the source head (empty without it). */
  readonly perClass: ClassSummary[];
  /** The class whose trigger is most anomalous (lowest z; smallest mask without references), or null. */
  readonly mostSuspiciousClass: number | null;
  /** Its name (from the scan data's class names when they match the head, else its index), or null. */
  readonly mostSuspiciousClassName: string | null;
  readonly transfer: TransferCheck[] | null;
  readonly images: number;
  readonly seconds: number;
  /** Files written under outDir. */
  readonly files: Record<string, string>;
}

const strip = <T extends { trigger: RecoveredTrigger }>(f: T): Omit<T, 'trigger'> => {
  const { trigger: _t, ...rest } = f;
  return rest;
};

/** Runs the scan of `input.backbone` end to end (see the module comment). */
export async function auditBackbone(input: AuditInput): Promise<AuditReport> {
  const t0 = Date.now();
  const say = input.onProgress ?? (() => {});
  const n = Math.min(input.maxImages ?? 256, input.data.n);
  if (n < 2) throw new RangeError(`scan data '${input.data.name}' has ${input.data.n} image(s); at least 2 are needed`);
  const data: ImageDataset =
    n === input.data.n
      ? input.data
      : {
          ...input.data,
          n,
          images: input.data.images.slice(0, n * input.data.c * input.data.h * input.data.w),
          labels: input.data.labels.slice(0, n),
        };
  const x01 = imagesTensor(data);
  const files: Record<string, string> = {};
  if (input.cacheDir !== undefined && input.codeVersion === undefined)
    throw new Error('auditBackbone: a cacheDir needs the codeVersion its entries are keyed by');
  const cache = input.cacheDir !== undefined ? new ScanCache(input.cacheDir) : null;
  const notes: string[] = [];
  const keptWeights: Map<string, Tensor>[] = [];
  try {
    // Progress over all search steps of the scans still to run, with an ETA from the time spent searching.
    const clock = { total: 0, done: 0, searchMs: 0 };
    const stepsOf = (k: number, perClass: boolean) => {
      const r = resolveScanSettings(input.scan);
      return r.headless.length * r.headlessSteps + (perClass && r.perClass ? k * r.classSteps : 0);
    };
    const progress = (who: string) => {
      let prevStep = 0;
      let prevAt = 0;
      return (what: string, step: number, steps: number) => {
        const now = Date.now();
        if (step > prevStep && prevStep > 0) clock.searchMs += now - prevAt;
        if (step <= prevStep) prevStep = 0; // a new search began
        clock.done += step - prevStep;
        prevStep = step;
        prevAt = now;
        const share = clock.total > 0 ? Math.min(1, clock.done / clock.total) : 0;
        const eta = clock.done >= 20 ? formatDuration(((clock.total - clock.done) * clock.searchMs) / clock.done / 1000) : '?';
        say(`${who}: ${what} ${step}/${steps} (scan ${(100 * share).toFixed(0)}%, ETA ${eta})`);
      };
    };
    const model = input.backbone.load();
    let stats: ScanStatistics;
    let classNames: string[];
    let numClasses: number;
    let archSpec: Classifier['spec'];
    try {
      numClasses = model.spec.numClasses;
      archSpec = model.spec;
      if (data.classes.length === numClasses) classNames = [...data.classes];
      else {
        classNames = Array.from({ length: numClasses }, (_, c) => String(c));
        notes.push(
          `the head has ${numClasses} classes but the scan data '${data.name}' names ${data.classes.length}, so classes are shown by index`,
        );
      }
      // Until the references are known, the total counts the backbone's own scan.
      clock.total = stepsOf(numClasses, true);
      stats = await scanModel(model, x01, data, input.norm, { ...input.scan, onProgress: progress('backbone') }, classNames);
    } finally {
      model.dispose();
    }

    // References: given files, then trained ones.
    const refs: BackboneSource[] = [...(input.references ?? [])];
    const tr = input.trainReferences;
    if (tr !== undefined && tr.count > 0) {
      const { numClasses: _k, inChannels: _c, ...arch } = archSpec;
      for (let i = 0; i < tr.count; i++) {
        say(`training clean reference ${i + 1}/${tr.count} on '${tr.data.name}'`);
        const m = await trainClassifier(tr.data, arch, input.norm, tr.recipe ?? {}, (tr.seed ?? 0) + 7919 * (i + 1), (e: ProgressEvent) => {
          if (e.kind === 'epoch') say(`reference ${i + 1}: epoch ${e.epoch + 1}/${e.epochs} loss ${e.loss?.toFixed(3)}`);
        });
        let file = `(trained reference ${i + 1})`;
        if (input.outDir !== undefined) {
          file = path.join(input.outDir, 'references', `reference-${i + 1}.safetensors`);
          fs.mkdirSync(path.dirname(file), { recursive: true });
          saveAuditModel(file, m, input.norm, { role: 'clean reference' });
        }
        const keepModel = m;
        const spec = m.spec;
        // A copy of its weights when the transfer check will load it again (after the scan disposed it).
        const weights =
          input.target !== undefined ? noGrad(() => new Map([...m.stateDict()].map(([k, t]) => [k, t.clone()] as const))) : null;
        if (weights !== null) keptWeights.push(weights);
        let used = false;
        refs.push({
          label: file,
          ...(input.outDir !== undefined ? { file } : {}),
          load: () => {
            if (!used) {
              used = true;
              return keepModel;
            }
            if (weights === null) throw new Error('a trained reference is scanned once');
            const again = createModel(spec);
            again.loadStateDict(weights, { strict: true });
            return again;
          },
        });
      }
    }
    // References: cached statistics where the cache holds them (by content), a scan otherwise.
    // The per-class search runs on a reference only when its head has the backbone's classes, and
    // that flag is part of the key: look for the entry made with the flag on, then off, and keep
    // it only when the entry's recorded class count agrees with the flag.
    const refStats: { label: string; stats: ScanSummary; numClasses: number }[] = [];
    const settingsFor = (sameHead: boolean) => resolveScanSettings({ ...input.scan, perClass: (input.scan?.perClass ?? true) && sameHead });
    // With a target, each reference also gets the transfer check on its own recovered triggers
    // (cached by content beside its statistics, see ./transfer-cache.ts): a reference whose
    // statistics are cached but whose transfer is not is scanned again for its trigger pixels.
    const target = input.target;
    const transferOpts = { ...target?.options, references: undefined, triggered: undefined, onProgress: undefined };
    const tcache = input.cacheDir !== undefined && target !== undefined ? new TransferCache(input.cacheDir) : null;
    const transferKey = (r: BackboneSource, settings: ResolvedScanSettings) =>
      tcache === null || r.file === undefined || target === undefined
        ? null
        : transferCacheInputs(
            scanCacheInputs(r.file, data, input.norm, settings, input.codeVersion ?? ''),
            target,
            transferOpts,
            input.codeVersion ?? '',
          );
    const cached = refs.map((r) => {
      if (cache === null || r.file === undefined) return null;
      for (const sameHead of [true, false]) {
        const settings = settingsFor(sameHead);
        const hit = cache.get(scanCacheInputs(r.file, data, input.norm, settings, input.codeVersion ?? ''));
        if (hit !== null && ((hit.numClasses === numClasses) === sameHead || !settingsFor(true).perClass)) {
          // per-class off: one entry whatever the head
          const tk = transferKey(r, settings);
          const transfers = tk === null ? null : tcache!.get(tk);
          if (target !== undefined && transfers === null) return null; // its trigger pixels are needed
          return { ...hit, transfers };
        }
      }
      return null;
    });
    clock.total += cached.filter((c) => c === null).length * stepsOf(numClasses, true);
    let fromCache = 0;
    const refTransfers: ReferenceTransfer[][] = [];
    for (const [i, r] of refs.entries()) {
      const hit = cached[i];
      if (hit !== null) {
        say(`reference ${i + 1}/${refs.length}: statistics${hit.transfers !== null ? ' and transfer' : ''} from the cache (${r.label})`);
        fromCache++;
        const st = hit.statistics;
        const named = { ...st, classes: st.classes.map((c) => ({ ...c, name: classNames[c.cls] ?? c.name })) };
        refStats.push({ label: r.label, stats: named, numClasses: hit.numClasses });
        if (hit.transfers !== null) refTransfers.push(hit.transfers);
        continue;
      }
      const m = r.load();
      let s: ScanStatistics;
      let settings: ResolvedScanSettings;
      try {
        const k = m.spec.numClasses;
        settings = settingsFor(k === numClasses);
        s = await scanModel(
          m,
          x01,
          data,
          input.norm,
          { ...settings, onProgress: progress(`reference ${i + 1}/${refs.length}`) },
          classNames,
        );
        if (cache !== null && r.file !== undefined)
          cache.put(scanCacheInputs(r.file, data, input.norm, settings, input.codeVersion ?? ''), s, k, r.file);
        refStats.push({ label: r.label, stats: summariseScan(s), numClasses: k });
      } finally {
        m.dispose();
      }
      if (target !== undefined) {
        const tk = transferKey(r, settings);
        let transfers = tk === null ? null : tcache!.get(tk);
        if (transfers === null) {
          transfers = await referenceTransfers(r.load, target, input.norm, s, {
            ...transferOpts,
            onProgress: (w) => say(`reference ${i + 1}/${refs.length}: ${w}`),
          });
          if (tk !== null) tcache!.put(tk, transfers, r.file!);
        } else say(`reference ${i + 1}/${refs.length}: transfer from the cache`);
        refTransfers.push(transfers);
      }
    }

    const h0 = stats.headless[0];
    const headless: HeadlessSummary[] = stats.headless.map((h, i) => ({
      ...strip(h),
      position: robustZ(
        h.maskFraction,
        refStats.map((r) => r.stats.headless[i].maskFraction),
      ),
    }));
    const sameHead = refStats.filter((r) => r.numClasses === numClasses && r.stats.classes.length > 0);
    const statistic = input.statistic ?? 'absolute';
    const compared = compareClasses(
      stats.classes,
      sameHead.map((r) => r.stats.classes),
      input.rule?.unlikeFactor,
    );
    const perClass: ClassSummary[] = stats.classes.map((c, i) => {
      const k = compared.classes[i];
      const positions = { absolute: k.absolute, relative: k.relative };
      return { ...strip(c), position: positions[statistic], relativeMask: k.relativeMask, positions };
    });
    const inputs: VerdictInput[] = [
      { name: `headless (${h0.measure} at ${h0.layer}, target ${h0.target})`, position: headless[0].position, reached: h0.reached },
      ...perClass
        .filter((c) => c.position !== null)
        .map((c) => ({
          name: `${classLabel(c.cls, c.name)} through the source head`,
          position: c.position!,
          reached: c.reached,
          relative: statistic === 'relative',
        })),
    ];
    const { verdict, reasoning } = decide(inputs, input.rule, compared.scale);
    if (stats.classes.length > 0 && sameHead.length === 0 && refStats.length > 0)
      reasoning.push('the references have another number of classes, so the per-class inversions could not be compared class by class');
    reasoning.push(...notes);
    const z = (c: ClassSummary) => c.position?.z ?? c.maskFraction;
    const suspectClass = perClass.length > 0 ? perClass.reduce((a, b) => (z(b) < z(a) ? b : a)).cls : null;

    // Would it transfer?
    let transfer: TransferCheck[] | null = null;
    const suspectFinding = suspectClass === null ? null : stats.classes.find((c) => c.cls === suspectClass)!;
    const suspectTrigger = suspectFinding?.trigger ?? null;
    const suspectLabel = suspectFinding === null ? '' : classLabel(suspectFinding.cls, suspectFinding.name);
    if (input.target !== undefined) {
      const triggers = [
        { name: 'recovered-headless', trigger: h0.trigger },
        { name: 'random-control-headless', trigger: permutedTrigger(h0.trigger, 1) },
        ...(suspectTrigger
          ? [
              { name: `recovered-class-${suspectClass}`, trigger: suspectTrigger },
              { name: `random-control-class-${suspectClass}`, trigger: permutedTrigger(suspectTrigger, 1) },
            ]
          : []),
      ];
      transfer = await transferCheck(input.backbone.load, input.target, input.norm, triggers, {
        ...input.target.options,
        references: refTransfers,
        onProgress: (w) => say(w),
      });
      if (verdict !== 'suspicious' && transfer.some((t) => t.verdicts.some((v) => v.verdict === 'transfers')))
        reasoning.push(
          `a recovered pattern carries over to the target beyond the clean references' recovered patterns (a 'transfers' verdict), but the scan itself is ${verdict}: read the two together`,
        );
    }

    if (input.outDir !== undefined) {
      fs.mkdirSync(input.outDir, { recursive: true });
      const write = (name: string, buf: Buffer) => {
        const f = path.join(input.outDir!, name);
        fs.writeFileSync(f, buf);
        files[name.replace(/\.png$/, '')] = f;
      };
      write('headless-mask.png', maskPng(h0.trigger));
      write('headless-pattern.png', patternPng(h0.trigger));
      write('headless-examples.png', examplesPng(data, h0.trigger, 'headless trigger'));
      if (suspectTrigger !== null) {
        write(`class-${suspectClass}-mask.png`, maskPng(suspectTrigger));
        write(`class-${suspectClass}-pattern.png`, patternPng(suspectTrigger));
        write(`class-${suspectClass}-examples.png`, examplesPng(data, suspectTrigger, `${suspectLabel} trigger`));
      }
    }
    const report: AuditReport = {
      weights: input.backbone.label,
      maskFraction: h0.maskFraction,
      similarity: h0.similarity,
      verdict,
      reasoning,
      statistic,
      scale: compared.scale,
      references: { count: refStats.length, files: refStats.map((r) => r.label), headless: headless[0].position, cached: fromCache },
      cache: input.cacheDir ?? null,
      headless,
      perClass,
      mostSuspiciousClass: suspectClass,
      mostSuspiciousClassName: suspectFinding?.name ?? null,
      transfer,
      images: n,
      seconds: (Date.now() - t0) / 1000,
      files,
    };
    if (input.outDir !== undefined) {
      const f = path.join(input.outDir, 'report.json');
      fs.writeFileSync(f, JSON.stringify({ ...report, files: { ...files, report: f } }, null, 2));
      files.report = f;
    }
    return report;
  } finally {
    x01.dispose();
    for (const w of keptWeights) for (const t of w.values()) t.dispose();
  }
}

const SCALE = 4;
function gray(t: RecoveredTrigger, values: Float32Array): GridImage {
  return { pixels: Uint8Array.from(values, (v) => Math.round(255 * Math.min(1, Math.max(0, v)))), c: 1, h: t.h, w: t.w };
}
/** The mask as a grayscale PNG (white = pasted), upscaled 4x. */
export function maskPng(t: RecoveredTrigger): Buffer {
  return exampleGridPng([{ label: '', images: [gray(t, t.mask)] }], { scale: SCALE, labelScale: 0, pad: 0 });
}
/** The pattern (all of it, and masked by the mask on black), upscaled 4x. */
export function patternPng(t: RecoveredTrigger): Buffer {
  const hw = t.h * t.w;
  const masked = Float32Array.from(t.pattern, (v, i) => v * t.mask[i % hw]);
  const img = (v: Float32Array): GridImage => ({ pixels: Uint8Array.from(v, (z) => Math.round(255 * z)), c: t.c, h: t.h, w: t.w });
  return exampleGridPng([{ label: '', images: [img(t.pattern), img(masked)] }], { scale: SCALE, labelScale: 0 });
}
/** Up to 8 scan images, clean and with the trigger pasted. */
export function examplesPng(ds: ImageDataset, t: RecoveredTrigger, label: string): Buffer {
  const k = Math.min(8, ds.n);
  const sz = ds.c * ds.h * ds.w;
  const clean = ds.images.subarray(0, k * sz);
  const stamped = stampImages(clean, k, t);
  const row = (px: Uint8Array, lab: string): GridRow => ({
    label: lab,
    images: Array.from({ length: k }, (_, i) => ({ pixels: px.subarray(i * sz, (i + 1) * sz), c: ds.c, h: ds.h, w: ds.w })),
  });
  return exampleGridPng([row(clean, 'clean'), row(stamped, label)], { scale: 3 });
}
