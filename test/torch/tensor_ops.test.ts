/**
 * Tensor operations compute the right values: views and shape changes, indexing, joining,
 * broadcasting arithmetic, comparisons, elementwise maths, reductions along dimensions, matmul,
 * softmax, oneHot, interpolation and dropout.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  arange,
  cat,
  dropout,
  interpolate,
  manualSeed,
  oneHot,
  ones,
  stack,
  tensor,
  tidy,
  where,
  type Tensor,
} from '../../src/torch/index.js';

const close = (a: number[], b: number[], tol = 1e-5): void => {
  assert.equal(a.length, b.length, `length ${a.length} vs ${b.length}`);
  a.forEach((v, i) => assert.ok(Math.abs(v - b[i]) <= tol * Math.max(1, Math.abs(b[i])), `index ${i}: ${v} vs ${b[i]}`));
};
const m23 = (): Tensor => arange(6).to('float32').reshape([2, 3]); // [[0,1,2],[3,4,5]]

describe('views and shapes', () => {
  test('reshape, view, permute, transpose, contiguous, squeeze, unsqueeze, flatten', () => {
    tidy(() => {
      const x = m23();
      assert.deepEqual([...x.view([3, 2]).shape], [3, 2]);
      assert.ok(x.view([6]).sharesStorageWith(x), 'view shares storage');
      const t = x.transpose(0, 1);
      assert.deepEqual([...t.shape], [3, 2]);
      assert.deepEqual(t.toArray(), [0, 3, 1, 4, 2, 5]);
      assert.equal(t.isContiguous(), false);
      assert.throws(() => t.view([6]), /view/i);
      assert.deepEqual(t.reshape([6]).toArray(), [0, 3, 1, 4, 2, 5]);
      assert.ok(t.contiguous().isContiguous());
      const p = arange(24).reshape([2, 3, 4]).permute([2, 0, 1]);
      assert.deepEqual([...p.shape], [4, 2, 3]);
      assert.deepEqual(p.select(0, 1).toArray(), [1, 5, 9, 13, 17, 21]);
      const u = x.unsqueeze(0).unsqueeze(-1);
      assert.deepEqual([...u.shape], [1, 2, 3, 1]);
      assert.deepEqual([...u.squeeze().shape], [2, 3]);
      assert.deepEqual([...u.squeeze(0).shape], [2, 3, 1]);
      assert.deepEqual([...arange(24).reshape([2, 3, 4]).flatten(1).shape], [2, 12]);
      const cl = ones([2, 3, 4, 5]).contiguous({ channelsLast: true });
      assert.ok(cl.isContiguous({ channelsLast: true }) && !cl.isContiguous());
    });
  });

  test('slice, select, indexSelect, gather, scatter, maskedFill, where', () => {
    tidy(() => {
      const x = m23();
      assert.deepEqual(x.slice(1, 1).toArray(), [1, 2, 4, 5]);
      assert.deepEqual(x.slice(1, 0, 3, 2).toArray(), [0, 2, 3, 5]);
      assert.deepEqual(x.select(0, 1).toArray(), [3, 4, 5]);
      assert.deepEqual(x.select(1, -1).toArray(), [2, 5]);
      assert.deepEqual(x.indexSelect(1, tensor([2, 0], { dtype: 'int64' })).toArray(), [2, 0, 5, 3]);
      const idx = tensor(
        [
          [0, 0],
          [2, 1],
        ],
        { dtype: 'int64' },
      );
      assert.deepEqual(x.gather(1, idx).toArray(), [0, 0, 5, 4]);
      assert.deepEqual(x.scatter(1, tensor([[1], [0]], { dtype: 'int64' }), -1).toArray(), [0, -1, 2, -1, 4, 5]);
      assert.deepEqual(x.maskedFill(x.gt(3), 9).toArray(), [0, 1, 2, 3, 9, 9]);
      assert.deepEqual(where(x.lt(2), x, tensor([10, 20, 30])).toArray(), [0, 1, 30, 10, 20, 30]);
      assert.deepEqual(where(x.lt(2), 1, 0).toArray(), [1, 1, 0, 0, 0, 0]);
    });
  });

  test('cat, stack, split', () => {
    tidy(() => {
      const a = m23();
      const b = a.mul(10);
      assert.deepEqual([...cat([a, b], 0).shape], [4, 3]);
      assert.deepEqual(cat([a, b], 1).toArray(), [0, 1, 2, 0, 10, 20, 3, 4, 5, 30, 40, 50]);
      assert.deepEqual([...stack([a, b], 1).shape], [2, 2, 3]);
      const parts = arange(7).split(3);
      assert.deepEqual(
        parts.map((p) => p.toArray()),
        [[0, 1, 2], [3, 4, 5], [6]],
      );
      assert.deepEqual(
        arange(7)
          .split([2, 5])
          .map((p) => p.shape[0]),
        [2, 5],
      );
    });
  });
});

describe('arithmetic and maths', () => {
  test('broadcasting add, sub (alpha), mul, div, pow', () => {
    tidy(() => {
      const x = m23();
      const row = tensor([1, 2, 3]);
      const col = tensor([[10], [20]]);
      assert.deepEqual(x.add(row).toArray(), [1, 3, 5, 4, 6, 8]);
      assert.deepEqual(x.add(col).toArray(), [10, 11, 12, 23, 24, 25]);
      assert.deepEqual(x.sub(row, 2).toArray(), [-2, -3, -4, 1, 0, -1]);
      assert.deepEqual(x.mul(col).toArray(), [0, 10, 20, 60, 80, 100]);
      close(x.div(2).toArray(), [0, 0.5, 1, 1.5, 2, 2.5]);
      assert.deepEqual(x.pow(2).toArray(), [0, 1, 4, 9, 16, 25]);
      assert.deepEqual([...row.add(col).shape], [2, 3]);
      // Integer tensors stay integral with integer scalars; true division gives floats.
      assert.equal(arange(3).add(1).dtype, 'int64');
      assert.equal(arange(3).div(2).dtype, 'float32');
    });
  });

  test('comparisons give bool tensors', () => {
    tidy(() => {
      const x = m23();
      const g = x.ge(2);
      assert.equal(g.dtype, 'bool');
      assert.deepEqual(g.toArray(), [0, 0, 1, 1, 1, 1]);
      assert.deepEqual(x.eq(tensor([0, 0, 2])).toArray(), [1, 0, 1, 0, 0, 0]);
      assert.deepEqual(x.ne(4).toArray(), [1, 1, 1, 1, 0, 1]);
      assert.deepEqual(x.lt(1).logicalOr(x.gt(4)).toArray(), [1, 0, 0, 0, 0, 1]);
    });
  });

  test('clamp, exp, log, sqrt, abs', () => {
    tidy(() => {
      const x = tensor([-2, -0.5, 0.25, 4]);
      assert.deepEqual(x.clamp({ min: -1, max: 1 }).toArray(), [-1, -0.5, 0.25, 1]);
      assert.deepEqual(x.clamp({ min: 0 }).toArray(), [0, 0, 0.25, 4]);
      assert.deepEqual(x.abs().toArray(), [2, 0.5, 0.25, 4]);
      close(x.exp().toArray(), [-2, -0.5, 0.25, 4].map(Math.exp));
      close(x.abs().log().toArray(), [2, 0.5, 0.25, 4].map(Math.log));
      close(x.abs().sqrt().toArray(), [Math.SQRT2, Math.SQRT1_2, 0.5, 2]);
      assert.ok(Number.isNaN(tensor([-1]).log().item()));
    });
  });

  test('reductions along dims: sum, mean, max, min, argmax, std, var', () => {
    tidy(() => {
      const x = tensor([
        [1, 5, 3],
        [4, 2, 6],
      ]);
      assert.equal(x.sum().item(), 21);
      assert.deepEqual(x.sum(0).toArray(), [5, 7, 9]);
      assert.deepEqual([...x.sum(1, { keepdim: true }).shape], [2, 1]);
      assert.deepEqual(x.mean(1).toArray(), [3, 4]);
      assert.deepEqual(x.amax(1).toArray(), [5, 6]);
      assert.deepEqual(x.amin(0).toArray(), [1, 2, 3]);
      const mx = x.maxDim(1);
      assert.deepEqual(mx.values.toArray(), [5, 6]);
      assert.deepEqual(mx.indices.toArray(), [1, 2]);
      assert.deepEqual(x.minDim(0).indices.toArray(), [0, 1, 0]);
      assert.deepEqual(x.argmax(1).toArray(), [1, 2]);
      assert.equal(x.argmax().item(), 5);
      close(x.var(1).toArray(), [4, 4]);
      close(x.var(1, { unbiased: false }).toArray(), [8 / 3, 8 / 3]);
      close(x.std(1).toArray(), [2, 2]);
      close([x.std().item()], [Math.sqrt(3.5)]);
    });
  });

  test('matmul, softmax, logSoftmax, oneHot', () => {
    tidy(() => {
      const a = tensor([
        [1, 2],
        [3, 4],
      ]);
      const b = tensor([[5], [6]]);
      assert.deepEqual(a.matmul(b).toArray(), [17, 39]);
      assert.deepEqual([...ones([3, 2, 4]).matmul(ones([4, 5])).shape], [3, 2, 5]);
      const z = tensor([
        [1, 2, 3],
        [0, 0, 0],
      ]);
      const s = z.softmax(1);
      const e = [1, 2, 3].map(Math.exp);
      const tot = e[0] + e[1] + e[2];
      close(s.toArray(), [...e.map((v) => v / tot), 1 / 3, 1 / 3, 1 / 3]);
      close(z.logSoftmax(1).toArray(), s.log().toArray());
      const oh = oneHot(tensor([2, 0], { dtype: 'int64' }), 3);
      assert.equal(oh.dtype, 'int64');
      assert.deepEqual(oh.toArray(), [0, 0, 1, 1, 0, 0]);
    });
  });

  test('interpolate nearest and bilinear', () => {
    tidy(() => {
      const x = tensor([
        [
          [
            [1, 2],
            [3, 4],
          ],
        ],
      ]);
      assert.deepEqual(interpolate(x, { size: [4, 4] }).toArray(), [1, 1, 2, 2, 1, 1, 2, 2, 3, 3, 4, 4, 3, 3, 4, 4]);
      const bl = interpolate(x, { size: [3, 3], mode: 'bilinear', alignCorners: true });
      assert.deepEqual(bl.toArray(), [1, 1.5, 2, 2, 2.5, 3, 3, 3.5, 4]);
      const s = interpolate(x, { scaleFactor: 2, mode: 'bilinear' });
      assert.deepEqual([...s.shape], [1, 1, 4, 4]);
      close(s.toArray().slice(0, 4), [1, 1.25, 1.75, 2]);
    });
  });

  test('dropout: identity in eval, zeroes about p and rescales in training', () => {
    tidy(() => {
      manualSeed(5);
      const x = ones([10000]);
      assert.deepEqual(dropout(x, 0.3, false).toArray().slice(0, 5), [1, 1, 1, 1, 1]);
      const d = dropout(x, 0.3, true).toArray();
      const zerosFrac = d.filter((v) => v === 0).length / d.length;
      assert.ok(Math.abs(zerosFrac - 0.3) < 0.03, `dropped ${zerosFrac}`);
      assert.ok(d.filter((v) => v !== 0).every((v) => Math.abs(v - 1 / 0.7) < 1e-6));
      assert.throws(() => dropout(x, 1.5, true), RangeError);
    });
  });
});
