/**
 * `auditBackbone`: the whole scan of one backbone — its statistics, the same statistics on clean
 * references (given, or trained here on labelled data), where it falls among them, the verdict
 * with its reasoning, optionally "would it transfer?" on labelled target data, and the PNGs.
 */
import fs from 'node:fs';
import path from 'node:path';
import { exampleGridPng, type GridImage, type GridRow } from '../bias/grid.js';
import type { ImageDataset } from '../data/types.js';
import type { Classifier } from '../nn/index.js';
import type { ProgressEvent } from '../train/trainer.js';
import { decide, robustZ, type ReferencePosition, type Verdict, type VerdictInput, type VerdictRule } from './reference.js';
import { scanModel, type ClassFinding, type HeadlessFinding, type ScanSettings, type ScanStatistics } from './scan.js';
import type { Normalisation } from './search.js';
import { saveAuditModel, trainClassifier, imagesTensor, type TrainRecipe } from './train.js';
import { transferCheck, type TransferCheck, type TransferCheckOptions } from './transfer.js';
import { permutedTrigger, stampImages, type RecoveredTrigger } from './trigger.js';

/** A backbone to load: a label (its file) and a loader building it with its weights. */
export interface BackboneSource {
  readonly label: string;
  readonly load: () => Classifier;
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
  /** Labelled target data for "would it transfer?". */
  readonly target?: { train: ImageDataset; test: ImageDataset; options?: TransferCheckOptions };
  /** Folder for PNGs, report.json and trained references (nothing written without it). */
  readonly outDir?: string;
  readonly onProgress?: (line: string) => void;
}

/** Statistics of one headless search, without the trigger pixels. */
export type HeadlessSummary = Omit<HeadlessFinding, 'trigger'> & { position: ReferencePosition };
/** Statistics of one class, without the trigger pixels. */
export type ClassSummary = Omit<ClassFinding, 'trigger'> & { position: ReferencePosition | null };

/** What `auditBackbone` returns (and `scan --json` prints). */
export interface AuditReport {
  readonly weights: string;
  /** PL1 of the headless trigger (fraction of the image). */
  readonly maskFraction: number;
  /** Collapse reached by the headless trigger on the scan images. */
  readonly similarity: number;
  readonly verdict: Verdict;
  readonly reasoning: string[];
  /** Where the backbone's headless statistic falls among the references. */
  readonly references: { count: number; files: string[]; headless: ReferencePosition };
  readonly headless: HeadlessSummary[];
  /** Per-class inversion through the source head (empty without it). */
  readonly perClass: ClassSummary[];
  /** The class whose trigger is most anomalous (lowest z; smallest mask without references), or null. */
  readonly mostSuspiciousClass: number | null;
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
  try {
    const progress = (who: string) => (what: string, step: number, steps: number) => say(`${who}: ${what} ${step}/${steps}`);
    const model = input.backbone.load();
    let stats: ScanStatistics;
    let classNames: string[];
    let numClasses: number;
    let archSpec: Classifier['spec'];
    try {
      numClasses = model.spec.numClasses;
      archSpec = model.spec;
      classNames = Array.from({ length: numClasses }, (_, c) => String(c));
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
        let used = false;
        refs.push({
          label: file,
          load: () => {
            if (used) throw new Error('a trained reference is scanned once');
            used = true;
            return keepModel;
          },
        });
      }
    }
    const refStats: { label: string; stats: ScanStatistics; numClasses: number }[] = [];
    for (const [i, r] of refs.entries()) {
      const m = r.load();
      try {
        const k = m.spec.numClasses;
        const s = await scanModel(
          m,
          x01,
          data,
          input.norm,
          {
            ...input.scan,
            perClass: (input.scan?.perClass ?? true) && k === numClasses,
            onProgress: progress(`reference ${i + 1}/${refs.length}`),
          },
          classNames,
        );
        refStats.push({ label: r.label, stats: s, numClasses: k });
      } finally {
        m.dispose();
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
    const perClass: ClassSummary[] = stats.classes.map((c) => {
      const vals = sameHead.map((r) => r.stats.classes.find((d) => d.cls === c.cls)?.maskFraction).filter((v) => v !== undefined);
      return { ...strip(c), position: vals.length > 0 ? robustZ(c.maskFraction, vals) : null };
    });
    const inputs: VerdictInput[] = [
      { name: `headless (${h0.measure} at ${h0.layer}, target ${h0.target})`, position: headless[0].position, reached: h0.reached },
      ...perClass
        .filter((c) => c.position !== null)
        .map((c) => ({ name: `class ${c.cls} (${c.name}) through the source head`, position: c.position!, reached: c.reached })),
    ];
    const { verdict, reasoning } = decide(inputs, input.rule);
    if (stats.classes.length > 0 && sameHead.length === 0 && refStats.length > 0)
      reasoning.push('the references have another number of classes, so the per-class inversions could not be compared class by class');
    const z = (c: ClassSummary) => c.position?.z ?? c.maskFraction;
    const suspectClass = perClass.length > 0 ? perClass.reduce((a, b) => (z(b) < z(a) ? b : a)).cls : null;

    // Would it transfer?
    let transfer: TransferCheck[] | null = null;
    const suspectTrigger = suspectClass === null ? null : stats.classes.find((c) => c.cls === suspectClass)!.trigger;
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
        onProgress: (w) => say(w),
      });
      if (verdict !== 'suspicious' && transfer.some((t) => t.verdicts.some((v) => v.verdict === 'transfers')))
        reasoning.push(
          `a recovered pattern carries over to the target (a 'transfers' verdict), but the scan itself is ${verdict}: a clean backbone's recovered pattern is an adversarial patch, and those carry over too`,
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
        write(`class-${suspectClass}-examples.png`, examplesPng(data, suspectTrigger, `class ${suspectClass} trigger`));
      }
    }
    const report: AuditReport = {
      weights: input.backbone.label,
      maskFraction: h0.maskFraction,
      similarity: h0.similarity,
      verdict,
      reasoning,
      references: { count: refStats.length, files: refStats.map((r) => r.label), headless: headless[0].position },
      headless,
      perClass,
      mostSuspiciousClass: suspectClass,
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
