/**
 * The small ResNet of bench/smallresnet.ts and the nn.Module of bench/smallresnet.py are the same
 * network: from identical weights and batch, one SGD step (momentum 0.9, weight decay 5e-4) gives
 * the same loss, the same gradient for every parameter, the same updated weights and the same
 * BatchNorm running statistics (within 1e-4 relative).
 */
import assert from 'node:assert/strict';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, describe, test } from 'node:test';
import { SGD, disposeAll, liveTensors, manualSeed, randint, randn, setNumThreads, tidy, type Tensor } from '../../src/torch/index.js';
import { initSmallResNet, lossSmallResNet, trainableNames, type Weights } from '../../bench/smallresnet.js';
import { assertParity, inPyTorch } from './parity_helpers.js';

const BENCH = join(dirname(fileURLToPath(import.meta.url)), '../../bench');

describe('small ResNet: one SGD step matches PyTorch', () => {
  let w: Weights;
  let grads: Record<string, Tensor> = {};
  let lossValue = 0;
  let theirs: Map<string, Tensor>;
  let live0 = 0;

  before(() => {
    setNumThreads(2);
    manualSeed(3);
    live0 = liveTensors();
    w = initSmallResNet({ inChannels: 3 });
    const x = randn([8, 3, 16, 16]);
    const y = randint(0, 10, [8]);
    const toPy: Record<string, Tensor> = { __x: x, __y: y };
    for (const [k, v] of Object.entries(w)) toPy[k] = tidy(() => v.detach().clone());
    const names = trainableNames(w);
    const opt = new SGD(
      names.map((n) => w[n]),
      { lr: 0.1, momentum: 0.9, weightDecay: 5e-4 },
    );
    const loss = lossSmallResNet(w, x, y, { training: true });
    loss.backward();
    lossValue = loss.item();
    loss.dispose();
    grads = tidy(() => Object.fromEntries(names.map((n) => [n, w[n].grad!.clone()])));
    opt.step();
    opt.dispose();
    theirs = inPyTorch(
      toPy,
      `sys.path.insert(0, ${JSON.stringify(BENCH)})
from smallresnet import SmallResNet
model = SmallResNet(3)
model.load_state_dict({k: v for k, v in T.items() if not k.startswith('__')}, strict=True)
model.train()
opt = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=5e-4)
loss = F.cross_entropy(model(T['__x']), T['__y'])
loss.backward()
OUT['__loss'] = loss.detach()
for n, p in model.named_parameters():
    OUT['grad.' + n] = p.grad.clone()
opt.step()
for n, v in model.state_dict().items():
    OUT['after.' + n] = v.clone()
`,
    );
    disposeAll(toPy);
  });

  after(() => {
    disposeAll([w, grads, [...(theirs?.values() ?? [])]]);
  });

  test('the forward loss matches', () => {
    const t = theirs.get('__loss')!;
    assert.ok(Math.abs(lossValue - t.item()) <= 1e-4 * Math.abs(t.item()), `loss ${lossValue} vs ${t.item()}`);
  });

  test('every parameter gradient matches (names are PyTorch state_dict names)', () => {
    const names = Object.keys(grads);
    assert.equal(names.length, [...theirs.keys()].filter((k) => k.startsWith('grad.')).length, 'different parameter sets');
    for (const n of names) assertParity(grads[n], theirs.get(`grad.${n}`), `grad ${n}`);
  });

  test('updated weights, running statistics and batch counters match', () => {
    for (const [n, v] of Object.entries(w)) {
      const t = theirs.get(`after.${n}`);
      assert.ok(t, `PyTorch state_dict has no ${n}`);
      if (n.endsWith('num_batches_tracked')) assert.equal(v.item(), t.item(), n);
      else assertParity(v, t, `after step ${n}`);
    }
  });

  test('no tensors leak', () => {
    disposeAll([w, grads, [...theirs.values()]]);
    assert.equal(liveTensors(), live0);
  });
});
