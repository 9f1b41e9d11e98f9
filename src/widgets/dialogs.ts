/**
 * The bodies of the extension's dialogs: what a removal deletes, what an uninstall does, a
 * requirements file.
 */
import { Dialog } from '@jupyterlab/apputils';
import { TranslationBundle } from '@jupyterlab/translation';
import { Widget } from '@lumino/widgets';

import { RemovalPlan, RunningKernel } from '../api';

/**
 * The body of the removal confirmation: exactly what will be deleted, one line each, the kernels
 * of it that run now, and whether to stop them (checked: the removal stops them first). Its
 * `getValue()` says whether the user agreed to stop them.
 */
export class RemovalBody extends Widget implements Dialog.IBodyWidget<{ stop: boolean }> {
  /**
   * Create the body.
   *
   * @param removal - The server's removal plan (`kernel …`, `build …`, `folder …`, `(kept: …)`)
   *   and the kernels of what is removed that run now.
   * @param trans - The translation bundle.
   */
  constructor(removal: RemovalPlan, trans: TranslationBundle) {
    super();
    this.addClass('jp-HpcEnvs-removal');
    const { plan, running } = removal;
    const intro = document.createElement('p');
    intro.textContent = plan.length
      ? trans.__('This deletes, for good:')
      : trans.__('Nothing is left to delete.');
    const list = document.createElement('ul');
    list.className = 'jp-HpcEnvs-removal-plan';
    for (const line of plan) {
      const item = document.createElement('li');
      item.textContent = line;
      if (line.startsWith('(')) {
        item.classList.add('jp-mod-kept');
      }
      list.append(item);
    }
    this.node.append(intro, list);
    if (running.length) {
      this.node.append(runningList(running, trans));
      const label = document.createElement('label');
      label.className = 'jp-HpcEnvs-removal-stop';
      this._stop.type = 'checkbox';
      this._stop.checked = true;
      label.append(
        this._stop,
        ' ',
        trans._n(
          'Stop this kernel first (its Slurm job is cancelled)',
          'Stop these %1 kernels first (their Slurm jobs are cancelled)',
          running.length
        )
      );
      this.node.append(label);
    }
    const note = document.createElement('p');
    note.className = 'jp-HpcEnvs-note';
    note.textContent = trans.__(
      'Notebooks are not touched; a kernel left running on it stops working.'
    );
    this.node.append(note);
    this._hasRunning = running.length > 0;
  }

  /**
   * Whether the removal stops the running kernels first.
   */
  getValue(): { stop: boolean } {
    return { stop: this._hasRunning && this._stop.checked };
  }

  private _stop = document.createElement('input');
  private _hasRunning: boolean;
}

/**
 * The running kernels a removal concerns, one line each: the notebook, where it runs, its job.
 */
function runningList(running: readonly RunningKernel[], trans: TranslationBundle): HTMLElement {
  const section = document.createElement('div');
  section.className = 'jp-HpcEnvs-removal-running';
  const title = document.createElement('p');
  title.textContent = trans._n(
    'A kernel of it is running:',
    '%1 kernels of it are running:',
    running.length
  );
  const list = document.createElement('ul');
  for (const kernel of running) {
    const item = document.createElement('li');
    item.dataset.kernelId = kernel.kernel_id;
    const where = kernel.job_id
      ? trans.__('Slurm job %1 on %2', kernel.job_id, kernel.partition || '?')
      : trans.__('on this server');
    item.textContent = `${kernel.notebook || trans.__('kernel %1', kernel.kernel_id.slice(0, 8))} — ${where}`;
    list.append(item);
  }
  section.append(title, list);
  return section;
}

/**
 * The body of the uninstall confirmation.
 *
 * @param pkg - The distribution.
 * @param env - The environment.
 * @param partition - The partition.
 * @param trans - The translation bundle.
 * @param conda - Whether the environment is a conda environment (`conda remove`).
 * @returns The body.
 */
export function uninstallBody(
  pkg: string,
  env: string,
  partition: string,
  trans: TranslationBundle,
  conda = false
): Widget {
  const body = new Widget();
  body.addClass('jp-HpcEnvs-uninstall');
  const text = document.createElement('p');
  text.textContent = conda
    ? trans.__(
        'Remove %1 from the %2 build of %3 (conda remove)? Packages that only it needed go too, and it is removed from the packages recorded for the environment.',
        pkg,
        partition,
        env
      )
    : trans.__(
        'Uninstall %1 from the %2 build of %3 (pip uninstall)? It is also removed from the packages recorded for the environment.',
        pkg,
        partition,
        env
      );
  body.node.append(text);
  return body;
}

/**
 * The body of the requirements dialog: the file's text, selectable.
 *
 * @param text - The requirements file.
 * @returns The body.
 */
export function requirementsBody(text: string): Widget {
  const body = new Widget();
  body.addClass('jp-HpcEnvs-requirementsText');
  const pre = document.createElement('pre');
  pre.textContent = text;
  pre.tabIndex = 0;
  body.node.append(pre);
  return body;
}

/**
 * Let the browser download a text as a file.
 *
 * @param text - The content.
 * @param filename - The file's name.
 */
export function downloadText(text: string, filename: string): void {
  const url = URL.createObjectURL(new Blob([text], { type: 'text/plain' }));
  const link = document.createElement('a');
  link.href = url;
  link.download = filename;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}
