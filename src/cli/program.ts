/**
 * The program's command tree: every command and group of `bias-transfer`, in the order its
 * help lists them. main.ts hands argv and this tree to the one dispatch (tree.ts).
 */
import { inspectionCommands } from './commands/index.js';
import { scanCommand } from './commands/scan.js';
import { experimentCommands } from './experiment.js';
import { serveCommand } from './serve.js';
import { defineGroup } from './tree.js';
import { workerCommand } from './worker.js';

/** The root of the command tree: `bias-transfer <command> [sub-command] [flags]`. */
export const program = defineGroup({
  name: 'bias-transfer',
  summary: 'Measure whether the biases of a pretrained model survive transfer learning (libtorch from TypeScript).',
  commands: [...experimentCommands, scanCommand, serveCommand, workerCommand, ...inspectionCommands],
});
