/**
 * The plugin that offers, when a notebook is opened whose kernel does not exist here but which
 * carries its environment (`metadata.hpc_envs`, written by the server's pre-save hook), to
 * recreate that environment instead of JupyterLab's bare kernel picker; after the build the
 * notebook is switched to the new kernel.
 *
 * JupyterLab's document context, once the notebook is loaded (`context.ready`), sets the session's
 * kernel preference to the notebook's kernel and initializes the session; a kernel name it does not
 * know ends in the "Select Kernel" dialog. The notebook widget factory's `widgetCreated` is
 * connected before the context loads, and on `context.ready` (before the session starts) the
 * preference of such a notebook is set to start nothing, so that our dialog comes instead; "Choose
 * a kernel" gives JupyterLab's picker back.
 */
import { JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';
import {
  Dialog,
  ISessionContext,
  Notification,
  SessionContextDialogs,
  showDialog
} from '@jupyterlab/apputils';
import { ITranslator, nullTranslator, TranslationBundle } from '@jupyterlab/translation';

import { errorMessage } from './api';
import { missingEnvironment, RecreateModel } from './recreatemodel';
import { IHpcEnvsModel } from './tokens';
import { RecreateBody } from './widgets/recreate';

/**
 * What of a notebook widget this plugin uses (typed here: the notebook packages are not
 * dependencies of the extension).
 */
interface INotebookWidget {
  context: {
    path: string;
    ready: Promise<void>;
    model: { metadata?: unknown } | null;
    sessionContext: ISessionContext;
  };
}

/**
 * Offer the recreation for notebooks opened from now on.
 */
export const recreatePlugin: JupyterFrontEndPlugin<void> = {
  id: 'jupyterlab-hpc-envs:recreate',
  description: 'Offers to recreate the environment a notebook carries when its kernel is missing.',
  autoStart: true,
  optional: [IHpcEnvsModel, ITranslator],
  activate: (
    app: JupyterFrontEnd,
    model: IHpcEnvsModel | null,
    translator: ITranslator | null
  ): void => {
    translator = translator ?? nullTranslator;
    const trans = translator.load('jupyterlab_hpc_envs');
    const dialogs = new SessionContextDialogs({ translator });
    let connected = false;
    const connect = (): void => {
      const factory = app.docRegistry.getWidgetFactory('Notebook');
      if (!factory || connected) {
        return;
      }
      connected = true;
      factory.widgetCreated.connect((_, widget) => {
        const offer = new Offer(app, widget as unknown as INotebookWidget, trans, dialogs);
        void offer.watch(() => (model?.site?.partitions ?? []).map(p => p.name));
      });
    };
    connect();
    app.docRegistry.changed.connect(connect);
  }
};

/**
 * The offer for one notebook.
 */
class Offer {
  constructor(
    private readonly _app: JupyterFrontEnd,
    private readonly _widget: INotebookWidget,
    private readonly _trans: TranslationBundle,
    private readonly _dialogs: SessionContextDialogs
  ) {}

  /**
   * Once the notebook is loaded: hold the kernel start of a notebook whose kernel is missing and
   * which carries its environment, and offer the recreation.
   *
   * @param partitions - The site's partitions (for the partition's choice).
   */
  async watch(partitions: () => string[]): Promise<void> {
    const { context } = this._widget;
    await context.ready;
    const specs = this._app.serviceManager.kernelspecs;
    if (!specs.specs) {
      await specs.ready;
    }
    const metadata = context.model?.metadata;
    const carried = missingEnvironment(metadata, Object.keys(specs.specs?.kernelspecs ?? {}));
    if (!carried) {
      return;
    }
    const session = context.sessionContext;
    const preference = session.kernelPreference;
    session.kernelPreference = { ...preference, shouldStart: false };
    const recreation = new RecreateModel(
      context.path,
      carried,
      this._app.serviceManager.serverSettings
    );
    await recreation.refresh();
    const body = new RecreateBody(recreation, partitions(), this._trans);
    const result = await showDialog({
      title: this._trans.__('Recreate environment %1', carried.name),
      body,
      buttons: [
        Dialog.cancelButton({ label: this._trans.__('Choose a kernel') }),
        Dialog.okButton({ label: this._trans.__('Recreate') })
      ]
    });
    session.kernelPreference = preference;
    if (!result.button.accept) {
      await this._dialogs.selectKernel(session);
      return;
    }
    await this._recreate(recreation, session);
  }

  /**
   * Build the environment, then switch the notebook to its kernel; progress and failure are
   * notifications.
   */
  private async _recreate(recreation: RecreateModel, session: ISessionContext): Promise<void> {
    const trans = this._trans;
    const id = Notification.emit(
      trans.__('Recreating the environment %1…', recreation.name),
      'in-progress',
      { autoClose: false }
    );
    try {
      const kernel = await recreation.recreate();
      await this._app.serviceManager.kernelspecs.refreshSpecs();
      await session.changeKernel({ name: kernel });
      Notification.update({
        id,
        message: trans.__('%1 is recreated; the notebook runs on its kernel.', recreation.name),
        type: 'success',
        autoClose: 5000
      });
    } catch (reason) {
      Notification.update({
        id,
        message: trans.__('Recreating %1 failed: %2', recreation.name, errorMessage(reason)),
        type: 'error',
        autoClose: false
      });
    }
  }
}
