/**
 * Model weights as safetensors files: the state dict under PyTorch's keys, plus string metadata
 * holding the ModelSpec (`model_spec`, JSON) so `readModelSpec` / `loadModelFromFile` can rebuild
 * the model. Files are interchangeable with PyTorch's `safetensors.torch.save_file(model.state_dict())`.
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { checkSafetensorsHead, disposeAll, loadSafetensors, saveSafetensors } from '../torch/index.js';
import { keyMismatchAdvice } from './checkpoint-keys.js';
import { type LoadResult, type Module, StateDictError, describeLoadResult } from './module.js';
import type { Classifier } from './models/classifier.js';
import { createModel } from './models/factory.js';
import { parseModelSpec, type ModelSpec } from './models/spec.js';

/** Metadata key holding the model spec as JSON. */
export const MODEL_SPEC_KEY = 'model_spec';
/** Metadata key naming the file format. */
export const FORMAT_KEY = 'format';
/** Value of `format` in files written by `saveModel`. */
export const FORMAT = 'bias-transfer/model@1';

function specOf(model: Module): ModelSpec | undefined {
  const s = (model as unknown as Partial<Classifier>).spec;
  return s !== undefined && typeof s === 'object' ? s : undefined;
}

/**
 * Writes `model`'s state dict to `path` (atomically) as safetensors. Metadata: `format`, the
 * model's spec as JSON (when the model has one), plus `metadata` (string values; may not
 * override `format` or `model_spec`).
 */
export function saveModel(path: string, model: Module, metadata: Record<string, string> = {}): void {
  const meta: Record<string, string> = { ...metadata, [FORMAT_KEY]: FORMAT };
  const spec = specOf(model);
  if (spec !== undefined) meta[MODEL_SPEC_KEY] = JSON.stringify(spec);
  saveSafetensors(path, model.stateDict(), meta);
}

/** Reads only the header's string metadata of a safetensors file (no tensor data). */
export function readWeightsMetadata(path: string): Record<string, string> {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (e) {
    throw new Error(`${path}: cannot open weights file: ${(e as Error).message}`);
  }
  try {
    const head = Buffer.alloc(8);
    if (readSync(fd, head, 0, 8, 0) !== 8) throw new Error(`${path}: truncated weights file (no safetensors header)`);
    checkSafetensorsHead(head, fstatSync(fd).size, path);
    const n = head.readBigUInt64LE(0);
    if (n > 100_000_000n) throw new Error(`${path}: header length ${n} is implausible: not a safetensors file`);
    const json = Buffer.alloc(Number(n));
    if (readSync(fd, json, 0, json.length, 8) !== json.length) throw new Error(`${path}: truncated weights file (header cut short)`);
    let header: unknown;
    try {
      header = JSON.parse(json.toString('utf-8'));
    } catch (e) {
      throw new Error(`${path}: safetensors header is not valid JSON (${(e as Error).message})`);
    }
    const meta = (header as { __metadata__?: unknown } | null)?.__metadata__;
    return meta !== null && typeof meta === 'object' ? { ...(meta as Record<string, string>) } : {};
  } finally {
    closeSync(fd);
  }
}

/** The ModelSpec stored by `saveModel` in `path`; throws when the file has none or it is invalid. */
export function readModelSpec(path: string): ModelSpec {
  const raw = readWeightsMetadata(path)[MODEL_SPEC_KEY];
  if (raw === undefined)
    throw new Error(`${path}: no '${MODEL_SPEC_KEY}' metadata (not written by saveModel); build the model yourself and use loadModel`);
  let v: unknown;
  try {
    v = JSON.parse(raw);
  } catch (e) {
    throw new Error(`${path}: metadata '${MODEL_SPEC_KEY}' is not JSON (${(e as Error).message})`);
  }
  return parseModelSpec(v, `${path} metadata '${MODEL_SPEC_KEY}'`);
}

function structural(s: ModelSpec): string {
  return JSON.stringify({ ...s, numClasses: undefined });
}

/** What `loadModel` returns: the key comparison, and how many half-precision tensors were widened. */
export interface ModelLoadResult extends LoadResult {
  /** Entries stored as F16 / BF16 and cast to float32 on load (see `describeCast`). */
  cast: { F16: number; BF16: number };
}

/**
 * Copies the weights in `path` into `model` (in place: optimizer references stay valid). F16 and
 * BF16 tensors are widened to float32 exactly first (`cast` counts them). With `strict`
 * (default) every key must be present on both sides with the same shape and dtype, otherwise it
 * throws before changing anything, naming the file, the keys, expected and actual shapes, both
 * specs when the file records a different architecture, and the prefix to strip or the
 * architecture the keys fit when one does. Non-strict loads what matches (e.g. a backbone whose
 * head has another class count) and reports the rest.
 */
export function loadModel(path: string, model: Module, opts: { strict?: boolean } = {}): ModelLoadResult {
  const { tensors, metadata, cast } = loadSafetensors(path, { halfToFloat32: true });
  try {
    return { ...model.loadStateDict(tensors, { strict: opts.strict ?? true, source: path }), cast };
  } catch (e) {
    if (!(e instanceof StateDictError)) throw e;
    const mine = specOf(model);
    let theirs: ModelSpec | undefined;
    try {
      theirs = metadata[MODEL_SPEC_KEY] !== undefined ? parseModelSpec(JSON.parse(metadata[MODEL_SPEC_KEY])) : undefined;
    } catch {
      theirs = undefined;
    }
    const arch =
      mine !== undefined && theirs !== undefined && structural(mine) !== structural(theirs)
        ? ` (the file holds ${JSON.stringify(theirs)} but the model is ${JSON.stringify(mine)})`
        : '';
    const advice =
      mine !== undefined && e.result.missing.length + e.result.unexpected.length > 0
        ? keyMismatchAdvice([...tensors.keys()], mine, model.stateDict().keys(), {
            prefixFlag: 'model import --strip-prefix',
            conv1Out: tensors.get('conv1.weight')?.shape[0],
          })
        : null;
    throw new StateDictError(
      `${path}: weights do not fit ${model.typeName}${arch}${advice !== null ? ` (${advice})` : ''}: ${describeLoadResult(e.result)}`,
      e.result,
    );
  } finally {
    disposeAll(tensors);
  }
}

/** Builds the model recorded in `path` (see `readModelSpec`) and loads its weights strictly. */
export function loadModelFromFile(path: string): Classifier {
  const model = createModel(readModelSpec(path));
  try {
    loadModel(path, model, { strict: true });
  } catch (e) {
    model.dispose();
    throw e;
  }
  return model;
}
