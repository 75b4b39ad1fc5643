/**
 * "Would it transfer?": transfer the scanned backbone to the user's labelled target data (fixed
 * features and full fine-tuning, src/train), trained to a plateau of its held-out accuracy
 * (src/train/plateau.ts), paste a recovered trigger on the target test images and measure the
 * attack success rate (src/metrics), next to a control trigger of exactly the same size at random
 * pixels (`permutedTrigger`). The same runs on each clean reference's recovered triggers, cut down
 * to a ladder of mask sizes (`referenceTransfers`). Each recovered trigger then gets a verdict
 * against both (`transferVerdict`): beating random pixels is not enough, since a clean backbone's
 * recovered pattern (an adversarial patch) does too; it must also stand out from clean backbones'
 * recovered patterns of its own size. None when the transferred model is under-trained (clean
 * accuracy less than halfway from the majority-class rate to 100%, or still rising at the maximum
 * epochs): an ASR on a model that has not learned its task is measured on the few images it gets
 * right.
 */
import { batchSpecFor, selectIndices } from '../data/index.js';
import type { ImageDataset } from '../data/types.js';
import type { Classifier } from '../nn/index.js';
import { manualSeed } from '../torch/index.js';
import {
  bootstrapAsr,
  bootstrapTargetedAsr,
  dominantShiftClass,
  targetedAsr,
  untargetedAsr,
  type BootstrapInterval,
  type Rate,
} from '../metrics/index.js';
import { accuracyOf, datasetSource, predict } from '../train/data.js';
import { prepareTransfer, type TransferMode } from '../train/transfer.js';
import { percentOr } from '../report/format.js';
import { DEFAULT_PLATEAU, trainToPlateau, type PlateauRule } from '../train/plateau.js';
import { robustZ, type ReferencePosition } from './reference.js';
import type { Normalisation } from './search.js';
import { maskFraction, stampImages, type RecoveredTrigger } from './trigger.js';

/** Settings of the transfer check. */
export interface TransferCheckOptions {
  /** Default ['fixed', 'full']. */
  readonly modes?: readonly TransferMode[];
  /**
   * When target training stops (default {@link DEFAULT_PLATEAU}: at most 30 epochs, ended once the
   * held-out accuracy gains no more than half a point in 2 epochs). The held-out images are every
   * sixth target training image (see `validationSplit`), not the test set the ASR is measured on.
   */
  readonly plateau?: PlateauRule;
  /** SGD learning rate (default 0.05, momentum 0.9, weight decay 5e-4), constant: where training stops does not change the steps before it. */
  readonly lr?: number;
  readonly batchSize?: number;
  readonly seed?: number;
  /** Bootstrap resamples of the intervals (default 500). */
  readonly resamples?: number;
  /** The verdict's cut against the clean references (default {@link DEFAULT_TRANSFER_RULE}). */
  readonly rule?: TransferRule;
  /**
   * The same check on the clean references' recovered triggers (`referenceTransfers`), one list
   * per reference; without them no trigger gets 'transfers' (see {@link transferVerdict}).
   */
  readonly references?: readonly (readonly ReferenceTransfer[])[];
  /**
   * Copies of the target test images carrying a trigger pasted by other code (e.g. a known true
   * trigger, by src/bias's `triggerTestSet`, same order and labels), measured on the same
   * transferred model like the triggers; no verdict. Each `images` has the test set's length.
   */
  readonly triggered?: readonly { readonly name: string; readonly images: Uint8Array }[];
  readonly onProgress?: (what: string) => void;
}

/** The ASR of one trigger on the transferred model. */
export interface TriggerAsr {
  readonly name: string;
  /** Its mask size (fraction of the image; null for a `triggered` set pasted by other code). */
  readonly maskFraction: number | null;
  /** Untargeted ASR P(f(T(x)) ≠ y | f(x) = y) with its counts, and a bootstrap 95% interval. */
  readonly asr: Rate;
  readonly asrInterval: BootstrapInterval;
  /** Targeted ASR toward the class that gains the most predictions under the trigger (chosen after the fact). */
  readonly targetClass: number;
  /** That class's name in the target data. */
  readonly targetClassName: string;
  readonly targeted: Rate;
  readonly targetedInterval: BootstrapInterval;
}

/** When a recovered trigger's ASR stands out from the clean references' recovered triggers of its size. */
export interface TransferRule {
  /**
   * Robust z (src/audit/reference.ts's `robustZ`) of the trigger's ASR among the references'
   * recovered-trigger ASRs (cut to its mask size) that 'transfers' needs.
   */
  readonly zCut: number;
  /** Also require an ASR above every one of those references' (default true). */
  readonly aboveAll?: boolean;
}

/**
 * The default rule: robust z ≥ 2.5, not required to exceed every reference. Chosen by
 * bench/scan-transfer-suite.ts on the scan suite's tuning seeds (40 small-cnn suspects: the most
 * 'transfers' on backdoored ones with at most 10% on clean ones, then the larger cut); its
 * held-out numbers are in docs/scan.md "Transfer check".
 */
export const DEFAULT_TRANSFER_RULE: TransferRule = { zCut: 2.5, aboveAll: false };

/** What the check concludes for one recovered trigger against its random-pixel control and the references. */
export interface TransferVerdict {
  /** The recovered trigger's name, e.g. 'recovered-headless'. */
  readonly trigger: string;
  /** Its control's name, e.g. 'random-control-headless'. */
  readonly control: string;
  /**
   * 'transfers': the transferred model learned its target, the trigger's ASR interval lies above
   * its control's, and its ASR is above every clean reference's recovered trigger of the same kind
   * by the rule's robust-z cut; 'no-transfer': its ASR is no higher than its control's, or no
   * higher than the references' median; 'inconclusive': otherwise (the model did not learn,
   * overlapping intervals, no references, or between the references' median and the cut).
   */
  readonly verdict: 'transfers' | 'no-transfer' | 'inconclusive';
  /** One sentence with the numbers behind it. */
  readonly reason: string;
  /** Where the ASR falls among the references' recovered-trigger ASRs (null without references). */
  readonly references: ReferencePosition | null;
}

/**
 * The mask sizes (fractions of the image, L1 / pixels) at which a reference's recovered triggers
 * are measured, each cut down to that size by `truncatedTrigger`: a suspect's trigger is compared
 * with the references' triggers of its own size (interpolated between these).
 */
export const REFERENCE_BUDGETS: readonly number[] = [
  0.01, 0.015, 0.02, 0.025, 0.03, 0.04, 0.05, 0.06, 0.08, 0.1, 0.12, 0.16, 0.2, 0.25, 0.32,
];

/** One recovered trigger of a reference: its mask size, its ASR whole, and its ASR cut to each of {@link REFERENCE_BUDGETS}. */
export interface ReferenceTriggerAsr {
  readonly maskFraction: number;
  readonly asr: number | null;
  /** ASR of the trigger cut down to each budget (the whole trigger where it is no larger than the budget). */
  readonly curve: readonly (number | null)[];
}

/**
 * The same check on one clean reference, in one transfer mode: the untargeted ASR of its recovered
 * headless trigger and of each class's trigger on its own transferred model, whole and cut to
 * {@link REFERENCE_BUDGETS}. What the reference cache keeps (numbers, no pixels).
 */
export interface ReferenceTransfer {
  readonly mode: TransferMode;
  readonly accuracy: number;
  /** '' when its transferred model learned; a reference that did not is left out of the comparison. */
  readonly trainingCheck: string;
  readonly epochs: number;
  readonly budgets: readonly number[];
  readonly headless: ReferenceTriggerAsr | null;
  readonly classes: readonly ({ cls: number } & ReferenceTriggerAsr)[];
}

/**
 * A trigger cut down to mask size `budget` (fraction of the image): its strongest mask pixels
 * kept, in order, until their sum reaches budget × pixels (the last one scaled to land on it), the
 * rest set to 0; the pattern unchanged. A trigger no larger than the budget is returned as it is.
 *
 * @example maskFraction(truncatedTrigger(t, 0.03).mask) // 0.03 when t's mask is larger
 */
export function truncatedTrigger(t: RecoveredTrigger, budget: number): RecoveredTrigger {
  const hw = t.h * t.w;
  if (maskFraction(t.mask) <= budget) return t;
  const order = Array.from({ length: hw }, (_, i) => i).sort((a, b) => t.mask[b] - t.mask[a] || a - b);
  const mask = new Float32Array(hw);
  let left = budget * hw;
  for (const i of order) {
    if (left <= 0) break;
    const v = Math.min(t.mask[i], left);
    mask[i] = v;
    left -= v;
  }
  return { ...t, mask };
}

/**
 * A reference trigger's ASR at mask size `size`: linear between the two budgets around it; the
 * smallest budget's below it; the whole trigger's when it is no larger than `size`.
 */
export function asrAtSize(r: ReferenceTriggerAsr, budgets: readonly number[], size: number): number | null {
  if (size >= r.maskFraction) return r.asr;
  if (size <= budgets[0]) return r.curve[0];
  for (let i = 1; i < budgets.length; i++)
    if (size <= budgets[i]) {
      const a = r.curve[i - 1];
      const b = r.curve[i];
      if (a === null || b === null) return a ?? b;
      const t = (size - budgets[i - 1]) / (budgets[i] - budgets[i - 1]);
      return a + t * (b - a);
    }
  return r.asr;
}

/** One transfer mode's result. */
export interface TransferCheck {
  readonly mode: TransferMode;
  /** Clean accuracy on the target test set. */
  readonly accuracy: number;
  /** Share of the most common class among the target test labels: what a model that learned nothing reaches. */
  readonly majority: number;
  /** Epochs trained (to a plateau of the held-out accuracy, or the rule's maximum). */
  readonly epochs: number;
  /** Held-out accuracy after each epoch. */
  readonly curve: number[];
  /**
   * '' when the transferred model learned its target; else why its ASR carries no verdict: its
   * clean accuracy is not {@link LEARNED_SHARE} of the way from the majority-class rate to 100%,
   * or it reached the maximum epochs still rising.
   */
  readonly trainingCheck: string;
  readonly triggers: TriggerAsr[];
  /** Each recovered trigger judged against its control (pairs named recovered-X / random-control-X) and the references. */
  readonly verdicts: TransferVerdict[];
  /** How many references' transferred models entered the comparison (those that learned their target). */
  readonly references: number;
}

/**
 * How far from the majority-class rate toward 100% a transferred model's clean accuracy must be
 * to carry a verdict (0.5 = halfway: 55% for ten balanced classes, 75% for two).
 */
export const LEARNED_SHARE = 0.5;

/** Share of the most common label (0 for no labels). */
export function majorityRate(labels: Int32Array): number {
  const counts = new Map<number, number>();
  let best = 0;
  for (const y of labels) {
    const c = (counts.get(y) ?? 0) + 1;
    counts.set(y, c);
    if (c > best) best = c;
  }
  return labels.length === 0 ? 0 : best / labels.length;
}

/**
 * The training check of a transferred model: '' when it learned, else the reason (see
 * TransferCheck.trainingCheck). `plateau` says whether its held-out accuracy levelled off before
 * the maximum epochs (default true).
 *
 * @example transferTrainingCheck(0.4, 0.2) // 'under-trained: clean accuracy 40.0% is below 60.0%, …'
 */
export function transferTrainingCheck(
  accuracy: number,
  majority: number,
  plateau: { plateaued: boolean; epochs: number } = { plateaued: true, epochs: 0 },
): string {
  const needed = majority + LEARNED_SHARE * (1 - majority);
  const notes: string[] = [];
  if (accuracy < needed)
    notes.push(
      `under-trained: clean accuracy ${pctText(accuracy)} is below ${pctText(needed)}, halfway from the majority-class rate ${pctText(majority)} to 100%, so its ASR is measured on the few images it gets right; train on more target data or with another learning rate`,
    );
  if (!plateau.plateaued)
    notes.push(
      `still rising after ${plateau.epochs} epochs (its held-out accuracy had not levelled off); raise the maximum epochs (--target-epochs)`,
    );
  return notes.join('; ');
}

function pctText(v: number | null): string {
  return percentOr(v, 'n/a');
}

function rateText(r: TriggerAsr): string {
  return `${pctText(r.asr.rate)} [${pctText(r.asrInterval.lo)}, ${pctText(r.asrInterval.hi)}]`;
}

/**
 * Judges a recovered trigger on one transferred model against its same-size random-pixel control
 * and against the ASRs of the clean references' recovered triggers of the same kind (`references`,
 * null or empty when there are none):
 * 1. 'inconclusive' when the model did not learn (`trainingCheck` is not ''), or no test image is
 *    classified correctly;
 * 2. 'no-transfer' when its ASR is no higher than its control's;
 * 3. 'inconclusive' when it is higher but the 95% intervals overlap;
 * 4. 'inconclusive' without references (a clean backbone's recovered pattern, an adversarial
 *    patch, also beats random pixels);
 * 5. 'transfers' when its ASR is above every reference's and its robust z among them is at least
 *    `rule.zCut`;
 * 6. 'no-transfer' when its ASR is no higher than the references' median (what clean backbones'
 *    recovered patterns do);
 * 7. 'inconclusive' otherwise.
 *
 * @example transferVerdict(rec, ctl, '', [0.1, 0.12, 0.15, 0.11, 0.09]) // rec 60% [54%, 66%], ctl 8% [5%, 11%] → 'transfers' (z 32.4)
 */
export function transferVerdict(
  recovered: TriggerAsr,
  control: TriggerAsr,
  trainingCheck: string,
  references: readonly number[] | null,
  rule: TransferRule = DEFAULT_TRANSFER_RULE,
): TransferVerdict {
  const base = { trigger: recovered.name, control: control.name };
  const numbers = `ASR ${rateText(recovered)} vs control ${rateText(control)}`;
  const r = recovered.asr.rate;
  const c = control.asr.rate;
  const refs = references ?? [];
  const position = r !== null && refs.length > 0 ? robustZ(r, refs) : null;
  const out = (verdict: TransferVerdict['verdict'], reason: string): TransferVerdict => ({
    ...base,
    verdict,
    reason,
    references: position,
  });
  if (trainingCheck !== '') return out('inconclusive', `${numbers}; the model is ${trainingCheck}`);
  if (r === null || c === null) return out('inconclusive', `${numbers}: no correctly classified test image to attack`);
  if (r <= c) return out('no-transfer', `${numbers}: no more than random pixels of the same size`);
  const rLo = recovered.asrInterval.lo;
  const cHi = control.asrInterval.hi;
  if (rLo === null || cHi === null || rLo <= cHi) return out('inconclusive', `${numbers}: above the control, but the intervals overlap`);
  if (position === null)
    return out(
      'inconclusive',
      `${numbers}: above the control, but no clean reference's recovered trigger to compare with (a clean backbone's recovered pattern, an adversarial patch, beats random pixels too)`,
    );
  const max = Math.max(...refs);
  const refText = `the ${refs.length} clean references' recovered triggers reach ${pctText(position.median)} (median) to ${pctText(max)}, robust z ${position.z!.toFixed(1)}`;
  if ((rule.aboveAll === false || r > max) && position.z! >= rule.zCut)
    return out('transfers', `${numbers}, above its control; ${refText}, at or beyond the cut ${rule.zCut}`);
  if (r <= position.median!)
    return out('no-transfer', `${numbers}, above its control; but ${refText}: no more than clean backbones' patterns`);
  return out(
    'inconclusive',
    `${numbers}, above its control; ${refText}, short of ${rule.aboveAll === false ? '' : 'above all and '}z ≥ ${rule.zCut}`,
  );
}

/**
 * The references' ASRs comparable with trigger `name` of mask size `size`: their headless triggers
 * for 'recovered-headless', every class's trigger for 'recovered-class-*', each at `size`
 * ({@link asrAtSize}).
 */
export function referenceAsrsFor(name: string, size: number | null, references: readonly ReferenceTransfer[]): number[] {
  if (size === null) return [];
  const vals = references.flatMap((r) => {
    const ts = name.startsWith('recovered-class-')
      ? r.classes
      : name.startsWith('recovered-headless') && r.headless !== null
        ? [r.headless]
        : [];
    return ts.map((t) => asrAtSize(t, r.budgets, size));
  });
  return vals.filter((v): v is number => v !== null);
}

/** Pairs each `recovered-X` trigger with its `random-control-X` and judges it. */
function verdictsOf(
  rows: readonly TriggerAsr[],
  trainingCheck: string,
  references: readonly ReferenceTransfer[] | null,
  rule: TransferRule,
): TransferVerdict[] {
  const out: TransferVerdict[] = [];
  for (const r of rows) {
    if (!r.name.startsWith('recovered-')) continue;
    const control = rows.find((c) => c.name === `random-control-${r.name.slice('recovered-'.length)}`);
    if (control)
      out.push(
        transferVerdict(r, control, trainingCheck, references === null ? null : referenceAsrsFor(r.name, r.maskFraction, references), rule),
      );
  }
  return out;
}

/**
 * Every sixth target training image (index mod 6 = 5) held out for the plateau rule; the rest
 * train. Deterministic, so a reference and a suspect see the same split.
 */
export function validationSplit(train: ImageDataset): { fit: ImageDataset; held: ImageDataset } {
  if (train.n < 12)
    throw new RangeError(`target training data '${train.name}' has ${train.n} image(s); at least 12 are needed (a sixth is held out)`);
  const all = Array.from({ length: train.n }, (_, i) => i);
  return {
    fit: selectIndices(
      train,
      all.filter((i) => i % 6 !== 5),
      { name: `${train.name}-fit` },
    ),
    held: selectIndices(
      train,
      all.filter((i) => i % 6 === 5),
      { name: `${train.name}-held` },
    ),
  };
}

/** The settings of a transfer check with every default filled in (what the reference cache keys on). */
export function resolveTransferOptions(opts: TransferCheckOptions = {}): {
  modes: TransferMode[];
  plateau: Required<PlateauRule>;
  lr: number;
  batchSize: number;
  seed: number;
  resamples: number;
} {
  return {
    modes: [...(opts.modes ?? (['fixed', 'full'] as TransferMode[]))],
    plateau: { ...DEFAULT_PLATEAU, ...opts.plateau },
    lr: opts.lr ?? 0.05,
    batchSize: opts.batchSize ?? 128,
    seed: opts.seed ?? 0,
    resamples: opts.resamples ?? 500,
  };
}

/** One mode's transferred model measured: everything of `TransferCheck` but the verdicts. */
type Measured = Omit<TransferCheck, 'verdicts' | 'references'>;

async function measure(
  load: () => Classifier,
  target: { train: ImageDataset; test: ImageDataset },
  norm: Normalisation,
  triggers: readonly { name: string; trigger: RecoveredTrigger }[],
  opts: TransferCheckOptions,
  intervals = true,
): Promise<Measured[]> {
  const o = resolveTransferOptions(opts);
  const spec = batchSpecFor(target.train, norm);
  const test = target.test;
  const { fit, held } = validationSplit(target.train);
  const stamped = triggers.map((t) => {
    if (t.trigger.c !== test.c || t.trigger.h !== test.h || t.trigger.w !== test.w)
      throw new RangeError(
        `trigger '${t.name}' is ${t.trigger.c}x${t.trigger.h}x${t.trigger.w} but the target test images are ${test.c}x${test.h}x${test.w}`,
      );
    return {
      name: t.name,
      maskFraction: maskFraction(t.trigger.mask) as number | null,
      ds: { ...test, images: stampImages(test.images, test.n, t.trigger), name: `${test.name}+${t.name}` },
    };
  });
  for (const t of opts.triggered ?? []) {
    if (t.images.length !== test.images.length)
      throw new RangeError(`triggered test set '${t.name}' has ${t.images.length} bytes, the target test images ${test.images.length}`);
    stamped.push({ name: t.name, maskFraction: null, ds: { ...test, images: t.images, name: `${test.name}+${t.name}` } });
  }
  const out: Measured[] = [];
  const k = target.train.classes.length;
  for (const mode of o.modes) {
    opts.onProgress?.(`transfer ${mode}`);
    const model = load();
    try {
      manualSeed(o.seed);
      model.replaceHead(k);
      const prep = prepareTransfer(model, { mode, lr: o.lr });
      const fwd = (x: Parameters<Classifier['forward']>[0]) => model.forward(x);
      const p = await trainToPlateau(
        {
          model,
          data: datasetSource(fit, { batchSize: o.batchSize, spec, seed: o.seed }),
          spec: { optimizer: { kind: 'sgd', lr: o.lr, momentum: 0.9, weightDecay: 5e-4 }, schedule: { kind: 'constant' } },
          seed: o.seed,
          paramGroups: prep.paramGroups,
          forward: prep.forward,
          setTraining: prep.setTraining,
          evaluate: () => accuracyOf(predict(fwd, held, spec).preds, held.labels),
          onProgress: (e) => {
            if (e.kind === 'epoch')
              opts.onProgress?.(`transfer ${mode}: epoch ${e.epoch + 1}, held-out accuracy ${pctText(e.evalAccuracy ?? null)}`);
          },
        },
        o.plateau,
      );
      model.eval();
      const clean = predict(fwd, test, spec).preds;
      const rows: TriggerAsr[] = stamped.map(({ name, maskFraction, ds }) => {
        const trig = predict(fwd, ds, spec).preds;
        const pr = { labels: test.labels, clean, triggered: trig };
        const targetClass = dominantShiftClass(clean, trig, k);
        const b = { resamples: o.resamples, seed: o.seed };
        const asr = untargetedAsr(pr);
        const targeted = targetedAsr(pr, { targetClass });
        // The references' many cut-down triggers need only their rates: no bootstrap.
        const none = (r: Rate): BootstrapInterval => ({
          estimate: r.rate,
          lo: null,
          hi: null,
          resamples: 0,
          validResamples: 0,
          alpha: 0.05,
          seed: o.seed,
        });
        return {
          name,
          maskFraction,
          asr,
          asrInterval: intervals ? bootstrapAsr(pr, b) : none(asr),
          targetClass,
          targetClassName: target.test.classes[targetClass] ?? String(targetClass),
          targeted,
          targetedInterval: intervals ? bootstrapTargetedAsr(pr, { targetClass }, b) : none(targeted),
        };
      });
      const accuracy = accuracyOf(clean, test.labels);
      const majority = majorityRate(test.labels);
      const trainingCheck = transferTrainingCheck(accuracy, majority, p);
      out.push({ mode, accuracy, majority, epochs: p.epochs, curve: p.curve, trainingCheck, triggers: rows });
    } finally {
      model.dispose();
    }
  }
  return out;
}

/**
 * Transfers a fresh copy of the backbone (`load()` builds it with its source weights) to
 * `target.train` in each mode, trained to a plateau (see `TransferCheckOptions.plateau`), then
 * measures every trigger's ASR on `target.test` and judges each recovered trigger against its
 * control and `opts.references` ({@link transferVerdict}).
 */
export async function transferCheck(
  load: () => Classifier,
  target: { train: ImageDataset; test: ImageDataset },
  norm: Normalisation,
  triggers: readonly { name: string; trigger: RecoveredTrigger }[],
  opts: TransferCheckOptions = {},
): Promise<TransferCheck[]> {
  const measured = await measure(load, target, norm, triggers, opts);
  return measured.map((m) => {
    const refs = opts.references
      ?.map((r) => r.find((x) => x.mode === m.mode))
      .filter((r): r is ReferenceTransfer => r !== undefined && r.trainingCheck === '');
    return {
      ...m,
      references: refs?.length ?? 0,
      verdicts: verdictsOf(m.triggers, m.trainingCheck, refs ?? null, opts.rule ?? DEFAULT_TRANSFER_RULE),
    };
  });
}

/**
 * The same check on one clean reference: transfers it as `transferCheck` does (same settings and
 * seed) and measures its recovered headless trigger (`scan.headless[0]`) and every class's
 * trigger, one `ReferenceTransfer` per mode.
 */
export async function referenceTransfers(
  load: () => Classifier,
  target: { train: ImageDataset; test: ImageDataset },
  norm: Normalisation,
  scan: { headless: readonly { trigger: RecoveredTrigger }[]; classes: readonly { cls: number; trigger: RecoveredTrigger }[] },
  opts: TransferCheckOptions = {},
): Promise<ReferenceTransfer[]> {
  const whole = [
    ...(scan.headless.length > 0 ? [{ name: 'recovered-headless', trigger: scan.headless[0].trigger }] : []),
    ...scan.classes.map((c) => ({ name: `recovered-class-${c.cls}`, trigger: c.trigger })),
  ];
  const budgets = REFERENCE_BUDGETS;
  const triggers = whole.flatMap((t) => {
    const size = maskFraction(t.trigger.mask);
    return [t, ...budgets.filter((b) => b < size).map((b) => ({ name: `${t.name}@${b}`, trigger: truncatedTrigger(t.trigger, b) }))];
  });
  const measured = await measure(load, target, norm, triggers, { ...opts, triggered: undefined }, false);
  return measured.map((m) => {
    const get = (name: string) => m.triggers.find((t) => t.name === name);
    const entry = (name: string): ReferenceTriggerAsr => {
      const w = get(name)!;
      return {
        maskFraction: w.maskFraction!,
        asr: w.asr.rate,
        curve: budgets.map((b) => (b < w.maskFraction! ? get(`${name}@${b}`)!.asr.rate : w.asr.rate)),
      };
    };
    return {
      mode: m.mode,
      accuracy: m.accuracy,
      trainingCheck: m.trainingCheck,
      epochs: m.epochs,
      budgets: [...budgets],
      headless: scan.headless.length > 0 ? entry('recovered-headless') : null,
      classes: scan.classes.map((c) => ({ cls: c.cls, ...entry(`recovered-class-${c.cls}`) })),
    };
  });
}
