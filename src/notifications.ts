/**
 * Long work as JupyterLab notifications: one in-progress notification per running task, with a
 * "Show log" action, that ends with the task's outcome; one per kernel start waiting in the Slurm
 * queue, with its reason and estimated start, gone when the job runs or ends.
 */
import { Dialog, Notification, showDialog } from '@jupyterlab/apputils';
import { TranslationBundle } from '@jupyterlab/translation';
import { IDisposable } from '@lumino/disposable';

import { isFinal, KernelJob, Task } from './api';
import { textBody } from './diagnosis';
import { IHpcEnvsModel, ITaskLog } from './tokens';

/**
 * Shows a notification for every task the model follows.
 */
export class TaskNotifier implements IDisposable {
  /**
   * Start notifying.
   *
   * @param options - The model whose tasks are shown, how to show a log, the translations.
   */
  constructor(options: TaskNotifier.IOptions) {
    this._model = options.model;
    this._showLog = options.showLog;
    this._editAndRetry = options.editAndRetry ?? null;
    this._trans = options.trans;
    this._model.taskStarted.connect(this._onTaskStarted, this);
    // Tasks the model found running before this notifier existed (its first refresh may end
    // before the plugin that creates the notifier is activated).
    for (const task of this._model.tasks) {
      if (!isFinal(task.state)) {
        void this._model.taskLog(task.id).then(
          log => this._onTaskStarted(this._model, log),
          () => undefined
        );
      }
    }
  }

  get isDisposed(): boolean {
    return this._isDisposed;
  }

  /**
   * The id of the notification of a task, if one was shown.
   *
   * @param taskId - The task's id.
   * @returns The notification's id, or `undefined`.
   */
  notificationOf(taskId: string): string | undefined {
    return this._ids.get(taskId);
  }

  dispose(): void {
    if (this._isDisposed) {
      return;
    }
    this._isDisposed = true;
    this._model.taskStarted.disconnect(this._onTaskStarted, this);
  }

  private _onTaskStarted(_: IHpcEnvsModel, log: ITaskLog): void {
    const task = log.task;
    if (this._isDisposed || this._ids.has(task.id) || log.isFinal) {
      return;
    }
    const showLog: Notification.IAction = {
      label: this._trans.__('Show log'),
      caption: this._trans.__('Open the live log of this task'),
      callback: event => {
        // Keep the notification: the task goes on.
        event.preventDefault();
        this._showLog(task.id);
      }
    };
    const id = Notification.emit(this._running(task), 'in-progress', {
      autoClose: false,
      actions: [showLog],
      data: { task: task.id }
    });
    this._ids.set(task.id, id);

    let step = task.step;
    const onChanged = (): void => {
      if (log.task.step !== step && !log.isFinal) {
        step = log.task.step;
        Notification.update({ id, message: this._running(log.task) });
      }
    };
    log.changed.connect(onChanged);
    void log.finished.then(record => {
      log.changed.disconnect(onChanged);
      if (this._isDisposed) {
        return;
      }
      const succeeded = record.state === 'succeeded';
      Notification.update({
        id,
        message: this._outcome(record),
        type: succeeded ? 'success' : record.state === 'cancelled' ? 'warning' : 'error',
        autoClose: succeeded ? 8000 : false,
        actions: [
          { ...showLog, callback: () => this._showLog(task.id) },
          ...(succeeded ? [] : [this._details(record)]),
          ...(record.state === 'failed' && record.kind === 'build' && this._editAndRetry
            ? [
                {
                  label: this._trans.__('Edit and retry'),
                  caption: this._trans.__('Correct the spec in the form and build again'),
                  displayType: 'accent' as const,
                  callback: () => this._editAndRetry?.(record)
                }
              ]
            : [])
        ]
      });
    });
  }

  /**
   * The "Details" action of a task that did not succeed: JupyterLab's toast shortens a long
   * message, the dialog shows it whole.
   */
  private _details(task: Task): Notification.IAction {
    return {
      label: this._trans.__('Details'),
      caption: this._trans.__('Show the whole message'),
      callback: event => {
        event.preventDefault(); // keep the notification and its other actions
        void showDetails(task.title, this._outcome(task), this._trans);
      }
    };
  }

  private _running(task: Task): string {
    return task.step
      ? this._trans.__('%1: %2…', task.title, task.step)
      : this._trans.__('%1…', task.title);
  }

  private _outcome(task: Task): string {
    switch (task.state) {
      case 'succeeded':
        return this._trans.__('%1: done.', task.title);
      case 'cancelled':
        return this._trans.__('%1: cancelled.', task.title);
      case 'interrupted':
        return this._trans.__('%1: interrupted. %2', task.title, task.message);
      default:
        return this._trans.__('%1 failed: %2', task.title, task.message);
    }
  }

  private _model: IHpcEnvsModel;
  private _showLog: (taskId: string) => void;
  private _editAndRetry: ((task: Task) => void) | null;
  private _trans: TranslationBundle;
  private _ids = new Map<string, string>();
  private _isDisposed = false;
}

/**
 * The namespace of {@link TaskNotifier}'s types.
 */
export namespace TaskNotifier {
  /**
   * The options of the constructor.
   */
  export interface IOptions {
    /**
     * The model whose tasks are shown.
     */
    model: IHpcEnvsModel;

    /**
     * Open the log view of a task (the "Show log" action).
     */
    showLog: (taskId: string) => void;

    /**
     * Open the creation form on the spec of a failed build (the "Edit and retry" action of a
     * failed build); without it, the action is not offered.
     */
    editAndRetry?: (task: Task) => void;

    /**
     * The translation bundle.
     */
    trans: TranslationBundle;
  }
}

/**
 * A dialog with the whole text of a failure that a notification shortens.
 *
 * @param title - The dialog's title.
 * @param text - The whole text.
 * @param trans - The translation bundle.
 */
export async function showDetails(
  title: string,
  text: string,
  trans: TranslationBundle
): Promise<void> {
  await showDialog({
    title,
    body: textBody(text),
    buttons: [Dialog.okButton({ label: trans.__('Close') })]
  });
}

/**
 * Shows an in-progress notification for every kernel job waiting in the queue (`science (zen2):
 * pending (Resources), estimated start 14:05`), updated as its message changes and dismissed
 * when the job runs, ends or is gone.
 */
export class KernelJobNotifier implements IDisposable {
  /**
   * Start notifying.
   *
   * @param options - The model whose kernel jobs are shown, how to cancel one, the translations.
   */
  constructor(options: KernelJobNotifier.IOptions) {
    this._model = options.model;
    this._cancel = options.cancel;
    this._trans = options.trans;
    this._model.kernelJobsChanged.connect(this._onJobsChanged, this);
    this._onJobsChanged(this._model, this._model.kernelJobs);
  }

  get isDisposed(): boolean {
    return this._isDisposed;
  }

  /**
   * The id of the notification of a kernel's job, while one is shown.
   *
   * @param kernelId - The kernel's id.
   * @returns The notification's id, or `undefined`.
   */
  notificationOf(kernelId: string): string | undefined {
    return this._shown.get(kernelId)?.id;
  }

  dispose(): void {
    if (this._isDisposed) {
      return;
    }
    this._isDisposed = true;
    this._model.kernelJobsChanged.disconnect(this._onJobsChanged, this);
    for (const { id } of this._shown.values()) {
      Notification.dismiss(id);
    }
    this._shown.clear();
  }

  private _onJobsChanged(_: IHpcEnvsModel, jobs: readonly KernelJob[]): void {
    if (this._isDisposed) {
      return;
    }
    const queued = new Map(jobs.filter(j => j.state === 'PENDING').map(j => [j.kernel_id, j]));
    for (const [kernelId, shown] of [...this._shown]) {
      if (!queued.has(kernelId)) {
        Notification.dismiss(shown.id);
        this._shown.delete(kernelId);
      }
    }
    for (const job of queued.values()) {
      const message = this._message(job);
      const shown = this._shown.get(job.kernel_id);
      if (!shown) {
        const id = Notification.emit(message, 'in-progress', {
          autoClose: false,
          actions: [
            {
              label: this._trans.__('Cancel job'),
              caption: this._trans.__('Cancel the Slurm job; the kernel does not start'),
              displayType: 'warn',
              callback: event => {
                // Keep the notification until the job is gone (the user may keep waiting).
                event.preventDefault();
                this._cancel(job.kernel_id);
              }
            }
          ],
          data: { kernelJob: job.kernel_id }
        });
        this._shown.set(job.kernel_id, { id, message });
      } else if (shown.message !== message) {
        shown.message = message;
        Notification.update({ id: shown.id, message });
      }
    }
  }

  private _message(job: KernelJob): string {
    const what = job.env ? `${job.env} (${job.partition})` : job.job_name;
    return this._trans.__('%1: %2', what, job.message || job.state.toLowerCase());
  }

  private _model: IHpcEnvsModel;
  private _cancel: (kernelId: string) => void;
  private _trans: TranslationBundle;
  private _shown = new Map<string, { id: string; message: string }>();
  private _isDisposed = false;
}

/**
 * The namespace of {@link KernelJobNotifier}'s types.
 */
export namespace KernelJobNotifier {
  /**
   * The options of the constructor.
   */
  export interface IOptions {
    /**
     * The model whose kernel jobs are shown.
     */
    model: IHpcEnvsModel;

    /**
     * Cancel a kernel's job (the notification's "Cancel job" action; it asks first).
     */
    cancel: (kernelId: string) => void;

    /**
     * The translation bundle.
     */
    trans: TranslationBundle;
  }
}
