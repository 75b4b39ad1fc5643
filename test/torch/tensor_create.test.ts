/**
 * Tensors are created from and exported to typed arrays in every dtype, factories produce the
 * right values, shapes, dtypes and device, and the random factories respect their ranges.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { arange, disposeAll, full, fromTyped, ones, rand, randint, randn, tensor, tidy, zeros } from '../../src/torch/index.js';
import { assertNoLeaks } from '../helpers/tensors.js';

describe('typed array round trips', () => {
  test('float32, float64, int32, int64, uint8 keep values, dtype and shape', () => {
    assertNoLeaks(() =>
      tidy(() => {
        const cases = [
          [new Float32Array([1.5, -2.25, 3, 0, 1e-7, -1e7]), 'float32'],
          [new Float64Array([1.5, -2.25, Math.PI, 0, 1e-300, -1e300]), 'float64'],
          [new Int32Array([1, -2, 2147483647, -2147483648, 0, 7]), 'int32'],
          [new BigInt64Array([1n, -2n, 9007199254740993n, -5n, 0n, 7n]), 'int64'],
          [new Uint8Array([0, 1, 127, 128, 255, 9]), 'uint8'],
        ] as const;
        for (const [data, dtype] of cases) {
          const t = fromTyped(data, [2, 3]);
          assert.equal(t.dtype, dtype);
          assert.deepEqual([...t.shape], [2, 3]);
          assert.equal(t.numel, 6);
          assert.equal(t.device, 'cpu');
          const back = t.data();
          assert.equal(back.constructor, data.constructor, `${dtype} exports to ${data.constructor.name}`);
          assert.deepEqual(back, data, `${dtype} values`);
        }
      }),
    );
  });

  test('bool from a Uint8Array of 0/1 exports as Uint8Array and converts', () => {
    tidy(() => {
      const b = fromTyped(new Uint8Array([1, 0, 0, 1]), [4], { dtype: 'bool' });
      assert.equal(b.dtype, 'bool');
      assert.deepEqual(b.data(), new Uint8Array([1, 0, 0, 1]));
      assert.deepEqual(b.to('float32').toArray(), [1, 0, 0, 1]);
      assert.equal(b.sum().item(), 2);
    });
  });

  test('float16 and bfloat16 through .to(): bits and rounded values', () => {
    tidy(() => {
      const x = tensor([1, -2, 0.5, 65504, 1 / 3]);
      const h = x.to('float16');
      assert.equal(h.dtype, 'float16');
      const bits = h.data() as Uint16Array;
      assert.ok(bits instanceof Uint16Array);
      assert.equal(bits[0], 0x3c00); // 1.0 in IEEE half
      assert.equal(bits[1], 0xc000); // -2.0
      assert.deepEqual(h.toArray().slice(0, 4), [1, -2, 0.5, 65504]);
      assert.ok(Math.abs(h.toArray()[4] - 1 / 3) < 1e-3 && h.toArray()[4] !== x.toArray()[4]);
      const bf = x.to('bfloat16');
      assert.equal(bf.dtype, 'bfloat16');
      assert.equal((bf.data() as Uint16Array)[0], 0x3f80); // 1.0 in bfloat16
      assert.ok(Math.abs(bf.toArray()[4] - 1 / 3) < 4e-3);
      // Back from raw bits.
      const again = fromTyped(new Uint16Array([0x3c00, 0x4000]), [2], { dtype: 'float16' });
      assert.deepEqual(again.toArray(), [1, 2]);
    });
  });

  test('a data length that does not match the shape is rejected', () => {
    assert.throws(() => fromTyped(new Float32Array(5), [2, 3]), /5 elements.*\[2, 3\]/);
  });
});

describe('factories', () => {
  test('zeros, ones, full, arange have the right values, shapes and dtypes', () => {
    tidy(() => {
      assert.deepEqual(zeros([2, 2]).toArray(), [0, 0, 0, 0]);
      assert.equal(zeros([2, 2]).dtype, 'float32');
      assert.deepEqual(ones([3], { dtype: 'int32' }).data(), new Int32Array([1, 1, 1]));
      assert.deepEqual(full([2], 2.5).toArray(), [2.5, 2.5]);
      assert.deepEqual(full([2], 7, { dtype: 'int64' }).data(), new BigInt64Array([7n, 7n]));
      assert.equal(arange(5).dtype, 'int64');
      assert.deepEqual(arange(5).toArray(), [0, 1, 2, 3, 4]);
      assert.deepEqual(arange(1, 2, 0.25).toArray(), [1, 1.25, 1.5, 1.75]);
      assert.equal(arange(1, 2, 0.25).dtype, 'float32');
      assert.deepEqual([...zeros([]).shape], []);
      assert.deepEqual(
        tensor([
          [1, 2],
          [3, 4],
        ]).toArray(),
        [1, 2, 3, 4],
      );
      assert.deepEqual(
        [
          ...tensor([
            [1, 2],
            [3, 4],
          ]).shape,
        ],
        [2, 2],
      );
    });
  });

  test('rand, randn, randint: shapes, dtypes and ranges', () => {
    tidy(() => {
      const u = rand([1000]).toArray();
      assert.ok(u.every((v) => v >= 0 && v < 1));
      const n = randn([4000]);
      assert.ok(Math.abs(n.mean().item()) < 0.1, 'randn mean near 0');
      assert.ok(Math.abs(n.std().item() - 1) < 0.1, 'randn std near 1');
      const r = randint(3, 7, [500]);
      assert.equal(r.dtype, 'int64');
      const vals = new Set(r.toArray());
      assert.deepEqual([...vals].sort(), [3, 4, 5, 6]);
      assert.equal(randn([2], { dtype: 'float64' }).dtype, 'float64');
    });
  });

  test('disposing every created tensor leaves the live count unchanged', () => {
    assertNoLeaks(() => disposeAll([zeros([2]), ones([2]), rand([2]), arange(3)]));
  });
});
