/**
 * A small typed command-line parser on node:util parseArgs. Commands declare their flags and
 * positional arguments once (with descriptions); parsing returns typed values, and `--help` /
 * `-h` prints usage generated from the same declarations. Actions are not part of this module.
 *
 * @example
 * const run = defineCommand({
 *   name: 'run',
 *   summary: 'Run an experiment.',
 *   positionals: [{ name: 'config', description: 'Experiment YAML/JSON file.' }],
 *   flags: [{ name: 'out', type: 'string', description: 'Results folder.', default: 'results' }, SET_FLAG],
 * });
 * const r = parseCommandLine(process.argv.slice(2), [run]);
 * if (r.kind === 'help') console.log(r.text);
 * else if (r.command === 'run') start(r.positionals.config, r.flags.out, r.flags.set);
 */
import { parseArgs } from 'node:util';
import { closestMatch } from '../experiment/config/suggest.js';
import { renderHelp, renderProgramHelp } from './help.js';

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

/** A command: its name, help text, flags and positionals. */
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
  /** The program's version, printed by `--version` / `-V` (parseCommandLine returns it as a HelpRequest). */
  readonly version?: string;
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
  const hint = `(see '${program} ${command.name} --help')`;
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
  if (parsed.values.help === true) return { kind: 'help', text: renderHelp(command, { program }) };

  for (const t of parsed.tokens ?? []) {
    if (t.kind !== 'option') continue;
    const flag = t.name.length === 1 && t.rawName.startsWith('-') && !t.rawName.startsWith('--') ? byShort.get(t.name) : byName.get(t.name);
    if (!flag) {
      const near = closestMatch(t.name, [...byName.keys()]);
      throw new CliError(`unknown flag '${t.rawName}' for '${command.name}'${near ? ` (did you mean --${near}?)` : ''} ${hint}`);
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
  if (i < args.length) throw new CliError(`unexpected argument '${args[i]}' for '${command.name}' ${hint}`);
  return { kind: 'command', command: command.name, flags, positionals } as unknown as ParsedCommand<C>;
}

/**
 * Parses a whole command line `[command] [flags and arguments]` (argv without node and the
 * script) against a list of commands. `-h`/`--help` with no command, or no arguments at all,
 * gives the program help; `--version`/`-V` the version (when `options.version` is given); an
 * unknown command throws CliError with a suggestion.
 */
export function parseCommandLine<const C extends readonly CommandDef[]>(
  argv: readonly string[],
  commands: C,
  options: ParseOptions = {},
): ParsedCommand<C[number]> | HelpRequest {
  const program = options.program ?? 'bias-transfer';
  const first = argv[0];
  if (first === undefined || first === '-h' || first === '--help' || first === 'help') {
    const topic = first === 'help' ? commands.find((c) => c.name === argv[1]) : undefined;
    return {
      kind: 'help',
      text: topic ? renderHelp(topic, { program }) : renderProgramHelp(commands, { program, summary: options.summary }),
    };
  }
  if ((first === '--version' || first === '-V') && options.version !== undefined)
    return { kind: 'help', text: `${program} ${options.version}` };
  const command = commands.find((c) => c.name === first);
  if (!command) {
    const near = closestMatch(
      first,
      commands.map((c) => c.name),
    );
    const what = first.startsWith('-')
      ? `expected a command before '${first}'`
      : `unknown command '${first}'${near ? ` (did you mean ${near}?)` : ''}`;
    throw new CliError(`${what}; commands: ${commands.map((c) => c.name).join(', ')} (see '${program} --help')`);
  }
  return parseCommandArgs(argv.slice(1), command, options) as ParsedCommand<C[number]> | HelpRequest;
}
