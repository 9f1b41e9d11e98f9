/**
 * The walltime of Slurm kernels in JupyterLab: the status bar countdown, the warning before the
 * end (which saves the notebooks using the kernel), and the offer to restart with a longer limit
 * once the job reached its time limit.
 */
import { JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';
import { ISessionContext, Notification } from '@jupyterlab/apputils';
import { PathExt } from '@jupyterlab/coreutils';
import { ISettingRegistry } from '@jupyterlab/settingregistry';
import { IStatusBar } from '@jupyterlab/statusbar';
import { ITranslator, nullTranslator, TranslationBundle } from '@jupyterlab/translation';
import { Widget } from '@lumino/widgets';

import { KernelJob } from './api';
import { CommandIDs, IHpcEnvsModel, PLUGIN_ID } from './tokens';
import { DEFAULT_WARN_MINUTES, formatLimit, formatRemaining, WalltimeWatcher } from './walltime';
import { WalltimeStatus } from './widgets/walltime';

/**
 * A widget of the main area with a session (a notebook, a console) and maybe a document.
 */
interface ISessionWidget {
  sessionContext?: ISessionContext;
  context?: { path: string; save(): Promise<void> };
}

/**
 * The widgets of the main area whose session uses a kernel.
 *
 * @param app - The application.
 * @param kernelId - The kernel's id.
 * @returns The widgets.
 */
function widgetsOf(app: JupyterFrontEnd, kernelId: string): ISessionWidget[] {
  const found: ISessionWidget[] = [];
  for (const widget of app.shell.widgets('main')) {
    const candidate = widget as Widget & ISessionWidget;
    if (candidate.sessionContext?.session?.kernel?.id === kernelId) {
      found.push(candidate);
    }
  }
  return found;
}

/**
 * Save the documents (notebooks) whose session uses a kernel.
 *
 * @param app - The application.
 * @param kernelId - The kernel's id.
 * @returns The paths saved.
 */
export async function saveDocumentsOf(app: JupyterFrontEnd, kernelId: string): Promise<string[]> {
  const saved: string[] = [];
  for (const widget of widgetsOf(app, kernelId)) {
    if (widget.context) {
      try {
        await widget.context.save();
        saved.push(widget.context.path);
      } catch (reason) {
        console.warn(`jupyterlab-hpc-envs: cannot save ${widget.context.path}`, reason);
      }
    }
  }
  return saved;
}

/**
 * Warn that a kernel's job ends soon, after saving the notebooks that use it.
 */
async function warn(
  app: JupyterFrontEnd,
  trans: TranslationBundle,
  job: KernelJob,
  secondsLeft: number
): Promise<void> {
  const saved = await saveDocumentsOf(app, job.kernel_id);
  // A toast shows the first 140 characters: what matters comes first, the notebooks by name.
  const ends = trans.__(
    "%1 (%2): Slurm ends the kernel's job in %3 (its time limit).",
    job.env,
    job.partition,
    formatRemaining(secondsLeft)
  );
  const what = saved.length
    ? trans.__('Saved %1.', saved.map(path => PathExt.basename(path)).join(', '))
    : trans.__('No open notebook uses it: nothing was saved.');
  Notification.warning(`${ends} ${what}`, { autoClose: false, data: { walltime: 'warning' } });
}

/**
 * Say that a kernel's job reached its time limit; offer to restart it with a longer limit (the
 * kernel resources dialog, within the site's limits, then a restart of the kernel).
 */
function timedOut(app: JupyterFrontEnd, trans: TranslationBundle, job: KernelJob): void {
  const limit = job.time_limit !== null ? formatLimit(job.time_limit, trans) : '?';
  Notification.error(
    trans.__(
      "%1 (%2): the kernel's Slurm job reached its time limit (%3): Slurm ended the kernel.",
      job.env,
      job.partition,
      limit
    ),
    {
      autoClose: false,
      data: { walltime: 'timeout' },
      actions: [
        {
          label: trans.__('Restart with a longer limit'),
          caption: trans.__('Choose a longer time limit, then restart the kernel'),
          callback: () => void restartLonger(app, job)
        }
      ]
    }
  );
}

/**
 * The kernel resources dialog of the job's kernel; when a choice was saved, start the kernel
 * again for the widgets that used it (a new kernel of the same kernelspec: the server let go of
 * the one Slurm ended).
 */
async function restartLonger(app: JupyterFrontEnd, job: KernelJob): Promise<void> {
  const chosen = await app.commands.execute(CommandIDs.kernelResources, {
    name: job.env,
    partition: job.partition
  });
  if (!chosen) {
    return;
  }
  const contexts = new Set(widgetsOf(app, job.kernel_id).map(w => w.sessionContext));
  for (const context of contexts) {
    const name = context?.session?.kernel?.name;
    if (context && name) {
      await context.changeKernel({ name });
    }
  }
}

/**
 * The walltime of Slurm kernels: status bar item, warning and time-limit message.
 */
export const walltimePlugin: JupyterFrontEndPlugin<void> = {
  id: 'jupyterlab-hpc-envs:walltime',
  description: 'The walltime left of kernels running as Slurm jobs, a warning before the end.',
  autoStart: true,
  requires: [IHpcEnvsModel],
  optional: [IStatusBar, ISettingRegistry, ITranslator],
  activate: (
    app: JupyterFrontEnd,
    model: IHpcEnvsModel,
    statusBar: IStatusBar | null,
    settingRegistry: ISettingRegistry | null,
    translator: ITranslator | null
  ): void => {
    const trans = (translator ?? nullTranslator).load('jupyterlab_hpc_envs');
    const watcher = new WalltimeWatcher({
      model,
      onWarn: (job, left) => void warn(app, trans, job, left),
      onTimeout: job => timedOut(app, trans, job)
    });
    const status = new WalltimeStatus({ model, trans, warnMinutes: DEFAULT_WARN_MINUTES });
    statusBar?.registerStatusItem('jupyterlab-hpc-envs:walltime', {
      item: status,
      align: 'left',
      rank: 4,
      isActive: () => status.isActive,
      activeStateChanged: status.activeChanged
    });
    const follow = (widget: Widget | null): void =>
      status.follow((widget as ISessionWidget | null)?.sessionContext ?? null);
    app.shell.currentChanged?.connect((_, change) => follow(change.newValue));
    follow(app.shell.currentWidget);
    settingRegistry
      ?.load(PLUGIN_ID)
      .then(settings => {
        const apply = (): void => {
          const minutes = settings.get('walltimeWarning').composite as number;
          watcher.warnMinutes = minutes;
          status.warnMinutes = minutes;
        };
        apply();
        settings.changed.connect(apply);
      })
      .catch(reason => console.error(`${PLUGIN_ID}: cannot load settings`, reason));
  }
};
