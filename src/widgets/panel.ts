/**
 * The left side panel "HPC environments". It renders the model and never calls the server.
 */
import { ITranslator, nullTranslator, TranslationBundle } from '@jupyterlab/translation';
import { Widget } from '@lumino/widgets';

import { hpcEnvsIcon } from '../icons';
import { IHpcEnvsModel } from '../tokens';

/**
 * The side panel's DOM id (also used by the layout restorer and in UI tests).
 */
export const PANEL_ID = 'jp-HpcEnvs-panel';

/**
 * The side panel of the extension.
 */
export class HpcEnvsPanel extends Widget {
  /**
   * Create the panel.
   *
   * @param options - The model to render and the translator of the UI strings.
   */
  constructor(options: HpcEnvsPanel.IOptions) {
    super();
    this._model = options.model;
    this._trans = (options.translator ?? nullTranslator).load('jupyterlab_hpc_envs');

    this.id = PANEL_ID;
    this.addClass('jp-HpcEnvs-panel');
    this.title.icon = hpcEnvsIcon;
    this.title.caption = this._trans.__('HPC environments');

    const header = document.createElement('header');
    header.className = 'jp-HpcEnvs-header';
    header.textContent = this._trans.__('HPC environments');

    this._version = document.createElement('div');
    this._version.className = 'jp-HpcEnvs-version';

    this._error = document.createElement('div');
    this._error.className = 'jp-HpcEnvs-error';
    this._error.setAttribute('role', 'alert');

    this.node.append(header, this._version, this._error);

    this._model.stateChanged.connect(this._onChange, this);
    this._render();
  }

  /**
   * The model the panel renders.
   */
  get model(): IHpcEnvsModel {
    return this._model;
  }

  override dispose(): void {
    if (this.isDisposed) {
      return;
    }
    this._model.stateChanged.disconnect(this._onChange, this);
    super.dispose();
  }

  private _onChange(): void {
    this._render();
  }

  private _render(): void {
    const { info, error, isLoading } = this._model;
    this.toggleClass('jp-mod-loading', isLoading);
    this.toggleClass('jp-mod-error', error !== null);

    if (info) {
      this._version.textContent = `${info.name} ${info.version}`;
    } else {
      this._version.textContent = isLoading ? this._trans.__('Connecting to the server…') : '';
    }

    this._error.hidden = error === null;
    this._error.textContent =
      error === null ? '' : this._trans.__('The server extension did not answer: %1', error);
  }

  private _model: IHpcEnvsModel;
  private _trans: TranslationBundle;
  private _version: HTMLElement;
  private _error: HTMLElement;
}

/**
 * The namespace of {@link HpcEnvsPanel}'s types.
 */
export namespace HpcEnvsPanel {
  /**
   * The options of the panel's constructor.
   */
  export interface IOptions {
    /**
     * The model to render.
     */
    model: IHpcEnvsModel;

    /**
     * The translator of the UI strings.
     */
    translator?: ITranslator;
  }
}
