/**
 * Why a kernel of an HPC environment did not start, where the user looks: our own dialog with the
 * reason and the fixes (rebuild, migrate, choose another kernel) instead of JupyterLab's "Error
 * Starting Kernel".
 *
 * The server's provisioner ends the message of a refused or failed start with a line of its own,
 * `hpc-envs-diagnosis: {...}` (kind, environment, partition, subjects, fixes), after the sentence
 * for people. JupyterLab shows a failed start (its session context's `_handleSessionError`, or a
 * kernel reported dead with a reason) in a `Dialog` it creates itself; every `Dialog` is in
 * `Dialog.tracker`, so the {@link KernelDiagnosisWatcher} sees it, and when its text carries our
 * line, makes it ours in place (what failed, the text, the fixes). Nothing of JupyterLab is patched: another
 * message is left alone.
 */
import { Dialog } from '@jupyterlab/apputils';
import { TranslationBundle } from '@jupyterlab/translation';
import { CommandRegistry } from '@lumino/commands';
import { IDisposable } from '@lumino/disposable';
import { Widget } from '@lumino/widgets';
import { z } from 'zod';

import { CommandIDs } from './tokens';

/**
 * The marker of the diagnosis line (`kernels/diagnosis.py`).
 */
export const DIAGNOSIS_MARKER = 'hpc-envs-diagnosis: ';

/**
 * JupyterLab's command that opens the kernel chooser of the current notebook or console.
 */
export const CHANGE_KERNEL_COMMAND = 'kernelmenu:change';

/**
 * The diagnosis line's object: the kind of failure, whose kernel, what is concerned, the fixes.
 */
export const KernelDiagnosisSchema = z.object({
  kind: z.enum([
    'module',
    'interpreter',
    'arch',
    'build',
    'queue-timeout',
    'connect-timeout',
    'cancelled',
    'ended'
  ]),
  env: z.string(),
  partition: z.string(),
  subjects: z.array(z.string()).default([]),
  fixes: z.array(z.string()).default([])
});

/**
 * A parsed diagnosis.
 */
export type KernelDiagnosis = z.infer<typeof KernelDiagnosisSchema>;

/**
 * Split a kernel start's error message into the text for people and our diagnosis.
 *
 * @param message - The whole message (as JupyterLab shows it).
 * @returns The text before the diagnosis line and the diagnosis, or `null` when the message has
 *   no valid diagnosis line (not a kernel of ours, or a server that does not send one).
 */
export function parseDiagnosis(
  message: string
): { text: string; diagnosis: KernelDiagnosis } | null {
  const at = message.lastIndexOf('\n' + DIAGNOSIS_MARKER);
  if (at < 0) {
    return null;
  }
  const line = message.slice(at + 1 + DIAGNOSIS_MARKER.length).split('\n')[0];
  let data: unknown;
  try {
    data = JSON.parse(line);
  } catch {
    return null;
  }
  const parsed = KernelDiagnosisSchema.safeParse(data);
  return parsed.success ? { text: message.slice(0, at).trim(), diagnosis: parsed.data } : null;
}

/**
 * The title of our dialog for a kind of failure.
 *
 * @param diagnosis - The diagnosis.
 * @param trans - The translation bundle.
 * @returns The title.
 */
export function diagnosisTitle(diagnosis: KernelDiagnosis, trans: TranslationBundle): string {
  const what = `${diagnosis.env} (${diagnosis.partition})`;
  switch (diagnosis.kind) {
    case 'module':
      return trans.__('The kernel of %1 cannot start: a module is gone', what);
    case 'interpreter':
      return trans.__('The kernel of %1 cannot start: its Python is gone or changed', what);
    case 'arch':
      return trans.__('The kernel of %1 cannot start on this CPU', what);
    case 'build':
      return trans.__('The kernel of %1 has no ready build', what);
    case 'queue-timeout':
      return trans.__('No node became free for the kernel of %1', what);
    case 'connect-timeout':
      return trans.__('The kernel of %1 did not report in time', what);
    case 'cancelled':
      return trans.__('The job of the kernel of %1 was cancelled', what);
    default:
      return trans.__('The job of the kernel of %1 ended before it started', what);
  }
}

/**
 * The fixes the dialog offers, in order, as `[label, command, args]`: only those the diagnosis
 * names whose command exists here.
 *
 * @param diagnosis - The diagnosis.
 * @param commands - The application's commands.
 * @param trans - The translation bundle.
 * @returns The fixes.
 */
export function diagnosisFixes(
  diagnosis: KernelDiagnosis,
  commands: CommandRegistry,
  trans: TranslationBundle
): { label: string; command: string; args: Record<string, string | boolean> }[] {
  const { env: name, partition } = diagnosis;
  const all = {
    rebuild: {
      label: trans.__('Rebuild'),
      command: CommandIDs.rebuildEnvironment,
      args: { name, partition, force: true }
    },
    migrate: {
      label: trans.__('Migrate…'),
      command: CommandIDs.migrateEnvironment,
      args: { name, partition }
    },
    choose: {
      label: trans.__('Choose another kernel'),
      command: CHANGE_KERNEL_COMMAND,
      args: {}
    }
  };
  return diagnosis.fixes
    .filter((fix): fix is keyof typeof all => fix in all)
    .map(fix => all[fix])
    .filter(fix => commands.hasCommand(fix.command));
}

/**
 * A dialog's body showing a whole message, wrapped (JupyterLab's toasts and its kernel error
 * dialog cut long lines).
 *
 * @param text - The message.
 * @returns The body.
 */
export function textBody(text: string): Widget {
  const body = new Widget();
  body.addClass('jp-HpcEnvs-diagnosis');
  const pre = document.createElement('pre');
  pre.className = 'jp-HpcEnvs-diagnosis-text';
  pre.textContent = text;
  body.node.append(pre);
  return body;
}

/**
 * Turns JupyterLab's dialog of a failed kernel start into ours when the message carries our
 * diagnosis.
 */
export class KernelDiagnosisWatcher implements IDisposable {
  /**
   * Start watching the dialogs.
   *
   * @param commands - The application's commands (the fixes).
   * @param trans - The translation bundle.
   */
  constructor(commands: CommandRegistry, trans: TranslationBundle) {
    this._commands = commands;
    this._trans = trans;
    Dialog.tracker.widgetAdded.connect(this._onDialog, this);
  }

  get isDisposed(): boolean {
    return this._isDisposed;
  }

  dispose(): void {
    if (!this._isDisposed) {
      this._isDisposed = true;
      Dialog.tracker.widgetAdded.disconnect(this._onDialog, this);
    }
  }

  private _onDialog(_: unknown, dialog: Dialog<unknown>): void {
    // Ready: its body is rendered; a turn later, its header (React renders it apart).
    void dialog.ready.then(async () => {
      await new Promise(resolve => setTimeout(resolve, 0));
      if (this._isDisposed || dialog.isDisposed) {
        return;
      }
      // JupyterLab's kernel error shows the message in a <pre> of the body.
      const shown = [...dialog.node.querySelectorAll('.jp-Dialog-body pre')].map(
        pre => pre.textContent ?? ''
      );
      const found = shown.map(parseDiagnosis).find(f => f !== null);
      if (found) {
        this._takeOver(dialog, found);
      }
    });
  }

  /**
   * Make JupyterLab's open dialog ours, in place: a dialog launched now would wait behind the
   * "Select Kernel" dialog that JupyterLab queues after a failed start. Its body shows our title
   * and the text (the diagnosis line left out, wrapped), its footer the fixes' buttons; its own
   * button closes it.
   */
  private _takeOver(
    dialog: Dialog<unknown>,
    found: { text: string; diagnosis: KernelDiagnosis }
  ): void {
    const node = dialog.node;
    const body = node.querySelector('.jp-Dialog-body');
    // React owns the body's nodes: hidden, not removed.
    for (const child of body?.children ?? []) {
      (child as HTMLElement).style.display = 'none';
    }
    const ours = textBody(found.text);
    const title = document.createElement('p');
    title.className = 'jp-HpcEnvs-diagnosis-title';
    title.textContent = diagnosisTitle(found.diagnosis, this._trans);
    ours.node.prepend(title);
    body?.append(ours.node);
    const footer = node.querySelector('.jp-Dialog-footer');
    const close = footer?.querySelector('.jp-Dialog-button');
    const label = close?.querySelector('.jp-Dialog-buttonLabel');
    if (!close || !label) {
      return;
    }
    const accept = close.className;
    label.textContent = this._trans.__('Close');
    close.setAttribute('aria-label', this._trans.__('Close'));
    close.classList.replace('jp-mod-accept', 'jp-mod-reject');
    for (const fix of diagnosisFixes(found.diagnosis, this._commands, this._trans)) {
      const button = Dialog.defaultRenderer.createButtonNode(
        Dialog.okButton({ label: fix.label, caption: fix.command })
      );
      button.className = accept; // styled as JupyterLab's own, beside it
      button.addEventListener('click', () => {
        dialog.resolve();
        void this._run(fix);
      });
      close.parentElement?.append(button);
    }
  }

  /**
   * Run a fix; "Choose another kernel" only where JupyterLab does not ask already (after a
   * failed start of a new session it opens its own "Select Kernel" dialog).
   */
  private async _run(fix: { command: string; args: Record<string, string | boolean> }) {
    if (fix.command === CHANGE_KERNEL_COMMAND && Dialog.tracker.size > 0) {
      return;
    }
    await this._commands.execute(fix.command, fix.args);
  }

  private _commands: CommandRegistry;
  private _trans: TranslationBundle;
  private _isDisposed = false;
}
