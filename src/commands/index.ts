/**
 * The extension's commands, `hpc-envs:verb-noun`: what the panel, the launcher, the palette and
 * the views run. They open the views, ask for confirmation, call the model, and report the
 * outcome (long work is reported by the task notifications). Each group lives in the module of
 * what it acts on; their ids are in the tokens, which every part of the extension may import.
 */
import { commandContext, ICommandsOptions } from './context';
import { addEnvironmentsCommands } from './environments';
import { addKernelsCommands } from './kernels';
import { addPackagesCommands } from './packages';
import { addTasksCommands } from './tasks';
import { addTerminalCommand } from './terminal';

export { CommandIDs } from '../tokens';
export { ICommandsOptions, IHpcEnvsTrackers } from './context';

/**
 * Add the extension's commands to the application.
 *
 * @param options - The application, the model, the translator and the trackers.
 */
export function addCommands(options: ICommandsOptions): void {
  const ctx = commandContext(options);
  addEnvironmentsCommands(ctx);
  addTasksCommands(ctx);
  addKernelsCommands(ctx);
  addTerminalCommand(ctx);
  addPackagesCommands(ctx);
}
