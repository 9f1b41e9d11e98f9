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
 * The notebooks (their session contexts) that use a kernel, and its kernelspec: remembered while
 * the kernel runs, since the server drops a session whose kernel died.
 */
interface IKernelUsers {
  contexts: Set<ISessionContext>;
  kernelName: string;
}

/**
 * Remember that a session context uses its current kernel.
 *
 * @param users - The record, by kernel id.
 * @param context - A session context.
 */
function remember(users: Map<string, IKernelUsers>, context: ISessionContext): void {
  const kernel = context.session?.kernel;
  if (!kernel) {
    return;
  }
  const entry = users.get(kernel.id) ?? { contexts: new Set(), kernelName: kernel.name };
  entry.contexts.add(context);
  users.set(kernel.id, entry);
}

/**
 * Remember who uses the kernels of the running kernel jobs.
 *
 * @param app - The application.
 * @param jobs - The kernel jobs.
 * @param users - The record, by kernel id.
 */
function rememberUsers(
  app: JupyterFrontEnd,
  jobs: readonly KernelJob[],
  users: Map<string, IKernelUsers>
): void {
  for (const job of jobs.filter(j => j.state === 'RUNNING')) {
    for (const widget of widgetsOf(app, job.kernel_id)) {
      remember(users, widget.sessionContext!);
    }
  }
}

/**
 * Say that a kernel's job reached its time limit; offer to restart it with a longer limit (the
 * kernel resources dialog, within the site's limits, then a new kernel for its notebooks).
 */
function timedOut(
  app: JupyterFrontEnd,
  trans: TranslationBundle,
  job: KernelJob,
  users: IKernelUsers | undefined
): void {
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
          callback: () => void restartLonger(app, job, users)
        }
      ]
    }
  );
}

/**
 * The kernel resources dialog of the job's kernel; when a choice was saved, start a kernel of the
 * same kernelspec for the notebooks that used it. Their sessions, whose kernel Slurm ended, are
 * shut down first (the server may have dropped them already), so that a new session starts.
 */
async function restartLonger(
  app: JupyterFrontEnd,
  job: KernelJob,
  users: IKernelUsers | undefined
): Promise<void> {
  const chosen = await app.commands.execute(CommandIDs.kernelResources, {
    name: job.env,
    partition: job.partition
  });
  if (!chosen || !users?.kernelName) {
    return;
  }
  const sessions = app.serviceManager.sessions;
  for (const context of users.contexts) {
    if (context.isDisposed) {
      continue; // the notebook was closed
    }
    const session = context.session;
    if (session && (!session.kernel || session.kernel.id === job.kernel_id)) {
      // Its kernel is dead; the server drops such a session when it is next asked for it, which may
      // be during a kernel change (a 404 then). Let it go first, whether the server still has it or not.
      await sessions.shutdown(session.id).catch(reason => {
        console.debug(`jupyterlab-hpc-envs: session ${session.id} already gone`, reason);
      });
      if (!session.isDisposed) {
        session.dispose();
      }
    }
    await context.changeKernel({ name: users.kernelName });
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
    const users = new Map<string, IKernelUsers>();
    model.kernelJobsChanged.connect((_, jobs) => rememberUsers(app, jobs, users));
    const watcher = new WalltimeWatcher({
      model,
      onWarn: (job, left) => {
        rememberUsers(app, [job], users);
        void warn(app, trans, job, left);
      },
      onTimeout: job => timedOut(app, trans, job, users.get(job.kernel_id))
    });
    const status = new WalltimeStatus({ model, trans, warnMinutes: DEFAULT_WARN_MINUTES });
    statusBar?.registerStatusItem('jupyterlab-hpc-envs:walltime', {
      item: status,
      align: 'left',
      rank: 4,
      isActive: () => status.isActive,
      activeStateChanged: status.activeChanged
    });
    const followed = new WeakSet<ISessionContext>();
    const follow = (widget: Widget | null): void => {
      const context = (widget as ISessionWidget | null)?.sessionContext ?? null;
      status.follow(context);
      if (context?.kernelChanged && !followed.has(context)) {
        followed.add(context);
        remember(users, context);
        context.kernelChanged.connect(() => remember(users, context));
      }
    };
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
