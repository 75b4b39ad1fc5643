/**
 * safetensors: read and write the whole format (https://github.com/huggingface/safetensors):
 * an 8-byte little-endian header length, a JSON header mapping names to
 * `{dtype, shape, data_offsets}` plus optional `__metadata__` (string to string), then the raw
 * little-endian data. Nothing in the format executes code on load.
 *
 * Every safetensors dtype is parsed. libtorch 1.13 has no uint16/uint32/uint64 or float8 types:
 * U16 and U32 load widened to int32/int64, U64 loads as int64 when every value fits, and F8
 * tensors are available as raw bytes (`readSafetensors`) but cannot become tensors.
 */
import { closeSync, openSync, readFileSync, renameSync, writeSync, fsyncSync } from 'node:fs';
import { fromBytes } from './ops.js';
import { Tensor, type DType } from './tensor.js';

/** Every dtype name the format defines. */
export type SafetensorsDType =
  'BOOL' | 'U8' | 'I8' | 'U16' | 'I16' | 'U32' | 'I32' | 'U64' | 'I64' | 'F16' | 'BF16' | 'F32' | 'F64' | 'F8_E4M3' | 'F8_E5M2';

const ITEM_SIZE: Record<SafetensorsDType, number> = {
  BOOL: 1,
  U8: 1,
  I8: 1,
  U16: 2,
  I16: 2,
  U32: 4,
  I32: 4,
  U64: 8,
  I64: 8,
  F16: 2,
  BF16: 2,
  F32: 4,
  F64: 8,
  F8_E4M3: 1,
  F8_E5M2: 1,
};
const TO_TORCH: Partial<Record<SafetensorsDType, DType>> = {
  BOOL: 'bool',
  U8: 'uint8',
  I8: 'int8',
  I16: 'int16',
  I32: 'int32',
  I64: 'int64',
  F16: 'float16',
  BF16: 'bfloat16',
  F32: 'float32',
  F64: 'float64',
};
const FROM_TORCH: Record<DType, SafetensorsDType> = {
  bool: 'BOOL',
  uint8: 'U8',
  int8: 'I8',
  int16: 'I16',
  int32: 'I32',
  int64: 'I64',
  float16: 'F16',
  bfloat16: 'BF16',
  float32: 'F32',
  float64: 'F64',
};

/** One entry of a file, before conversion to a tensor. */
export interface RawEntry {
  dtype: SafetensorsDType;
  shape: number[];
  /** The entry's bytes (a view into the file buffer). */
  bytes: Uint8Array;
}

/** A parsed file: entries in file order and the optional string metadata. */
export interface RawSafetensors {
  entries: Map<string, RawEntry>;
  metadata: Record<string, string>;
}

/** Error in a safetensors file; names the file and, where known, the key. */
export class SafetensorsError extends Error {
  constructor(
    readonly file: string,
    message: string,
    readonly key?: string,
  ) {
    super(`${file}${key !== undefined ? ` [${key}]` : ''}: ${message}`);
    this.name = 'SafetensorsError';
  }
}

/** Parses safetensors bytes. `file` names the source in errors. */
export function parseSafetensors(buf: Uint8Array, file = '<buffer>'): RawSafetensors {
  if (buf.length < 8) throw new SafetensorsError(file, `truncated: ${buf.length} bytes, no header length`);
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const n = dv.getBigUint64(0, true);
  if (n > BigInt(buf.length - 8))
    throw new SafetensorsError(file, `header length ${n} exceeds the file size (${buf.length} bytes): truncated or not safetensors`);
  const headerLen = Number(n);
  let header: Record<string, unknown>;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(buf.subarray(8, 8 + headerLen)));
  } catch (e) {
    throw new SafetensorsError(file, `header is not valid UTF-8 JSON (${(e as Error).message})`);
  }
  if (header === null || typeof header !== 'object' || Array.isArray(header))
    throw new SafetensorsError(file, 'header is not a JSON object');
  const dataStart = 8 + headerLen;
  const dataLen = buf.length - dataStart;
  const metadata: Record<string, string> = {};
  const entries = new Map<string, RawEntry>();
  const spans: [number, number, string][] = [];
  for (const [key, v] of Object.entries(header)) {
    if (key === '__metadata__') {
      if (v === null || typeof v !== 'object') throw new SafetensorsError(file, '__metadata__ must be an object of strings');
      for (const [mk, mv] of Object.entries(v as Record<string, unknown>)) {
        if (typeof mv !== 'string') throw new SafetensorsError(file, `__metadata__.${mk} must be a string`);
        metadata[mk] = mv;
      }
      continue;
    }
    const e = v as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    if (typeof e !== 'object' || e === null) throw new SafetensorsError(file, 'entry is not an object', key);
    const dtype = e.dtype as SafetensorsDType;
    if (typeof dtype !== 'string' || !(dtype in ITEM_SIZE))
      throw new SafetensorsError(file, `unknown dtype ${JSON.stringify(e.dtype)}`, key);
    if (!Array.isArray(e.shape) || e.shape.some((s) => !Number.isInteger(s) || s < 0))
      throw new SafetensorsError(file, `invalid shape ${JSON.stringify(e.shape)}`, key);
    const off = e.data_offsets;
    if (!Array.isArray(off) || off.length !== 2 || off.some((o) => !Number.isInteger(o) || o < 0) || off[0] > off[1])
      throw new SafetensorsError(file, `invalid data_offsets ${JSON.stringify(off)}`, key);
    const shape = e.shape as number[];
    const need = shape.reduce((a, b) => a * b, 1) * ITEM_SIZE[dtype];
    if (off[1] - off[0] !== need)
      throw new SafetensorsError(file, `data_offsets span ${off[1] - off[0]} bytes but ${dtype}[${shape.join(', ')}] needs ${need}`, key);
    if (off[1] > dataLen)
      throw new SafetensorsError(file, `data ends at byte ${off[1]} but the file holds ${dataLen} data bytes: truncated`, key);
    spans.push([off[0], off[1], key]);
    entries.set(key, { dtype, shape, bytes: buf.subarray(dataStart + off[0], dataStart + off[1]) });
  }
  spans.sort((a, b) => a[0] - b[0]);
  for (let i = 1; i < spans.length; i++)
    if (spans[i][0] < spans[i - 1][1]) throw new SafetensorsError(file, `data overlaps entry '${spans[i - 1][2]}'`, spans[i][2]);
  return { entries, metadata };
}

/** Reads and parses a safetensors file without converting entries to tensors. */
export function readSafetensors(path: string): RawSafetensors {
  let buf: Buffer;
  try {
    buf = readFileSync(path);
  } catch (e) {
    throw new SafetensorsError(path, `cannot read: ${(e as Error).message}`);
  }
  return parseSafetensors(buf, path);
}

function copyAligned(bytes: Uint8Array): Uint8Array {
  return new Uint8Array(bytes); // copy: typed views need aligned offsets
}

/** Converts one entry to a tensor (see the module note for unsigned and float8 types). */
export function entryToTensor(e: RawEntry, key = '<entry>', file = '<buffer>'): Tensor {
  const direct = TO_TORCH[e.dtype];
  if (direct !== undefined) return fromBytes(e.bytes, direct, e.shape);
  const b = copyAligned(e.bytes);
  const n = e.shape.reduce((a, c) => a * c, 1);
  switch (e.dtype) {
    case 'U16': {
      const src = new Uint16Array(b.buffer, 0, n);
      return fromBytes(new Uint8Array(Int32Array.from(src).buffer), 'int32', e.shape);
    }
    case 'U32': {
      const src = new Uint32Array(b.buffer, 0, n);
      return fromBytes(new Uint8Array(BigInt64Array.from(src, (x) => BigInt(x)).buffer), 'int64', e.shape);
    }
    case 'U64': {
      const src = new BigUint64Array(b.buffer, 0, n);
      for (const x of src) if (x > 0x7fffffffffffffffn) throw new SafetensorsError(file, `U64 value ${x} does not fit int64`, key);
      return fromBytes(b, 'int64', e.shape);
    }
    default:
      throw new SafetensorsError(file, `${e.dtype} has no libtorch 1.13 dtype; read it raw with readSafetensors`, key);
  }
}

/** Loads every tensor of a safetensors file, with its metadata. */
export function loadSafetensors(path: string): { tensors: Map<string, Tensor>; metadata: Record<string, string> } {
  const raw = readSafetensors(path);
  const tensors = new Map<string, Tensor>();
  try {
    for (const [k, e] of raw.entries) tensors.set(k, entryToTensor(e, k, path));
  } catch (err) {
    for (const t of tensors.values()) t.dispose();
    throw err;
  }
  return { tensors, metadata: raw.metadata };
}

/** Serialises tensors (any iteration order; written sorted by name) and string metadata. */
export function serializeSafetensors(
  tensors: Iterable<[string, Tensor]> | Record<string, Tensor>,
  metadata: Record<string, string> = {},
): Buffer {
  const list = (Symbol.iterator in tensors ? [...(tensors as Iterable<[string, Tensor]>)] : Object.entries(tensors)).sort((a, b) =>
    a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0,
  );
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length > 0) header.__metadata__ = metadata;
  const chunks: Uint8Array[] = [];
  let offset = 0;
  const seen = new Set<string>();
  for (const [name, t] of list) {
    if (seen.has(name)) throw new Error(`safetensors: duplicate tensor name '${name}'`);
    seen.add(name);
    const bytes = t.bytes();
    header[name] = { dtype: FROM_TORCH[t.dtype], shape: [...t.shape], data_offsets: [offset, offset + bytes.length] };
    chunks.push(bytes);
    offset += bytes.length;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - ((8 + Buffer.byteLength(json)) % 8)) % 8);
  const head = Buffer.from(json, 'utf-8');
  const out = Buffer.allocUnsafe(8 + head.length + offset);
  out.writeBigUInt64LE(BigInt(head.length), 0);
  head.copy(out, 8);
  let p = 8 + head.length;
  for (const c of chunks) {
    out.set(c, p);
    p += c.length;
  }
  return out;
}

/** Writes a safetensors file atomically (temporary file, fsync, rename). */
export function saveSafetensors(
  path: string,
  tensors: Iterable<[string, Tensor]> | Record<string, Tensor>,
  metadata: Record<string, string> = {},
): void {
  const buf = serializeSafetensors(tensors, metadata);
  const tmp = `${path}.tmp-${process.pid}`;
  const fd = openSync(tmp, 'w');
  try {
    writeSync(fd, buf);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
}
