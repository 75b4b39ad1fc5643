/**
 * Before/after of src/nn's fast paths (src/nn/fusion.ts: fused BatchNorm kernels, evaluation
 * ReLU + max-pool, one-channel convolution strides) on the product path, in ONE process: rounds
 * alternate fast paths on and off (which goes first alternates too), each round times `train`
 * and `predict` exactly as bench/product.ts does, and the medians count. A/B in one process is
 * what resolves a 10-20% change here: separate runs of bench:product moved PyTorch's own numbers
 * by up to 50% between runs.
 *
 *   npm run bench:fastpaths                           # small-cnn, resnet-tiny, resnet18; 5 rounds
 *   npm run bench:fastpaths -- --arch small-cnn --repeats 9
 *
 * The LAST line is JSON: per architecture the median img/s with the fast paths off and on, and
 * the speed-ups (on / off) for training and evaluation.
 */
import './env_snapshot.js';
import { channelStats, loadDataset } from '../src/data/index.js';
import { fastPaths } from '../src/nn/index.js';
import { arg, benchProduct, defaultCase, median, PRODUCT_ARCHS, type ProductCase, type ProductSpeed } from './product.js';

async function main(argv: string[]): Promise<void> {
  const repeats = Number(arg(argv, '--repeats') ?? 5);
  const archs = (arg(argv, '--arch') ?? Object.keys(PRODUCT_ARCHS).join(',')).split(',');
  for (const a of archs)
    if (!(a in PRODUCT_ARCHS)) throw new Error(`--arch: unknown '${a}'; known: ${Object.keys(PRODUCT_ARCHS).join(', ')}`);
  const train = loadDataset({ name: 'fashion-mnist', split: 'train' });
  const test = loadDataset({ name: 'fashion-mnist', split: 'test' });
  const data = { train, test, norm: channelStats(train) };
  const rows: Record<string, unknown>[] = [];
  for (const a of archs) {
    const c = defaultCase(a as ProductCase['arch'], Number(arg(argv, '--threads') ?? 2));
    const on: ProductSpeed[] = [];
    const off: ProductSpeed[] = [];
    for (let r = 0; r < repeats; r++) {
      for (const enabled of r % 2 === 0 ? [true, false] : [false, true]) {
        fastPaths.enabled = enabled;
        (enabled ? on : off).push(await benchProduct(c, data));
      }
      console.error(
        `${a} round ${r + 1}/${repeats}: on train ${on[r].train_ips.toFixed(0)} eval ${on[r].infer_ips.toFixed(0)} | ` +
          `off train ${off[r].train_ips.toFixed(0)} eval ${off[r].infer_ips.toFixed(0)} img/s`,
      );
    }
    fastPaths.enabled = true;
    const m = (xs: ProductSpeed[], k: keyof ProductSpeed): number => median(xs.map((s) => s[k]));
    const row = {
      arch: a,
      train_off: m(off, 'train_ips'),
      train_on: m(on, 'train_ips'),
      infer_off: m(off, 'infer_ips'),
      infer_on: m(on, 'infer_ips'),
      train_speedup: m(on, 'train_ips') / m(off, 'train_ips'),
      infer_speedup: m(on, 'infer_ips') / m(off, 'infer_ips'),
      train_cpu_speedup: m(on, 'train_ips_cpu') / m(off, 'train_ips_cpu'),
      infer_cpu_speedup: m(on, 'infer_ips_cpu') / m(off, 'infer_ips_cpu'),
    };
    rows.push(row);
    console.error(
      `${a}: training ${row.train_off.toFixed(0)} -> ${row.train_on.toFixed(0)} img/s (x${row.train_speedup.toFixed(2)}), ` +
        `evaluation ${row.infer_off.toFixed(0)} -> ${row.infer_on.toFixed(0)} img/s (x${row.infer_speedup.toFixed(2)})`,
    );
  }
  console.log(JSON.stringify({ statistic: `median of ${repeats} alternating rounds`, rows }));
}

main(process.argv.slice(2)).catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : e);
  process.exit(1);
});
