/**
 * A small typed command-line parser on node:util parseArgs. A command declares its flags and
 * positional arguments once (with descriptions) and its handler `run`; parsing returns typed
 * values, and `--help` / `-h` prints usage generated from the same declarations. Commands are
 * arranged in groups and walked by tree.ts (`runs list`, `model import`).
 *
 * @example
 * const run = defineCommand({
 *   name: 'run',
 *   summary: 'Run an experiment.',
 *   positionals: [{ name: 'config', description: 'Experiment YAML/JSON file.' }],
 *   flags: [{ name: 'out', type: 'string', description: 'Results folder.', default: 'results' }, SET_FLAG],
 *   // The return type is written out: a handler that calls a function typed from this very
 *   // declaration (FlagsOf<typeof run>) would otherwise make the declaration's type circular.
 *   run: async (flags, positionals, io): Promise<number> => start(positionals.config, flags.out, flags.set, io),
 * });
 * const r = parseCommandArgs(process.argv.slice(3), run);
 * if (r.kind === 'help') console.log(r.text);
 * else process.exitCode = await run.run(r.flags, r.positionals, io);
 */
import { parseArgs } from 'node:util';
import { closestMatch } from '../experiment/config/suggest.js';
import { renderHelp } from './help.js';

/** Value types a flag can have. */
export type FlagType = 'string' | 'boolean' | 'number' | 'string[]';

/** The TypeScript type of a flag's value. */
export type FlagValue<T extends FlagType> = T extends 'string'
  ? string
  : T extends 'boolean'
    ? boolean
    : T extends 'number'
      ? number
      : string[];

/** A documented flag `--name` (kebab-case; the parsed value is keyed by `name` as written). */
export interface FlagDef<T extends FlagType = FlagType> {
  readonly name: string;
  readonly type: T;
  /** One sentence shown in --help. */
  readonly description: string;
  /** One-letter alias, e.g. 'o' for -o. */
  readonly short?: string;
  readonly default?: FlagValue<T>;
  /** Placeholder in --help, e.g. 'path' → `--out <path>`. */
  readonly valueName?: string;
  /** Allowed values (string flags). */
  readonly choices?: readonly string[];
  /** Extra check of each given string value: returns an error message or undefined. */
  readonly validate?: (value: string) => string | undefined;
}

/** A documented positional argument. */
export interface PositionalDef {
  readonly name: string;
  readonly description: string;
  /** Default true. */
  readonly required?: boolean;
  /** Takes every remaining argument (last positional only). */
  readonly variadic?: boolean;
}

/** Where a command writes: `out` gets results (tables, JSON), `err` gets errors and notes. Each call is one or more whole lines (no trailing newline needed). */
export interface CommandIO {
  readonly out: (s: string) => void;
  readonly err: (s: string) => void;
}

/** A command: its name, help text, flags and positionals, and what it does (`run`). */
export interface CommandDef<
  F extends readonly FlagDef[] = readonly FlagDef[],
  P extends readonly PositionalDef[] = readonly PositionalDef[],
  N extends string = string,
> {
  readonly name: N;
  /** One line for the command list. */
  readonly summary: string;
  /** Longer text for the command's own --help. */
  readonly description?: string;
  readonly flags: F;
  readonly positionals: P;
  /** Example invocations (without the program name). */
  readonly examples?: readonly string[];
  /**
   * The handler: runs the command with its parsed flags and positionals, printing on `io`;
   * returns the exit code (0 = success). Every command in the CLI's tree (tree.ts) has one; a
   * declaration used only for parsing may leave it out. A method, so a command of any flags
   * is a `CommandDef`.
   */
  run?(flags: FlagValues<F>, positionals: PositionalValues<P>, io: CommandIO): Promise<number>;
}

/** Parsed flag values: flags with a default, booleans and lists are always present; others may be undefined. */
export type FlagValues<F extends readonly FlagDef[]> = {
  [D in F[number] as D['name']]: D extends { default: unknown }
    ? FlagValue<D['type']>
    : D['type'] extends 'boolean' | 'string[]'
      ? FlagValue<D['type']>
      : FlagValue<D['type']> | undefined;
};

/** Parsed positionals: variadic → string[], optional → string | undefined, else string. */
export type PositionalValues<P extends readonly PositionalDef[]> = {
  [D in P[number] as D['name']]: D extends { variadic: true } ? string[] : D extends { required: false } ? string | undefined : string;
};

/** A successfully parsed command line for command `C`. */
export type ParsedCommand<C> =
  C extends CommandDef<infer F, infer P, infer N>
    ? { readonly kind: 'command'; readonly command: N; readonly flags: FlagValues<F>; readonly positionals: PositionalValues<P> }
    : never;

/** Help was asked for: print `text` and exit 0. */
export interface HelpRequest {
  readonly kind: 'help';
  readonly text: string;
}

/** A command-line error (unknown flag, missing value, ...): print the message and exit with `exitCode` (2). */
export class CliError extends Error {
  readonly exitCode = 2;
  constructor(message: string) {
    super(message);
    this.name = 'CliError';
  }
}

/** The repeatable `--set key.path=value` config override flag. */
export const SET_FLAG = {
  name: 'set',
  type: 'string[]',
  valueName: 'key=value',
  description: 'Override a config key, e.g. --set sourceTraining.epochs=1 (value parsed as YAML; repeatable).',
  validate: (v: string) => (/^[^=\s][^=]*=/.test(v) ? undefined : `expected key.path=value, got '${v}'`),
} as const satisfies FlagDef<'string[]'>;

/**
 * Declares a command; checks the declaration (unique flag names and short aliases, no flag
 * named 'help', variadic positional last, defaults of the right type) and returns it with
 * its literal types kept for typed parsing.
 */
export function defineCommand<
  const N extends string,
  const F extends readonly FlagDef[],
  const P extends readonly PositionalDef[] = readonly [],
>(def: Omit<CommandDef<F, P, N>, 'positionals'> & { readonly positionals?: P }): CommandDef<F, P, N> {
  const where = `command '${def.name}'`;
  const names = new Set<string>();
  const shorts = new Set<string>(['h']);
  for (const f of def.flags) {
    if (!/^[a-z][a-z0-9-]*$/.test(f.name)) throw new Error(`${where}: flag name '${f.name}' must be kebab-case`);
    if (f.name === 'help' || names.has(f.name))
      throw new Error(`${where}: flag --${f.name} is ${f.name === 'help' ? 'built in' : 'declared twice'}`);
    names.add(f.name);
    if (f.short !== undefined) {
      if (!/^[A-Za-z]$/.test(f.short) || shorts.has(f.short))
        throw new Error(`${where}: short flag -${f.short} of --${f.name} is invalid or taken`);
      shorts.add(f.short);
    }
    if (f.default !== undefined && !defaultMatches(f)) throw new Error(`${where}: default of --${f.name} is not a ${f.type}`);
  }
  const positionals = (def.positionals ?? []) as P;
  positionals.forEach((p, i) => {
    if (p.variadic && i !== positionals.length - 1) throw new Error(`${where}: variadic positional <${p.name}> must be last`);
  });
  return { ...def, positionals };
}

function defaultMatches(f: FlagDef): boolean {
  const d = f.default;
  switch (f.type) {
    case 'string':
      return typeof d === 'string';
    case 'boolean':
      return typeof d === 'boolean';
    case 'number':
      return typeof d === 'number';
    case 'string[]':
      return Array.isArray(d) && d.every((x) => typeof x === 'string');
  }
}

/** Options of the parse functions. */
export interface ParseOptions {
  /** Program name for usage lines (default 'bias-transfer'). */
  readonly program?: string;
  /** One line about the program, shown in its help. */
  readonly summary?: string;
  /** The program's version, printed by `--version` / `-V` (tree.ts returns it as a HelpRequest). */
  readonly version?: string;
  /**
   * The words between the program and the command's own name: its groups in the command tree
   * (tree.ts), e.g. `['runs']` for `runs list`. Used in usage lines and error hints.
   */
  readonly path?: readonly string[];
}

/** A command as typed on the command line: its groups and its name, e.g. 'runs list'. */
export function commandWords(command: { readonly name: string }, path: readonly string[] = []): string {
  return [...path, command.name].join(' ');
}

/**
 * Parses one command's arguments (everything after the command name). Returns a HelpRequest
 * when -h/--help appears anywhere; throws CliError on unknown flags (with a suggestion),
 * missing or malformed values, and missing or extra positionals.
 */
export function parseCommandArgs<C extends CommandDef>(
  argv: readonly string[],
  command: C,
  options: ParseOptions = {},
): ParsedCommand<C> | HelpRequest {
  const program = options.program ?? 'bias-transfer';
  const words = commandWords(command, options.path);
  const hint = `(see '${program} ${words} --help')`;
  const byName = new Map(command.flags.map((f) => [f.name, f] as const));
  const byShort = new Map(command.flags.filter((f) => f.short).map((f) => [f.short!, f] as const));
  const spec: Record<string, { type: 'string' | 'boolean'; multiple?: boolean; short?: string }> = {
    help: { type: 'boolean', short: 'h' },
  };
  for (const f of command.flags) {
    spec[f.name] = {
      type: f.type === 'boolean' ? 'boolean' : 'string',
      ...(f.type === 'string[]' ? { multiple: true } : {}),
      ...(f.short ? { short: f.short } : {}),
    };
  }
  let parsed: ReturnType<typeof parseArgs<{ options: typeof spec; strict: false; allowPositionals: true; tokens: true; args: string[] }>>;
  try {
    parsed = parseArgs({ args: [...argv], options: spec, strict: false, allowPositionals: true, tokens: true });
  } catch (e) {
    throw new CliError(`${(e as Error).message} ${hint}`);
  }
  if (parsed.values.help === true) return { kind: 'help', text: renderHelp(command, { program, path: options.path }) };

  for (const t of parsed.tokens ?? []) {
    if (t.kind !== 'option') continue;
    const flag = t.name.length === 1 && t.rawName.startsWith('-') && !t.rawName.startsWith('--') ? byShort.get(t.name) : byName.get(t.name);
    if (!flag) {
      const near = closestMatch(t.name, [...byName.keys()]);
      throw new CliError(`unknown flag '${t.rawName}' for '${words}'${near ? ` (did you mean --${near}?)` : ''} ${hint}`);
    }
    if (flag.type === 'boolean' && t.value !== undefined)
      throw new CliError(`flag --${flag.name} takes no value, got '${t.value}' ${hint}`);
    if (flag.type !== 'boolean' && t.value === undefined) throw new CliError(`flag --${flag.name} needs a value ${hint}`);
  }

  const flags: Record<string, unknown> = {};
  for (const f of command.flags) {
    const given = parsed.values[f.name];
    let value: unknown;
    if (given === undefined) value = f.default ?? (f.type === 'boolean' ? false : f.type === 'string[]' ? [] : undefined);
    else if (f.type === 'number') {
      const s = String(given);
      value = Number(s);
      if (s.trim() === '' || !Number.isFinite(value)) throw new CliError(`flag --${f.name} expects a number, got '${s}' ${hint}`);
    } else value = given;
    const strings = typeof value === 'string' ? [value] : Array.isArray(value) && given !== undefined ? (value as string[]) : [];
    for (const s of strings) {
      if (f.choices && !f.choices.includes(s)) {
        const near = closestMatch(s, f.choices);
        throw new CliError(
          `flag --${f.name} must be one of ${f.choices.join(', ')}, got '${s}'${near ? ` (did you mean ${near}?)` : ''} ${hint}`,
        );
      }
      const problem = given !== undefined ? f.validate?.(s) : undefined;
      if (problem) throw new CliError(`flag --${f.name}: ${problem} ${hint}`);
    }
    flags[f.name] = value;
  }

  const args = parsed.positionals;
  const positionals: Record<string, unknown> = {};
  let i = 0;
  for (const p of command.positionals) {
    if (p.variadic) {
      positionals[p.name] = args.slice(i);
      if (p.required !== false && args.length <= i) throw new CliError(`missing argument <${p.name}>: ${p.description} ${hint}`);
      i = args.length;
    } else if (i < args.length) positionals[p.name] = args[i++];
    else if (p.required === false) positionals[p.name] = undefined;
    else throw new CliError(`missing argument <${p.name}>: ${p.description} ${hint}`);
  }
  if (i < args.length) throw new CliError(`unexpected argument '${args[i]}' for '${words}' ${hint}`);
  return { kind: 'command', command: command.name, flags, positionals } as unknown as ParsedCommand<C>;
}
