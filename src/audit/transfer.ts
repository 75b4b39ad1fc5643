/**
 * "Would it transfer?": transfer the scanned backbone to the user's labelled target data (fixed
 * features and full fine-tuning, src/train), paste a recovered trigger on the target test images
 * and measure the attack success rate (src/metrics), next to a control trigger of exactly the same
 * size at random pixels (`permutedTrigger`).
 */
import type { ImageDataset } from '../data/types.js';
import type { Classifier } from '../nn/index.js';
import { manualSeed } from '../torch/index.js';
import { bootstrapAsr, bootstrapTargetedAsr, targetedAsr, untargetedAsr, type BootstrapInterval, type Rate } from '../metrics/index.js';
import { accuracyOf, datasetSource, predict } from '../train/data.js';
import { prepareTransfer, type TransferMode } from '../train/transfer.js';
import { train } from '../train/trainer.js';
import type { Normalisation } from './search.js';
import { batchSpecFor } from './train.js';
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

/** One transfer mode's result. */
export interface TransferCheck {
  readonly mode: TransferMode;
  /** Clean accuracy on the target test set. */
  readonly accuracy: number;
  readonly triggers: TriggerAsr[];
}

/** The class (other than none) whose prediction count rises the most from clean to triggered. */
export function mostGainedClass(clean: Int32Array, triggered: Int32Array, numClasses: number): number {
  const gain = new Int32Array(numClasses);
  for (let i = 0; i < clean.length; i++) {
    gain[triggered[i]]++;
    gain[clean[i]]--;
  }
  let best = 0;
  for (let c = 1; c < numClasses; c++) if (gain[c] > gain[best]) best = c;
  return best;
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
        const targetClass = mostGainedClass(clean, trig, k);
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
      out.push({ mode, accuracy: accuracyOf(clean, test.labels), triggers: rows });
    } finally {
      model.dispose();
    }
  }
  return out;
}
