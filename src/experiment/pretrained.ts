/**
 * A pretrained source (`source.pretrained`): a backbone trained elsewhere, transferred instead of
 * a source model trained here. Its weights are checked strictly against the config's `model`
 * before any job starts (every key, shape and dtype, with `model import`'s messages), the head's
 * class count is read from the file, and the file's content hash stands in for the training
 * that produced it in every cache key.
 */
import { statSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { archKeys, createModel, keyMismatchAdvice, loadModel, sampleKeys } from '../nn/index.js';
import { describeCast, readSafetensors } from '../torch/index.js';
import type { ExperimentConfig, PretrainedSpec } from './config/index.js';
import { fileDigest } from './file-digest.js';

/** One pretrained weights file, checked. */
export interface PretrainedWeights {
  /** 'biased' = the backbone under audit (`weights`); 'clean' = its control (`control`). */
  kind: 'biased' | 'clean';
  /** Absolute path. */
  file: string;
  /** The config key that named it (`source.pretrained.weights` / `.control`). */
  key: string;
  /** sha256 of the file's bytes (first 32 hex digits). */
  sha256: string;
  /** Classes of the file's head (its output rows). */
  numClasses: number;
  /** 'cast N fp16 tensors to float32' when the file stores half-precision tensors (widened exactly on load), else null. */
  castNote: string | null;
}

/** The model spec of `config.model` (one definition, in ./model-spec.ts). */
export { configModelSpec } from './model-spec.js';
import { configModelSpec } from './model-spec.js';

function headKey(config: ExperimentConfig, channels: number): string {
  const probe = createModel(configModelSpec(config, 1, channels));
  try {
    const w = probe.head.weight;
    for (const [k, t] of probe.stateDict()) if (t === w) return k;
    return 'fc.weight';
  } finally {
    probe.dispose();
  }
}

/**
 * Checks one weights file against the config's architecture and returns what the experiment
 * needs. Throws an error that names the config key and the file: missing or unreadable file,
 * not a safetensors file, truncated, no head tensor, or any missing / unexpected / mismatched key.
 */
export function checkPretrained(
  config: ExperimentConfig,
  spec: PretrainedSpec,
  configDir: string,
  kind: 'biased' | 'clean',
): PretrainedWeights {
  const key = kind === 'biased' ? 'source.pretrained.weights' : 'source.pretrained.control';
  const given = kind === 'biased' ? spec.weights : spec.control;
  if (given === null) throw new Error(`${key} is not set`);
  const file = isAbsolute(given) ? given : resolve(configDir, given);
  try {
    if (!statSync(file).isFile()) throw new Error('not a file');
  } catch (e) {
    throw new Error(`${key}: cannot read weights file '${file}': ${(e as Error).message}`);
  }
  const expectedModel = `${config.model.arch} (model: ${JSON.stringify(config.model)}, ${spec.channels} input channel(s))`;
  let shapes: Map<string, readonly number[]>;
  try {
    const raw = readSafetensors(file);
    shapes = new Map([...raw.entries].map(([k, e]) => [k, e.shape] as const));
  } catch (e) {
    throw new Error(`${key}: '${file}' is not a readable safetensors state dict of ${expectedModel}: ${(e as Error).message}`);
  }
  const hk = headKey(config, spec.channels);
  const head = shapes.get(hk);
  if (head === undefined || head.length !== 2) {
    const advice = keyMismatchAdvice(
      [...shapes.keys()],
      configModelSpec(config, 1, spec.channels),
      archKeys(config.model.arch, config.model.layers ?? undefined),
      { prefixFlag: 'model import --strip-prefix', conv1Out: shapes.get('conv1.weight')?.[0] },
    );
    throw new Error(
      `${key}: '${file}' has no head tensor '${hk}' (a 2-d [classes, features] weight), so it is not a state dict of ${expectedModel}${advice !== null ? ` (${advice})` : ''}; keys in the file: ${sampleKeys([...shapes.keys()], 8)}`,
    );
  }
  const numClasses = head[0];
  const model = createModel(configModelSpec(config, numClasses, spec.channels));
  let castNote: string | null;
  try {
    castNote = describeCast(loadModel(file, model, { strict: true }).cast);
  } catch (e) {
    throw new Error(`${key}: ${(e as Error).message}`);
  } finally {
    model.dispose();
  }
  const sha256 = fileDigest(file, key);
  return { kind, file, key, sha256, numClasses, castNote };
}

/** The pretrained weights of a config: the backbone and, when `control` is set, its control. */
export function pretrainedWeights(config: ExperimentConfig, configDir: string): PretrainedWeights[] {
  const spec = config.source.pretrained;
  if (spec === null) return [];
  const out = [checkPretrained(config, spec, configDir, 'biased')];
  if (spec.control !== null) out.push(checkPretrained(config, spec, configDir, 'clean'));
  return out;
}
