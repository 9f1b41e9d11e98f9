/**
 * The extension's commands.
 */
import { JupyterFrontEnd } from '@jupyterlab/application';
import { TranslationBundle } from '@jupyterlab/translation';

import { hpcEnvsIcon } from './icons';
import { IHpcEnvsModel } from './tokens';
import { PANEL_ID } from './widgets/panel';

/**
 * The ids of the extension's commands, `hpc-envs:verb-noun`.
 */
export namespace CommandIDs {
  /**
   * Open (activate) the side panel.
   */
  export const openPanel = 'hpc-envs:open-panel';

  /**
   * Ask the server again now.
   */
  export const refresh = 'hpc-envs:refresh';
}

/**
 * Add the extension's commands to the application.
 *
 * @param app - The application.
 * @param model - The model the commands act on.
 * @param trans - The translation bundle of the labels.
 */
export function addCommands(
  app: JupyterFrontEnd,
  model: IHpcEnvsModel,
  trans: TranslationBundle
): void {
  app.commands.addCommand(CommandIDs.openPanel, {
    label: trans.__('Open HPC Environments Panel'),
    caption: trans.__('Show the HPC environments side panel'),
    icon: hpcEnvsIcon,
    execute: () => {
      app.shell.activateById(PANEL_ID);
    }
  });

  app.commands.addCommand(CommandIDs.refresh, {
    label: trans.__('Refresh HPC Environments'),
    caption: trans.__('Ask the server for the current state of HPC environments'),
    execute: () => model.refresh()
  });
}
