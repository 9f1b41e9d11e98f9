/**
 * The commands on kernels: registration, a notebook on one, a kernel's Slurm resources and cancelling its queued job.
 */
import { Dialog, InputDialog, Notification, showDialog } from '@jupyterlab/apputils';

import { KernelResourcesModel } from '../resourcesmodel';
import { CommandIDs, IHpcEnvsModel } from '../tokens';
import { KernelResourcesDialog } from '../widgets/resources';
import { ICommandContext, optionalArg, stringArg } from './context';

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
 * Add the commands on kernels.
 *
 * @param ctx - The application, the model, the translator, the trackers and the error report.
 */
export function addKernelsCommands(ctx: ICommandContext): void {
  const { commands, model, trans, translator, report } = ctx;

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
      const terminal = job?.kind === 'terminal';
      const result = await showDialog({
        title: terminal
          ? trans.__('Cancel the terminal job of %1?', what)
          : trans.__('Cancel the kernel job of %1?', what),
        body: terminal
          ? trans.__(
              "Slurm cancels job %1 (scancel): the terminal's shell on the partition ends.",
              job?.job_id || id
            )
          : trans.__(
              'Slurm cancels job %1 (scancel), and the start of the kernel fails: start it again to queue a new job.',
              job?.job_id || job?.job_name || id
            ),
        buttons: [
          Dialog.cancelButton({ label: terminal ? trans.__('Keep it') : trans.__('Keep waiting') }),
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
}
