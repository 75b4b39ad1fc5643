/**
 * The command tree and its one dispatch. A command (args.ts's `defineCommand`) declares its flags,
 * positionals and handler; a group (`defineGroup`) gathers commands and other groups under a word
 * (`runs`, `model`, `datasets`). `runCommandLine` walks argv down the tree word by word, parses
 * what is left against the command it reaches and runs that command's handler; `--help` works
 * at every level (`bias-transfer runs --help` lists runs' commands, `bias-transfer runs list --help`
 * shows that command's options).
 *
 * Every nested command also answers to its words joined by dashes (`runs-list`, `model-import`,
 * the spelling of earlier versions), as a hidden alias: accepted, never listed.
 *
 * @example
 * const runs = defineGroup({ name: 'runs', summary: 'Query the run index.', commands: [runsList] });
 * const root = defineGroup({ name: 'bias-transfer', summary: '...', commands: [runCommand, runs] });
 * process.exitCode = await runCommandLine(['runs', 'list', '--json'], root, io);
 */
import { closestMatch } from '../experiment/config/suggest.js';
import {
  CliError,
  commandWords,
  parseCommandArgs,
  type CommandDef,
  type CommandIO,
  type HelpRequest,
  type ParseOptions,
  type ParsedCommand,
} from './args.js';
import { runAction } from './commands/io.js';
import { renderGroupHelp, renderHelp } from './help.js';

/** A group of commands under one word, e.g. `runs` holding `list`, `metrics` and `compare`. */
export interface CommandGroup {
  /** The word that selects the group (kebab-case). */
  readonly name: string;
  /** One line for the parent's command list. */
  readonly summary: string;
  /** Longer text for the group's own --help. */
  readonly description?: string;
  /** Its commands and sub-groups, in the order its help lists them. */
  readonly commands: readonly CommandNode[];
}

/** A node of the command tree: a command or a group. */
export type CommandNode = CommandDef | CommandGroup;

/** The commands a node stands for: itself, or every command under a group (at any depth). */
export type CommandsUnder<N> = N extends { readonly commands: readonly (infer C)[] } ? CommandsUnder<C> : N;

/** Whether a node is a group (it has commands) rather than a command. */
export function isGroup(node: CommandNode): node is CommandGroup {
  return 'commands' in node;
}

/**
 * Declares a group; checks that it has commands, that their names are unique kebab-case words,
 * and that no name equals another's hidden dashed alias (a command `runs-list` beside a group
 * `runs` holding `list` would make `runs-list` ambiguous).
 */
export function defineGroup<const G extends CommandGroup>(def: G): G {
  const where = `group '${def.name}'`;
  if (def.commands.length === 0) throw new Error(`${where} has no commands`);
  const names = new Set<string>();
  for (const c of def.commands) {
    if (!/^[a-z][a-z0-9-]*$/.test(c.name)) throw new Error(`${where}: command name '${c.name}' must be a kebab-case word`);
    if (names.has(c.name)) throw new Error(`${where}: command '${c.name}' is declared twice`);
    names.add(c.name);
  }
  for (const alias of def.commands.flatMap((c) => dashedAliases(c))) {
    if (names.has(alias)) throw new Error(`${where}: command '${alias}' clashes with the alias of '${alias.replace(/-/, ' ')}'`);
  }
  return def;
}

/** The hidden dashed spellings a node adds to its parent: `runs-list`, ... for group `runs`. */
function dashedAliases(node: CommandNode): string[] {
  if (!isGroup(node)) return [];
  return node.commands.flatMap((c) => [`${node.name}-${c.name}`, ...dashedAliases(c).map((a) => `${node.name}-${a}`)]);
}

/**
 * The words a (possibly dashed) word stands for in `group`: `['runs', 'list']` for 'runs-list',
 * `[word]` for a child's own name, undefined when it names nothing here.
 */
function expandWord(group: CommandGroup, word: string): string[] | undefined {
  if (group.commands.some((c) => c.name === word)) return [word];
  for (const c of group.commands) {
    if (!isGroup(c) || !word.startsWith(`${c.name}-`)) continue;
    const rest = expandWord(c, word.slice(c.name.length + 1));
    if (rest) return [c.name, ...rest];
  }
  return undefined;
}

/** The node of `group` that `word` selects, and the words a dashed alias leaves (`list` of `runs-list`). */
function select(group: CommandGroup, word: string): { node: CommandNode; more: string[] } | undefined {
  const words = expandWord(group, word);
  return words && { node: group.commands.find((c) => c.name === words[0])!, more: words.slice(1) };
}

/** A command line resolved to one command: the command, its groups' words, its parsed values. */
export interface ResolvedCommand {
  readonly kind: 'command';
  readonly command: CommandDef;
  /** The words of its groups, e.g. `['runs']` for `runs list`. */
  readonly path: readonly string[];
  readonly flags: Record<string, unknown>;
  readonly positionals: Record<string, unknown>;
}

/**
 * The help text of a node: `words` are a group's own words (empty for the root) or a command's
 * groups' words.
 */
function helpOf(node: CommandNode, words: readonly string[], root: CommandGroup, options: ParseOptions): string {
  const program = options.program ?? 'bias-transfer';
  if (!isGroup(node)) return renderHelp(node, { program, path: words });
  const summary = node === root ? (options.summary ?? node.summary) : node.summary;
  return renderGroupHelp({ ...node, summary }, { program, path: words, version: node === root });
}

/** The error for a word that names no command of `group` (reached by `path`). */
function unknownCommand(group: CommandGroup, path: readonly string[], word: string, program: string): CliError {
  const visible = group.commands.map((c) => c.name);
  const spaced = (w: string) => expandWord(group, w)?.join(' ') ?? w;
  const near = closestMatch(word, [...visible, ...group.commands.flatMap((c) => dashedAliases(c))]);
  const where = path.length ? `${path.join(' ')} ` : '';
  const what = word.startsWith('-')
    ? `expected a ${where}command before '${word}'`
    : `unknown ${where}command '${word}'${near ? ` (did you mean ${spaced(near)}?)` : ''}`;
  const see = `${program}${path.length ? ` ${path.join(' ')}` : ''} --help`;
  return new CliError(`${what}; ${where}commands: ${visible.join(', ')} (see '${see}')`);
}

/**
 * Walks argv (without node and the script) down the tree from `root`: each word selects a
 * command or group (or is a hidden dashed alias of a nested one), and the rest of the line is
 * parsed against the command reached. No arguments, `-h`/`--help` or `help [words...]` give the
 * help of the node reached; a group followed by nothing gives its help; `--version`/`-V` at the
 * top gives the version when `options.version` is set. Throws CliError on an unknown word (with
 * a suggestion and the valid names) and on any parse error of the command's arguments.
 */
export function resolveCommandLine(argv: readonly string[], root: CommandGroup, options: ParseOptions = {}): ResolvedCommand | HelpRequest {
  const program = options.program ?? 'bias-transfer';
  const first = argv[0];
  if ((first === '--version' || first === '-V') && options.version !== undefined)
    return { kind: 'help', text: `${program} ${options.version}` };
  if (first === 'help') {
    // `help runs list`: the help of the deepest node the words reach (the program's if none).
    let node: CommandNode = root;
    const path: string[] = [];
    for (let words = argv.slice(1); words.length > 0 && isGroup(node);) {
      const next = select(node, words[0]);
      if (!next) break;
      node = next.node;
      words = [...next.more, ...words.slice(1)];
      if (isGroup(node)) path.push(node.name);
    }
    return { kind: 'help', text: helpOf(node, path, root, options) };
  }
  let group = root;
  const path: string[] = [];
  let rest = [...argv];
  for (;;) {
    const word = rest[0];
    if (word === undefined || word === '-h' || word === '--help') return { kind: 'help', text: helpOf(group, path, root, options) };
    const next = select(group, word);
    if (!next) throw unknownCommand(group, path, word, program);
    const node = next.node;
    rest = [...next.more, ...rest.slice(1)];
    if (isGroup(node)) {
      group = node;
      path.push(node.name);
      continue;
    }
    const parsed = parseCommandArgs(rest, node, { ...options, path });
    if (parsed.kind === 'help') return parsed;
    const { flags, positionals } = parsed as unknown as { flags: Record<string, unknown>; positionals: Record<string, unknown> };
    return { kind: 'command', command: node, path, flags, positionals };
  }
}

/**
 * Parses a command line against a list of commands and groups, with the command's values
 * typed: the tree walk of `resolveCommandLine` under a root holding `commands`.
 */
export function parseCommandLine<const C extends readonly CommandNode[]>(
  argv: readonly string[],
  commands: C,
  options: ParseOptions = {},
): ParsedCommand<CommandsUnder<C[number]>> | HelpRequest {
  const r = resolveCommandLine(argv, { name: options.program ?? 'bias-transfer', summary: '', commands }, options);
  if (r.kind === 'help') return r;
  return { kind: 'command', command: r.command.name, flags: r.flags, positionals: r.positionals } as unknown as ParsedCommand<
    CommandsUnder<C[number]>
  >;
}

/** Every command of the tree with the words of its groups, depth first in help order. */
export function commandsOf(group: CommandGroup, path: readonly string[] = []): { command: CommandDef; path: readonly string[] }[] {
  return group.commands.flatMap((c) => (isGroup(c) ? commandsOf(c, [...path, c.name]) : [{ command: c, path }]));
}

/**
 * The one dispatch: resolves argv in the tree (see resolveCommandLine), prints help on `out`
 * (status 0), a command-line error as `error: ...` on `err` (status 2), else runs the command's
 * handler and returns its exit code (a thrown CliError gives 2, any other error 1).
 */
export async function runCommandLine(
  argv: readonly string[],
  root: CommandGroup,
  io: CommandIO,
  options: ParseOptions = {},
): Promise<number> {
  let r: ResolvedCommand | HelpRequest;
  try {
    r = resolveCommandLine(argv, root, options);
  } catch (e) {
    io.err(`error: ${(e as Error).message}`);
    return e instanceof CliError ? e.exitCode : 1;
  }
  if (r.kind === 'help') {
    io.out(r.text);
    return 0;
  }
  const { command, flags, positionals } = r;
  if (!command.run) throw new Error(`command '${commandWords(command, r.path)}' has no handler`);
  return runAction(io, () => command.run!(flags as never, positionals as never, io));
}
