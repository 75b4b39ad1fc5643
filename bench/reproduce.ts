/**
 * Times `bias-transfer reproduce --quick` and the full `reproduce` on this machine, each in a
 * fresh results root (nothing cached), and prints one JSON line with the wall times in seconds.
 * Budgets stated in the README: full within 30 minutes and --quick within 5 on 2 cores.
 *
 *   npm run bench:reproduce            # both
 *   npm run bench:reproduce -- --quick # only the quick size
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const onlyQuick = process.argv.includes('--quick');
const result: Record<string, number | string> = { threads: process.env.BIAS_TRANSFER_THREADS ?? 'default' };
for (const quick of onlyQuick ? [true] : [true, false]) {
  const root = mkdtempSync(join(tmpdir(), 'bt-bench-reproduce-'));
  const t0 = Date.now();
  const r = spawnSync(process.execPath, ['bin/bias-transfer.js', 'reproduce', '--root', root, '--quiet', ...(quick ? ['--quick'] : [])], {
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  const secs = (Date.now() - t0) / 1000;
  if (r.status !== 0) throw new Error(`reproduce${quick ? ' --quick' : ''} failed with status ${r.status}`);
  result[quick ? 'quick_seconds' : 'full_seconds'] = Math.round(secs);
  console.error(`reproduce${quick ? ' --quick' : ''}: ${(secs / 60).toFixed(1)} min`);
  rmSync(root, { recursive: true, force: true });
}
console.log(JSON.stringify(result));
