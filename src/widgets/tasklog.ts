/**
 * The log view of a task (main area): its title, state and step, and its output as it streams.
 *
 * A plain Lumino widget: new output is appended to the page as it arrives instead of the whole
 * log being rendered again, which keeps long pip logs cheap.
 */
import { ITranslator, nullTranslator, TranslationBundle } from '@jupyterlab/translation';
import { Message } from '@lumino/messaging';
import { Widget } from '@lumino/widgets';

import { isFinal, Task } from '../api';
import { ITaskLog } from '../tokens';
import { taskStateLabel } from './common';

/**
 * The log view of a task.
 */
export class TaskLogView extends Widget {
  /**
   * Create the view of a followed task.
   *
   * @param options - The task's log, the cancel action and the translator.
   */
  constructor(options: TaskLogView.IOptions) {
    super();
    this._log = options.log;
    this._onCancel = options.onCancel ?? null;
    this._trans = (options.translator ?? nullTranslator).load('jupyterlab_hpc_envs');
    this.addClass('jp-HpcEnvs-taskLog');
    this.id = `jp-HpcEnvs-log-${this._log.task.id}`;
    this.node.dataset.task = this._log.task.id;

    const header = document.createElement('div');
    header.className = 'jp-HpcEnvs-taskLog-header';
    this._title = document.createElement('h2');
    this._title.className = 'jp-HpcEnvs-taskLog-title';
    this._state = document.createElement('span');
    this._state.className = 'jp-HpcEnvs-chip';
    this._state.setAttribute('role', 'status');
    this._step = document.createElement('span');
    this._step.className = 'jp-HpcEnvs-taskLog-step';
    this._cancel = document.createElement('button');
    this._cancel.type = 'button';
    this._cancel.className = 'jp-Button jp-mod-styled jp-mod-warn jp-HpcEnvs-taskLog-cancel';
    this._cancel.textContent = this._trans.__('Cancel');
    this._cancel.title = this._trans.__('Stop this task');
    this._cancel.addEventListener('click', () => {
      this._cancel.disabled = true;
      void this._onCancel?.(this._log.task.id);
    });
    header.append(this._title, this._state, this._step, this._cancel);

    this._error = document.createElement('div');
    this._error.className = 'jp-HpcEnvs-error';
    this._error.setAttribute('role', 'alert');

    // What the server wants the user to know about this task (e.g. the site's word on conda).
    this._warnings = document.createElement('div');
    this._warnings.className = 'jp-HpcEnvs-taskLog-warnings';
    for (const warning of taskWarnings(this._log.task)) {
      const note = document.createElement('div');
      note.className = 'jp-HpcEnvs-warning';
      note.setAttribute('role', 'note');
      note.textContent = warning;
      this._warnings.append(note);
    }
    this._warnings.hidden = !this._warnings.childElementCount;

    this._output = document.createElement('pre');
    this._output.className = 'jp-HpcEnvs-taskLog-output';
    this._output.setAttribute('role', 'log');
    this._output.setAttribute('aria-live', 'polite');
    this._output.setAttribute('aria-label', this._trans.__('Log of %1', this._log.task.title));
    this._output.tabIndex = 0;
    this._output.addEventListener('scroll', () => {
      const { scrollTop, scrollHeight, clientHeight } = this._output;
      this._follow = scrollHeight - scrollTop - clientHeight < 24;
    });

    this._message = document.createElement('div');
    this._message.className = 'jp-HpcEnvs-taskLog-message';

    this.node.append(header, this._warnings, this._error, this._output, this._message);

    this.title.label = this._log.task.title;
    this.title.caption = this._trans.__('Log of %1', this._log.task.title);

    this._pending = document.createTextNode('');
    this._output.append(this._pending);
    this._append(this._log.text);
    this._render();
    this._log.changed.connect(this._onChanged, this);
  }

  /**
   * The log shown.
   */
  get log(): ITaskLog {
    return this._log;
  }

  override dispose(): void {
    if (this.isDisposed) {
      return;
    }
    this._log.changed.disconnect(this._onChanged, this);
    super.dispose();
  }

  protected override onAfterShow(msg: Message): void {
    super.onAfterShow(msg);
    if (this._follow) {
      this._output.scrollTop = this._output.scrollHeight;
    }
  }

  private _onChanged(_: ITaskLog, text: string): void {
    if (text) {
      this._append(text);
      if (this._follow) {
        this._output.scrollTop = this._output.scrollHeight;
      }
    }
    this._render();
  }

  /**
   * Append text to the output, line by line: the build's progress lines and the task's own
   * (`==> pip install`) as steps, error lines (pip's `ERROR:`) highlighted (see
   * {@link readableLine}); a line not complete yet waits at the end.
   */
  private _append(text: string): void {
    const lines = (this._pending.data + text).split('\n');
    this._pending.data = lines.pop() ?? '';
    const fragment = document.createDocumentFragment();
    for (const raw of lines) {
      const { kind, text: shown } = readableLine(plain(raw));
      if (kind === 'output') {
        fragment.append(`${shown}\n`);
        continue;
      }
      const span = document.createElement('span');
      span.className = LINE_CLASSES[kind];
      span.textContent = `${shown}\n`;
      fragment.append(span);
    }
    this._output.insertBefore(fragment, this._pending);
  }

  private _render(): void {
    const task = this._log.task;
    const final = isFinal(task.state);
    this._title.textContent = task.title;
    this._state.className = `jp-HpcEnvs-chip jp-mod-${task.state}`;
    this._state.textContent = taskStateLabel(task.state, this._trans);
    this._step.textContent = !final && task.step ? task.step : '';
    this._cancel.hidden = final || this._onCancel === null;
    this._error.hidden = this._log.error === null;
    this._error.textContent = this._log.error
      ? this._trans.__('The log cannot be read right now (retrying): %1', this._log.error)
      : '';
    this._message.hidden = !final;
    this._message.textContent = final ? task.message : '';
    this.toggleClass('jp-mod-running', !final);
    this.node.dataset.state = task.state;
  }

  private _log: ITaskLog;
  private _onCancel: ((taskId: string) => Promise<unknown> | void) | null;
  private _trans: TranslationBundle;
  private _title: HTMLElement;
  private _state: HTMLElement;
  private _step: HTMLElement;
  private _cancel: HTMLButtonElement;
  private _error: HTMLElement;
  private _warnings: HTMLElement;
  private _output: HTMLElement;
  private _message: HTMLElement;
  private _pending: Text;
  private _follow = true;
}

/**
 * A line of output as a terminal would show it: without colour and cursor codes (pip's progress
 * bars), and only what follows the last carriage return.
 *
 * @param line - A line of the log, without its line break.
 * @returns The text to show.
 */
export function plain(line: string): string {
  const text = line.replace(
    // eslint-disable-next-line no-control-regex
    /\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1b[@-Z\\-_]/g,
    ''
  );
  const parts = text.replace(/\r+$/, '').split('\r');
  return parts[parts.length - 1];
}

/**
 * The warnings the server attached to a task (`params.warnings`: for a conda environment, the
 * site's policy message and a stray `~/.local/lib`).
 *
 * @param task - The task.
 * @returns The warnings, possibly none.
 */
export function taskWarnings(task: Task): string[] {
  const warnings = task.params.warnings;
  return Array.isArray(warnings)
    ? warnings.filter((w): w is string => typeof w === 'string' && w.length > 0)
    : [];
}

/**
 * A progress marker of the build script: `::hpc-envs::<kind> <text>`.
 */
const MARKER = /^::hpc-envs::(\w+) ?(.*)$/;

/**
/**
 * The lines of an error: pip's (`ERROR: No matching distribution found for numpyy`) and conda's.
 */
const ERROR_LINE = /^\s*(ERROR|error|CondaError|PackagesNotFoundError):/;

/**
 * What a line of a task's log is, as shown.
 */
export type LogLineKind = 'output' | 'step' | 'info' | 'fail' | 'error';

const LINE_CLASSES: Record<Exclude<LogLineKind, 'output'>, string> = {
  step: 'jp-HpcEnvs-taskLog-step-marker',
  info: 'jp-HpcEnvs-taskLog-marker',
  fail: 'jp-HpcEnvs-taskLog-fail',
  // pip's and the build's own errors: what the user has to read first.
  error: 'jp-HpcEnvs-taskLog-errorLine'
};

/**
 * A line of a task's log as people read it, as the command line prints it
 * (`scripts.readable_line`): a step (`::hpc-envs::step pip` or the task's own `==> pip install`)
 * as `==> pip`, a fact (`::hpc-envs::info host=node12`) as `    host: node12`, the build's
 * failure as `failed: …`, an error line of the tools (pip's `ERROR:`) as it is, to highlight;
 * any other line is the tools' own output, as it is.
 *
 * @param line - A line, without its line break.
 * @returns Its kind and the text to show.
 */
export function readableLine(line: string): { kind: LogLineKind; text: string } {
  const marker = MARKER.exec(line);
  if (!marker) {
    if (ERROR_LINE.test(line)) {
      return { kind: 'error', text: line };
    }
    return { kind: line.startsWith('==> ') ? 'step' : 'output', text: line };
  }
  const [, what, rest] = marker;
  if (what === 'step') {
    return { kind: 'step', text: `==> ${rest}` };
  }
  if (what === 'info') {
    const at = rest.indexOf('=');
    return {
      kind: 'info',
      text: at < 0 ? `    ${rest}` : `    ${rest.slice(0, at)}: ${rest.slice(at + 1)}`
    };
  }
  if (what === 'fail') {
    return { kind: 'fail', text: `failed: ${rest}` };
  }
  return { kind: 'info', text: rest };
}

/**
 * The namespace of {@link TaskLogView}'s types.
 */
export namespace TaskLogView {
  /**
   * The options of the constructor.
   */
  export interface IOptions {
    /**
     * The followed log.
     */
    log: ITaskLog;

    /**
     * Cancel the task (the view's Cancel button); no button without it.
     */
    onCancel?: (taskId: string) => Promise<unknown> | void;

    /**
     * The translator.
     */
    translator?: ITranslator;
  }
}
