/**
 * The inspection commands: the groups `datasets`, `model` and `runs` and the command
 * `evaluate`, each with its handler (the program's tree is in ../program.ts).
 */
import { datasetsGroup } from './datasets.js';
import { evaluateCommand } from './evaluate.js';
import { modelGroup } from './model.js';
import { runsGroup } from './runs.js';

export type { CommandIO } from './io.js';
export * from './datasets.js';
export * from './evaluate.js';
export * from './model.js';
export * from './runs.js';
export { formatTable, formatCell, type Cell, type TableOptions } from './table.js';

/** The inspection groups and commands, in the order the program's help lists them. */
export const inspectionCommands = [datasetsGroup, modelGroup, evaluateCommand, runsGroup] as const;
