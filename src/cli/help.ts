/**
 * Usage text generated from command declarations (see args.ts), so --help never drifts from
 * what the parser accepts.
 */
import type { CommandDef, FlagDef, PositionalDef } from './args.js';

/** What the help of a group lists: a sub-command or a sub-group, by name and summary. */
export interface HelpEntry {
  readonly name: string;
  readonly summary: string;
  /** For a group: its sub-commands, listed indented under it. */
  readonly commands?: readonly { readonly name: string; readonly summary: string }[];
}

function flagLabel(f: FlagDef): string {
  const value = f.type === 'boolean' ? '' : ` <${f.valueName ?? (f.type === 'number' ? 'n' : 'value')}>`;
  return `${f.short ? `-${f.short}, ` : '    '}--${f.name}${value}`;
}

function flagText(f: FlagDef): string {
  const notes: string[] = [];
  if (f.choices) notes.push(`one of: ${f.choices.join(', ')}`);
  if (f.default !== undefined && !(Array.isArray(f.default) && f.default.length === 0)) notes.push(`default: ${JSON.stringify(f.default)}`);
  // Said once: a description may already say so.
  if (f.type === 'string[]' && !/\brepeatable\b/i.test(f.description)) notes.push('repeatable');
  return notes.length ? `${f.description} (${notes.join('; ')})` : f.description;
}

function positionalLabel(p: PositionalDef): string {
  const name = `${p.name}${p.variadic ? '...' : ''}`;
  return p.required === false ? `[${name}]` : `<${name}>`;
}

function table(rows: readonly (readonly [string, string])[]): string[] {
  const width = Math.min(36, Math.max(...rows.map(([a]) => a.length)) + 2);
  return rows.map(([a, b]) => `  ${a.padEnd(width)}${a.length >= width ? `\n  ${' '.repeat(width)}` : ''}${b}`);
}

/**
 * Help of one command: usage line, description, arguments, options (with defaults and
 * choices), examples.
 */
export function renderHelp(command: CommandDef, options: { program?: string; path?: readonly string[] } = {}): string {
  const program = options.program ?? 'bias-transfer';
  const words = [...(options.path ?? []), command.name].join(' ');
  const lines = [
    `Usage: ${program} ${words} [options]${command.positionals.map((p) => ` ${positionalLabel(p)}`).join('')}`,
    '',
    command.summary,
  ];
  if (command.description) lines.push('', command.description);
  if (command.positionals.length) {
    lines.push('', 'Arguments:', ...table(command.positionals.map((p) => [positionalLabel(p), p.description] as const)));
  }
  const flagRows = command.flags.map((f) => [flagLabel(f), flagText(f)] as const);
  lines.push('', 'Options:', ...table([...flagRows, ['-h, --help', 'Show this help.']]));
  if (command.examples?.length) lines.push('', 'Examples:', ...command.examples.map((e) => `  ${program} ${e}`));
  return `${lines.join('\n')}\n`;
}

/**
 * Help of a group of commands (the whole program when `path` is empty): usage line, summary,
 * and its commands with their summaries, a sub-group's commands indented under it.
 */
export function renderGroupHelp(
  group: { readonly summary: string; readonly description?: string; readonly commands: readonly HelpEntry[] },
  options: { program?: string; path?: readonly string[]; version?: boolean } = {},
): string {
  const program = options.program ?? 'bias-transfer';
  const prefix = [program, ...(options.path ?? [])].join(' ');
  const lines = [`Usage: ${prefix} <command> [options]`];
  if (group.summary) lines.push('', group.summary);
  if (group.description) lines.push('', group.description);
  const rows = group.commands.flatMap((c) => [
    [c.name, c.summary] as const,
    ...(c.commands ?? []).map((s) => [`  ${s.name}`, s.summary] as const),
  ]);
  lines.push('', 'Commands:', ...table(rows));
  const version = options.version ? `; '${program} --version' prints the version` : '';
  lines.push('', `Run '${prefix} <command> --help' for a command's options${version}.`);
  return `${lines.join('\n')}\n`;
}
