/**
 * What every command action gets and returns: an `io` with `out` (results, e.g. stdout) and
 * `err` (diagnostics, e.g. stderr), and an exit code. `runAction` turns thrown errors into
 * a message on `err` and an exit code, so the dispatch (tree.ts) only walks and calls.
 */
import fs from 'node:fs';
import { CliError, type CommandDef, type CommandIO, type FlagValues, type PositionalValues } from '../args.js';

export type { CommandIO } from '../args.js';

/**
 * Runs an action body; a thrown CliError prints `error: <message>` and gives 2 (usage error),
 * any other Error gives 1. The body returns its own exit code (0 = success).
 */
export async function runAction(io: CommandIO, body: () => Promise<number> | number): Promise<number> {
  try {
    return await body();
  } catch (e) {
    io.err(`error: ${e instanceof Error ? e.message : String(e)}`);
    return e instanceof CliError ? e.exitCode : 1;
  }
}

/** Prints a value as indented JSON on `out`. */
export function printJson(io: CommandIO, value: unknown): void {
  io.out(JSON.stringify(value, null, 2));
}

/** Throws a CliError unless `file` exists; `what` names it in the message (e.g. 'weights file'). */
export function requireFile(file: string, what: string): void {
  if (!fs.existsSync(file)) throw new CliError(`${what} '${file}' does not exist`);
}

/**
 * Throws a CliError unless `value` (of flag `--name`) is undefined or an integer >= `min`
 * (default 1). args.ts only checks that number flags are numbers.
 */
export function checkInt(name: string, value: number | undefined, min = 1): void {
  if (value !== undefined && !(Number.isInteger(value) && value >= min))
    throw new CliError(`--${name} must be an integer >= ${min}, got ${value}`);
}

/** Parsed flag values of command definition `C` (as parseCommandArgs returns them). */
export type FlagsOf<C> = C extends CommandDef<infer F, infer _P, infer _N> ? FlagValues<F> : never;
/** Parsed positional values of command definition `C`. */
export type PositionalsOf<C> = C extends CommandDef<infer _F, infer P, infer _N> ? PositionalValues<P> : never;
