/**
 * The commands on an environment's packages: the packages view, install, uninstall, update all and the requirements export.
 */
import { Clipboard, Dialog, MainAreaWidget, showDialog } from '@jupyterlab/apputils';

import { PackagesModel } from '../packagesmodel';
import { CommandIDs } from '../tokens';
import { downloadText, requirementsBody, uninstallBody } from '../widgets/dialogs';
import { PackagesView } from '../widgets/packages';
import { ICommandContext, showInMainArea, stringArg } from './context';

/**
 * Add the commands on packages.
 *
 * @param ctx - The application, the model, the translator, the trackers and the error report.
 */
export function addPackagesCommands(ctx: ICommandContext): void {
  const { commands, shell, model, trans, translator, trackers, report } = ctx;

  commands.addCommand(CommandIDs.showPackages, {
    label: trans.__('Show Packages of Environment'),
    execute: args => {
      const name = stringArg(args, 'name');
      const partition = stringArg(args, 'partition');
      const open = trackers.packages.find(w => w.content.model.name === name);
      open?.content.model.setPartition(partition);
      return showInMainArea(shell, trackers.packages, open, () => {
        const content = new PackagesView({
          model: new PackagesModel({ model, name, partition }),
          commands,
          translator
        });
        const widget = new MainAreaWidget({ content });
        widget.id = `jp-HpcEnvs-packages-${name}`;
        widget.title.closable = true;
        return widget;
      });
    }
  });

  commands.addCommand(CommandIDs.installPackages, {
    label: trans.__('Install Packages'),
    execute: async args => {
      const packages = Array.isArray(args.packages)
        ? args.packages.filter((p): p is string => typeof p === 'string')
        : [];
      try {
        const log = await model.install(
          stringArg(args, 'name'),
          stringArg(args, 'partition'),
          packages,
          args.upgrade === true
        );
        return log.task.id;
      } catch (reason) {
        report(reason);
        return false;
      }
    }
  });

  commands.addCommand(CommandIDs.uninstallPackage, {
    label: trans.__('Uninstall Package'),
    execute: async args => {
      const name = stringArg(args, 'name');
      const partition = stringArg(args, 'partition');
      const pkg = stringArg(args, 'package');
      const conda = model.environments.find(e => e.name === name)?.kind === 'conda';
      const result = await showDialog({
        title: conda ? trans.__('Remove %1?', pkg) : trans.__('Uninstall %1?', pkg),
        body: uninstallBody(pkg, name, partition, trans, conda),
        buttons: [
          Dialog.cancelButton({ label: trans.__('Cancel') }),
          Dialog.warnButton({ label: conda ? trans.__('Remove') : trans.__('Uninstall') })
        ],
        defaultButton: 0
      });
      if (!result.button.accept) {
        return false;
      }
      try {
        await model.uninstall(name, partition, [pkg]);
        return true;
      } catch (reason) {
        report(reason);
        return false;
      }
    }
  });

  commands.addCommand(CommandIDs.updateAllPackages, {
    label: trans.__('Update All Packages'),
    caption: trans.__('Update every package of a conda environment (conda update --all)'),
    execute: async args => {
      const name = stringArg(args, 'name');
      const partition = stringArg(args, 'partition');
      const result = await showDialog({
        title: trans.__('Update every package of %1?', name),
        body: trans.__(
          'Every package of the %1 build of %2 moves to the newest version its channels allow (Python stays in its series), as conda update --all does.',
          partition,
          name
        ),
        buttons: [
          Dialog.cancelButton({ label: trans.__('Cancel') }),
          Dialog.okButton({ label: trans.__('Update all') })
        ],
        defaultButton: 0
      });
      if (!result.button.accept) {
        return false;
      }
      try {
        await model.updateAll(name, partition);
        return true;
      } catch (reason) {
        report(reason);
        return false;
      }
    }
  });

  commands.addCommand(CommandIDs.exportRequirements, {
    label: trans.__('Export Requirements'),
    execute: async args => {
      const name = stringArg(args, 'name');
      const partition = stringArg(args, 'partition');
      try {
        const text = await model.requirements(name, partition);
        const copy = Dialog.okButton({ label: trans.__('Copy') });
        const download = Dialog.createButton({ label: trans.__('Download'), accept: true });
        const result = await showDialog({
          title: trans.__('Requirements of %1 (%2)', name, partition),
          body: requirementsBody(text),
          buttons: [Dialog.cancelButton({ label: trans.__('Close') }), download, copy]
        });
        if (result.button.label === copy.label) {
          Clipboard.copyToSystem(text);
        } else if (result.button.label === download.label) {
          downloadText(text, `requirements-${name}-${partition}.txt`);
        }
        return text;
      } catch (reason) {
        report(reason);
        return null;
      }
    }
  });
}
