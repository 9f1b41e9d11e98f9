/**
 * What every group of commands shares: the application, the model, the translator and the
 * trackers, the arguments' checks, the error report, and the one way a view is opened in the
 * main area (activated when it is open already, created, tracked and activated otherwise).
 */
import { JupyterFrontEnd } from '@jupyterlab/application';
import { MainAreaWidget, Notification, WidgetTracker } from '@jupyterlab/apputils';
import { ITranslator, TranslationBundle } from '@jupyterlab/translation';
import { ReadonlyPartialJSONObject } from '@lumino/coreutils';
import { Widget } from '@lumino/widgets';

import { errorMessage } from '../api';
import { IHpcEnvsModel } from '../tokens';
import { CreateEnvironmentForm } from '../widgets/form';
import { PackagesView } from '../widgets/packages';
import { TaskLogView } from '../widgets/tasklog';

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
 * What a group of commands is added with: the options, the application's parts they use, the
 * translation bundle and the error report.
 */
export interface ICommandContext extends ICommandsOptions {
  commands: JupyterFrontEnd['commands'];
  shell: JupyterFrontEnd['shell'];
  trans: TranslationBundle;

  /**
   * Tell the user what went wrong, in the server's words.
   */
  report: (reason: unknown) => void;
}

/**
 * The context of the commands from their options.
 *
 * @param options - The application, the model, the translator and the trackers.
 * @returns The context every group of commands is added with.
 */
export function commandContext(options: ICommandsOptions): ICommandContext {
  return {
    ...options,
    commands: options.app.commands,
    shell: options.app.shell,
    trans: options.translator.load('jupyterlab_hpc_envs'),
    report: (reason: unknown): void => {
      Notification.error(errorMessage(reason), { autoClose: 10000 });
    }
  };
}

/**
 * Show a view in the main area: the open one is activated; otherwise a new one is created, added
 * to its tracker (so that the layout restorer reopens it) and to the main area, and activated.
 *
 * @param shell - The application's shell.
 * @param tracker - The tracker of this kind of view.
 * @param open - The view of this kind already open for the same thing, if any.
 * @param create - Make the view (with its id and title) when none is open.
 * @returns The view shown.
 */
export function showInMainArea<T extends Widget>(
  shell: JupyterFrontEnd['shell'],
  tracker: WidgetTracker<MainAreaWidget<T>>,
  open: MainAreaWidget<T> | null | undefined,
  create: () => MainAreaWidget<T>
): MainAreaWidget<T> {
  if (open) {
    shell.activateById(open.id);
    return open;
  }
  const widget = create();
  void tracker.add(widget);
  shell.add(widget, 'main');
  shell.activateById(widget.id);
  return widget;
}

/**
 * A string argument of a command.
 *
 * @param args - The arguments.
 * @param key - The argument's name.
 * @returns Its value.
 * @throws {Error} When it is missing or not a string.
 */
export function stringArg(args: ReadonlyPartialJSONObject, key: string): string {
  const value = args[key];
  if (typeof value !== 'string' || !value) {
    throw new Error(`jupyterlab-hpc-envs: the argument "${key}" is missing`);
  }
  return value;
}

/**
 * An optional string argument of a command.
 */
export function optionalArg(args: ReadonlyPartialJSONObject, key: string): string | null {
  const value = args[key];
  return typeof value === 'string' && value ? value : null;
}
