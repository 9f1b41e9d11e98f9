/**
 * The commands on runs (notebooks run as Slurm batch jobs): the "Run as Slurm job…" dialog (on
 * the notebook toolbar, the file browser's context menu for notebooks and the palette), opening
 * a run's output, log or script, cancelling and running again, and a notification when a run
 * ends. The toolbar button and the context menu item are declared in `schema/plugin.json`.
 */
import { JupyterFrontEnd } from '@jupyterlab/application';
import {
  Dialog,
  ICommandPalette,
  MainAreaWidget,
  Notification,
  showDialog
} from '@jupyterlab/apputils';
import { PathExt } from '@jupyterlab/coreutils';
import { IDefaultFileBrowser } from '@jupyterlab/filebrowser';
import { TranslationBundle } from '@jupyterlab/translation';
import { ReadonlyPartialJSONObject } from '@lumino/coreutils';
import { Widget } from '@lumino/widgets';

import { errorMessage, Run, RunFile } from '../api';
import { hpcEnvsIcon } from '../icons';
import { IRunKernel, RunFormModel } from '../runformmodel';
import { failureText, RunsModel } from '../runsmodel';
import { IHpcEnvsModel, RunCommandIDs } from '../tokens';
import { RunDialog } from '../widgets/rundialog';
import { RunFileView } from '../widgets/runs';

/**
 * What the commands on runs are added with.
 */
export interface IRunsCommandsOptions {
  app: JupyterFrontEnd;
  model: IHpcEnvsModel;
  runs: RunsModel;
  trans: TranslationBundle;
  browser: IDefaultFileBrowser | null;
  palette: ICommandPalette | null;
}

/**
 * The kernels of our environments, as the dialog offers them.
 *
 * @param model - The extension's model.
 * @returns The kernels.
 */
function ourKernels(model: IHpcEnvsModel): IRunKernel[] {
  return model.environments.flatMap(env =>
    env.kernels.map(k => ({ kernel: k.name, env: env.name, partition: k.partition ?? '' }))
  );
}

/**
 * The notebook a submission is about and its kernel: the `path` argument, else the current
 * notebook (its session's kernel), else the file browser's selected notebook (first when the
 * command comes from the file browser's context menu: `{source: 'filebrowser'}`).
 */
function target(
  app: JupyterFrontEnd,
  browser: IDefaultFileBrowser | null,
  args: ReadonlyPartialJSONObject
): { path: string; kernel: string; widget: Widget | null } | null {
  const current = app.shell.currentWidget as
    | (Widget & {
        context?: { path: string };
        sessionContext?: {
          kernelPreference?: { name?: string };
          session?: { kernel?: { name: string } | null } | null;
        };
      })
    | null;
  const isCurrent = current?.context?.path.endsWith('.ipynb') ?? false;
  if (typeof args.path === 'string' && args.path) {
    const same = isCurrent && current?.context?.path === args.path;
    return {
      path: args.path,
      kernel: same ? kernelOf(current) : '',
      widget: same ? current : null
    };
  }
  if (isCurrent && current?.context && args.source !== 'filebrowser') {
    return { path: current.context.path, kernel: kernelOf(current), widget: current };
  }
  const selected = browser?.selectedItems().next();
  const item = selected && !selected.done ? selected.value : null;
  return item?.path.endsWith('.ipynb') ? { path: item.path, kernel: '', widget: null } : null;
}

function kernelOf(
  widget: {
    sessionContext?: {
      kernelPreference?: { name?: string };
      session?: { kernel?: { name: string } | null } | null;
    };
  } | null
): string {
  const context = widget?.sessionContext;
  return context?.session?.kernel?.name ?? context?.kernelPreference?.name ?? '';
}

/**
 * The kernel a notebook file names in its metadata (for a notebook not open).
 */
async function savedKernel(app: JupyterFrontEnd, path: string): Promise<string> {
  try {
    const model = await app.serviceManager.contents.get(path, { content: true, type: 'notebook' });
    const spec = (model.content as { metadata?: { kernelspec?: { name?: string } } }).metadata
      ?.kernelspec;
    return spec?.name ?? '';
  } catch {
    return '';
  }
}

/**
 * Add the commands on runs and the notification of runs that end.
 *
 * @param options - The application, the models, the translations, the file browser, the palette.
 */
export function addRunsCommands(options: IRunsCommandsOptions): void {
  const { app, model, runs, trans, browser, palette } = options;
  const { commands } = app;
  const report = (reason: unknown): void => {
    Notification.error(errorMessage(reason), { autoClose: 10000 });
  };
  const find = (args: ReadonlyPartialJSONObject): Run | null => {
    const run = runs.runs.find(r => r.id === args.id) ?? null;
    if (!run) {
      report(trans.__('There is no run %1 (refresh the panel).', String(args.id)));
    }
    return run;
  };

  commands.addCommand(RunCommandIDs.submit, {
    label: trans.__('Run as Slurm Job…'),
    caption: trans.__(
      'Run the notebook as a Slurm batch job in its kernel’s environment, with parameters or a sweep'
    ),
    icon: args => (args.toolbar ? hpcEnvsIcon : undefined),
    execute: async args => {
      const found = target(app, browser, args);
      if (!found) {
        report(trans.__('Open or select a notebook (.ipynb) to run as a Slurm job.'));
        return null;
      }
      if (
        found.widget &&
        (found.widget as { context?: { model?: { dirty?: boolean } } }).context?.model?.dirty
      ) {
        await commands.execute('docmanager:save');
      }
      const form = new RunFormModel({
        notebook: found.path,
        kernels: ourKernels(model),
        kernel: found.kernel || (await savedKernel(app, found.path)),
        runs,
        serverSettings: app.serviceManager.serverSettings,
        trans
      });
      if (form.kernel) {
        void form.chooseKernel(form.kernel);
      }
      const result = await new RunDialog(form, trans).launch();
      const run = result.button.accept ? result.value : null;
      if (run) {
        Notification.info(trans.__('Submitted %1 as Slurm job %2.', found.path, run.job_id), {
          autoClose: 5000
        });
        await commands.execute('hpc-envs:open-panel').catch(() => undefined);
      }
      return run ? run.id : null;
    }
  });

  commands.addCommand(RunCommandIDs.openOutput, {
    label: trans.__('Open Output Notebook'),
    execute: async args => {
      const run = find(args);
      const task = typeof args.task === 'number' ? run?.tasks?.[args.task] : null;
      const path = task ? task.output_path : run?.output_path;
      if (!run) {
        return null;
      }
      if (!path) {
        report(trans.__('%1 is outside the server’s folder: open it from a terminal.', run.output));
        return null;
      }
      return commands.execute('docmanager:open', { path });
    }
  });

  const showFile = async (
    run: Run,
    which: 'script' | 'log',
    task: number | null
  ): Promise<void> => {
    const file = await runs.readFile(run.id, which, task);
    const save =
      which === 'script' && run.notebook_path !== null
        ? () => void saveScript(run, file)
        : undefined;
    const view = new RunFileView({ file, trans, save });
    const widget = new MainAreaWidget({ content: view });
    widget.id = `hpc-envs-run-${which}-${run.id}${task === null ? '' : `-${task}`}`;
    widget.title.label =
      which === 'script'
        ? trans.__('Script of %1', PathExt.basename(run.output))
        : trans.__('Log of %1', PathExt.basename(run.output));
    widget.title.icon = hpcEnvsIcon;
    for (const open of app.shell.widgets('main')) {
      if (open.id === widget.id) {
        open.dispose();
      }
    }
    app.shell.add(widget, 'main');
    app.shell.activateById(widget.id);
  };

  const saveScript = async (run: Run, file: RunFile): Promise<void> => {
    const folder = PathExt.dirname(run.notebook_path ?? '');
    const stem = PathExt.basename(run.output, '.ipynb');
    const path = PathExt.join(folder, `${stem}.sbatch`);
    try {
      await app.serviceManager.contents.save(path, {
        type: 'file',
        format: 'text',
        content: file.text
      });
      Notification.success(
        trans.__('Saved %1: submit it with sbatch %2', path, PathExt.basename(path)),
        {
          autoClose: 8000
        }
      );
    } catch (reason) {
      report(reason);
    }
  };

  commands.addCommand(RunCommandIDs.showLog, {
    label: trans.__('Show the Job’s Log'),
    execute: async args => {
      const run = find(args);
      if (run) {
        const task = typeof args.task === 'number' ? args.task : run.tasks ? 0 : null;
        await showFile(run, 'log', task).catch(report);
      }
    }
  });

  commands.addCommand(RunCommandIDs.showScript, {
    label: trans.__('Show the Generated sbatch Script'),
    execute: async args => {
      const run = find(args);
      if (run) {
        await showFile(run, 'script', null).catch(report);
      }
    }
  });

  commands.addCommand(RunCommandIDs.cancel, {
    label: trans.__('Cancel the Run'),
    execute: async args => {
      const run = find(args);
      if (!run) {
        return null;
      }
      const answer = await showDialog({
        title: trans.__('Cancel the run?'),
        body: trans.__(
          'Slurm job %1 (%2) is cancelled; its output notebook keeps what ran.',
          run.job_id,
          PathExt.basename(run.notebook)
        ),
        buttons: [
          Dialog.cancelButton({ label: trans.__('Keep it') }),
          Dialog.warnButton({ label: trans.__('Cancel the run') })
        ]
      });
      if (!answer.button.accept) {
        return null;
      }
      return runs.cancel(run.id).then(r => r.state, report);
    }
  });

  commands.addCommand(RunCommandIDs.again, {
    label: trans.__('Run Again'),
    execute: async args => {
      const run = find(args);
      return run ? runs.again(run.id).then(r => r.id, report) : null;
    }
  });

  palette?.addItem({ command: RunCommandIDs.submit, category: trans.__('HPC Environments') });

  runs.ended.connect((_, run) => notifyEnded(app, run, trans));
}

/**
 * Tell the user a run ended: success with "Open output", or failure naming the cell and its
 * error with "Open output" and "Log".
 *
 * @param app - The application (its commands).
 * @param run - The run that ended.
 * @param trans - The translations.
 */
export function notifyEnded(app: JupyterFrontEnd, run: Run, trans: TranslationBundle): void {
  const name = PathExt.basename(run.notebook);
  const open = {
    label: trans.__('Open output'),
    callback: () => void app.commands.execute(RunCommandIDs.openOutput, { id: run.id })
  };
  const log = {
    label: trans.__('Log'),
    callback: () => void app.commands.execute(RunCommandIDs.showLog, { id: run.id })
  };
  const outputs = !run.tasks && run.output_path ? [open] : [];
  if (run.state === 'SUCCEEDED') {
    Notification.success(trans.__('The run of %1 finished.', name), {
      autoClose: 10000,
      actions: outputs
    });
  } else {
    Notification.error(trans.__('The run of %1 failed: %2', name, failureText(run, trans)), {
      autoClose: false,
      actions: [...outputs, log]
    });
  }
}
