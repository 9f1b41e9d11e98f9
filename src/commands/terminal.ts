/**
 * The command that opens a terminal with an environment activated (on its partition's node when it must).
 */
import { MainAreaWidget } from '@jupyterlab/apputils';
import { ITerminal } from '@jupyterlab/terminal';

import { CommandIDs } from '../tokens';
import { ICommandContext, stringArg } from './context';

/**
 * Add the command that opens a terminal.
 *
 * @param ctx - The application, the model, the translator, the trackers and the error report.
 */
export function addTerminalCommand(ctx: ICommandContext): void {
  const { app, commands, model, trans, report } = ctx;

  commands.addCommand(CommandIDs.openTerminal, {
    label: trans.__('Open Terminal with Environment'),
    caption: trans.__('Open a terminal with the environment activated'),
    execute: async args => {
      const name = stringArg(args, 'name');
      const partition = stringArg(args, 'partition');
      try {
        if (!app.serviceManager.terminals.isAvailable()) {
          throw new Error(trans.__('Terminals are not available on this server.'));
        }
        const site = model.site;
        const where = site?.partitions.find(p => p.name === partition);
        // The build only runs on its partition's nodes: a shell there first, in a job with the
        // resources (and the time limit) of the environment's kernel there.
        const remote = !!where && !where.local && !!site?.slurm;
        const activation = await model.terminalActivation(name, partition, remote);
        const lines: string[] = [];
        if (remote && activation.srun) {
          lines.push(activation.srun);
        }
        lines.push(activation.script.trim());
        const widget = (await commands.execute('terminal:create-new', {})) as
          MainAreaWidget<ITerminal.ITerminal> | undefined;
        if (!widget) {
          throw new Error(trans.__('No terminal could be opened.'));
        }
        // Sent once the terminal is connected (the connection queues it until then).
        widget.content.session.send({ type: 'stdin', content: [lines.join('\n') + '\n'] });
        return widget;
      } catch (reason) {
        report(reason);
        return null;
      }
    }
  });
}
