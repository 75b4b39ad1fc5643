/**
 * Trigger inversion: the optimisation shared by the headless (DECREE-style) search and the
 * per-class (Neural-Cleanse-style) search. Both minimise `objective + λ·mean(m)` over mask and
 * pattern logits with Adam, λ adapted during the search (Neural Cleanse's schedule: 0 until the
 * objective first reaches its target, then λ0, multiplied by 1.5 after a window where the target
 * was mostly reached and divided by 1.5^1.5 after one where it was not), and return the smallest
 * mask (PL1, see `maskFraction`) that reached the target, re-checked on every scan image.
 *
 * The model is only read: its parameters are frozen for the search and restored afterwards, and
 * it runs in evaluation mode (BatchNorm running statistics, no updates).
 */
import type { Classifier } from '../nn/index.js';
import { Adam, crossEntropy, fromTyped, manualSeed, noGrad, randn, tensor, tidy, keep, type Tensor } from '../torch/index.js';
import { Rng } from '../data/rng.js';
import { forwardChain } from '../nn/module.js';
import { maskFraction, maskFromLogits, patternFromLogits, stamp, type RecoveredTrigger } from './trigger.js';

/** Input normalisation the model expects: x = (pixel/255 − mean[c]) / std[c]. */
export interface Normalisation {
  readonly mean: readonly number[];
  readonly std: readonly number[];
}

/** Settings of one search. */
export interface SearchOptions {
  /** Adam steps (default 300). */
  readonly steps?: number;
  /** Images per step (default 64). */
  readonly batchSize?: number;
  /** Adam learning rate on the logits (default 0.1). */
  readonly lr?: number;
  /** λ0: weight of mean(m) once the target is first reached (default 1, i.e. per whole image). */
  readonly lambda?: number;
  /** Steps between λ adjustments (default 10). */
  readonly adjustEvery?: number;
  /** Seed of the initial logits and of the batch order (default 0). */
  readonly seed?: number;
  /** Called after every step. */
  readonly onStep?: (s: { step: number; steps: number; lambda: number; score: number; bestFraction: number | null }) => void;
}

/** What a search found. */
export interface SearchResult {
  readonly trigger: RecoveredTrigger;
  /** PL1 of the returned mask (fraction of the image). */
  readonly maskFraction: number;
  /** The objective's score of the returned trigger on all scan images (similarity, success rate, ...). */
  readonly score: number;
  /** The score the search had to reach. */
  readonly target: number;
  /**
   * Whether some step's batch reached the target (the returned trigger is then the smallest mask
   * that did); `score` re-checks it on all scan images and may fall a little short of the target.
   */
  readonly reached: boolean;
  readonly steps: number;
}

/**
 * An objective: given a normalised, trigger-stamped batch and the dataset indices it came from,
 * a scalar loss to minimise and the batch's score (higher is better; the target applies to it).
 */
export interface Objective {
  /** Score to reach (e.g. 0.8 mean cosine similarity, 0.9 success rate). */
  readonly target: number;
  /** Indices of the scan images the objective uses (all by default). */
  readonly indices?: Int32Array;
  loss(x: Tensor, idx: Int32Array): { loss: Tensor; score: number };
  /** Score of a stamped, normalised set of images (no gradient). */
  score(x: Tensor, idx: Int32Array): number;
}

/** Normalises images in 0..1 units: (x − mean) / std per channel. */
export function normalise(x: Tensor, norm: Normalisation): Tensor {
  const c = x.size(1);
  if (norm.mean.length !== c || norm.std.length !== c)
    throw new RangeError(`normalisation has ${norm.mean.length} mean / ${norm.std.length} std values for ${c}-channel images`);
  return tidy(() => {
    const m = tensor([...norm.mean]).reshape([1, c, 1, 1]);
    const s = tensor([...norm.std]).reshape([1, c, 1, 1]);
    return x.sub(m).div(s);
  });
}

/** Freezes every parameter of `model` for the duration of `fn` (then restores the flags) in eval mode. */
export async function withFrozen<T>(model: Classifier, fn: () => Promise<T>): Promise<T> {
  const params = model.parameters();
  const flags = params.map((p) => p.requiresGrad);
  const wasTraining = model.training;
  for (const p of params) p.requiresGrad = false;
  model.eval();
  try {
    return await fn();
  } finally {
    params.forEach((p, i) => (p.requiresGrad = flags[i]));
    model.train(wasTraining);
  }
}

function toTrigger(a: Tensor, b: Tensor): RecoveredTrigger {
  return noGrad(() =>
    tidy(() => {
      const m = maskFromLogits(a);
      const p = patternFromLogits(b);
      const [, c, h, w] = p.shape;
      return { c, h, w, mask: m.toFloat32Array(), pattern: p.toFloat32Array() };
    }),
  );
}

/**
 * Scores a trigger with an objective on all its images, in batches, without gradients.
 * `x01`: [N, C, H, W] scan images in 0..1.
 */
export function scoreTrigger(x01: Tensor, norm: Normalisation, t: RecoveredTrigger, obj: Objective): number {
  const idx = obj.indices ?? Int32Array.from({ length: x01.size(0) }, (_, i) => i);
  return noGrad(() =>
    tidy(() => {
      const m = fromTyped(t.mask, [1, 1, t.h, t.w]);
      const p = fromTyped(t.pattern, [1, t.c, t.h, t.w]);
      const sel = x01.indexSelect(0, fromTyped(idx, [idx.length]).long());
      return obj.score(normalise(stamp(sel, m, p), norm), idx);
    }),
  );
}

/**
 * Runs one trigger inversion (see the module comment) over scan images `x01` ([N, C, H, W] in
 * 0..1). Deterministic in `opts.seed` (and the thread count).
 */
export async function invertTrigger(x01: Tensor, norm: Normalisation, obj: Objective, opts: SearchOptions = {}): Promise<SearchResult> {
  const steps = opts.steps ?? 300;
  const lr = opts.lr ?? 0.1;
  const lambda0 = opts.lambda ?? 1;
  const adjustEvery = opts.adjustEvery ?? 10;
  const seed = opts.seed ?? 0;
  const [, c, h, w] = x01.shape;
  const pool = obj.indices ?? Int32Array.from({ length: x01.size(0) }, (_, i) => i);
  if (pool.length < 2) throw new RangeError(`trigger search needs at least 2 images, got ${pool.length}`);
  const batchSize = Math.min(opts.batchSize ?? 64, pool.length);
  manualSeed(seed);
  // Mask starts near 0.1 everywhere (sigmoid(-2.2)); the pattern at random mid-range values.
  const a = keep(tidy(() => randn([1, 1, h, w]).mul(0.1).add(-2.2))).requiresGrad_();
  const b = keep(tidy(() => randn([1, c, h, w]).mul(0.5))).requiresGrad_();
  const opt = new Adam([a, b], { lr, betas: [0.5, 0.9] });
  const rng = new Rng(seed, 'audit/batches');
  let order = rng.permutation(pool.length);
  let cursor = 0;
  let lambda = 0;
  let windowHits = 0;
  let best: { trigger: RecoveredTrigger; fraction: number } | null = null;
  try {
    for (let step = 0; step < steps; step++) {
      if (cursor + batchSize > order.length) {
        order = rng.permutation(pool.length);
        cursor = 0;
      }
      const idx = Int32Array.from(order.subarray(cursor, cursor + batchSize), (k) => pool[k]);
      cursor += batchSize;
      const { score, frac } = tidy(() => {
        const m = maskFromLogits(a);
        const p = patternFromLogits(b);
        const sel = x01.indexSelect(0, fromTyped(idx, [idx.length]).long());
        const r = obj.loss(normalise(stamp(sel, m, p), norm), idx);
        const mm = m.mean();
        const total = lambda > 0 ? r.loss.add(mm.mul(lambda)) : r.loss;
        total.backward();
        return { score: r.score, frac: mm.item() };
      });
      opt.step();
      opt.zeroGrad();
      const hit = score >= obj.target;
      if (hit) {
        windowHits++;
        if (lambda === 0) lambda = lambda0;
        if (best === null || frac < best.fraction) best = { trigger: toTrigger(a, b), fraction: frac };
      }
      if ((step + 1) % adjustEvery === 0) {
        if (lambda > 0) lambda = windowHits >= adjustEvery / 2 ? lambda * 1.5 : lambda / 1.5 ** 1.5;
        windowHits = 0;
      }
      opts.onStep?.({ step: step + 1, steps, lambda, score, bestFraction: best?.fraction ?? null });
      if (step % 5 === 4) await new Promise<void>((r) => setImmediate(r));
    }
    const trigger = best?.trigger ?? toTrigger(a, b);
    const full = scoreTrigger(x01, norm, trigger, obj);
    return { trigger, maskFraction: maskFraction(trigger.mask), score: full, target: obj.target, reached: best !== null, steps };
  } finally {
    opt.dispose();
    a.dispose();
    b.dispose();
  }
}

/** Where the headless search reads features: a block of `model.blocks()` (global-average-pooled) or the backbone's output. */
export type FeatureLayer = string;

/**
 * How the headless search measures collapse of the features F (one row per image):
 * - `cosine`: DECREE's mean pairwise cosine similarity of the rows;
 * - `centred-cosine`: the same after subtracting the clean images' mean feature (ReLU features
 *   are all positive, so their raw cosine is high for any input; centring removes that floor);
 * - `spread`: 1 − (mean squared distance of the rows to their mean) / (the same for clean
 *   images): 1 when every stamped image lands on one point.
 */
export type CollapseMeasure = 'cosine' | 'centred-cosine' | 'spread';

/** Features at `layer`: [N, D]. `features` = the backbone's output (what a transfer head sees). */
export function featuresAt(model: Classifier, x: Tensor, layer: FeatureLayer): Tensor {
  if (layer === 'features') return model.backbone(x);
  const blocks = model.blocks();
  const k = blocks.findIndex((b) => b.name === layer);
  if (k < 0) throw new RangeError(`unknown layer '${layer}'; this model's blocks are: features, ${blocks.map((b) => b.name).join(', ')}`);
  return tidy(() =>
    forwardChain(
      x,
      blocks.slice(0, k + 1).map((b) => b.module),
    ).mean([2, 3]),
  );
}

/** Mean pairwise cosine similarity of the rows of f [N, D] (N ≥ 2), diagonal excluded. */
export function meanPairwiseCosine(f: Tensor): Tensor {
  return tidy(() => {
    const n = f.size(0);
    const u = f.div(f.pow(2).sum(1, { keepdim: true }).add(1e-12).sqrt());
    const s = u.sum(0);
    return s
      .pow(2)
      .sum()
      .sub(n)
      .div(n * (n - 1));
  });
}

/** Mean squared distance of the rows of f [N, D] to their mean. */
export function spreadOf(f: Tensor): Tensor {
  return tidy(() =>
    f
      .sub(f.mean(0, { keepdim: true }))
      .pow(2)
      .sum(1)
      .mean(),
  );
}

/**
 * The collapse of features f [N, D] by `measure` (see CollapseMeasure), a scalar tensor; `clean`
 * holds the clean images' mean feature [1, D] and spread.
 */
export function collapseValue(f: Tensor, measure: CollapseMeasure, clean: { mean: Tensor; spread: number }): Tensor {
  switch (measure) {
    case 'cosine':
      return meanPairwiseCosine(f);
    case 'centred-cosine':
      return tidy(() => meanPairwiseCosine(f.sub(clean.mean)));
    case 'spread':
      return tidy(() => spreadOf(f).div(-Math.max(clean.spread, 1e-12)).add(1));
  }
}

/**
 * The headless (DECREE-style) objective on `model`'s features at `layer`: make the stamped scan
 * images' features collapse by `measure` to at least `target`. Clean statistics (mean feature,
 * spread) come from all scan images.
 */
export function collapseObjective(
  model: Classifier,
  x01: Tensor,
  norm: Normalisation,
  opts: { layer: FeatureLayer; measure: CollapseMeasure; target: number },
): Objective & { dispose(): void } {
  const clean = noGrad(() =>
    tidy(() => {
      const f = featuresAt(model, normalise(x01, norm), opts.layer);
      return { mean: keep(f.mean(0, { keepdim: true })), spread: spreadOf(f).item() };
    }),
  );
  const value = (f: Tensor): Tensor => collapseValue(f, opts.measure, clean);
  return {
    target: opts.target,
    loss: (x) => {
      const v = value(featuresAt(model, x, opts.layer));
      return { loss: v.neg().add(1), score: v.item() };
    },
    score: (x) => tidy(() => value(featuresAt(model, x, opts.layer)).item()),
    dispose: () => clean.mean.dispose(),
  };
}

/**
 * The per-class (Neural-Cleanse-style) objective through the model's own head: send the scan
 * images the model does not already put in class `cls` to `cls`; score = share that land there.
 * `cleanPreds` are the model's predictions on the clean scan images.
 */
export function classObjective(model: Classifier, cls: number, cleanPreds: Int32Array, target = 0.9): Objective {
  const chosen: number[] = [];
  cleanPreds.forEach((p, i) => {
    if (p !== cls) chosen.push(i);
  });
  const indices = Int32Array.from(chosen);
  return {
    target,
    indices,
    loss: (x) => {
      const logits = model.forward(x);
      const y = tidy(() => fromTyped(new Int32Array(x.size(0)).fill(cls), [x.size(0)]).long());
      const loss = crossEntropy(logits, y);
      y.dispose();
      const score = tidy(() => logits.argmax(1).eq(cls).float().mean().item());
      return { loss, score };
    },
    score: (x) => tidy(() => model.forward(x).argmax(1).eq(cls).float().mean().item()),
  };
}
