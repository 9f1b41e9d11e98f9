/**
 * The plugins of jupyterlab-hpc-envs: wiring only (model, side panel, views, commands, launcher,
 * notifications, settings).
 */
import { ILayoutRestorer, JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';
import {
  ICommandPalette,
  ISessionContext,
  MainAreaWidget,
  WidgetTracker
} from '@jupyterlab/apputils';
import { IDefaultFileBrowser } from '@jupyterlab/filebrowser';
import { ILauncher } from '@jupyterlab/launcher';
import { ISettingRegistry } from '@jupyterlab/settingregistry';
import { ITranslator, nullTranslator } from '@jupyterlab/translation';
import { Widget } from '@lumino/widgets';

import { addCommands, CommandIDs, IHpcEnvsTrackers } from './commands';
import { addRunsCommands } from './commands/runs';
import { KernelDiagnosisWatcher } from './diagnosis';
import { DEFAULT_REFRESH_INTERVAL, HpcEnvsModel } from './model';
import { recreatePlugin } from './recreate';
import { KernelJobNotifier, TaskNotifier } from './notifications';
import { RunsModel } from './runsmodel';
import { IHpcEnvsModel, PLUGIN_ID } from './tokens';
import { CreateEnvironmentForm } from './widgets/form';
import { PackagesView } from './widgets/packages';
import { HpcEnvsPanel } from './widgets/panel';
import { TaskLogView } from './widgets/tasklog';
import { walltimePlugin } from './walltimeplugin';

export * from './tokens';
export { CommandIDs } from './commands';

/**
 * The model of the extension, with its settings.
 */
const modelPlugin: JupyterFrontEndPlugin<IHpcEnvsModel> = {
  id: PLUGIN_ID,
  description: 'The state of HPC environments, refreshed from the server extension.',
  autoStart: true,
  provides: IHpcEnvsModel,
  optional: [ISettingRegistry],
  activate: (app: JupyterFrontEnd, settingRegistry: ISettingRegistry | null): IHpcEnvsModel => {
    const model = new HpcEnvsModel({
      serverSettings: app.serviceManager.serverSettings,
      kernelSpecs: app.serviceManager.kernelspecs
    });

    if (!settingRegistry) {
      model.refreshInterval = DEFAULT_REFRESH_INTERVAL;
      return model;
    }
    settingRegistry
      .load(PLUGIN_ID)
      .then(settings => {
        const apply = (): void => {
          model.defaultPartition = settings.get('defaultPartition').composite as string;
          model.defaultStorageRoot = settings.get('defaultStorageRoot').composite as string;
          model.refreshInterval = settings.get('refreshInterval').composite as number;
        };
        apply();
        settings.changed.connect(apply);
      })
      .catch(reason => {
        console.error(`${PLUGIN_ID}: cannot load settings, using defaults`, reason);
        model.refreshInterval = DEFAULT_REFRESH_INTERVAL;
      });
    return model;
  }
};

/**
 * The left side panel "HPC environments", the views, the commands, the launcher item and the
 * task notifications.
 */
const panelPlugin: JupyterFrontEndPlugin<void> = {
  id: 'jupyterlab-hpc-envs:panel',
  description: 'The HPC environments side panel, creation form, logs and packages views.',
  autoStart: true,
  requires: [IHpcEnvsModel],
  optional: [ILayoutRestorer, ICommandPalette, ILauncher, ITranslator, IDefaultFileBrowser],
  activate: (
    app: JupyterFrontEnd,
    model: IHpcEnvsModel,
    restorer: ILayoutRestorer | null,
    palette: ICommandPalette | null,
    launcher: ILauncher | null,
    translator: ITranslator | null,
    browser: IDefaultFileBrowser | null
  ): void => {
    translator = translator ?? nullTranslator;
    const trans = translator.load('jupyterlab_hpc_envs');

    const trackers: IHpcEnvsTrackers = {
      forms: new WidgetTracker<MainAreaWidget<CreateEnvironmentForm>>({
        namespace: 'hpc-envs-form'
      }),
      logs: new WidgetTracker<MainAreaWidget<TaskLogView>>({ namespace: 'hpc-envs-log' }),
      packages: new WidgetTracker<MainAreaWidget<PackagesView>>({
        namespace: 'hpc-envs-packages'
      })
    };
    addCommands({ app, model, translator, trackers });
    const runs = new RunsModel({ serverSettings: app.serviceManager.serverSettings });
    addRunsCommands({ app, model, runs, trans, browser, palette });

    const panel = new HpcEnvsPanel({
      model,
      commands: app.commands,
      sessions: app.serviceManager.sessions,
      runs,
      translator
    });
    app.shell.add(panel, 'left', { rank: 850 });

    new TaskNotifier({
      model,
      trans,
      showLog: task => void app.commands.execute(CommandIDs.showLog, { task }),
      editAndRetry: task =>
        void app.commands.execute(CommandIDs.editEnvironment, {
          name: task.env,
          partition: task.partition
        })
    });
    new KernelJobNotifier({
      model,
      trans,
      cancel: kernelId =>
        void app.commands.execute(CommandIDs.cancelKernelJob, { kernel_id: kernelId })
    });
    followKernelStarts(app, model);
    new KernelDiagnosisWatcher(app.commands, trans);

    if (restorer) {
      restorer.add(panel, 'hpc-envs-panel');
      void restorer.restore(trackers.forms, {
        command: CommandIDs.createEnvironment,
        name: () => 'form'
      });
      void restorer.restore(trackers.logs, {
        command: CommandIDs.showLog,
        args: widget => ({ task: widget.content.log.task.id }),
        name: widget => widget.content.log.task.id
      });
      void restorer.restore(trackers.packages, {
        command: CommandIDs.showPackages,
        args: widget => ({
          name: widget.content.model.name,
          partition: widget.content.model.partition
        }),
        name: widget => widget.content.model.name
      });
    }

    launcher?.add({ command: CommandIDs.createEnvironment, category: trans.__('Other'), rank: 5 });

    const category = trans.__('HPC Environments');
    for (const command of [
      CommandIDs.createEnvironment,
      CommandIDs.openPanel,
      CommandIDs.refresh,
      CommandIDs.kernelResources
    ]) {
      palette?.addItem({ command, category });
    }
  }
};

/**
 * Keep the model's kernel jobs in step with the kernels of the application: a kernel start (from
 * a notebook, a console… that becomes the current widget) makes the model follow the kernel jobs
 * closely, so that a start waiting in the Slurm queue is shown within seconds; a kernel or session
 * started or shut down makes it ask again once.
 *
 * @param app - The application.
 * @param model - The model.
 */
function followKernelStarts(app: JupyterFrontEnd, model: IHpcEnvsModel): void {
  const seen = new WeakSet<ISessionContext>();
  const follow = (widget: Widget | null): void => {
    // Notebook and console panels (and other session widgets) have a `sessionContext`.
    const context = (widget as { sessionContext?: ISessionContext } | null)?.sessionContext;
    if (!context?.statusChanged || seen.has(context)) {
      return;
    }
    seen.add(context);
    context.statusChanged.connect((_, status) => {
      if (status === 'starting' || status === 'restarting') {
        model.watchKernelJobs();
      }
    });
    if (['initializing', 'starting', 'restarting'].includes(context.kernelDisplayStatus)) {
      model.watchKernelJobs();
    }
  };
  app.shell.currentChanged?.connect((_, change) => follow(change.newValue));
  follow(app.shell.currentWidget);
  const changed = (): void => void model.refreshKernelJobs();
  app.serviceManager.kernels.runningChanged.connect(changed);
  app.serviceManager.sessions.runningChanged.connect(changed);
}

const plugins: JupyterFrontEndPlugin<unknown>[] = [
  modelPlugin,
  panelPlugin,
  recreatePlugin,
  walltimePlugin
];

export default plugins;
