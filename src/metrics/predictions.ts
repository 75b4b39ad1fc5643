/**
 * Per-sample predictions of a run, saved so every metric can be recomputed without retraining.
 * CSV (one row per test sample; logits as optional columns) and JSON, both round-tripping exactly
 * (float32 logits are written in the shortest form that reads back to the same float32).
 *
 * CSV columns, in order: `id,label,clean[,biased][,attribute],num_classes`
 * `[,clean_logit_0..clean_logit_{K-1}][,biased_logit_0..biased_logit_{K-1}]`.
 */
import fs from 'node:fs';
import path from 'node:path';
import { checkBinary, checkClassIndices, checkNumClasses, checkSameLength } from './validate.js';

/** Predictions of one model on one test set, sample by sample. */
export interface PredictionRecord {
  /** Index of each sample in the test set. */
  readonly ids: Int32Array;
  /** True class per sample. */
  readonly labels: Int32Array;
  /** Predicted class on the clean test image. */
  readonly clean: Int32Array;
  /** Predicted class on the same image with the bias applied (trigger / patch stamped). */
  readonly biased?: Int32Array;
  /** 0/1 attribute flag per sample (spurious-correlation subgroups). */
  readonly attributes?: Uint8Array;
  /** Logits on the clean image, n × numClasses row-major. */
  readonly cleanLogits?: Float32Array;
  /** Logits on the biased image, n × numClasses row-major. */
  readonly biasedLogits?: Float32Array;
  readonly numClasses: number;
}

/** Throws a RangeError naming the field at fault unless `rec` is consistent. */
export function validatePredictionRecord(rec: PredictionRecord, where = 'PredictionRecord'): void {
  checkNumClasses(rec.numClasses, where);
  const n = checkSameLength(where, {
    ids: rec.ids,
    labels: rec.labels,
    clean: rec.clean,
    biased: rec.biased,
    attributes: rec.attributes,
  });
  checkClassIndices(where, 'labels', rec.labels, rec.numClasses);
  checkClassIndices(where, 'clean', rec.clean, rec.numClasses);
  if (rec.biased) checkClassIndices(where, 'biased', rec.biased, rec.numClasses);
  if (rec.attributes) checkBinary(where, 'attributes', rec.attributes);
  for (const key of ['cleanLogits', 'biasedLogits'] as const) {
    const l = rec[key];
    if (l && l.length !== n * rec.numClasses) {
      throw new RangeError(`${where}: ${key} has length ${l.length}, expected n × numClasses = ${n} × ${rec.numClasses}`);
    }
  }
}

/** Number text that reads back to exactly the same float32. */
function f32(v: number): string {
  const x = Math.fround(v);
  return Object.is(x, -0) ? '-0' : String(x); // String(-0) is '0'
}

/** Writes `rec` as CSV (see the module comment for the columns); creates parent folders. */
export function writePredictionsCsv(file: string, rec: PredictionRecord): void {
  validatePredictionRecord(rec, `writePredictionsCsv(${file})`);
  const K = rec.numClasses;
  const header = ['id', 'label', 'clean'];
  if (rec.biased) header.push('biased');
  if (rec.attributes) header.push('attribute');
  header.push('num_classes');
  if (rec.cleanLogits) for (let k = 0; k < K; k++) header.push(`clean_logit_${k}`);
  if (rec.biasedLogits) for (let k = 0; k < K; k++) header.push(`biased_logit_${k}`);
  const lines = [header.join(',')];
  for (let i = 0; i < rec.ids.length; i++) {
    const row: (number | string)[] = [rec.ids[i], rec.labels[i], rec.clean[i]];
    if (rec.biased) row.push(rec.biased[i]);
    if (rec.attributes) row.push(rec.attributes[i]);
    row.push(K);
    if (rec.cleanLogits) for (let k = 0; k < K; k++) row.push(f32(rec.cleanLogits[i * K + k]));
    if (rec.biasedLogits) for (let k = 0; k < K; k++) row.push(f32(rec.biasedLogits[i * K + k]));
    lines.push(row.join(','));
  }
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, lines.join('\n') + '\n');
}

/** Checks 0/1 before narrowing to bytes (so 256 cannot wrap to 0). */
function toAttributes(file: string, a: Int32Array): Uint8Array {
  checkBinary(file, 'attributes', a);
  return Uint8Array.from(a);
}

function parseIntCell(file: string, line: number, column: string, text: string): number {
  const v = Number(text);
  if (text.trim() === '' || !Number.isInteger(v)) {
    throw new Error(`${file}:${line}: column ${column} holds ${JSON.stringify(text)}, expected an integer`);
  }
  return v;
}

/** Reads a CSV written by {@link writePredictionsCsv}; errors name the file, line and column. */
export function readPredictionsCsv(file: string): PredictionRecord {
  const lines = fs.readFileSync(file, 'utf8').split(/\r?\n/);
  while (lines.length && lines[lines.length - 1] === '') lines.pop();
  if (lines.length === 0) throw new Error(`${file}: empty file, expected a header row`);
  const header = lines[0].split(',');
  const col = new Map(header.map((h, i) => [h, i]));
  for (const req of ['id', 'label', 'clean', 'num_classes']) {
    if (!col.has(req)) throw new Error(`${file}:1: missing column ${req} (header: ${lines[0]})`);
  }
  const n = lines.length - 1;
  const cells = lines.slice(1).map((l, i) => {
    const c = l.split(',');
    if (c.length !== header.length) throw new Error(`${file}:${i + 2}: ${c.length} cells, header has ${header.length}`);
    return c;
  });
  const intColumn = (name: string): Int32Array => {
    const j = col.get(name)!;
    const out = new Int32Array(n);
    for (let i = 0; i < n; i++) out[i] = parseIntCell(file, i + 2, name, cells[i][j]);
    return out;
  };
  let numClasses: number;
  if (n === 0) {
    const logitCols = header.filter((h) => h.startsWith('clean_logit_') || h.startsWith('biased_logit_')).length;
    const sets = (col.has('clean_logit_0') ? 1 : 0) + (col.has('biased_logit_0') ? 1 : 0);
    if (sets === 0) throw new Error(`${file}: no rows and no logit columns, so num_classes is unknown`);
    numClasses = logitCols / sets;
  } else {
    const nc = intColumn('num_classes');
    numClasses = nc[0];
    const bad = nc.findIndex((v) => v !== numClasses);
    if (bad >= 0) throw new Error(`${file}:${bad + 2}: num_classes ${nc[bad]} differs from ${numClasses} on line 2`);
  }
  const logits = (prefix: string): Float32Array | undefined => {
    if (!col.has(`${prefix}_0`)) return undefined;
    const js: number[] = [];
    for (let k = 0; k < numClasses; k++) {
      const j = col.get(`${prefix}_${k}`);
      if (j === undefined) throw new Error(`${file}:1: missing column ${prefix}_${k} (num_classes = ${numClasses})`);
      js.push(j);
    }
    const out = new Float32Array(n * numClasses);
    for (let i = 0; i < n; i++) {
      for (let k = 0; k < numClasses; k++) {
        const t = cells[i][js[k]];
        const v = Number(t);
        if (t.trim() === '' || (Number.isNaN(v) && t.trim() !== 'NaN')) {
          throw new Error(`${file}:${i + 2}: column ${prefix}_${k} holds ${JSON.stringify(t)}, expected a number`);
        }
        out[i * numClasses + k] = v;
      }
    }
    return out;
  };
  const rec: PredictionRecord = {
    ids: intColumn('id'),
    labels: intColumn('label'),
    clean: intColumn('clean'),
    ...(col.has('biased') ? { biased: intColumn('biased') } : {}),
    ...(col.has('attribute') ? { attributes: toAttributes(file, intColumn('attribute')) } : {}),
    ...(col.has('clean_logit_0') ? { cleanLogits: logits('clean_logit') } : {}),
    ...(col.has('biased_logit_0') ? { biasedLogits: logits('biased_logit') } : {}),
    numClasses,
  };
  validatePredictionRecord(rec, file);
  return rec;
}

/** Format tag written into prediction JSON files. */
export const PREDICTIONS_JSON_FORMAT = 'bias-transfer/predictions@1';

/** Float32 logits as JSON numbers; values JSON cannot hold (NaN, ±Infinity, −0) as strings. */
function logitsToJson(a: Float32Array): (number | string)[] {
  return Array.from(a, (v) => (Object.is(v, -0) ? '-0' : Number.isFinite(v) ? v : String(v)));
}

/** Writes `rec` as JSON (typed arrays as number arrays); creates parent folders. */
export function writePredictionsJson(file: string, rec: PredictionRecord): void {
  validatePredictionRecord(rec, `writePredictionsJson(${file})`);
  const obj = {
    format: PREDICTIONS_JSON_FORMAT,
    numClasses: rec.numClasses,
    ids: Array.from(rec.ids),
    labels: Array.from(rec.labels),
    clean: Array.from(rec.clean),
    ...(rec.biased ? { biased: Array.from(rec.biased) } : {}),
    ...(rec.attributes ? { attributes: Array.from(rec.attributes) } : {}),
    ...(rec.cleanLogits ? { cleanLogits: logitsToJson(rec.cleanLogits) } : {}),
    ...(rec.biasedLogits ? { biasedLogits: logitsToJson(rec.biasedLogits) } : {}),
  };
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, JSON.stringify(obj));
}

/** Reads a JSON file written by {@link writePredictionsJson}; errors name the file and key. */
export function readPredictionsJson(file: string): PredictionRecord {
  let obj: Record<string, unknown>;
  try {
    obj = JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, unknown>;
  } catch (e) {
    throw new Error(`${file}: not valid JSON (${(e as Error).message})`);
  }
  if (obj === null || typeof obj !== 'object') throw new Error(`${file}: expected a JSON object`);
  if (obj.format !== PREDICTIONS_JSON_FORMAT) {
    throw new Error(`${file}: key "format" is ${JSON.stringify(obj.format)}, expected ${JSON.stringify(PREDICTIONS_JSON_FORMAT)}`);
  }
  const allowed = new Set(['format', 'numClasses', 'ids', 'labels', 'clean', 'biased', 'attributes', 'cleanLogits', 'biasedLogits']);
  for (const k of Object.keys(obj)) if (!allowed.has(k)) throw new Error(`${file}: unknown key "${k}"`);
  const numArray = (key: string, required: boolean): number[] | undefined => {
    const v = obj[key];
    if (v === undefined && !required) return undefined;
    if (!Array.isArray(v)) throw new Error(`${file}: key "${key}" must be an array`);
    return v.map((x, i) => {
      const y = typeof x === 'string' && ['NaN', 'Infinity', '-Infinity', '-0'].includes(x) ? Number(x) : x;
      if (typeof y !== 'number') throw new Error(`${file}: ${key}[${i}] is ${JSON.stringify(x)}, expected a number`);
      return y;
    });
  };
  const ints = (key: string, required: boolean): Int32Array | undefined => {
    const a = numArray(key, required);
    if (!a) return undefined;
    a.forEach((x, i) => {
      if (!Number.isInteger(x)) throw new Error(`${file}: ${key}[${i}] is ${x}, expected an integer`);
    });
    return Int32Array.from(a);
  };
  const numClasses = obj.numClasses;
  if (typeof numClasses !== 'number') throw new Error(`${file}: key "numClasses" must be a number`);
  const biased = ints('biased', false);
  const attributes = ints('attributes', false);
  const cleanLogits = numArray('cleanLogits', false);
  const biasedLogits = numArray('biasedLogits', false);
  const rec: PredictionRecord = {
    ids: ints('ids', true)!,
    labels: ints('labels', true)!,
    clean: ints('clean', true)!,
    ...(biased ? { biased } : {}),
    ...(attributes ? { attributes: toAttributes(file, attributes) } : {}),
    ...(cleanLogits ? { cleanLogits: Float32Array.from(cleanLogits) } : {}),
    ...(biasedLogits ? { biasedLogits: Float32Array.from(biasedLogits) } : {}),
    numClasses,
  };
  validatePredictionRecord(rec, file);
  return rec;
}
