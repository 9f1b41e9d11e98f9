/**
 * The dialog "Kernel resources": what a kernel's Slurm job asks for (time limit, CPUs, memory,
 * GPUs, account) and where the kernel runs, with the site's defaults as placeholders and its
 * limits as hints. It renders a {@link KernelResourcesModel} and never calls the server; Save
 * stays open with the server's message beside the field it refused.
 */
import { Dialog } from '@jupyterlab/apputils';
import { ITranslator, nullTranslator, TranslationBundle } from '@jupyterlab/translation';
import { ReactWidget } from '@jupyterlab/ui-components';
import React, { useId } from 'react';

import { KernelMode, KernelResources } from '../api';
import {
  KERNEL_MODES,
  KernelResourcesModel,
  ResourceField,
  ResourcesFormField
} from '../resourcesmodel';
import { FieldError, useSignals } from './common';

/**
 * The body of the dialog: the form.
 */
export class KernelResourcesBody
  extends ReactWidget
  implements Dialog.IBodyWidget<KernelResources | null>
{
  /**
   * Create the body.
   *
   * @param options - The dialog's state and the translator.
   */
  constructor(options: KernelResourcesBody.IOptions) {
    super();
    this._model = options.model;
    this._trans = (options.translator ?? nullTranslator).load('jupyterlab_hpc_envs');
    this.addClass('jp-HpcEnvs-resources');
  }

  /**
   * The dialog's state.
   */
  get model(): KernelResourcesModel {
    return this._model;
  }

  /**
   * The kernel's resources as the server last stored them.
   *
   * @returns The server's last answer, or `null`.
   */
  getValue(): KernelResources | null {
    return this._model.resources;
  }

  protected render(): React.ReactElement {
    return <ResourcesView model={this._model} trans={this._trans} />;
  }

  private _model: KernelResourcesModel;
  private _trans: TranslationBundle;
}

/**
 * The namespace of {@link KernelResourcesBody}'s types.
 */
export namespace KernelResourcesBody {
  /**
   * The options of the constructor.
   */
  export interface IOptions {
    /**
     * The dialog's state.
     */
    model: KernelResourcesModel;

    /**
     * The translator.
     */
    translator?: ITranslator;
  }
}

/**
 * The dialog: Cancel, Reset (back to the site's defaults) and Save. Reset and Save close it only
 * once the server agreed; otherwise its message stays in the form.
 */
export class KernelResourcesDialog extends Dialog<KernelResources | null> {
  /**
   * Create the dialog (show it with `launch()`).
   *
   * @param options - The dialog's state, its title, the translator.
   */
  constructor(options: KernelResourcesDialog.IOptions) {
    const trans = (options.translator ?? nullTranslator).load('jupyterlab_hpc_envs');
    const cancel = Dialog.cancelButton({ label: trans.__('Cancel') });
    const reset = Dialog.createButton({
      label: trans.__('Reset'),
      caption: trans.__("Forget this kernel's choice: use the site's defaults"),
      displayType: 'warn',
      accept: true,
      className: 'jp-HpcEnvs-resources-reset'
    });
    const save = Dialog.okButton({
      label: trans.__('Save'),
      className: 'jp-HpcEnvs-resources-save'
    });
    const buttons = [cancel, reset, save];
    super({
      title: options.title,
      body: new KernelResourcesBody({ model: options.model, translator: options.translator }),
      buttons,
      defaultButton: 2,
      focusNodeSelector: 'input, select'
    });
    this.addClass('jp-HpcEnvs-resourcesDialog');
    this._model = options.model;
    this._buttonList = buttons;
    this._reset = reset;
    this._save = save;
  }

  /**
   * Close the dialog with a button; Save and Reset first ask the server, and keep the dialog
   * open with the server's message when it refuses.
   *
   * @param index - The button's index (the default button's when omitted).
   */
  override resolve(index?: number): void {
    const button = this._buttonList[index ?? 2];
    if (button === this._save) {
      void this._closeAfter(() => this._model.save(), 2);
    } else if (button === this._reset) {
      void this._closeAfter(() => this._model.reset(), 1);
    } else {
      super.resolve(index);
    }
  }

  private async _closeAfter(action: () => Promise<boolean>, index: number): Promise<void> {
    if (await action()) {
      super.resolve(index);
    }
  }

  private _model: KernelResourcesModel;
  private _buttonList: Dialog.IButton[];
  private _reset: Dialog.IButton;
  private _save: Dialog.IButton;
}

/**
 * The namespace of {@link KernelResourcesDialog}'s types.
 */
export namespace KernelResourcesDialog {
  /**
   * The options of the constructor.
   */
  export interface IOptions {
    /**
     * The dialog's state (loaded, or being loaded).
     */
    model: KernelResourcesModel;

    /**
     * The title (the environment and the partition).
     */
    title: string;

    /**
     * The translator.
     */
    translator?: ITranslator;
  }
}

interface IViewProps {
  model: KernelResourcesModel;
  trans: TranslationBundle;
}

function ResourcesView(props: IViewProps): React.ReactElement {
  const { model, trans } = props;
  useSignals(model.stateChanged);
  const uid = useId();
  const ids = (part: string): string => `${uid}-${part}`;
  const resources = model.resources;

  if (!resources) {
    return (
      <div className="jp-HpcEnvs-resources-body">
        {model.formError ? (
          <div className="jp-HpcEnvs-error" role="alert">
            {model.formError}
          </div>
        ) : (
          <div className="jp-HpcEnvs-note" role="status">
            {trans.__('Asking the server for the resources of %1…', model.kernel)}
          </div>
        )}
      </div>
    );
  }

  const texts = fieldTexts(resources, trans);

  const field = (name: ResourceField): React.ReactElement => (
    <ResourceInput
      key={name}
      name={name}
      text={texts[name]}
      limits={resources.limits}
      model={model}
      trans={trans}
      ids={ids}
    />
  );

  const runsOn = model.mode === 'auto' ? model.autoRunsOn : model.mode;

  return (
    <div className="jp-HpcEnvs-resources-body" data-kernel={resources.kernel}>
      <p className="jp-HpcEnvs-resources-intro">
        {trans.__(
          'What a Slurm job of this kernel asks for. An empty field uses the site’s default, shown in grey; kernels started from now on get these values.'
        )}
      </p>
      {model.formError ? (
        <div className="jp-HpcEnvs-error" role="alert">
          {model.formError}
        </div>
      ) : null}
      <ModeChoice model={model} trans={trans} ids={ids} />
      {runsOn === 'local' ? (
        <div className="jp-HpcEnvs-note jp-HpcEnvs-resources-localNote" role="note">
          {trans.__('The kernel runs on this node: the values below apply to Slurm jobs only.')}
        </div>
      ) : null}
      <div className="jp-HpcEnvs-resources-fields">
        {field('time')}
        {field('cpus')}
        {field('memory')}
        {field('gpus')}
        {field('account')}
      </div>
      <div className="jp-HpcEnvs-note jp-HpcEnvs-resources-effective">
        {effectiveText(resources, trans)}
      </div>
    </div>
  );
}

/**
 * The label, placeholder (the site's default) and hint (the limit) of each field.
 *
 * @param resources - The kernel's resources, with its partition's defaults and limits.
 * @param trans - The translation bundle.
 * @returns The texts by field.
 */
function fieldTexts(
  resources: KernelResources,
  trans: TranslationBundle
): Record<ResourceField, IFieldText> {
  const { limits, defaults, capacity, partition } = resources;
  const node = (what: string | undefined): string | undefined =>
    what === undefined ? undefined : trans.__('A node of %1 has %2.', partition, what);
  return {
    time: {
      label: trans.__('Time limit'),
      placeholder: defaults.time,
      hint: limitHint(limits.time, trans, trans.__('minutes, H:MM:SS or D-HH:MM:SS')),
      capacity: capacity.time
        ? trans.__('The time limit of %1 is %2.', partition, capacity.time)
        : undefined
    },
    cpus: {
      label: trans.__('CPUs'),
      placeholder: defaults.cpus,
      hint: limitHint(limits.cpus, trans),
      capacity: node(
        capacity.cpus === undefined ? undefined : trans._n('%1 CPU', '%1 CPUs', capacity.cpus)
      )
    },
    memory: {
      label: trans.__('Memory'),
      placeholder: defaults.memory || trans.__("the partition's default"),
      hint: limitHint(limits.memory, trans, trans.__('e.g. 4G or 500M')),
      capacity: node(capacity.memory)
    },
    gpus: {
      label: trans.__('GPUs'),
      placeholder: defaults.gpus || '0',
      hint:
        limits.gpus === '0'
          ? trans.__('No GPUs for kernels on %1.', resources.partition)
          : limitHint(limits.gpus, trans),
      capacity:
        capacity.gpus === 0
          ? trans.__('The nodes of %1 have no GPUs.', partition)
          : node(
              capacity.gpus === undefined ? undefined : trans._n('%1 GPU', '%1 GPUs', capacity.gpus)
            )
    },
    account: {
      label: trans.__('Account'),
      placeholder: defaults.account || trans.__('none'),
      hint: limits.accounts?.length
        ? trans.__('One of %1.', limits.accounts.join(', '))
        : trans.__('The Slurm account the job is charged to.')
    }
  };
}

/**
 * What a field shows besides its value.
 */
interface IFieldText {
  label: string;
  placeholder: string;
  hint: string;
  /**
   * What a node of the partition has (from Slurm), if known.
   */
  capacity?: string;
}

/**
 * One resource: a box, or the accounts' list when the site names them, with its hint and error.
 */
function ResourceInput(props: {
  name: ResourceField;
  text: IFieldText;
  limits: KernelResources['limits'];
  model: KernelResourcesModel;
  trans: TranslationBundle;
  ids: (part: string) => string;
}): React.ReactElement {
  const { name, text, model, trans, ids } = props;
  const errors = model.fieldErrors;
  const limits = props.limits;
  const describedBy = (field: ResourcesFormField): string =>
    [ids(`${field}-hint`), errors[field] ? ids(`${field}-error`) : ''].filter(Boolean).join(' ');
  const value = model.values[name];
  const common = {
    id: ids(name),
    name,
    className: `jp-mod-styled jp-HpcEnvs-resources-input jp-HpcEnvs-resources-${name}`,
    'aria-invalid': errors[name] ? true : undefined,
    'aria-describedby': describedBy(name),
    disabled: model.isSaving || (name === 'gpus' && limits.gpus === '0' && value === '')
  };
  const accounts = limits.accounts ?? [];
  let control: React.ReactElement;
  if (name === 'account' && accounts.length) {
    const options = value && !accounts.includes(value) ? [value, ...accounts] : accounts;
    control = (
      <select
        {...common}
        value={value}
        onChange={event => model.setValue(name, event.target.value)}
      >
        <option value="">{trans.__('Site default (%1)', text.placeholder)}</option>
        {options.map(account => (
          <option key={account} value={account}>
            {account}
          </option>
        ))}
      </select>
    );
  } else {
    control = (
      <input
        {...common}
        type="text"
        inputMode={name === 'cpus' || name === 'gpus' ? 'numeric' : undefined}
        autoComplete="off"
        spellCheck={false}
        value={value}
        placeholder={text.placeholder}
        onChange={event => model.setValue(name, event.target.value)}
      />
    );
  }
  return (
    <div key={name} className="jp-HpcEnvs-field jp-HpcEnvs-resources-field" data-field={name}>
      <label htmlFor={ids(name)}>{text.label}</label>
      {control}
      <div id={ids(`${name}-hint`)} className="jp-HpcEnvs-note jp-HpcEnvs-resources-hint">
        {text.hint}
      </div>
      {text.capacity ? (
        <div className="jp-HpcEnvs-note jp-HpcEnvs-resources-capacity">{text.capacity}</div>
      ) : null}
      <FieldError id={ids(`${name}-error`)} message={errors[name]} />
    </div>
  );
}

/**
 * Where the kernel runs: automatically, on this node or as a Slurm job, each with why it cannot
 * be chosen when it cannot.
 */
function ModeChoice(props: {
  model: KernelResourcesModel;
  trans: TranslationBundle;
  ids: (part: string) => string;
}): React.ReactElement {
  const { model, trans, ids } = props;
  const errors = model.fieldErrors;
  const partition = model.resources?.partition ?? '';
  const autoRunsOn = model.autoRunsOn;
  const modeLabels: Record<KernelMode, string> = {
    auto: trans.__('Automatic'),
    local: trans.__('This node'),
    slurm: trans.__('Slurm job')
  };
  const modeNotes: Record<KernelMode, string> = {
    auto:
      autoRunsOn === 'local'
        ? trans.__('here: this node has the kernel’s CPU architecture')
        : autoRunsOn === 'slurm'
          ? trans.__('a Slurm job on %1: this node has another CPU architecture', partition)
          : trans.__('here when this node has the kernel’s CPU architecture, else a Slurm job'),
    local: trans.__('a process of this server, without Slurm'),
    slurm: trans.__('always a Slurm job on %1', partition)
  };
  return (
    <fieldset
      className="jp-HpcEnvs-field jp-HpcEnvs-resources-mode"
      aria-describedby={errors.mode ? ids('mode-error') : undefined}
    >
      <legend>{trans.__('Where it runs')}</legend>
      {KERNEL_MODES.map(mode => {
        const problem = model.modeProblem(mode);
        return (
          <label
            key={mode}
            className={`jp-HpcEnvs-resources-modeOption${
              problem && model.mode !== mode ? ' jp-mod-disabled' : ''
            }`}
            title={problem || undefined}
          >
            <input
              type="radio"
              name={ids('mode')}
              value={mode}
              checked={model.mode === mode}
              disabled={model.isSaving || (problem !== '' && model.mode !== mode)}
              onChange={() => model.setMode(mode)}
            />{' '}
            {modeLabels[mode]} <span className="jp-HpcEnvs-note">{problem || modeNotes[mode]}</span>
          </label>
        );
      })}
      <FieldError id={ids('mode-error')} message={errors.mode} />
    </fieldset>
  );
}

/**
 * The hint of a field: its limit, and how to write a value.
 *
 * @param limit - The site's limit, if any.
 * @param trans - The translation bundle.
 * @param format - How to write a value, if it needs saying.
 * @returns The hint.
 */
function limitHint(limit: string | undefined, trans: TranslationBundle, format = ''): string {
  const bound =
    limit !== undefined ? trans.__('At most %1.', limit) : trans.__('No limit of the site’s.');
  return format ? `${bound} (${format})` : bound;
}

/**
 * What the stored choice makes the next start ask for, in one sentence.
 *
 * @param resources - The server's answer.
 * @param trans - The translation bundle.
 * @returns The sentence.
 */
export function effectiveText(resources: KernelResources, trans: TranslationBundle): string {
  const job = resources.effective;
  if (!job) {
    return trans.__('The stored choice breaks a limit of the site: correct it before starting.');
  }
  const parts = [
    job.time,
    trans._n('%1 CPU', '%1 CPUs', job.cpus),
    job.memory ? trans.__('%1 of memory', job.memory) : trans.__("the partition's default memory")
  ];
  if (job.gpus) {
    parts.push(trans._n('%1 GPU', '%1 GPUs', job.gpus));
  }
  if (job.account) {
    parts.push(trans.__('account %1', job.account));
  }
  return trans.__(
    'A Slurm job of this kernel asks for: %1 on %2.',
    parts.join(', '),
    job.partition
  );
}
