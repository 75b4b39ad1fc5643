/** Test helpers for CLI actions: captured output, typed parsing, parse-then-run. */
import assert from 'node:assert/strict';
import { parseCommandArgs, type CommandDef, type ParsedCommand } from '../../src/cli/args.js';
import type { CommandIO } from '../../src/cli/commands/io.js';

/** An `io` that records what an action prints; `out()`/`err()` return it joined by newlines. */
export function capture(): { io: CommandIO; out: () => string; err: () => string } {
  const o: string[] = [];
  const e: string[] = [];
  return { io: { out: (s) => o.push(s), err: (s) => e.push(s) }, out: () => o.join('\n'), err: () => e.join('\n') };
}

/** Parses one command's argv as main.ts would (flags typed, defaults filled). */
export function parse<C extends CommandDef>(command: C, argv: string[]): ParsedCommand<C> {
  const r = parseCommandArgs(argv, command);
  assert.equal(r.kind, 'command');
  return r as ParsedCommand<C>;
}

/** Parses argv for `command`, runs `action`, returns the exit code and captured output. */
export async function call<C extends CommandDef>(
  command: C,
  action: (f: ParsedCommand<C>['flags'], p: ParsedCommand<C>['positionals'], io: CommandIO) => Promise<number>,
  argv: string[],
): Promise<{ code: number; out: string; err: string }> {
  const p = parse(command, argv);
  const c = capture();
  const code = await action(p.flags, p.positionals, c.io);
  return { code, out: c.out(), err: c.err() };
}
