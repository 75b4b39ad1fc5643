/**
 * The fused ReLU + max-pool of evaluation (native/src/fused.cc `ReluMaxPool`, taken by
 * `ReLU.forwardFused` before a MaxPool2d with non-overlapping windows when no gradient is
 * recorded): exactly libtorch's max_pool2d(relu(x)) for any layout, odd sizes and channel counts,
 * NaN included; never used where a gradient is recorded.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { inferenceMode, manualSeed, maxPool2d, noGrad, randn, reluMaxPool2d, tidy } from '../../src/torch/index.js';
import { Flatten, MaxPool2d, ReLU, Sequential } from '../../src/nn/index.js';
import { assertNoLeaks } from '../helpers/tensors.js';

test('reluMaxPool2d equals maxPool2d(relu(x)) bit for bit (layouts, odd sizes, channel counts, NaN)', () => {
  manualSeed(1);
  assertNoLeaks(() =>
    noGrad(() =>
      tidy(() => {
        for (const [n, c, h, w, k] of [
          [4, 16, 28, 28, 2],
          [3, 5, 7, 9, 2],
          [2, 33, 6, 6, 3],
          [1, 1, 5, 4, 1],
        ] as const) {
          for (const cl of [false, true]) {
            let x = randn([n, c, h, w]);
            if (cl) x = x.contiguous({ channelsLast: true });
            const want = maxPool2d(x.relu(), { kernelSize: [k, k] }).toFloat32Array();
            const got = reluMaxPool2d(x, [k, k]);
            assert.deepEqual(got.shape, [n, c, Math.floor(h / k), Math.floor(w / k)]);
            assert.deepEqual(got.toFloat32Array(), want, `${n}x${c}x${h}x${w} k${k} ${cl ? 'channels-last' : 'NCHW'}`);
          }
        }
        // NaN propagates as in libtorch's max_pool2d.
        const base = randn([1, 3, 4, 4]);
        const mask = randn([1, 3, 4, 4]).gt(1.2);
        const x = base.maskedFill(mask, NaN);
        assert.deepEqual(reluMaxPool2d(x, [2, 2]).toFloat32Array(), maxPool2d(x.relu(), { kernelSize: [2, 2] }).toFloat32Array());
      }),
    ),
  );
});

test('a ReLU -> MaxPool2d chain fuses only where no gradient is recorded', () => {
  manualSeed(2);
  const seq = new Sequential([new ReLU(), new MaxPool2d({ kernelSize: 2 })]);
  const relu = seq.at(0) as ReLU;
  const pool = seq.at(1) as MaxPool2d;
  tidy(() => {
    const x = randn([2, 4, 6, 6]).requiresGrad_();
    assert.equal(relu.forwardFused(x, pool), undefined, 'a gradient is recorded: no fusion');
    const y = seq.forward(x);
    y.sum().backward();
    assert.ok(x.grad !== undefined, 'the unfused chain keeps the gradient');
    const fused = inferenceMode(() => relu.forwardFused(x, pool));
    assert.ok(fused !== undefined, 'inference mode fuses');
    assert.deepEqual(fused.toFloat32Array(), y.toFloat32Array());
    assert.throws(() => reluMaxPool2d(x, [2, 2]), /no backward/);
    const overlapping = new MaxPool2d({ kernelSize: 3, stride: 2 });
    assert.equal(
      noGrad(() => relu.forwardFused(x, overlapping)),
      undefined,
      'overlapping windows run the two ops',
    );
    overlapping.dispose();
  });
  seq.dispose();
});

test("ReLU runs in place on a chain intermediate only where no gradient is recorded, never on the caller's input", () => {
  manualSeed(3);
  const seq = new Sequential([new ReLU()]);
  tidy(() => {
    const x = randn([2, 3, 4, 4]);
    const before = x.toFloat32Array();
    // A chain [Flatten-like view, ReLU] must not overwrite the caller's tensor.
    const flat = new Sequential([new Flatten(), new ReLU()]);
    const y = noGrad(() => flat.forward(x));
    assert.deepEqual(x.toFloat32Array(), before, 'the input was modified');
    assert.deepEqual(y.toFloat32Array(), x.relu().flatten(1).toFloat32Array());
    flat.dispose();
    // With gradients, the chain's ReLU is out of place and backward works.
    const xg = randn([2, 3, 4, 4]).requiresGrad_();
    const chain = new Sequential([new MaxPool2d({ kernelSize: 1 }), new ReLU()]);
    chain.forward(xg).sum().backward();
    assert.ok(xg.grad !== undefined);
    chain.dispose();
  });
  seq.dispose();
});
