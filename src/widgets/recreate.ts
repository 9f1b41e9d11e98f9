/**
 * The body of the "Recreate environment" dialog: the plan of the dry run (each module and the
 * module it becomes here, the pinned packages), with the name and partition editable; a change
 * asks the server for the plan again.
 */
import { Dialog } from '@jupyterlab/apputils';
import { TranslationBundle } from '@jupyterlab/translation';
import { Widget } from '@lumino/widgets';

import { ModuleMove } from '../api';
import { RecreateModel } from '../recreatemodel';

/**
 * One module move in words.
 *
 * @param move - The module and what it becomes.
 * @param trans - The translation bundle.
 * @returns `A`, `A → B (why)` or `A: none here (why)`.
 */
export function moveText(move: ModuleMove, trans: TranslationBundle): string {
  if (move.to === move.from) {
    return move.from;
  }
  if (move.to === null) {
    return trans.__('%1: none here (%2)', move.from, move.reason);
  }
  return trans.__('%1 → %2 (%3)', move.from, move.to, move.reason);
}

/**
 * The dialog's body; `getValue()` is the name and partition chosen.
 */
export class RecreateBody
  extends Widget
  implements Dialog.IBodyWidget<{ name: string; partition: string }>
{
  /**
   * @param model - The dialog's model (its plan asked for already).
   * @param partitions - The partitions of the site, for the partition's choice.
   * @param trans - The translation bundle.
   */
  constructor(
    readonly model: RecreateModel,
    partitions: readonly string[],
    private readonly _trans: TranslationBundle
  ) {
    super();
    this.addClass('jp-HpcEnvs-recreate');
    const { carried } = model;
    const intro = document.createElement('p');
    intro.textContent = _trans.__(
      'This notebook was saved with the environment %1 (partition %2), which has no kernel here. It can be made again from what the notebook carries:',
      carried.name,
      carried.partition || '?'
    );
    this._name.className = 'jp-HpcEnvs-recreate-name';
    this._name.value = model.name;
    this._partition.className = 'jp-HpcEnvs-recreate-partition';
    for (const name of new Set([...partitions, model.partition].filter(Boolean))) {
      this._partition.append(new Option(name, name, false, name === model.partition));
    }
    const fields = document.createElement('div');
    fields.className = 'jp-HpcEnvs-recreate-fields';
    fields.append(
      label(_trans.__('Name'), this._name),
      label(_trans.__('Partition'), this._partition)
    );
    this._modules.className = 'jp-HpcEnvs-recreate-modules';
    this._packages.className = 'jp-HpcEnvs-recreate-packages';
    this._error.className = 'jp-HpcEnvs-recreate-error';
    this.node.append(intro, fields, this._modules, this._packages, this._error);
    for (const input of [this._name, this._partition]) {
      input.addEventListener('change', () => {
        model.name = this._name.value.trim();
        model.partition = this._partition.value;
        void model.refresh();
      });
    }
    model.changed.connect(this.render, this);
    this.render();
  }

  getValue(): { name: string; partition: string } {
    return { name: this._name.value.trim(), partition: this._partition.value };
  }

  /**
   * Show the model's plan or why it was refused.
   */
  render(): void {
    const { plan, error } = this.model;
    const trans = this._trans;
    this._modules.replaceChildren(
      ...(plan?.modules ?? []).map(move => {
        const item = document.createElement('li');
        item.textContent = moveText(move, trans);
        item.classList.toggle('jp-mod-missing', move.to === null);
        item.classList.toggle('jp-mod-changed', move.to !== null && move.to !== move.from);
        return item;
      })
    );
    const packages = plan?.packages ?? [];
    this._packages.textContent = packages.length
      ? trans._n(
          'and %1 package pinned to its version: %2',
          'and %1 packages pinned to their versions: %2',
          packages.length,
          packages.join(', ')
        )
      : '';
    const missing = this.model.missing;
    this._error.textContent =
      error ||
      (missing.length
        ? trans.__(
            'Partition %1 has no module for %2: choose another partition.',
            this.model.partition,
            missing.join(', ')
          )
        : '');
  }

  override dispose(): void {
    this.model.changed.disconnect(this.render, this);
    super.dispose();
  }

  private _name = document.createElement('input');
  private _partition = document.createElement('select');
  private _modules = document.createElement('ul');
  private _packages = document.createElement('p');
  private _error = document.createElement('p');
}

/**
 * A labelled field.
 *
 * @param text - The label.
 * @param input - The field.
 * @returns The label holding the field.
 */
function label(text: string, input: HTMLElement): HTMLLabelElement {
  const node = document.createElement('label');
  node.append(text, ' ', input);
  return node;
}
