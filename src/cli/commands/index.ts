/**
 * The inspection commands (datasets, model, evaluate, runs) in one list, with one dispatcher from a parsed
 * command line to its action, and `joinSubcommand` so `datasets list` works as well as
 * `datasets-list` (args.ts matches the first word only, so the commands are named with a dash).
 *
 * @example
 * const commands = [...mainCommands, ...inspectionCommands] as const;
 * const r = parseCommandLine(joinSubcommand(argv, commands), commands);
 * if (r.kind === 'command' && isInspectionParsed(r)) process.exitCode = await dispatchInspection(r, io);
 */
import type { CommandDef, ParsedCommand } from '../args.js';
import { datasetsCommands, runDatasetsInspect, runDatasetsList, runDatasetsShow } from './datasets.js';
import { evaluateCommand, runEvaluate } from './evaluate.js';
import type { CommandIO } from './io.js';
import { modelCommands, runModelExport, runModelImport, runModelInspect, runModelSummary } from './model.js';
import { runRunsCompare, runRunsList, runRunsMetrics, runsCommands } from './runs.js';

export type { CommandIO } from './io.js';
export * from './datasets.js';
export * from './evaluate.js';
export * from './model.js';
export * from './runs.js';
export { formatTable, formatCell, type Cell, type TableOptions } from './table.js';

/** Every inspection command definition. */
export const inspectionCommands = [...datasetsCommands, ...modelCommands, evaluateCommand, ...runsCommands] as const;

/** The name of an inspection command. */
export type InspectionCommandName = (typeof inspectionCommands)[number]['name'];

const NAMES: ReadonlySet<string> = new Set(inspectionCommands.map((c) => c.name));

/** Whether `name` is one of the inspection commands. */
export function isInspectionCommand(name: string): name is InspectionCommandName {
  return NAMES.has(name);
}

/** A parsed inspection command line. */
export type ParsedInspection = ParsedCommand<(typeof inspectionCommands)[number]>;

/** Narrows a parsed command line (of any command list) to an inspection command. */
export function isInspectionParsed(parsed: { readonly kind: 'command'; readonly command: string }): parsed is ParsedInspection {
  return NAMES.has(parsed.command);
}

/**
 * Rewrites `group sub ...` to `group-sub ...` when `group-sub` names a command, so sub-command
 * style works with args.ts's one-word command names; any other argv is returned unchanged.
 *
 * @example joinSubcommand(['runs', 'list', '--json'], commands) // ['runs-list', '--json']
 */
export function joinSubcommand(argv: readonly string[], commands: readonly CommandDef[]): string[] {
  const [group, sub, ...rest] = argv;
  if (group === undefined || sub === undefined || sub.startsWith('-')) return [...argv];
  const joined = `${group}-${sub}`;
  return commands.some((c) => c.name === joined) ? [joined, ...rest] : [...argv];
}

/** Runs the action of a parsed inspection command; returns its exit code. */
export async function dispatchInspection(parsed: ParsedInspection, io: CommandIO): Promise<number> {
  switch (parsed.command) {
    case 'datasets-list':
      return runDatasetsList(parsed.flags, parsed.positionals, io);
    case 'datasets-inspect':
      return runDatasetsInspect(parsed.flags, parsed.positionals, io);
    case 'datasets-show':
      return runDatasetsShow(parsed.flags, parsed.positionals, io);
    case 'model-summary':
      return runModelSummary(parsed.flags, parsed.positionals, io);
    case 'model-export':
      return runModelExport(parsed.flags, parsed.positionals, io);
    case 'model-import':
      return runModelImport(parsed.flags, parsed.positionals, io);
    case 'model-inspect':
      return runModelInspect(parsed.flags, parsed.positionals, io);
    case 'evaluate':
      return runEvaluate(parsed.flags, parsed.positionals, io);
    case 'runs-list':
      return runRunsList(parsed.flags, parsed.positionals, io);
    case 'runs-metrics':
      return runRunsMetrics(parsed.flags, parsed.positionals, io);
    case 'runs-compare':
      return runRunsCompare(parsed.flags, parsed.positionals, io);
  }
}
