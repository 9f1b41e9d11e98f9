/**
 * The commands on tasks: their live log and cancelling them.
 */
import { MainAreaWidget } from '@jupyterlab/apputils';

import { hpcEnvsIcon } from '../icons';
import { CommandIDs, ITaskLog } from '../tokens';
import { TaskLogView } from '../widgets/tasklog';
import { ICommandContext, showInMainArea, stringArg } from './context';

/**
 * Show a task's live log in the main area (the one open for it, or a new one).
 *
 * @param ctx - The commands' context.
 * @param log - The task's log.
 * @returns The log's view.
 */
export function openLog(ctx: ICommandContext, log: ITaskLog): MainAreaWidget<TaskLogView> {
  const { commands, shell, translator, trackers } = ctx;
  const id = log.task.id;
  return showInMainArea(
    shell,
    trackers.logs,
    trackers.logs.find(w => w.content.log.task.id === id),
    () => {
      const content = new TaskLogView({
        log,
        translator,
        onCancel: task => commands.execute(CommandIDs.cancelTask, { task })
      });
      const widget = new MainAreaWidget({ content });
      widget.id = `jp-HpcEnvs-log-${id}`;
      widget.title.icon = hpcEnvsIcon;
      widget.title.closable = true;
      return widget;
    }
  );
}

/**
 * Add the commands on tasks.
 *
 * @param ctx - The application, the model, the translator, the trackers and the error report.
 */
export function addTasksCommands(ctx: ICommandContext): void {
  const { commands, model, trans, report } = ctx;

  commands.addCommand(CommandIDs.showLog, {
    label: trans.__('Show Task Log'),
    caption: trans.__('Open the live log of a task of HPC environments'),
    execute: async args => {
      try {
        return openLog(ctx, await model.taskLog(stringArg(args, 'task')));
      } catch (reason) {
        report(reason);
        return null;
      }
    }
  });

  commands.addCommand(CommandIDs.cancelTask, {
    label: trans.__('Cancel Task'),
    execute: async args => {
      try {
        await model.cancelTask(stringArg(args, 'task'));
      } catch (reason) {
        report(reason);
      }
    }
  });
}
