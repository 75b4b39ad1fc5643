/**
 * Usage text generated from command declarations (see args.ts), so --help never drifts from
 * what the parser accepts.
 */
import type { CommandDef, FlagDef, PositionalDef } from './args.js';

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
export function renderHelp(command: CommandDef, options: { program?: string } = {}): string {
  const program = options.program ?? 'bias-transfer';
  const lines = [
    `Usage: ${program} ${command.name} [options]${command.positionals.map((p) => ` ${positionalLabel(p)}`).join('')}`,
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

/** Help of the whole program: usage line and the list of commands with their summaries. */
export function renderProgramHelp(commands: readonly CommandDef[], options: { program?: string; summary?: string } = {}): string {
  const program = options.program ?? 'bias-transfer';
  const lines = [`Usage: ${program} <command> [options]`];
  if (options.summary) lines.push('', options.summary);
  lines.push('', 'Commands:', ...table(commands.map((c) => [c.name, c.summary] as const)));
  lines.push('', `Run '${program} <command> --help' for a command's options; '${program} --version' prints the version.`);
  return `${lines.join('\n')}\n`;
}
