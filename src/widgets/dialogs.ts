/**
 * The bodies of the extension's dialogs: what a removal deletes, what an uninstall does, a
 * requirements file.
 */
import { TranslationBundle } from '@jupyterlab/translation';
import { Widget } from '@lumino/widgets';

/**
 * The body of the removal confirmation: exactly what will be deleted, one line each.
 *
 * @param plan - The server's removal plan (`kernel …`, `build …`, `folder …`, `(kept: …)`).
 * @param trans - The translation bundle.
 * @returns The body.
 */
export function removalBody(plan: readonly string[], trans: TranslationBundle): Widget {
  const body = new Widget();
  body.addClass('jp-HpcEnvs-removal');
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
  const note = document.createElement('p');
  note.className = 'jp-HpcEnvs-note';
  note.textContent = trans.__('Notebooks are not touched; kernels running on it stop working.');
  body.node.append(intro, list, note);
  return body;
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
