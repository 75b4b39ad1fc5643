/**
 * Failure and ownership behaviour: libtorch errors arrive as JS Errors carrying libtorch's
 * message and the process lives on; disposed tensors throw TensorDisposedError; `using` and
 * double dispose work; tidy frees intermediates, keeps (nested) results and rejects async
 * functions; liveTensors() exposes leaks.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  TensorDisposedError,
  arange,
  cat,
  conv2d,
  keep,
  liveTensors,
  ones,
  randn,
  scopeDepth,
  tensor,
  tidy,
  zeros,
  type Tensor,
} from '../../src/torch/index.js';
import { native } from '../../src/torch/native.js';

describe('errors carry libtorch messages and the process survives', () => {
  test('shape mismatch in broadcasting and matmul', () => {
    tidy(() => {
      assert.throws(
        () => ones([2, 3]).add(ones([4])),
        (e: unknown) => e instanceof Error && /size of tensor a \(3\) must match the size of tensor b \(4\)/.test(e.message),
      );
      assert.throws(() => ones([2, 3]).matmul(ones([2, 3])), /cannot be multiplied|size mismatch|shapes/);
      assert.throws(() => conv2d(ones([1, 3, 8, 8]), ones([4, 2, 3, 3])), /expected input.*to have 2 channels|channels/);
      assert.throws(() => ones([6]).view([4]), /shape '\[4\]' is invalid for input of size 6/);
      assert.throws(() => cat([ones([2, 3]), ones([2, 4])], 0), /Sizes of tensors must match/);
    });
  });

  test('dtype mismatch', () => {
    tidy(() => {
      assert.throws(() => ones([2, 2]).matmul(ones([2, 2], { dtype: 'float64' })), /dtype|Double|Float/);
      assert.throws(() => ones([3]).indexSelect(0, tensor([0.5])), /[Ii]ndex.*(Long|Int)|index_select/);
      assert.throws(() => arange(3).mul_(tensor([0.5, 0.5, 0.5])), /result type Float can't be cast to the desired output type Long/);
    });
  });

  test('bad indices', () => {
    tidy(() => {
      assert.throws(() => arange(5).select(0, 7), /index 7 is out of bounds|out of range/);
      assert.throws(() => ones([2, 3]).transpose(0, 5), /Dimension out of range/);
      assert.throws(
        () =>
          arange(5)
            .to('float32')
            .indexSelect(0, tensor([9], { dtype: 'int64' })),
        /out of range|index/,
      );
      assert.throws(() => ones([2]).item(), RangeError);
    });
  });

  test('wrong argument types are TypeErrors from the addon, not crashes', () => {
    const x = ones([2]);
    try {
      const raw = native as unknown as Record<string, (...a: unknown[]) => unknown>;
      assert.throws(() => raw.Add(x.handle, 'two'), TypeError);
      assert.throws(() => raw.Reshape(x.handle, [1.5]), /integer/);
      assert.throws(() => raw.Zeros([2], 'complex64'), /unknown dtype 'complex64'/);
      assert.throws(() => raw.Relu({}), /must be a tensor/);
      assert.throws(() => raw.CrossEntropy(x.handle, x.handle, undefined, 'average', -100, 0), /unknown reduction 'average'/);
    } finally {
      x.dispose();
    }
    // Still alive and computing.
    assert.equal(
      tidy(() => ones([3]).sum().item()),
      3,
    );
  });
});

describe('dispose and using', () => {
  test('a disposed tensor throws TensorDisposedError; dispose twice is fine', () => {
    const t = ones([2]);
    t.dispose();
    t.dispose();
    assert.equal(t.isDisposed, true);
    assert.throws(() => t.add(1), TensorDisposedError);
    assert.throws(() => t.shape, TensorDisposedError);
    assert.throws(() => ones([2]).add(t), TensorDisposedError);
    assert.equal(String(t), 'Tensor(disposed)');
  });

  test('`using` disposes at the end of the block', () => {
    const before = liveTensors();
    let escaped: Tensor;
    {
      using t = zeros([3]);
      escaped = t;
      assert.equal(liveTensors(), before + 1);
    }
    assert.equal(escaped.isDisposed, true);
    assert.equal(liveTensors(), before);
  });
});

describe('tidy', () => {
  test('frees intermediates and keeps returned values (nested in arrays, objects, Maps)', () => {
    const before = liveTensors();
    const r = tidy(() => {
      const a = randn([4]);
      const b = a.mul(2).add(1);
      return { list: [b, a.abs()], m: new Map([['k', a.neg()]]), n: 3 };
    });
    assert.equal(liveTensors(), before + 3);
    assert.equal(r.n, 3);
    r.list.forEach((t) => t.dispose());
    r.m.get('k')!.dispose();
    assert.equal(liveTensors(), before);
  });

  test('nested scopes move results to the parent; keep() escapes every scope', () => {
    const before = liveTensors();
    let kept!: Tensor;
    let inner!: Tensor;
    tidy(() => {
      inner = tidy(() => {
        kept = keep(ones([1]));
        ones([1]); // dropped by the inner scope
        return zeros([1]);
      });
      assert.equal(inner.isDisposed, false);
      assert.equal(scopeDepth(), 1);
    });
    assert.equal(inner.isDisposed, true, 'the outer scope freed what the inner returned');
    assert.equal(kept.isDisposed, false);
    kept.dispose();
    assert.equal(liveTensors(), before);
  });

  test('frees everything when the function throws', () => {
    const before = liveTensors();
    assert.throws(
      () =>
        tidy(() => {
          ones([2]);
          throw new Error('inside');
        }),
      /inside/,
    );
    assert.equal(liveTensors(), before);
    assert.equal(scopeDepth(), 0);
  });

  test('an async function is rejected and its tensors freed', () => {
    const before = liveTensors();
    assert.throws(
      () =>
        tidy(async () => {
          return ones([2]);
        }),
      /Promise/,
    );
    assert.throws(() => tidy(() => Promise.resolve(ones([2]))), TypeError);
    assert.equal(liveTensors(), before);
  });

  test('liveTensors() counts a leak and its release', () => {
    const before = liveTensors();
    const leak = ones([1]);
    assert.equal(liveTensors(), before + 1);
    leak.dispose();
    assert.equal(liveTensors(), before);
  });
});
