/**
 * Data-path throughput against training throughput (run: `npx tsx bench/data.ts`).
 *
 * For 28×28×1 and 32×32×3 inputs at batch 128 it measures
 *   data:  images/s of `makeBatch` with random crop (padding 2 / 4) and horizontal flip,
 *          including the tensor copy and dispose, on a synthetic uint8 dataset;
 *   train: images/s of one SGD step (forward, cross-entropy, backward, update) of a small CNN
 *          conv3x3(16)-BN-ReLU-maxpool-conv3x3(32)-BN-ReLU-maxpool-linear(10) on the same shape.
 * Prints a table, then one JSON line per input size: {"input", "data_img_s", "train_img_s", "ratio"}.
 * A ratio well above 1 means batch building is not the bottleneck of a training step.
 */
import { makeBatch, type BatchSpec } from '../src/data/transforms.js';
import { Rng } from '../src/data/rng.js';
import type { ImageDataset } from '../src/data/types.js';
import * as torch from '../src/torch/index.js';

const BATCH = 128;

function synthetic(n: number, c: number, h: number, w: number): ImageDataset {
  const rng = new Rng(0, 'bench');
  const images = new Uint8Array(n * c * h * w);
  for (let i = 0; i < images.length; i++) images[i] = rng.nextUint32() & 255;
  const labels = Int32Array.from({ length: n }, () => rng.int(10));
  return { name: `synthetic-${c}x${h}x${w}`, images, labels, classes: Array.from({ length: 10 }, (_, i) => String(i)), n, c, h, w };
}

/** Runs fn repeatedly for about `seconds` after `warmup` calls; returns calls per second. */
function rate(fn: () => void, seconds: number, warmup = 2): number {
  for (let i = 0; i < warmup; i++) fn();
  let calls = 0;
  const t0 = performance.now();
  while (performance.now() - t0 < seconds * 1000 || calls < 3) {
    fn();
    calls++;
  }
  return calls / ((performance.now() - t0) / 1000);
}

function dataRate(ds: ImageDataset, spec: BatchSpec): number {
  const rng = new Rng(1, 'augment');
  const order = rng.permutation(ds.n);
  let k = 0;
  return (
    rate(() => {
      const start = (k++ * BATCH) % (ds.n - BATCH);
      const { x, y } = makeBatch(ds, order.subarray(start, start + BATCH), spec, rng);
      x.dispose();
      y.dispose();
    }, 2) * BATCH
  );
}

/** A small CNN written with the functional ops; parameters in PyTorch's naming. */
class TinyCnn {
  readonly params: Record<string, torch.Tensor> = {};
  readonly buffers: Record<string, torch.Tensor> = {};
  constructor(c: number, h: number, w: number) {
    const p = (name: string, shape: number[], fanIn: number): void => {
      this.params[name] = torch.tidy(() => torch.randn(shape).mul(Math.sqrt(2 / fanIn))).requiresGrad_();
    };
    p('conv1.weight', [16, c, 3, 3], c * 9);
    p('conv2.weight', [32, 16, 3, 3], 16 * 9);
    for (const [name, ch] of [
      ['bn1', 16],
      ['bn2', 32],
    ] as const) {
      this.params[`${name}.weight`] = torch.ones([ch]).requiresGrad_();
      this.params[`${name}.bias`] = torch.zeros([ch]).requiresGrad_();
      this.buffers[`${name}.running_mean`] = torch.zeros([ch]);
      this.buffers[`${name}.running_var`] = torch.ones([ch]);
    }
    const flat = 32 * Math.floor(h / 4) * Math.floor(w / 4);
    p('fc.weight', [10, flat], flat);
    this.params['fc.bias'] = torch.zeros([10]).requiresGrad_();
  }
  forward(x: torch.Tensor): torch.Tensor {
    const P = this.params;
    const B = this.buffers;
    const block = (t: torch.Tensor, conv: string, bn: string): torch.Tensor =>
      torch.maxPool2d(
        torch
          .batchNorm(torch.conv2d(t, P[`${conv}.weight`], { padding: 1 }), {
            weight: P[`${bn}.weight`],
            bias: P[`${bn}.bias`],
            runningMean: B[`${bn}.running_mean`],
            runningVar: B[`${bn}.running_var`],
            training: true,
          })
          .relu(),
        { kernelSize: 2 },
      );
    const h = block(block(x, 'conv1', 'bn1'), 'conv2', 'bn2');
    return torch.linear(h.flatten(1), P['fc.weight'], P['fc.bias']);
  }
  dispose(): void {
    torch.disposeAll([this.params, this.buffers]);
  }
}

function trainRate(ds: ImageDataset, spec: BatchSpec): number {
  torch.manualSeed(0);
  const model = new TinyCnn(ds.c, ds.h, ds.w);
  const opt = new torch.SGD(Object.values(model.params), { lr: 0.01, momentum: 0.9 });
  const { x, y } = makeBatch(
    ds,
    Int32Array.from({ length: BATCH }, (_, i) => i),
    spec,
    new Rng(2),
  );
  const r =
    rate(() => {
      torch.tidy(() => {
        opt.zeroGrad();
        const loss = torch.crossEntropy(model.forward(x), y);
        loss.backward();
        opt.step();
      });
    }, 4) * BATCH;
  x.dispose();
  y.dispose();
  opt.zeroGrad();
  opt.dispose();
  model.dispose();
  return r;
}

const cases = [
  { label: '28x28x1', c: 1, h: 28, w: 28, spec: { mean: [0.286], std: [0.353], augment: { cropPadding: 2, hflip: true } } },
  {
    label: '32x32x3',
    c: 3,
    h: 32,
    w: 32,
    spec: { mean: [0.49, 0.48, 0.45], std: [0.25, 0.24, 0.26], augment: { cropPadding: 4, hflip: true } },
  },
] satisfies { label: string; c: number; h: number; w: number; spec: BatchSpec }[];

console.log(`batch ${BATCH}, libtorch threads ${torch.getNumThreads()}, live tensors at start ${torch.liveTensors()}`);
const rows: { input: string; data_img_s: number; train_img_s: number; ratio: number }[] = [];
for (const c of cases) {
  const ds = synthetic(4096, c.c, c.h, c.w);
  const data = dataRate(ds, c.spec);
  const train = trainRate(ds, c.spec);
  rows.push({ input: c.label, data_img_s: Math.round(data), train_img_s: Math.round(train), ratio: +(data / train).toFixed(2) });
}
console.log('input      data img/s   train img/s   data/train');
for (const r of rows)
  console.log(
    `${r.input.padEnd(10)} ${String(r.data_img_s).padStart(11)} ${String(r.train_img_s).padStart(13)} ${String(r.ratio).padStart(12)}`,
  );
console.log(`live tensors at end ${torch.liveTensors()}`);
for (const r of rows) console.log(JSON.stringify(r));
