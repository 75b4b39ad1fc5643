/**
 * safetensors files move both ways between this project and PyTorch 1.13 (whose Python has no
 * `safetensors` package, so its side is the json+struct+torch.frombuffer helper of
 * test/helpers/st_py.ts): every dtype torch 1.13 has, plus `__metadata__`. Corrupt and truncated
 * files fail with errors that name the file.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import {
  SafetensorsError,
  arange,
  describeCast,
  disposeAll,
  halfBitsToFloat32Bits,
  readSafetensors,
  loadSafetensors,
  saveSafetensors,
  tidy,
  type DType,
  type Tensor,
} from '../../src/torch/index.js';
import { runPython } from '../helpers/pytorch.js';
import { ST_PY } from '../helpers/st_py.js';

const DTYPES: [DType, string][] = [
  ['float32', 'torch.float32'],
  ['float64', 'torch.float64'],
  ['float16', 'torch.float16'],
  ['bfloat16', 'torch.bfloat16'],
  ['int64', 'torch.int64'],
  ['int32', 'torch.int32'],
  ['int16', 'torch.int16'],
  ['int8', 'torch.int8'],
  ['uint8', 'torch.uint8'],
  ['bool', 'torch.bool'],
];

/** The values both sides generate for a dtype: 12 elements, shape [3, 4]. */
function expected(dtype: DType): number[] {
  const base = Array.from({ length: 12 }, (_, i) => i - 5);
  if (dtype === 'uint8') return base.map((v) => v + 5);
  if (dtype === 'bool') return base.map((v) => (v % 2 === 0 ? 1 : 0));
  if (dtype.startsWith('float') || dtype === 'bfloat16') return base.map((v) => v * 0.5);
  return base;
}

describe('safetensors interchange with PyTorch', () => {
  const dir = mkdtempSync(join(tmpdir(), 'bt-st-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('files written by PyTorch load here with equal values, dtypes, shapes and metadata', () => {
    const file = join(dir, 'from_torch.safetensors');
    runPython(
      `${ST_PY}
base = torch.arange(-5, 7)
out = {}
for name, dt in [${DTYPES.map(([n, p]) => `(${JSON.stringify(n)}, ${p})`).join(', ')}]:
    if dt == torch.uint8: v = base + 5
    elif dt == torch.bool: v = base % 2 == 0
    elif dt.is_floating_point: v = base * 0.5
    else: v = base
    out[name] = v.to(dt).reshape(3, 4)
out['scalar'] = torch.tensor(3.25, dtype=torch.float64)
out['empty'] = torch.zeros(0, 5)
st_save(sys.argv[1], out, {'format': 'pt', 'epoch': '7'})
`,
      [file],
    );
    const { tensors, metadata } = loadSafetensors(file);
    try {
      assert.deepEqual(metadata, { format: 'pt', epoch: '7' });
      for (const [dtype] of DTYPES) {
        const t = tensors.get(dtype);
        assert.ok(t, `missing ${dtype}`);
        assert.equal(t.dtype, dtype);
        assert.deepEqual([...t.shape], [3, 4], `${dtype} shape`);
        assert.deepEqual(t.toArray(), expected(dtype), `${dtype} values`);
      }
      assert.equal(tensors.get('scalar')!.item(), 3.25);
      assert.deepEqual([...tensors.get('scalar')!.shape], []);
      assert.deepEqual([...tensors.get('empty')!.shape], [0, 5]);
    } finally {
      disposeAll([...tensors.values()]);
    }
  });

  test('files we write load in PyTorch with equal values, dtypes, shapes and metadata', () => {
    const file = join(dir, 'ours.safetensors');
    const ts: Record<string, Tensor> = tidy(() => {
      const r: Record<string, Tensor> = {};
      for (const [dtype] of DTYPES) {
        const base = arange(-5, 7);
        const v =
          dtype === 'uint8' ? base.add(5) : dtype === 'bool' ? base.remainder(2).eq(0) : dtype.includes('float') ? base.mul(0.5) : base;
        r[dtype] = v.to(dtype).reshape([3, 4]);
      }
      r.transposed = arange(6).to('float32').reshape([2, 3]).t();
      return r;
    });
    saveSafetensors(file, ts, { note: 'from node', 'unicode ✓': 'ü' });
    disposeAll(ts);
    const out = runPython(
      `${ST_PY}
import json
t, meta = st_load(sys.argv[1])
print(json.dumps({'meta': meta, 't': {k: {'dtype': str(v.dtype), 'shape': list(v.shape), 'values': v.float().reshape(-1).tolist()} for k, v in t.items()}}))
`,
      [file],
    );
    const got = JSON.parse(out.trim().split('\n').pop()!) as {
      meta: Record<string, string>;
      t: Record<string, { dtype: string; shape: number[]; values: number[] }>;
    };
    assert.deepEqual(got.meta, { note: 'from node', 'unicode ✓': 'ü' });
    for (const [dtype, pyName] of DTYPES) {
      assert.equal(got.t[dtype].dtype, pyName);
      assert.deepEqual(got.t[dtype].shape, [3, 4]);
      assert.deepEqual(got.t[dtype].values, expected(dtype), `${dtype} values`);
    }
    // A non-contiguous view is written in logical (row-major) order.
    assert.deepEqual(got.t.transposed.shape, [3, 2]);
    assert.deepEqual(got.t.transposed.values, [0, 3, 1, 4, 2, 5]);
  });

  test('a truncated file fails with an error naming the file', () => {
    const good = join(dir, 'good.safetensors');
    const x = arange(100).to('float32');
    saveSafetensors(good, { x });
    x.dispose();
    const bytes = readFileSync(good);
    const cut = join(dir, 'cut.safetensors');
    writeFileSync(cut, bytes.subarray(0, bytes.length - 10));
    assert.throws(
      () => loadSafetensors(cut),
      (e: unknown) => e instanceof SafetensorsError && e.message.includes(cut) && /truncated/.test(e.message),
    );
    const tiny = join(dir, 'tiny.safetensors');
    writeFileSync(tiny, bytes.subarray(0, 5));
    assert.throws(
      () => loadSafetensors(tiny),
      (e: unknown) => e instanceof SafetensorsError && e.message.includes(tiny),
    );
  });

  test('a corrupt header fails with an error naming the file', () => {
    const bad = join(dir, 'bad_header.safetensors');
    const head = Buffer.from('{"x": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]', 'utf-8');
    const buf = Buffer.alloc(8 + head.length + 8);
    buf.writeBigUInt64LE(BigInt(head.length), 0);
    head.copy(buf, 8);
    writeFileSync(bad, buf);
    assert.throws(
      () => loadSafetensors(bad),
      (e: unknown) => e instanceof SafetensorsError && e.message.includes(bad) && /JSON/.test(e.message),
    );
    const huge = join(dir, 'huge_len.safetensors');
    const b2 = Buffer.alloc(16);
    b2.writeBigUInt64LE(1n << 40n, 0);
    writeFileSync(huge, b2);
    assert.throws(
      () => loadSafetensors(huge),
      (e: unknown) => e instanceof SafetensorsError && e.message.includes(huge),
    );
    assert.throws(() => loadSafetensors(join(dir, 'missing.safetensors')), /missing\.safetensors/);
  });

  test('F16 and BF16 widen to float32 bit for bit as torch .float() does: all 65,536 patterns of each, NaN, inf, subnormals', () => {
    const file = join(dir, 'halves.safetensors');
    runPython(
      `${ST_PY}
bits = torch.arange(-32768, 32768, dtype=torch.int32).to(torch.int16)
st_save(sys.argv[1], {
    'f16': bits.view(torch.float16).reshape(256, 256), 'f16_as_f32': bits.view(torch.float16).float().reshape(256, 256),
    'bf16': bits.view(torch.bfloat16).reshape(256, 256), 'bf16_as_f32': bits.view(torch.bfloat16).float().reshape(256, 256),
})
`,
      [file],
    );
    const raw = readSafetensors(file);
    const { tensors, cast } = loadSafetensors(file, { halfToFloat32: true });
    try {
      assert.deepEqual(cast, { F16: 1, BF16: 1 });
      assert.equal(describeCast(cast), 'cast 1 fp16 and 1 bf16 tensors to float32');
      for (const k of ['f16', 'bf16']) {
        const t = tensors.get(k)!;
        assert.equal(t.dtype, 'float32', k);
        assert.deepEqual([...t.shape], [256, 256]);
        const ours = new Uint32Array(new Uint8Array(t.bytes()).buffer);
        const theirs = new Uint32Array(new Uint8Array(raw.entries.get(`${k}_as_f32`)!.bytes).buffer);
        let diff = -1;
        for (let i = 0; i < ours.length && diff < 0; i++) if (ours[i] !== theirs[i]) diff = i;
        assert.equal(diff, -1, `${k}: pattern ${diff} gives 0x${ours[diff]?.toString(16)}, torch 0x${theirs[diff]?.toString(16)}`);
      }
    } finally {
      disposeAll([...tensors.values()]);
    }
    // Without the option they stay half precision (the format's own dtypes).
    const plain = loadSafetensors(file);
    assert.equal(plain.tensors.get('f16')!.dtype, 'float16');
    assert.deepEqual(plain.cast, { F16: 0, BF16: 0 });
    disposeAll([...plain.tensors.values()]);
    assert.equal(halfBitsToFloat32Bits(0x3c00), 0x3f800000);
    assert.equal(halfBitsToFloat32Bits(0x0001), 0x33800000);
  });
});
