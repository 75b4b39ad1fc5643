/**
 * "Would it transfer?": transfer the scanned backbone to the user's labelled target data (fixed
 * features and full fine-tuning, src/train), paste a recovered trigger on the target test images
 * and measure the attack success rate (src/metrics), next to a control trigger of exactly the same
 * size at random pixels (`permutedTrigger`). Each recovered trigger gets a verdict against its
 * control, and none when the transferred model is under-trained (clean accuracy less than halfway
 * from the majority-class rate to 100%): an ASR on a model that has not learned its task is
 * measured on the few images it gets right. A 'transfers' verdict says the recovered pattern's
 * effect carries over, not that the backbone is backdoored: a clean backbone's recovered pattern
 * (an adversarial patch) can carry over too, which is why the scan's verdict compares references.
 */
import { batchSpecFor } from '../data/index.js';
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
import { train } from '../train/trainer.js';
import type { Normalisation } from './search.js';
import { stampImages, type RecoveredTrigger } from './trigger.js';

/** Settings of the transfer check. */
export interface TransferCheckOptions {
  /** Default ['fixed', 'full']. */
  readonly modes?: readonly TransferMode[];
  /** Target training epochs (default 2). */
  readonly epochs?: number;
  /** SGD learning rate (default 0.05), linear warm-up/decay over one epoch. */
  readonly lr?: number;
  readonly batchSize?: number;
  readonly seed?: number;
  /** Bootstrap resamples of the intervals (default 500). */
  readonly resamples?: number;
  readonly onProgress?: (what: string) => void;
}

/** The ASR of one trigger on the transferred model. */
export interface TriggerAsr {
  readonly name: string;
  /** Untargeted ASR P(f(T(x)) ≠ y | f(x) = y) with its counts, and a bootstrap 95% interval. */
  readonly asr: Rate;
  readonly asrInterval: BootstrapInterval;
  /** Targeted ASR toward the class that gains the most predictions under the trigger (chosen after the fact). */
  readonly targetClass: number;
  readonly targeted: Rate;
  readonly targetedInterval: BootstrapInterval;
}

/** What the check concludes for one recovered trigger against its random-pixel control. */
export interface TransferVerdict {
  /** The recovered trigger's name, e.g. 'recovered-headless'. */
  readonly trigger: string;
  /** Its control's name, e.g. 'random-control-headless'. */
  readonly control: string;
  /**
   * 'transfers': its ASR interval lies above the control's; 'no-transfer': its ASR is no higher
   * than the control's; 'inconclusive': above the control with overlapping intervals, or the
   * transferred model did not learn its target (see {@link TransferCheck.trainingCheck}).
   */
  readonly verdict: 'transfers' | 'no-transfer' | 'inconclusive';
  /** One sentence with the numbers behind it. */
  readonly reason: string;
}

/** One transfer mode's result. */
export interface TransferCheck {
  readonly mode: TransferMode;
  /** Clean accuracy on the target test set. */
  readonly accuracy: number;
  /** Share of the most common class among the target test labels: what a model that learned nothing reaches. */
  readonly majority: number;
  /**
   * '' when the transferred model learned its target; else why its ASR carries no verdict (its
   * clean accuracy is not {@link LEARNED_SHARE} of the way from the majority-class rate to 100%).
   */
  readonly trainingCheck: string;
  readonly triggers: TriggerAsr[];
  /** Each recovered trigger judged against its control (pairs named recovered-X / random-control-X). */
  readonly verdicts: TransferVerdict[];
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

/** The training check of a transferred model: '' when it learned, else the reason (see TransferCheck.trainingCheck). */
export function transferTrainingCheck(accuracy: number, majority: number): string {
  const needed = majority + LEARNED_SHARE * (1 - majority);
  if (accuracy >= needed) return '';
  return `under-trained: clean accuracy ${pctText(accuracy)} is below ${pctText(needed)}, halfway from the majority-class rate ${pctText(majority)} to 100%, so its ASR is measured on the few images it gets right; train longer (--target-epochs) or on more target data`;
}

function pctText(v: number | null): string {
  return percentOr(v, 'n/a');
}

function rateText(r: TriggerAsr): string {
  return `${pctText(r.asr.rate)} [${pctText(r.asrInterval.lo)}, ${pctText(r.asrInterval.hi)}]`;
}

/**
 * Judges a recovered trigger against its same-size random-pixel control on one transferred
 * model: 'transfers' only when the model learned (`trainingCheck` is '') and the recovered
 * trigger's 95% interval lies wholly above the control's; 'no-transfer' when its ASR is no higher
 * than the control's; 'inconclusive' otherwise.
 *
 * @example transferVerdict(rows[0], rows[1], '') // { verdict: 'transfers', reason: 'ASR 62.0% [55.1%, 68.9%] vs control 9.0% [5.2%, 13.1%]: …' }
 */
export function transferVerdict(recovered: TriggerAsr, control: TriggerAsr, trainingCheck: string): TransferVerdict {
  const base = { trigger: recovered.name, control: control.name };
  const numbers = `ASR ${rateText(recovered)} vs control ${rateText(control)}`;
  if (trainingCheck !== '') return { ...base, verdict: 'inconclusive', reason: `${numbers}; the model ${trainingCheck}` };
  const r = recovered.asr.rate;
  const c = control.asr.rate;
  if (r === null || c === null)
    return { ...base, verdict: 'inconclusive', reason: `${numbers}: no correctly classified test image to attack` };
  const rLo = recovered.asrInterval.lo;
  const cHi = control.asrInterval.hi;
  if (rLo !== null && cHi !== null && rLo > cHi)
    return {
      ...base,
      verdict: 'transfers',
      reason: `${numbers}: the recovered trigger's interval lies above the control's (a clean backbone's recovered pattern, an adversarial patch, can do this too: read it with the scan's verdict)`,
    };
  if (r <= c) return { ...base, verdict: 'no-transfer', reason: `${numbers}: no more than random pixels of the same size` };
  return { ...base, verdict: 'inconclusive', reason: `${numbers}: above the control, but the intervals overlap` };
}

/** Pairs each `recovered-X` trigger with its `random-control-X` and judges it. */
function verdictsOf(rows: readonly TriggerAsr[], trainingCheck: string): TransferVerdict[] {
  const out: TransferVerdict[] = [];
  for (const r of rows) {
    if (!r.name.startsWith('recovered-')) continue;
    const control = rows.find((c) => c.name === `random-control-${r.name.slice('recovered-'.length)}`);
    if (control) out.push(transferVerdict(r, control, trainingCheck));
  }
  return out;
}

/**
 * Transfers a fresh copy of the backbone (`load()` builds it with its source weights) to
 * `target.train` in each mode, then measures every trigger's ASR on `target.test`.
 */
export async function transferCheck(
  load: () => Classifier,
  target: { train: ImageDataset; test: ImageDataset },
  norm: Normalisation,
  triggers: readonly { name: string; trigger: RecoveredTrigger }[],
  opts: TransferCheckOptions = {},
): Promise<TransferCheck[]> {
  const seed = opts.seed ?? 0;
  const epochs = opts.epochs ?? 2;
  const lr = opts.lr ?? 0.05;
  const spec = batchSpecFor(target.train, norm);
  const test = target.test;
  const stamped = triggers.map((t) => {
    if (t.trigger.c !== test.c || t.trigger.h !== test.h || t.trigger.w !== test.w)
      throw new RangeError(
        `trigger '${t.name}' is ${t.trigger.c}x${t.trigger.h}x${t.trigger.w} but the target test images are ${test.c}x${test.h}x${test.w}`,
      );
    return { name: t.name, ds: { ...test, images: stampImages(test.images, test.n, t.trigger), name: `${test.name}+${t.name}` } };
  });
  const out: TransferCheck[] = [];
  for (const mode of opts.modes ?? (['fixed', 'full'] as TransferMode[])) {
    opts.onProgress?.(`transfer ${mode}`);
    const model = load();
    try {
      manualSeed(seed);
      model.replaceHead(target.train.classes.length);
      const prep = prepareTransfer(model, { mode, lr });
      await train({
        model,
        data: datasetSource(target.train, { batchSize: opts.batchSize ?? 128, spec, seed }),
        spec: {
          epochs,
          optimizer: { kind: 'sgd', lr, momentum: 0.9, weightDecay: 5e-4 },
          schedule: { kind: 'linear-warmup-decay', warmupEpochs: 1 },
          evalEvery: 0,
        },
        seed,
        paramGroups: prep.paramGroups,
        forward: prep.forward,
        setTraining: prep.setTraining,
      });
      model.eval();
      const fwd = (x: Parameters<Classifier['forward']>[0]) => model.forward(x);
      const clean = predict(fwd, test, spec).preds;
      const k = target.train.classes.length;
      const rows: TriggerAsr[] = stamped.map(({ name, ds }) => {
        const trig = predict(fwd, ds, spec).preds;
        const p = { labels: test.labels, clean, triggered: trig };
        const targetClass = dominantShiftClass(clean, trig, k);
        const b = { resamples: opts.resamples ?? 500, seed };
        return {
          name,
          asr: untargetedAsr(p),
          asrInterval: bootstrapAsr(p, b),
          targetClass,
          targeted: targetedAsr(p, { targetClass }),
          targetedInterval: bootstrapTargetedAsr(p, { targetClass }, b),
        };
      });
      const accuracy = accuracyOf(clean, test.labels);
      const majority = majorityRate(test.labels);
      const trainingCheck = transferTrainingCheck(accuracy, majority);
      out.push({ mode, accuracy, majority, trainingCheck, triggers: rows, verdicts: verdictsOf(rows, trainingCheck) });
    } finally {
      model.dispose();
    }
  }
  return out;
}
