/**
 * Autograd through the tensor layer: gradients are correct, accumulate across backward calls,
 * can be cleared; detach, noGrad, enableGrad and inferenceMode switch recording as in PyTorch.
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { enableGrad, inferenceMode, isGradEnabled, noGrad, ones, tensor, tidy } from '../../src/torch/index.js';
import { assertNoLeaks } from '../helpers/tensors.js';

describe('autograd', () => {
  test('requiresGrad and backward give d(sum(x^2 * w))/dx = 2xw', () => {
    assertNoLeaks(() =>
      tidy(() => {
        const x = tensor([1, -2, 3]).requiresGrad_();
        const w = tensor([2, 2, 0.5]);
        assert.equal(x.requiresGrad, true);
        assert.equal(w.requiresGrad, false);
        const y = x.pow(2).mul(w).sum();
        assert.equal(y.requiresGrad, true);
        assert.equal(y.isLeaf, false);
        y.backward();
        assert.deepEqual(x.grad!.toArray(), [4, -8, 3]);
        assert.equal(w.grad, undefined);
      }),
    );
  });

  test('gradients accumulate over backward calls and setGrad(undefined) clears them', () => {
    tidy(() => {
      const x = tensor([1, 2]).requiresGrad_();
      x.mul(3).sum().backward();
      x.mul(3).sum().backward();
      assert.deepEqual(x.grad!.toArray(), [6, 6]);
      x.setGrad(undefined);
      assert.equal(x.grad, undefined);
      x.mul(x).sum().backward();
      assert.deepEqual(x.grad!.toArray(), [2, 4]);
      x.setGrad(ones([2]));
      assert.deepEqual(x.grad!.toArray(), [1, 1]);
    });
  });

  test('backward with an explicit upstream gradient and retained graph', () => {
    tidy(() => {
      const x = tensor([1, 2]).requiresGrad_();
      const y = x.mul(x);
      y.backward({ grad: tensor([1, 10]), retainGraph: true });
      assert.deepEqual(x.grad!.toArray(), [2, 40]);
      y.backward({ grad: tensor([1, 0]) });
      assert.deepEqual(x.grad!.toArray(), [4, 40]);
    });
  });

  test('detach cuts the graph but shares data', () => {
    tidy(() => {
      const x = tensor([1, 2]).requiresGrad_();
      const d = x.detach();
      assert.equal(d.requiresGrad, false);
      assert.ok(d.sharesStorageWith(x));
      x.mul(d).sum().backward();
      assert.deepEqual(x.grad!.toArray(), [1, 2]);
    });
  });

  test('noGrad stops recording, enableGrad restores it inside, both restore the mode after', () => {
    tidy(() => {
      const x = tensor([1, 2]).requiresGrad_();
      assert.equal(isGradEnabled(), true);
      const y = noGrad(() => {
        assert.equal(isGradEnabled(), false);
        const inner = enableGrad(() => x.mul(2));
        assert.equal(inner.requiresGrad, true);
        return x.mul(2);
      });
      assert.equal(y.requiresGrad, false);
      assert.equal(isGradEnabled(), true);
      assert.throws(
        () =>
          noGrad(() => {
            throw new Error('boom');
          }),
        /boom/,
      );
      assert.equal(isGradEnabled(), true, 'mode restored after a throw');
    });
  });

  test('inferenceMode records nothing and its tensors cannot enter autograd later', () => {
    tidy(() => {
      const x = tensor([1, 2]).requiresGrad_();
      const y = inferenceMode(() => x.mul(2));
      assert.equal(y.requiresGrad, false);
      assert.throws(() => y.mul(x).sum().backward(), /[Ii]nference/);
      assert.throws(() => inferenceMode(() => Promise.resolve(1)), /Promise/);
      assert.equal(isGradEnabled(), true);
    });
  });
});
