/**
 * safetensors: read and write the whole format (https://github.com/huggingface/safetensors):
 * an 8-byte little-endian header length, a JSON header mapping names to
 * `{dtype, shape, data_offsets}` plus optional `__metadata__` (string to string), then the raw
 * little-endian data. Nothing in the format executes code on load.
 *
 * Every safetensors dtype is parsed. libtorch 1.13 has no uint16/uint32/uint64 or float8 types:
 * U16 and U32 load widened to int32/int64, U64 loads as int64 when every value fits, and F8
 * tensors are available as raw bytes (`readSafetensors`) but cannot become tensors.
 *
 * Checkpoints as they come: `loadSafetensors(path, { halfToFloat32: true })` widens F16 and BF16
 * entries to float32 exactly (`halfToFloat32`), and a PyTorch pickle or zip checkpoint (`.pt`,
 * `.pth`) is recognised by its first bytes and refused with the one-line conversion
 * (`pytorchCheckpointKind`), never unpickled.
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

/**
 * What a file's first bytes say it is when they are a PyTorch checkpoint rather than safetensors:
 * 'zip' (`torch.save` since 1.6: `PK\x03\x04`), 'pickle' (the legacy format, or any plain
 * pickle: protocol 2-5 opcode `\x80` then the protocol number), or null. Only called once the
 * bytes fail as safetensors, since a safetensors header length may start with those bytes too.
 */
export function pytorchCheckpointKind(head: Uint8Array): 'zip' | 'pickle' | null {
  if (head.length >= 4 && head[0] === 0x50 && head[1] === 0x4b && head[2] === 0x03 && head[3] === 0x04) return 'zip';
  if (head.length >= 2 && head[0] === 0x80 && head[1] >= 2 && head[1] <= 5) return 'pickle';
  return null;
}

/**
 * The one-line conversion of a PyTorch checkpoint to safetensors (run where torch and the
 * `safetensors` package are installed). It loads with `weights_only=True` (no arbitrary code),
 * unwraps a `state_dict` or `model` entry, and clones each tensor so shared storage saves.
 */
export function conversionCommand(file: string): string {
  const out = file.replace(/\.(pt|pth|bin|ckpt|tar)$/i, '') + '.safetensors';
  const q = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;
  return (
    `python3 -c "import sys, torch; from safetensors.torch import save_file; ` +
    `sd = torch.load(sys.argv[1], map_location='cpu', weights_only=True); ` +
    `sd = sd.get('state_dict', sd.get('model', sd)); ` +
    `save_file({k: v.detach().clone().contiguous() for k, v in sd.items()}, sys.argv[2])" ${q(file)} ${q(out)}`
  );
}

/** Throws the PyTorch-checkpoint error when `head` (a file's first bytes) is a pickle or zip checkpoint. */
function refusePytorchCheckpoint(head: Uint8Array, file: string): void {
  const kind = pytorchCheckpointKind(head);
  if (kind === null) return;
  throw new SafetensorsError(
    file,
    `this is a PyTorch ${kind === 'zip' ? 'zip' : 'pickle'} checkpoint (torch.save, .pt/.pth), not safetensors; ` +
      `pickle runs code on load, so it is not read here. Convert it once with:\n  ${conversionCommand(file)}`,
  );
}

/**
 * Checks the first bytes of a would-be safetensors file (at least 8, the file's total size
 * `size`): throws a SafetensorsError naming the file when they are a PyTorch checkpoint, or when
 * the header length cannot be right. Used by readers that do not parse the whole file.
 */
export function checkSafetensorsHead(head: Uint8Array, size: number, file: string): void {
  if (head.length < 8 || size < 8) throw new SafetensorsError(file, `truncated: ${size} bytes, no header length`);
  const n = new DataView(head.buffer, head.byteOffset, 8).getBigUint64(0, true);
  if (n > BigInt(size - 8)) {
    refusePytorchCheckpoint(head, file);
    throw new SafetensorsError(file, `header length ${n} exceeds the file size (${size} bytes): truncated or not safetensors`);
  }
}

/** Parses safetensors bytes. `file` names the source in errors. */
export function parseSafetensors(buf: Uint8Array, file = '<buffer>'): RawSafetensors {
  if (buf.length < 8) throw new SafetensorsError(file, `truncated: ${buf.length} bytes, no header length`);
  checkSafetensorsHead(buf.subarray(0, 8), buf.length, file);
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const n = dv.getBigUint64(0, true);
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

/**
 * Bits of the float32 equal to an IEEE 754 binary16 value (`h`, 16 bits): exact for every value,
 * subnormals included (normalised), ±inf kept, a NaN keeps its payload with the quiet bit set,
 * exactly as libtorch's (and PyTorch's) `.float()` converts half.
 * @example halfBitsToFloat32Bits(0x3c00) // 0x3f800000 (1.0)
 * @example halfBitsToFloat32Bits(0x0001) // 0x33800000 (2^-24, the smallest subnormal)
 */
export function halfBitsToFloat32Bits(h: number): number {
  const sign = (h & 0x8000) << 16;
  const exp = (h >> 10) & 0x1f;
  let mant = h & 0x3ff;
  if (exp === 0x1f) return (sign | 0x7f800000 | (mant << 13) | (mant !== 0 ? 0x400000 : 0)) >>> 0;
  if (exp !== 0) return (sign | ((exp + 112) << 23) | (mant << 13)) >>> 0;
  if (mant === 0) return sign >>> 0;
  let e32 = 113; // 127 - 15 + 1: the exponent of 2^-14, the subnormals' scale
  while ((mant & 0x400) === 0) {
    mant <<= 1;
    e32--;
  }
  return (sign | (e32 << 23) | ((mant & 0x3ff) << 13)) >>> 0;
}

/**
 * Widens little-endian F16 or BF16 bytes to float32 bytes (little-endian), exactly: BF16 is the
 * top half of a float32 (a 16-bit shift), F16 goes through `halfBitsToFloat32Bits`.
 */
export function halfToFloat32(bytes: Uint8Array, dtype: 'F16' | 'BF16'): Uint8Array {
  const n = bytes.length >> 1;
  const out = new Uint32Array(n);
  for (let i = 0; i < n; i++) {
    const h = bytes[2 * i] | (bytes[2 * i + 1] << 8);
    out[i] = dtype === 'BF16' ? (h << 16) >>> 0 : halfBitsToFloat32Bits(h);
  }
  return new Uint8Array(out.buffer);
}

/** Options of `entryToTensor` and `loadSafetensors`. */
export interface LoadSafetensorsOptions {
  /** Widen F16 and BF16 entries to float32 (exactly; see `halfToFloat32`). Default false: they load as float16 / bfloat16. */
  halfToFloat32?: boolean;
}

/** Converts one entry to a tensor (see the module note for unsigned and float8 types). */
export function entryToTensor(e: RawEntry, key = '<entry>', file = '<buffer>', opts: LoadSafetensorsOptions = {}): Tensor {
  if (opts.halfToFloat32 && (e.dtype === 'F16' || e.dtype === 'BF16'))
    return fromBytes(halfToFloat32(e.bytes, e.dtype), 'float32', e.shape);
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

/** What `loadSafetensors` returns. */
export interface LoadedSafetensors {
  tensors: Map<string, Tensor>;
  metadata: Record<string, string>;
  /** How many entries were widened to float32, by their stored dtype (only with `halfToFloat32`). */
  cast: { F16: number; BF16: number };
}

/** Loads every tensor of a safetensors file, with its metadata. */
export function loadSafetensors(path: string, opts: LoadSafetensorsOptions = {}): LoadedSafetensors {
  const raw = readSafetensors(path);
  const tensors = new Map<string, Tensor>();
  const cast = { F16: 0, BF16: 0 };
  try {
    for (const [k, e] of raw.entries) {
      tensors.set(k, entryToTensor(e, k, path, opts));
      if (opts.halfToFloat32 && (e.dtype === 'F16' || e.dtype === 'BF16')) cast[e.dtype]++;
    }
  } catch (err) {
    for (const t of tensors.values()) t.dispose();
    throw err;
  }
  return { tensors, metadata: raw.metadata, cast };
}

/**
 * The note a loader prints once after widening half-precision tensors, e.g. 'cast 62 fp16 tensors
 * to float32'; null when nothing was cast.
 */
export function describeCast(cast: { F16: number; BF16: number }): string | null {
  const parts: string[] = [];
  if (cast.F16 > 0) parts.push(`${cast.F16} fp16`);
  if (cast.BF16 > 0) parts.push(`${cast.BF16} bf16`);
  if (parts.length === 0) return null;
  return `cast ${parts.join(' and ')} tensor${cast.F16 + cast.BF16 === 1 ? '' : 's'} to float32`;
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
