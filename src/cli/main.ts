/**
 * The bias-transfer command line: `bias-transfer <command> [flags]`, `--help` everywhere.
 * Experiment commands are in ./experiment.ts, inspection commands (datasets, model, runs) in
 * ./commands/.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CliError, parseCommandLine } from './args.js';
import { dispatchInspection, inspectionCommands, isInspectionParsed, joinSubcommand } from './commands/index.js';
import { runAction, type CommandIO } from './commands/io.js';
import { runScan, scanCommand } from './commands/scan.js';
import { experimentCommands, runReport, runReproduce, runRun, runSchema, runSweep } from './experiment.js';
import { runServe, serveCommand } from './serve.js';
import { runWorker, workerCommand } from './worker.js';

const commands = [...experimentCommands, scanCommand, serveCommand, workerCommand, ...inspectionCommands] as const;

/** This package's version, from the nearest package.json above this file (source or built). */
function packageVersion(): string {
  for (let dir = dirname(fileURLToPath(import.meta.url)); ; dir = dirname(dir)) {
    const file = join(dir, 'package.json');
    if (existsSync(file)) return (JSON.parse(readFileSync(file, 'utf8')) as { version?: string }).version ?? 'unknown';
    if (dirname(dir) === dir) return 'unknown';
  }
}

const io: CommandIO = {
  out: (s) => process.stdout.write(`${s}\n`),
  err: (s) => process.stderr.write(`${s}\n`),
};

/** Parses argv and runs the command; returns the exit code. */
export async function main(argv: readonly string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseCommandLine(joinSubcommand(argv, commands), commands, {
      summary: 'Measure whether the biases of a pretrained model survive transfer learning (libtorch from TypeScript).',
      version: argv[0] === '--version' || argv[0] === '-V' ? packageVersion() : undefined,
    });
  } catch (e) {
    io.err(`error: ${(e as Error).message}`);
    return e instanceof CliError ? e.exitCode : 1;
  }
  if (parsed.kind === 'help') {
    io.out(parsed.text);
    return 0;
  }
  if (isInspectionParsed(parsed)) return dispatchInspection(parsed, io);
  const p = parsed;
  return runAction(io, async () => {
    switch (p.command) {
      case 'run':
        return runRun(p.flags, p.positionals, io);
      case 'sweep':
        return runSweep(p.flags, p.positionals, io);
      case 'report':
        return runReport(p.flags, p.positionals, io);
      case 'reproduce':
        return runReproduce(p.flags, {}, io);
      case 'schema':
        return runSchema({}, {}, io);
      case 'scan':
        return runScan(p.flags, p.positionals, io);
      case 'worker':
        return runWorker(p.flags, {}, io);
      case 'serve':
        return runServe(p.flags, io);
      default:
        throw new CliError(`unhandled command ${(p as { command: string }).command}`);
    }
  });
}

/**
 * A reader that stops early (`bias-transfer model-inspect f | head`) is normal use, not a
 * failure: the next write to the closed pipe fails with EPIPE, and the command ends at once,
 * quietly, with status 0 (what `head`'s writer expects). Any other stream error stays fatal.
 */
function exitQuietlyWhenReaderCloses(stream: NodeJS.WriteStream): void {
  stream.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(0);
    throw e;
  });
}
exitQuietlyWhenReaderCloses(process.stdout);
exitQuietlyWhenReaderCloses(process.stderr);

process.exitCode = await main(process.argv.slice(2));
