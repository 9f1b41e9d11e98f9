/**
 * The extension's commands, `hpc-envs:verb-noun`: what the panel, the launcher, the palette and
 * the views run. They open the views, ask for confirmation, call the model, and report the
 * outcome (long work is reported by the task notifications).
 */
import { JupyterFrontEnd } from '@jupyterlab/application';
import {
  Clipboard,
  Dialog,
  InputDialog,
  MainAreaWidget,
  Notification,
  showDialog,
  WidgetTracker
} from '@jupyterlab/apputils';
import { ITerminal } from '@jupyterlab/terminal';
import { ITranslator, TranslationBundle } from '@jupyterlab/translation';
import { ReadonlyPartialJSONObject } from '@lumino/coreutils';

import { errorMessage } from './api';
import { CreateFormModel } from './formmodel';
import { hpcEnvsIcon } from './icons';
import { PackagesModel } from './packagesmodel';
import { KernelResourcesModel } from './resourcesmodel';
import { IHpcEnvsModel, ITaskLog } from './tokens';
import { downloadText, removalBody, requirementsBody, uninstallBody } from './widgets/dialogs';
import { CreateEnvironmentForm } from './widgets/form';
import { PackagesView } from './widgets/packages';
import { PANEL_ID } from './widgets/panel';
import { KernelResourcesDialog } from './widgets/resources';
import { TaskLogView } from './widgets/tasklog';

/**
 * The ids of the extension's commands, `hpc-envs:verb-noun`.
 */
export namespace CommandIDs {
  /**
   * Open (activate) the side panel.
   */
  export const openPanel = 'hpc-envs:open-panel';

  /**
   * Ask the server again now; `{rescan: true}` also makes it ask Slurm and the modules again.
   */
  export const refresh = 'hpc-envs:refresh';

  /**
   * Open the creation form (the launcher item "New HPC environment").
   */
  export const createEnvironment = 'hpc-envs:create-environment';

  /**
   * Build an environment for a partition: `{name, partition, force?}`.
   */
  export const rebuildEnvironment = 'hpc-envs:rebuild-environment';

  /**
   * Register an environment's kernels again: `{name, partition?}`.
   */
  export const registerKernel = 'hpc-envs:register-kernel';

  /**
   * Open a terminal with an environment activated: `{name, partition}`.
   */
  export const openTerminal = 'hpc-envs:open-terminal';

  /**
   * Open a notebook on an environment's kernel: `{name, partition}`.
   */
  export const openNotebook = 'hpc-envs:open-notebook';

  /**
   * Open the packages view: `{name, partition}`.
   */
  export const showPackages = 'hpc-envs:show-packages';

  /**
   * Remove an environment (or its kernel and build of one partition), after confirmation:
   * `{name, partition?}`.
   */
  export const removeEnvironment = 'hpc-envs:remove-environment';

  /**
   * Open the live log of a task: `{task}`.
   */
  export const showLog = 'hpc-envs:show-log';

  /**
   * Cancel a running task: `{task}`.
   */
  export const cancelTask = 'hpc-envs:cancel-task';

  /**
   * Install packages: `{name, partition, packages, upgrade?}`; returns whether a task started.
   */
  export const installPackages = 'hpc-envs:install-packages';

  /**
   * Uninstall a package, after confirmation: `{name, partition, package}`.
   */
  export const uninstallPackage = 'hpc-envs:uninstall-package';

  /**
   * Update every package of a conda environment, after confirmation: `{name, partition}`;
   * returns whether a task started.
   */
  export const updateAllPackages = 'hpc-envs:update-all-packages';

  /**
   * Show the requirements file of a build, to copy or download: `{name, partition}`.
   */
  export const exportRequirements = 'hpc-envs:export-requirements';

  /**
   * Choose what a kernel's Slurm job asks for, in a dialog: `{kernel}` or `{name, partition}`;
   * without arguments, the kernel is asked for first. Returns the stored resources, or `null`.
   */
  export const kernelResources = 'hpc-envs:kernel-resources';

  /**
   * Cancel the Slurm job of a kernel waiting in the queue, after confirmation: `{kernel_id}`.
   */
  export const cancelKernelJob = 'hpc-envs:cancel-kernel-job';
}

/**
 * The trackers of the extension's main-area views (the layout restorer reopens them).
 */
export interface IHpcEnvsTrackers {
  forms: WidgetTracker<MainAreaWidget<CreateEnvironmentForm>>;
  logs: WidgetTracker<MainAreaWidget<TaskLogView>>;
  packages: WidgetTracker<MainAreaWidget<PackagesView>>;
}

/**
 * What {@link addCommands} needs.
 */
export interface ICommandsOptions {
  /**
   * The application.
   */
  app: JupyterFrontEnd;

  /**
   * The model the commands act on.
   */
  model: IHpcEnvsModel;

  /**
   * The translator.
   */
  translator: ITranslator;

  /**
   * The trackers the opened views are added to.
   */
  trackers: IHpcEnvsTrackers;
}

/**
 * A string argument of a command.
 *
 * @param args - The arguments.
 * @param key - The argument's name.
 * @returns Its value.
 * @throws {Error} When it is missing or not a string.
 */
function stringArg(args: ReadonlyPartialJSONObject, key: string): string {
  const value = args[key];
  if (typeof value !== 'string' || !value) {
    throw new Error(`jupyterlab-hpc-envs: the argument "${key}" is missing`);
  }
  return value;
}

/**
 * An optional string argument of a command.
 */
function optionalArg(args: ReadonlyPartialJSONObject, key: string): string | null {
  const value = args[key];
  return typeof value === 'string' && value ? value : null;
}

/**
 * The kernels of the environments, each with its environment and partition.
 *
 * @param model - The model.
 * @returns The kernels, by environment and then partition.
 */
function kernelsOf(model: IHpcEnvsModel): { kernel: string; name: string; partition: string }[] {
  return model.environments.flatMap(env =>
    env.kernels.map(k => ({ kernel: k.name, name: env.name, partition: k.partition ?? '' }))
  );
}

/**
 * Add the extension's commands to the application.
 *
 * @param options - The application, the model, the translator and the trackers.
 */
export function addCommands(options: ICommandsOptions): void {
  const { app, model, translator, trackers } = options;
  const { commands, shell } = app;
  const trans: TranslationBundle = translator.load('jupyterlab_hpc_envs');

  /**
   * Tell the user what went wrong, in the server's words.
   */
  const report = (reason: unknown): void => {
    Notification.error(errorMessage(reason), { autoClose: 10000 });
  };

  const openLog = (log: ITaskLog): MainAreaWidget<TaskLogView> => {
    const id = log.task.id;
    const open = trackers.logs.find(w => w.content.log.task.id === id);
    if (open) {
      shell.activateById(open.id);
      return open;
    }
    const content = new TaskLogView({
      log,
      translator,
      onCancel: task => commands.execute(CommandIDs.cancelTask, { task })
    });
    const widget = new MainAreaWidget({ content });
    widget.id = `jp-HpcEnvs-log-${id}`;
    widget.title.icon = hpcEnvsIcon;
    widget.title.closable = true;
    void trackers.logs.add(widget);
    shell.add(widget, 'main');
    shell.activateById(widget.id);
    return widget;
  };

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
    execute: () => {
      const open = trackers.forms.currentWidget ?? trackers.forms.find(() => true);
      if (open) {
        shell.activateById(open.id);
        return open;
      }
      const formModel = new CreateFormModel({ model, trans });
      let widget: MainAreaWidget<CreateEnvironmentForm> | null = null;
      const content = new CreateEnvironmentForm({
        model: formModel,
        translator,
        onCreated: log => {
          widget?.dispose();
          openLog(log);
        },
        onCancel: () => widget?.dispose()
      });
      widget = new MainAreaWidget({ content });
      widget.id = `jp-HpcEnvs-form-${Date.now()}`;
      widget.title.closable = true;
      void trackers.forms.add(widget);
      shell.add(widget, 'main');
      shell.activateById(widget.id);
      if (!model.site) {
        void model.refresh();
      }
      return widget;
    }
  });

  commands.addCommand(CommandIDs.showLog, {
    label: trans.__('Show Task Log'),
    caption: trans.__('Open the live log of a task of HPC environments'),
    execute: async args => {
      try {
        return openLog(await model.taskLog(stringArg(args, 'task')));
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

  commands.addCommand(CommandIDs.registerKernel, {
    label: trans.__('Register Kernel Again'),
    execute: async args => {
      try {
        const kernels = await model.registerKernels(
          stringArg(args, 'name'),
          optionalArg(args, 'partition')
        );
        Notification.success(trans.__('Kernels registered: %1', kernels.join(', ')), {
          autoClose: 5000
        });
        return kernels;
      } catch (reason) {
        report(reason);
        return null;
      }
    }
  });

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
        const script = (await model.activation(name, partition)).trim();
        const site = model.site;
        const where = site?.partitions.find(p => p.name === partition);
        const lines: string[] = [];
        if (where && !where.local && site?.slurm) {
          // The build only runs on its partition's nodes: open a shell there first.
          lines.push(`srun --partition=${partition} --pty bash -l`);
        }
        lines.push(script);
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

  commands.addCommand(CommandIDs.openNotebook, {
    label: trans.__('New Notebook on Environment'),
    caption: trans.__('Open a new notebook on the kernel of the environment on this partition'),
    execute: async args => {
      const name = stringArg(args, 'name');
      const partition = stringArg(args, 'partition');
      const env = model.environments.find(e => e.name === name);
      const kernel = env?.kernels.find(k => k.partition === partition);
      if (!kernel) {
        report(trans.__('%1 has no kernel on %2.', name, partition));
        return null;
      }
      return commands.execute('notebook:create-new', { kernelName: kernel.name });
    }
  });

  commands.addCommand(CommandIDs.showPackages, {
    label: trans.__('Show Packages of Environment'),
    execute: args => {
      const name = stringArg(args, 'name');
      const partition = stringArg(args, 'partition');
      const open = trackers.packages.find(w => w.content.model.name === name);
      if (open) {
        open.content.model.setPartition(partition);
        shell.activateById(open.id);
        return open;
      }
      const content = new PackagesView({
        model: new PackagesModel({ model, name, partition }),
        commands,
        translator
      });
      const widget = new MainAreaWidget({ content });
      widget.id = `jp-HpcEnvs-packages-${name}`;
      widget.title.closable = true;
      void trackers.packages.add(widget);
      shell.add(widget, 'main');
      shell.activateById(widget.id);
      return widget;
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

  commands.addCommand(CommandIDs.installPackages, {
    label: trans.__('Install Packages'),
    execute: async args => {
      const packages = Array.isArray(args.packages)
        ? args.packages.filter((p): p is string => typeof p === 'string')
        : [];
      try {
        await model.install(
          stringArg(args, 'name'),
          stringArg(args, 'partition'),
          packages,
          args.upgrade === true
        );
        return true;
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

  commands.addCommand(CommandIDs.kernelResources, {
    label: args =>
      args.kernel || args.name ? trans.__('Kernel Resources…') : trans.__('HPC Kernel Resources…'),
    caption: trans.__(
      'Choose the time limit, CPUs, memory, GPUs and account of the Slurm jobs of a kernel'
    ),
    execute: async args => {
      const known = kernelsOf(model);
      let kernel = optionalArg(args, 'kernel');
      if (!kernel && args.name) {
        const name = stringArg(args, 'name');
        const partition = stringArg(args, 'partition');
        kernel = known.find(k => k.name === name && k.partition === partition)?.kernel ?? null;
        if (!kernel) {
          report(trans.__('%1 has no kernel on %2.', name, partition));
          return null;
        }
      }
      if (!kernel) {
        if (!known.length) {
          report(trans.__('There is no kernel of an HPC environment yet.'));
          return null;
        }
        const labels = known.map(k => trans.__('%1 (%2)', k.name, k.partition));
        const picked = await InputDialog.getItem({
          title: trans.__('Resources of which kernel?'),
          items: labels,
          okLabel: trans.__('Choose'),
          cancelLabel: trans.__('Cancel')
        });
        if (!picked.button.accept || picked.value === null) {
          return null;
        }
        kernel = known[labels.indexOf(picked.value)]?.kernel ?? null;
        if (!kernel) {
          return null;
        }
      }
      const where = known.find(k => k.kernel === kernel);
      const resourcesModel = new KernelResourcesModel({ model, kernel, trans });
      void resourcesModel.load();
      const dialog = new KernelResourcesDialog({
        model: resourcesModel,
        title: where
          ? trans.__('Kernel resources of %1 on %2', where.name, where.partition)
          : trans.__('Kernel resources of %1', kernel),
        translator
      });
      try {
        const result = await dialog.launch();
        if (!result.button.accept || !result.value) {
          return null;
        }
        const what = where ? trans.__('%1 (%2)', where.name, where.partition) : kernel;
        Notification.success(
          result.button.label === trans.__('Reset')
            ? trans.__("%1: the site's default resources from the next start.", what)
            : trans.__('%1: resources saved; they apply from the next start.', what),
          { autoClose: 5000 }
        );
        return result.value;
      } finally {
        resourcesModel.dispose();
      }
    }
  });

  commands.addCommand(CommandIDs.cancelKernelJob, {
    label: trans.__('Cancel Kernel Job'),
    caption: trans.__('Cancel the Slurm job of a kernel waiting in the queue'),
    execute: async args => {
      const id = stringArg(args, 'kernel_id');
      const job = model.kernelJobs.find(j => j.kernel_id === id);
      const what = job ? trans.__('%1 (%2)', job.env || job.job_name, job.partition) : id;
      const result = await showDialog({
        title: trans.__('Cancel the kernel job of %1?', what),
        body: trans.__(
          'Slurm cancels job %1 (scancel), and the start of the kernel fails: start it again to queue a new job.',
          job?.job_id || job?.job_name || id
        ),
        buttons: [
          Dialog.cancelButton({ label: trans.__('Keep waiting') }),
          Dialog.warnButton({ label: trans.__('Cancel job') })
        ],
        defaultButton: 0
      });
      if (!result.button.accept) {
        return false;
      }
      try {
        await model.cancelKernelJob(id);
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
