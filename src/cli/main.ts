/**
 * The bias-transfer command line: `bias-transfer <command> [sub-command] [flags]`, `--help` at
 * every level. The command tree is ./program.ts; experiment commands are in ./experiment.ts,
 * inspection commands (datasets, model, evaluate, runs) in ./commands/.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { CommandIO } from './args.js';
import { program } from './program.js';
import { runCommandLine } from './tree.js';

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

/** Parses argv, walks the command tree and runs the command reached; returns the exit code. */
export async function main(argv: readonly string[]): Promise<number> {
  return runCommandLine(argv, program, io, {
    version: argv[0] === '--version' || argv[0] === '-V' ? packageVersion() : undefined,
  });
}

/**
 * A reader that stops early (`bias-transfer model inspect f | head`) is normal use, not a
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
