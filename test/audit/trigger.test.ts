import { test } from 'node:test';
import assert from 'node:assert/strict';
import { collapseValue, normalise } from '../../src/audit/search.js';
import {
  maskFraction,
  maskFromLogits,
  maskIou,
  patternFromLogits,
  permutedTrigger,
  stamp,
  stampImages,
  triggerTensors,
  type RecoveredTrigger,
} from '../../src/audit/trigger.js';
import { fromTyped, liveTensors, tidy } from '../../src/torch/index.js';
import { runPythonJson } from '../helpers/pytorch.js';

test('maskFraction is the L1 norm over the pixel count (PL1): a hard 5x5 square on 28x28 is 25/784', () => {
  const m = new Float32Array(28 * 28);
  for (let y = 23; y < 28; y++) for (let x = 23; x < 28; x++) m[y * 28 + x] = 1;
  assert.equal(maskFraction(m), 25 / 784);
  assert.equal(maskFraction(Float32Array.of(0.5, 0.5, 0, 0)), 0.25);
  assert.equal(maskFraction(new Float32Array(0)), 0);
});

test('maskIou thresholds the soft mask at 0.5 and compares with the true region', () => {
  assert.equal(maskIou(Float32Array.of(0.9, 0.8, 0.1, 0), Uint8Array.of(1, 0, 0, 0)), 0.5);
  assert.equal(maskIou(Float32Array.of(0.9, 0.8, 0.1, 0), Uint8Array.of(1, 1, 0, 0)), 1);
  assert.equal(maskIou(Float32Array.of(0, 0), Uint8Array.of(0, 0)), 0);
  assert.throws(() => maskIou(Float32Array.of(1), Uint8Array.of(1, 0)), /1 pixels, truth has 2/);
});

test('the random-pixel control keeps the mask size and colours and moves them (seeded)', () => {
  const hw = 36;
  const mask = Float32Array.from({ length: hw }, (_, i) => (i < 6 ? 1 - i * 0.1 : 0));
  const pattern = Float32Array.from({ length: 3 * hw }, (_, i) => (i % 7) / 7);
  const t: RecoveredTrigger = { c: 3, h: 6, w: 6, mask, pattern };
  const a = permutedTrigger(t, 1);
  const b = permutedTrigger(t, 1);
  assert.deepEqual(a, b);
  assert.ok(Math.abs(maskFraction(a.mask) - maskFraction(mask)) < 1e-7);
  assert.deepEqual([...a.mask].sort(), [...mask].sort());
  assert.notDeepEqual(a.mask, mask);
  // Each moved pixel carries its pattern colour along in every channel.
  for (let i = 0; i < hw; i++) {
    if (a.mask[i] === 0) continue;
    const src = [...mask].indexOf(a.mask[i]);
    for (let ch = 0; ch < 3; ch++) assert.equal(a.pattern[ch * hw + i], pattern[ch * hw + src]);
  }
});

test('stampImages (uint8 datasets, PNGs) blends exactly like the tensor stamp the search optimises', () => {
  const before = liveTensors();
  const c = 2;
  const h = 4;
  const w = 5;
  const images = Uint8Array.from({ length: 3 * c * h * w }, (_, i) => (i * 37) % 256);
  const t: RecoveredTrigger = {
    c,
    h,
    w,
    mask: Float32Array.from({ length: h * w }, (_, i) => (i % 4) / 3),
    pattern: Float32Array.from({ length: c * h * w }, (_, i) => ((i * 13) % 10) / 9),
  };
  const u8 = stampImages(images, 3, t);
  const viaTensor = tidy(() => {
    const { m, p } = triggerTensors(t);
    const x = fromTyped(
      Float32Array.from(images, (v) => v / 255),
      [3, c, h, w],
    );
    return stamp(x, m, p).mul(255).toFloat32Array();
  });
  viaTensor.forEach((v, i) => assert.ok(Math.abs(v - u8[i]) <= 0.5 + 1e-3, `pixel ${i}: ${v} vs ${u8[i]}`));
  assert.equal(liveTensors(), before);
});

test('parity with PyTorch: sigmoid/tanh parametrisation, stamp, normalisation, each collapse measure and its gradient', () => {
  const n = 6;
  const hw = 16;
  const d = 5;
  const x = Array.from({ length: n * hw }, (_, i) => ((i * 7919) % 101) / 100);
  const a = Array.from({ length: hw }, (_, i) => Math.sin(i) * 2);
  const b = Array.from({ length: hw }, (_, i) => Math.cos(i * 1.3));
  const W = Array.from({ length: hw * d }, (_, i) => Math.sin(i * 0.37) - 0.1);
  const py = runPythonJson<Record<string, { value: number; grad: number[] }>>(
    `
import json, torch
n, hw, d = ${n}, ${hw}, ${d}
x = torch.tensor(${JSON.stringify(x)}).reshape(n, 1, 4, 4)
W = torch.tensor(${JSON.stringify(W)}).reshape(hw, d)
def feats(z): return torch.relu(((z - 0.3) / 0.25).flatten(1) @ W)
clean = feats(x); mu = clean.mean(0, keepdim=True); spread = ((clean - mu) ** 2).sum(1).mean().item()
def mpc(f):
    u = f / (f.pow(2).sum(1, keepdim=True) + 1e-12).sqrt(); s = u.sum(0)
    return (s.pow(2).sum() - n) / (n * (n - 1))
out = {}
for measure in ['cosine', 'centred-cosine', 'spread']:
    a = torch.tensor(${JSON.stringify(a)}).reshape(1, 1, 4, 4).requires_grad_()
    b = torch.tensor(${JSON.stringify(b)}).reshape(1, 1, 4, 4)
    m = torch.sigmoid(a); p = (torch.tanh(b) + 1) / 2
    f = feats((1 - m) * x + m * p)
    v = mpc(f) if measure == 'cosine' else mpc(f - mu) if measure == 'centred-cosine' else 1 - ((f - f.mean(0, keepdim=True)) ** 2).sum(1).mean() / spread
    v.backward()
    out[measure] = {'value': v.item(), 'grad': a.grad.flatten().tolist()}
print(json.dumps(out))
`,
  );
  const before = liveTensors();
  const norm = { mean: [0.3], std: [0.25] };
  for (const measure of ['cosine', 'centred-cosine', 'spread'] as const) {
    const { value, grad } = tidy(() => {
      const xt = fromTyped(Float32Array.from(x), [n, 1, 4, 4]);
      const Wt = fromTyped(Float32Array.from(W), [hw, d]);
      const feats = (z: ReturnType<typeof fromTyped>) => normalise(z, norm).flatten(1).matmul(Wt).relu();
      const cf = feats(xt);
      const mu = cf.mean(0, { keepdim: true });
      const spread = cf.sub(mu).pow(2).sum(1).mean().item();
      const at = fromTyped(Float32Array.from(a), [1, 1, 4, 4]).requiresGrad_();
      const bt = fromTyped(Float32Array.from(b), [1, 1, 4, 4]);
      const v = collapseValue(feats(stamp(xt, maskFromLogits(at), patternFromLogits(bt))), measure, { mean: mu, spread });
      v.backward();
      const g = at.grad!.toFloat32Array();
      at.dispose();
      return { value: v.item(), grad: g };
    });
    const ref = py[measure];
    assert.ok(Math.abs(value - ref.value) <= 1e-4 * Math.max(1, Math.abs(ref.value)), `${measure}: ${value} vs ${ref.value}`);
    const scale = Math.max(...ref.grad.map(Math.abs), 1e-6);
    grad.forEach((g, i) => assert.ok(Math.abs(g - ref.grad[i]) <= 1e-4 * scale, `${measure} grad[${i}]: ${g} vs ${ref.grad[i]}`));
  }
  assert.equal(liveTensors(), before);
});
