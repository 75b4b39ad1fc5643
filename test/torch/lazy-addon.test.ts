/**
 * libtorch loads on the first tensor operation, not on import: the CLI's commands, the server
 * and the tensor layer import without it (so `--help`, `serve` and `runs` start fast), and the
 * first call loads it with the default thread count applied. Checked in fresh processes through
 * the shared objects each one has loaded.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';

function inFreshProcess(code: string, env: NodeJS.ProcessEnv = {}): string {
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', code], {
    encoding: 'utf8',
    env: { ...process.env, ...env },
  });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout.trim();
}

const LOADED = `const loaded = () => process.report.getReport().sharedObjects.some((s) => s.includes('torch_addon'));`;

test('importing the tensor layer, the CLI commands and the server loads no libtorch; the first operation does, with the default threads', () => {
  const out = inFreshProcess(
    `${LOADED}
     const torch = await import('./src/torch/index.ts');
     await import('./src/cli/experiment.ts');
     await import('./src/cli/commands/index.ts');
     await import('./src/cli/commands/scan.ts');
     await import('./src/serve/index.ts');
     const before = loaded();
     const threads = torch.getNumThreads();
     console.log(JSON.stringify({ before, after: loaded(), threads, live: torch.liveTensors() }));`,
    { BIAS_TRANSFER_THREADS: '3' },
  );
  assert.deepEqual(JSON.parse(out), { before: false, after: true, threads: 3, live: 0 });
});

test('a thread count set before the first operation wins over the default', () => {
  const out = inFreshProcess(
    `const torch = await import('./src/torch/index.ts');
     torch.setNumThreads(1);
     console.log(torch.getNumThreads());`,
    { BIAS_TRANSFER_THREADS: '2' },
  );
  assert.equal(out, '1');
});
