/**
 * The plugins of jupyterlab-hpc-envs: wiring only (model, side panel, commands, settings).
 */
import { ILayoutRestorer, JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';
import { ICommandPalette } from '@jupyterlab/apputils';
import { ISettingRegistry } from '@jupyterlab/settingregistry';
import { ITranslator, nullTranslator } from '@jupyterlab/translation';

import { addCommands, CommandIDs } from './commands';
import { DEFAULT_REFRESH_INTERVAL, HpcEnvsModel } from './model';
import { IHpcEnvsModel, PLUGIN_ID } from './tokens';
import { HpcEnvsPanel } from './widgets/panel';

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
    const model = new HpcEnvsModel({ serverSettings: app.serviceManager.serverSettings });

    if (!settingRegistry) {
      model.refreshInterval = DEFAULT_REFRESH_INTERVAL;
      return model;
    }
    settingRegistry
      .load(PLUGIN_ID)
      .then(settings => {
        const apply = (): void => {
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
 * The left side panel "HPC environments" and its commands.
 */
const panelPlugin: JupyterFrontEndPlugin<void> = {
  id: 'jupyterlab-hpc-envs:panel',
  description: 'The HPC environments side panel.',
  autoStart: true,
  requires: [IHpcEnvsModel],
  optional: [ILayoutRestorer, ICommandPalette, ITranslator],
  activate: (
    app: JupyterFrontEnd,
    model: IHpcEnvsModel,
    restorer: ILayoutRestorer | null,
    palette: ICommandPalette | null,
    translator: ITranslator | null
  ): void => {
    translator = translator ?? nullTranslator;
    const trans = translator.load('jupyterlab_hpc_envs');

    const panel = new HpcEnvsPanel({ model, translator });
    app.shell.add(panel, 'left', { rank: 850 });
    restorer?.add(panel, 'hpc-envs-panel');

    addCommands(app, model, trans);
    const category = trans.__('HPC Environments');
    palette?.addItem({ command: CommandIDs.openPanel, category });
    palette?.addItem({ command: CommandIDs.refresh, category });
  }
};

const plugins: JupyterFrontEndPlugin<unknown>[] = [modelPlugin, panelPlugin];

export default plugins;
