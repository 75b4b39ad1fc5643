/**
 * The fused BatchNorm kernels (native/src/fused.cc) must give the same bits whatever the layout of
 * the heap. They once did not: GCC's vectorised per-channel loops check at run time whether the
 * small arrays they write lie within a vector's width of the ones they read, and run a scalar copy
 * of the loop (rounding differently: FMAs) when they do. Whether two small blocks end up adjacent
 * depends on what was allocated and freed before, on every thread (one malloc arena): a training
 * run's gradients then differed in the last bit now and then, and a run resumed from a checkpoint
 * did not end with the uninterrupted run's weights (test/train/interruption.test.ts). Here the
 * heap is shaken on purpose between identical calls: small blocks of many sizes are allocated and
 * every other one freed, leaving holes next to which the kernels' arrays land.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  batchNormAct,
  batchNormReluPool,
  manualSeed,
  ones,
  randn,
  setNumThreads,
  tidy,
  zeros,
  type Tensor,
} from '../../src/torch/index.js';

setNumThreads(2);

/** The bits of every result of one forward + backward: output, gradients, running statistics. */
function run(kernel: 'pool' | 'act', x0: Tensor, g: Tensor): Uint32Array[] {
  return tidy(() => {
    const x = x0.detach().requiresGrad_(true);
    const C = x0.shape[1];
    const weight = ones([C]).mul(1.5).requiresGrad_(true);
    const bias = zeros([C]).add(0.25).requiresGrad_(true);
    const runningMean = zeros([C]);
    const runningVar = ones([C]);
    const opts = { weight, bias, runningMean, runningVar, momentum: 0.1, eps: 1e-5 };
    const y = kernel === 'pool' ? batchNormReluPool(x, [2, 2], opts) : batchNormAct(x, { ...opts, relu: true });
    y.mul(g).sum().backward();
    return [y, x.grad!, weight.grad!, bias.grad!, runningMean, runningVar].map((t) => new Uint32Array(t.toFloat32Array().buffer));
  });
}

/** Allocates small native blocks of `count` sizes around C floats and frees every other one. */
function shakeHeap(count: number, C: number): Tensor[] {
  const kept: Tensor[] = [];
  for (let i = 0; i < count; i++) {
    const t = zeros([1 + ((i * 7) % (4 * C))]);
    if (i % 2 === 0) kept.push(t);
    else t.dispose();
  }
  return kept;
}

for (const kernel of ['pool', 'act'] as const)
  test(`fused ${kernel === 'pool' ? 'BatchNorm + ReLU + max-pool' : 'BatchNorm + ReLU'} gives the same bits under 200 heap layouts`, () => {
    manualSeed(3);
    // 16 x 8 x 12 x 12: the first block of the interruption test's small-cnn.
    const x = randn([16, 8, 12, 12]).mul(2).add(1).contiguous({ channelsLast: true });
    const g = kernel === 'pool' ? randn([16, 8, 6, 6]) : randn([16, 8, 12, 12]);
    const ref = run(kernel, x, g);
    const names = ['output', 'input gradient', 'weight gradient', 'bias gradient', 'running mean', 'running var'];
    const differing = new Set<string>();
    for (let k = 0; k < 200; k++) {
      const kept = shakeHeap(k % 50, 8);
      const got = run(kernel, x, g);
      for (const t of kept) t.dispose();
      got.forEach((a, i) => {
        if (!a.every((v, j) => v === ref[i][j])) differing.add(`${names[i]} (layout ${k})`);
      });
    }
    x.dispose();
    g.dispose();
    assert.deepEqual([...differing], [], 'results depend on the heap layout');
  });
