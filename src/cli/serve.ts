/**
 * `serve`: the web app over a results root (src/serve/): experiments and runs, a run's live
 * progress, its metric rows, the reports as they are, a comparison view, and with --queue the
 * job queue through bull-board. Runs until Ctrl-C (SIGINT) or SIGTERM.
 */
import { defineCommand, CliError } from './args.js';
import { checkInt, type CommandIO, type FlagsOf } from './commands/io.js';
import { startServer } from '../serve/index.js';

/** The `serve` command. */
export const serveCommand = defineCommand({
  name: 'serve',
  summary: 'Watch and compare runs in the browser: a local web app over a results root.',
  description:
    'Lists experiments and their runs (status, seed, sweep point, code version, duration), follows a run while it trains, shows its metric rows, serves the reports as they are, and compares runs or sweep points side by side (charts, table, CSV). Reads the index read-only, so sweeps keep writing while it runs; serves no file from outside the results root.',
  flags: [
    {
      name: 'root',
      type: 'string',
      default: 'runs',
      valueName: 'dir',
      description: 'Results root to show (the --root of run, sweep or reproduce).',
    },
    { name: 'port', type: 'number', default: 8080, description: 'TCP port to listen on (0 picks a free one).' },
    {
      name: 'host',
      type: 'string',
      default: '127.0.0.1',
      valueName: 'address',
      description: 'Address to listen on; the default answers this machine only. 0.0.0.0 exposes the results to the network.',
    },
    {
      name: 'queue',
      type: 'string',
      valueName: 'url',
      description:
        'Redis URL of the job queue (redis://HOST:PORT[/DB]; default $BIAS_TRANSFER_REDIS_URL when set): shows the queue through bull-board at /queue.',
    },
  ],
  positionals: [],
  examples: ['serve --root runs/reproduce', 'serve --root runs --port 9000 --queue redis://127.0.0.1:6379'],
  run: (flags, _positionals, io): Promise<number> => runServe(flags, io),
});

/** `serve`: starts the app, prints its URL, and runs until SIGINT/SIGTERM (or `signal` aborts). */
export async function runServe(flags: FlagsOf<typeof serveCommand>, io: CommandIO, signal?: AbortSignal): Promise<number> {
  checkInt('port', flags.port, 0);
  if (flags.port > 65535) throw new CliError(`--port must be at most 65535, got ${flags.port}`);
  const queue = flags.queue ?? (process.env.BIAS_TRANSFER_REDIS_URL || undefined);
  let server;
  try {
    server = await startServer({ root: flags.root, port: flags.port, host: flags.host, queue });
  } catch (e) {
    throw new CliError((e as Error).message);
  }
  io.out(`serving ${flags.root} at ${server.url}/`);
  if (queue !== undefined) io.out(`queue (bull-board): ${server.url}/queue`);
  await new Promise<void>((resolve) => {
    const stop = () => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      resolve();
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    if (signal?.aborted) stop();
    signal?.addEventListener('abort', stop, { once: true });
  });
  await server.close();
  return 0;
}
