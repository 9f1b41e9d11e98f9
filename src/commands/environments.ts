/**
 * The commands on environments: the panel, refreshing, the creation form, building and removal.
 */
import { Dialog, MainAreaWidget, Notification, showDialog } from '@jupyterlab/apputils';

import { CreateFormModel } from '../formmodel';
import { hpcEnvsIcon } from '../icons';
import { CommandIDs, PANEL_ID } from '../tokens';
import { removalBody } from '../widgets/dialogs';
import { CreateEnvironmentForm } from '../widgets/form';
import { ICommandContext, optionalArg, showInMainArea, stringArg } from './context';
import { openLog } from './tasks';

/**
 * Add the commands on environments.
 *
 * @param ctx - The application, the model, the translator, the trackers and the error report.
 */
export function addEnvironmentsCommands(ctx: ICommandContext): void {
  const { commands, shell, model, trans, translator, trackers, report } = ctx;

  commands.addCommand(CommandIDs.openPanel, {
    label: trans.__('Open HPC Environments Panel'),
    caption: trans.__('Show the HPC environments side panel'),
    icon: hpcEnvsIcon,
    execute: () => {
      shell.activateById(PANEL_ID);
    }
  });

  commands.addCommand(CommandIDs.refresh, {
    label: trans.__('Refresh HPC Environments'),
    caption: trans.__('Ask the server for the current state of HPC environments'),
    execute: args => model.refresh(args.rescan === true)
  });

  commands.addCommand(CommandIDs.createEnvironment, {
    label: trans.__('New HPC Environment'),
    caption: trans.__(
      'Create a Python environment on the modules of an HPC partition, as a kernel'
    ),
    icon: hpcEnvsIcon,
    execute: () =>
      showInMainArea(
        shell,
        trackers.forms,
        trackers.forms.currentWidget ?? trackers.forms.find(() => true),
        () => {
          const formModel = new CreateFormModel({ model, trans });
          let widget: MainAreaWidget<CreateEnvironmentForm> | null = null;
          const content = new CreateEnvironmentForm({
            model: formModel,
            translator,
            onCreated: log => {
              widget?.dispose();
              openLog(ctx, log);
            },
            onCancel: () => widget?.dispose()
          });
          widget = new MainAreaWidget({ content });
          widget.id = `jp-HpcEnvs-form-${Date.now()}`;
          widget.title.closable = true;
          if (!model.site) {
            void model.refresh();
          }
          return widget;
        }
      )
  });

  commands.addCommand(CommandIDs.rebuildEnvironment, {
    label: args =>
      args.force ? trans.__('Rebuild Environment') : trans.__('Build Environment for Partition'),
    execute: async args => {
      try {
        const outcome = await model.rebuild(
          stringArg(args, 'name'),
          stringArg(args, 'partition'),
          args.force === true
        );
        if (typeof outcome === 'string') {
          Notification.success(outcome, { autoClose: 5000 });
        }
        return outcome;
      } catch (reason) {
        report(reason);
        return null;
      }
    }
  });

  commands.addCommand(CommandIDs.removeEnvironment, {
    label: args =>
      args.partition ? trans.__('Remove Kernel of Partition') : trans.__('Remove Environment'),
    execute: async args => {
      const name = stringArg(args, 'name');
      const partition = optionalArg(args, 'partition');
      try {
        const plan = await model.removalPlan(name, partition);
        const result = await showDialog({
          title: partition
            ? trans.__('Remove %1 from partition %2?', name, partition)
            : trans.__('Remove the environment %1?', name),
          body: removalBody(plan, trans),
          buttons: [
            Dialog.cancelButton({ label: trans.__('Cancel') }),
            Dialog.warnButton({ label: trans.__('Remove') })
          ],
          defaultButton: 0
        });
        if (!result.button.accept) {
          return null;
        }
        const removed = await model.remove(name, partition);
        if (!partition) {
          trackers.packages.forEach(w => {
            if (w.content.model.name === name) {
              w.dispose();
            }
          });
        }
        Notification.success(
          partition
            ? trans.__('%1 removed from %2.', name, partition)
            : trans.__('%1 removed.', name),
          { autoClose: 5000 }
        );
        return removed;
      } catch (reason) {
        report(reason);
        return null;
      }
    }
  });
}
