/**
 * The training loop: epochs of mini-batches, an optimizer, a per-iteration learning-rate schedule,
 * periodic evaluation, best/last checkpoints, progress events, and exact resumption.
 *
 * Resumption: checkpoints hold the model, the optimizer state and the position (epoch, batch).
 * The data order is a pure function of (seed, epoch) (see `BatchSource`), libtorch's generator is
 * reseeded from (seed, iteration) before every step, and the learning rate is a function of the
 * iteration — so a run killed at any moment (SIGKILL included) and started again with the same
 * arguments finishes with the same weights as an uninterrupted run (on the same machine and
 * thread count).
 */
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import {
  Adam,
  AdamW,
  SGD,
  crossEntropy,
  loadSafetensors,
  manualSeed,
  noGrad,
  saveSafetensors,
  tidy,
  type Optimizer,
  type ParamGroupSpec,
  type Tensor,
} from '../torch/index.js';
import { writeJsonAtomic } from './files.js';
import { lrMultiplier, type ScheduleSpec } from './schedule.js';

/** What the trainer needs of a model (src/nn's Module satisfies it). */
export interface TrainModel {
  forward(x: Tensor): Tensor;
  train(on?: boolean): unknown;
  eval(): unknown;
  stateDict(): Map<string, Tensor>;
  loadStateDict(sd: Map<string, Tensor>, opts?: { strict?: boolean }): unknown;
}

/** A source of training batches. */
export interface BatchSource {
  /** Number of batches in one epoch. */
  readonly batchesPerEpoch: number;
  /**
   * The batches of `epoch` from batch index `start` on. The order must be a pure function of the
   * source's seed and `epoch` (resumption depends on it). The trainer disposes each batch.
   */
  epoch(epoch: number, start: number): Iterable<{ x: Tensor; y: Tensor }>;
}

/** Optimizer settings as configs hold them. */
export interface OptimizerSpec {
  kind: 'sgd' | 'adam' | 'adamw';
  lr: number;
  momentum?: number;
  nesterov?: boolean;
  weightDecay?: number;
  betas?: [number, number];
}

/** How long and how to train. */
export interface TrainSpec {
  epochs: number;
  optimizer: OptimizerSpec;
  schedule: ScheduleSpec;
  labelSmoothing?: number;
  /** Evaluate every k epochs (and always after the last). 0 = only at the end. */
  evalEvery?: number;
  /** Also checkpoint every this many iterations within an epoch (0 = only at epoch ends). */
  checkpointEverySteps?: number;
}

/** A progress event for terminals and logs. */
export interface ProgressEvent {
  kind: 'step' | 'epoch' | 'eval' | 'resume' | 'done';
  epoch: number;
  epochs: number;
  step: number;
  stepsPerEpoch: number;
  loss?: number;
  accuracy?: number;
  evalAccuracy?: number;
  imagesPerSecond?: number;
  etaSeconds?: number;
  lr?: number;
  message?: string;
}

/** Per-epoch history. */
export interface EpochRecord {
  epoch: number;
  loss: number;
  accuracy: number;
  evalAccuracy: number | null;
  lr: number;
  seconds: number;
}

export interface TrainOptions {
  model: TrainModel;
  data: BatchSource;
  spec: TrainSpec;
  seed: number;
  /** Parameter groups (frozen parameters excluded by the caller or by requiresGrad = false). */
  paramGroups: ParamGroupSpec[];
  /** The forward pass used for training (default `model.forward`); fixed-feature transfer overrides it. */
  forward?: (x: Tensor) => Tensor;
  /** Puts the model in training or evaluation mode (default `model.train(on)`). */
  setTraining?: (on: boolean) => void;
  /** Accuracy on held-out data, in [0, 1]; called with the model in evaluation mode. */
  evaluate?: () => number;
  /** Folder for checkpoints; without it the run cannot resume. */
  checkpointDir?: string;
  /**
   * Checkpoint within the run, at epoch ends and every `spec.checkpointEverySteps` (default true).
   * False writes files only when the run finishes (final weights, done.json, and best.safetensors
   * from a copy kept in memory): for runs whose epochs cost less than writing a checkpoint (a head
   * on cached features), which restart from the beginning if killed.
   */
  intermediateCheckpoints?: boolean;
  onProgress?: (e: ProgressEvent) => void;
  /** Minimum seconds between 'step' progress events (default 2). */
  progressInterval?: number;
  /** Stop early (the last checkpoint stays valid). */
  signal?: AbortSignal;
  /**
   * Called after each epoch with the history so far; returning true ends training there, as if
   * that epoch were the last (used by `trainToPlateau`). Runs that stop early this way are not
   * resumable from checkpoints (the schedule still counts `spec.epochs`).
   */
  stopAfterEpoch?: (history: readonly EpochRecord[]) => boolean;
}

export interface TrainResult {
  history: EpochRecord[];
  bestEvalAccuracy: number | null;
  finalEvalAccuracy: number | null;
  /** True when a finished run was found in checkpointDir and nothing was trained. */
  reused: boolean;
  resumedFrom: { epoch: number; step: number } | null;
}

interface Position {
  epoch: number;
  batch: number;
  globalStep: number;
  history: EpochRecord[];
  best: number | null;
  dir: string;
  running: { loss: number; correct: number; seen: number; seconds: number };
}

/** Creates the optimizer a spec names. */
export function makeOptimizer(groups: ParamGroupSpec[], o: OptimizerSpec): Optimizer {
  switch (o.kind) {
    case 'sgd':
      return new SGD(groups, { lr: o.lr, momentum: o.momentum ?? 0, nesterov: o.nesterov ?? false, weightDecay: o.weightDecay ?? 0 });
    case 'adam':
      return new Adam(groups, { lr: o.lr, weightDecay: o.weightDecay ?? 0, betas: o.betas });
    case 'adamw':
      return new AdamW(groups, { lr: o.lr, weightDecay: o.weightDecay ?? 0.01, betas: o.betas });
  }
}

function stepSeed(seed: number, step: number): number {
  // A simple 32-bit mix of (seed, step): deterministic, distinct per iteration.
  // Seeds are derived four ways on purpose (docs/architecture.md, "Seeds"): do not merge them, it would change every number.
  let h = (seed * 0x9e3779b1 + step * 0x85ebca77) >>> 0;
  h ^= h >>> 15;
  h = Math.imul(h, 0x2c1b3c6d) >>> 0;
  h ^= h >>> 12;
  return h >>> 0;
}

function saveCheckpoint(dir: string, model: TrainModel, opt: Optimizer, pos: Position): void {
  const name = `ckpt-${pos.globalStep}`;
  const sub = join(dir, name);
  rmSync(sub, { recursive: true, force: true });
  mkdirSync(sub, { recursive: true });
  saveSafetensors(join(sub, 'model.safetensors'), model.stateDict());
  const st = opt.stateDict();
  saveSafetensors(join(sub, 'optimizer.safetensors'), st.tensors, { meta: JSON.stringify(st.meta) });
  const prev = existsSync(join(dir, 'last.json')) ? (JSON.parse(readFileSync(join(dir, 'last.json'), 'utf-8')) as Position).dir : null;
  writeJsonAtomic(join(dir, 'last.json'), { ...pos, dir: name }, { indent: 1 });
  if (prev !== null && prev !== name) rmSync(join(dir, prev), { recursive: true, force: true });
}

function loadCheckpoint(dir: string, model: TrainModel, opt: Optimizer): Position | null {
  const p = join(dir, 'last.json');
  if (!existsSync(p)) return null;
  let pos: Position;
  try {
    pos = JSON.parse(readFileSync(p, 'utf-8')) as Position;
  } catch (e) {
    throw new Error(`${p}: unreadable checkpoint index (${(e as Error).message}); delete the folder to start over`);
  }
  const m = loadSafetensors(join(dir, pos.dir, 'model.safetensors'));
  try {
    model.loadStateDict(m.tensors, { strict: true });
  } finally {
    for (const t of m.tensors.values()) t.dispose();
  }
  const o = loadSafetensors(join(dir, pos.dir, 'optimizer.safetensors'));
  try {
    opt.loadStateDict({ tensors: Object.fromEntries(o.tensors), meta: JSON.parse(o.metadata.meta ?? '{}') });
  } finally {
    for (const t of o.tensors.values()) t.dispose();
  }
  return pos;
}

/** Path of the final weights a finished run leaves in its checkpoint folder. */
export function finalWeightsPath(checkpointDir: string): string {
  return join(checkpointDir, 'final.safetensors');
}

/**
 * Trains `model` in place. With `checkpointDir`, resumes a previous run of the same arguments
 * from its last checkpoint, or reuses it entirely if it had finished.
 */
export async function train(opts: TrainOptions): Promise<TrainResult> {
  const { model, data, spec, seed } = opts;
  const forward = opts.forward ?? ((x: Tensor) => model.forward(x));
  const setTraining = opts.setTraining ?? ((on: boolean) => void (on ? model.train(true) : model.eval()));
  const emit = opts.onProgress ?? (() => {});
  const stepsPerEpoch = data.batchesPerEpoch;
  const totalSteps = stepsPerEpoch * spec.epochs;
  const evalEvery = spec.evalEvery ?? 1;
  const dir = opts.checkpointDir;
  if (stepsPerEpoch <= 0) throw new Error('training data yields no batches (dataset smaller than one batch with dropLast?)');

  if (dir !== undefined) {
    mkdirSync(dir, { recursive: true });
    const done = join(dir, 'done.json');
    if (existsSync(done) && existsSync(finalWeightsPath(dir))) {
      const r = JSON.parse(readFileSync(done, 'utf-8')) as TrainResult;
      const w = loadSafetensors(finalWeightsPath(dir));
      try {
        model.loadStateDict(w.tensors, { strict: true });
      } finally {
        for (const t of w.tensors.values()) t.dispose();
      }
      emit({ kind: 'done', epoch: spec.epochs, epochs: spec.epochs, step: 0, stepsPerEpoch, message: 'reused finished run' });
      return { ...r, reused: true };
    }
  }

  const opt = makeOptimizer(opts.paramGroups, spec.optimizer);
  // The best weights so far, when they are written only at the end (intermediateCheckpoints false).
  let bestInMemory: Map<string, Tensor> | undefined;
  try {
    let pos: Position = {
      epoch: 0,
      batch: 0,
      globalStep: 0,
      history: [],
      best: null,
      dir: '',
      running: { loss: 0, correct: 0, seen: 0, seconds: 0 },
    };
    let resumedFrom: TrainResult['resumedFrom'] = null;
    if (dir !== undefined) {
      const loaded = loadCheckpoint(dir, model, opt);
      if (loaded !== null) {
        pos = loaded;
        resumedFrom = { epoch: pos.epoch, step: pos.batch };
        emit({
          kind: 'resume',
          epoch: pos.epoch,
          epochs: spec.epochs,
          step: pos.batch,
          stepsPerEpoch,
          message: `resumed at epoch ${pos.epoch + 1}, batch ${pos.batch}`,
        });
      }
    }
    let lastEmit = 0;
    const interval = (opts.progressInterval ?? 2) * 1000;
    const t0 = Date.now();
    let stepsThisSession = 0;

    for (; pos.epoch < spec.epochs; pos.epoch++) {
      setTraining(true);
      const epochStart = Date.now() - pos.running.seconds * 1000;
      let b = pos.batch;
      for (const batch of data.epoch(pos.epoch, pos.batch)) {
        if (opts.signal?.aborted) {
          batch.x.dispose();
          batch.y.dispose();
          throw new Error('training aborted');
        }
        const mult = lrMultiplier(spec.schedule, { step: pos.globalStep, stepsPerEpoch, epochs: spec.epochs });
        for (const g of opt.groups) g.lr = g.initialLr * mult;
        manualSeed(stepSeed(seed, pos.globalStep));
        const n = batch.x.size(0);
        const [lossV, correct] = tidy(() => {
          const logits = forward(batch.x);
          const loss = crossEntropy(logits, batch.y, { labelSmoothing: spec.labelSmoothing ?? 0 });
          loss.backward();
          const c = logits.argmax(1).eq(batch.y).sum().item();
          return [loss.item(), c] as const;
        });
        batch.x.dispose();
        batch.y.dispose();
        opt.step();
        opt.zeroGrad();
        if (!Number.isFinite(lossV)) throw new Error(`loss became ${lossV} at epoch ${pos.epoch + 1}, batch ${b}: lower the learning rate`);
        pos.running.loss += lossV * n;
        pos.running.correct += correct;
        pos.running.seen += n;
        pos.globalStep++;
        stepsThisSession++;
        b++;
        pos.batch = b;
        const now = Date.now();
        if (now - lastEmit >= interval) {
          lastEmit = now;
          const elapsed = (now - t0) / 1000;
          const ips = (stepsThisSession * n) / Math.max(elapsed, 1e-9);
          const eta = ((totalSteps - pos.globalStep) * elapsed) / stepsThisSession;
          emit({
            kind: 'step',
            epoch: pos.epoch,
            epochs: spec.epochs,
            step: b,
            stepsPerEpoch,
            loss: pos.running.loss / pos.running.seen,
            accuracy: pos.running.correct / pos.running.seen,
            imagesPerSecond: ips,
            etaSeconds: eta,
            lr: opt.groups[0]?.lr,
          });
        }
        const every = opts.intermediateCheckpoints === false ? 0 : (spec.checkpointEverySteps ?? 0);
        if (dir !== undefined && every > 0 && b < stepsPerEpoch && pos.globalStep % every === 0) {
          pos.running.seconds = (Date.now() - epochStart) / 1000;
          saveCheckpoint(dir, model, opt, pos);
        }
        // Let the event loop breathe (signals, progress output, other work).
        await new Promise<void>((r) => setImmediate(r));
      }
      const isLast = pos.epoch === spec.epochs - 1;
      let evalAcc: number | null = null;
      if (opts.evaluate && (isLast || (evalEvery > 0 && (pos.epoch + 1) % evalEvery === 0))) {
        setTraining(false);
        evalAcc = opts.evaluate();
        setTraining(true);
        emit({ kind: 'eval', epoch: pos.epoch, epochs: spec.epochs, step: b, stepsPerEpoch, evalAccuracy: evalAcc });
        if (dir !== undefined && (pos.best === null || evalAcc > pos.best)) {
          if (opts.intermediateCheckpoints !== false) saveSafetensors(join(dir, 'best.safetensors'), model.stateDict());
          else {
            for (const t of bestInMemory?.values() ?? []) t.dispose();
            bestInMemory = noGrad(() => new Map([...model.stateDict()].map(([k, t]) => [k, t.clone()] as const)));
          }
        }
        if (pos.best === null || evalAcc > pos.best) pos.best = evalAcc;
      }
      const rec: EpochRecord = {
        epoch: pos.epoch + 1,
        loss: pos.running.loss / Math.max(pos.running.seen, 1),
        accuracy: pos.running.correct / Math.max(pos.running.seen, 1),
        evalAccuracy: evalAcc,
        lr: opt.groups[0]?.lr ?? 0,
        seconds: (Date.now() - epochStart) / 1000,
      };
      pos.history.push(rec);
      emit({
        kind: 'epoch',
        epoch: pos.epoch,
        epochs: spec.epochs,
        step: b,
        stepsPerEpoch,
        loss: rec.loss,
        accuracy: rec.accuracy,
        evalAccuracy: evalAcc ?? undefined,
      });
      pos.batch = 0;
      pos.running = { loss: 0, correct: 0, seen: 0, seconds: 0 };
      if (!isLast && opts.stopAfterEpoch?.(pos.history) === true) break;
      if (dir !== undefined && !isLast && opts.intermediateCheckpoints !== false)
        saveCheckpoint(dir, model, opt, { ...pos, epoch: pos.epoch + 1 });
    }
    setTraining(false);
    const last = pos.history[pos.history.length - 1];
    const result: TrainResult = {
      history: pos.history,
      bestEvalAccuracy: pos.best,
      finalEvalAccuracy: last?.evalAccuracy ?? null,
      reused: false,
      resumedFrom,
    };
    if (dir !== undefined) {
      if (bestInMemory !== undefined) saveSafetensors(join(dir, 'best.safetensors'), bestInMemory);
      saveSafetensors(finalWeightsPath(dir), model.stateDict());
      writeJsonAtomic(join(dir, 'done.json'), result, { indent: 1 });
      const lastJson = join(dir, 'last.json');
      if (existsSync(lastJson)) {
        const prev = (JSON.parse(readFileSync(lastJson, 'utf-8')) as Position).dir;
        rmSync(join(dir, prev), { recursive: true, force: true });
        rmSync(lastJson, { force: true });
      }
      // Leftovers of sessions killed mid-save: half-written checkpoint folders and temp files.
      for (const name of readdirSync(dir))
        if (/^ckpt-\d+$|\.tmp-\d+$/.test(name)) rmSync(join(dir, name), { recursive: true, force: true });
    }
    emit({ kind: 'done', epoch: spec.epochs, epochs: spec.epochs, step: 0, stepsPerEpoch });
    return result;
  } finally {
    opt.dispose();
    for (const t of bestInMemory?.values() ?? []) t.dispose();
  }
}
