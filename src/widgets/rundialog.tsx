/**
 * The dialog "Run as Slurm job": the kernel (one of ours), partition, resources, parameters
 * (name = value rows) and a small table of parameter sets for a sweep. It renders a
 * {@link RunFormModel}; Submit stays open with the message beside the field refused.
 */
import { Dialog } from '@jupyterlab/apputils';
import { TranslationBundle } from '@jupyterlab/translation';
import { ReactWidget } from '@jupyterlab/ui-components';
import React, { useId } from 'react';

import { Run } from '../api';
import { RESOURCE_FIELDS, ResourceField } from '../resourcesmodel';
import { RunFormField, RunFormModel } from '../runformmodel';
import { FieldError, useSignals } from './common';

/**
 * The body of the dialog: the form.
 */
export class RunFormBody extends ReactWidget implements Dialog.IBodyWidget<Run | null> {
  /**
   * Create the body.
   *
   * @param model - The dialog's state.
   * @param trans - The translations.
   */
  constructor(
    readonly model: RunFormModel,
    private readonly _trans: TranslationBundle
  ) {
    super();
    this.addClass('jp-HpcEnvs-runForm');
  }

  /**
   * The run submitted, or `null`.
   *
   * @returns The run.
   */
  getValue(): Run | null {
    return this.submitted;
  }

  /**
   * The run submitted by the dialog, once the server accepted it.
   */
  submitted: Run | null = null;

  protected render(): React.ReactElement {
    return <RunFormView model={this.model} trans={this._trans} />;
  }
}

/**
 * The dialog: Cancel and Submit; Submit closes it only once the server accepted the run.
 */
export class RunDialog extends Dialog<Run | null> {
  /**
   * Create the dialog (show it with `launch()`).
   *
   * @param model - The dialog's state.
   * @param trans - The translations.
   */
  constructor(model: RunFormModel, trans: TranslationBundle) {
    const body = new RunFormBody(model, trans);
    const buttons = [
      Dialog.cancelButton({ label: trans.__('Cancel') }),
      Dialog.okButton({ label: trans.__('Submit'), className: 'jp-HpcEnvs-runForm-submit' })
    ];
    super({
      title: trans.__('Run %1 as a Slurm job', model.notebook),
      body,
      buttons,
      defaultButton: 1,
      focusNodeSelector: 'select, input'
    });
    this.addClass('jp-HpcEnvs-runDialog');
    this._form = body;
  }

  /**
   * Close the dialog; Submit first submits, and stays open with the refusal.
   *
   * @param index - The button's index (the default button's when omitted).
   */
  override resolve(index?: number): void {
    if ((index ?? 1) === 1) {
      void this._submit();
    } else {
      super.resolve(index);
    }
  }

  private async _submit(): Promise<void> {
    const run = await this._form.model.submit();
    if (run) {
      this._form.submitted = run;
      super.resolve(1);
    }
  }

  private _form: RunFormBody;
}

const RESOURCE_LABELS: Record<ResourceField, string> = {
  time: 'Time limit',
  cpus: 'CPUs',
  memory: 'Memory',
  gpus: 'GPUs',
  account: 'Account'
};

function RunFormView(props: { model: RunFormModel; trans: TranslationBundle }): React.ReactElement {
  const { model, trans } = props;
  useSignals(model.changed);
  const uid = useId();
  const id = (part: string): string => `${uid}-${part}`;
  const error = (field: RunFormField): string | undefined => model.errors.get(field);
  const described = (field: RunFormField): string | undefined =>
    error(field) ? id(`${field}-error`) : undefined;

  const textField = (
    field: ResourceField | 'partition',
    label: string,
    value: string,
    change: (m: RunFormModel, value: string) => void
  ): React.ReactElement => (
    <label key={field} className="jp-HpcEnvs-runForm-field">
      <span>{label}</span>
      <input
        className="jp-mod-styled"
        name={field}
        value={value}
        aria-invalid={error(field) ? true : undefined}
        aria-describedby={described(field)}
        onChange={e => model.set(m => change(m, e.target.value))}
      />
      <FieldError id={id(`${field}-error`)} message={error(field)} />
    </label>
  );

  return (
    <div className="jp-HpcEnvs-runForm-body">
      {error('form') ? (
        <div className="jp-HpcEnvs-error" role="alert">
          {error('form')}
        </div>
      ) : null}
      <label className="jp-HpcEnvs-runForm-field">
        <span>{trans.__('Kernel')}</span>
        <select
          className="jp-mod-styled"
          name="kernel"
          value={model.kernel}
          aria-invalid={error('kernel') ? true : undefined}
          aria-describedby={described('kernel')}
          onChange={e => void model.chooseKernel(e.target.value)}
        >
          {model.kernel ? null : <option value="">{trans.__('Choose a kernel…')}</option>}
          {model.kernels.map(k => (
            <option key={k.kernel} value={k.kernel}>
              {`${k.env} (${k.partition})`}
            </option>
          ))}
        </select>
        <FieldError id={id('kernel-error')} message={error('kernel')} />
      </label>
      {textField('partition', trans.__('Partition'), model.partition, (m, v) => {
        m.partition = v;
      })}
      <div className="jp-HpcEnvs-runForm-resources">
        {RESOURCE_FIELDS.map(f =>
          textField(f, trans.__(RESOURCE_LABELS[f]), model.resources[f], (m, v) => {
            m.resources[f] = v;
          })
        )}
      </div>
      <ParametersTable model={model} trans={trans} errorId={id('parameters-error')} />
      <SweepTable model={model} trans={trans} errorId={id('sweep-error')} />
    </div>
  );
}

function ParametersTable(props: {
  model: RunFormModel;
  trans: TranslationBundle;
  errorId: string;
}): React.ReactElement {
  const { model, trans, errorId } = props;
  return (
    <fieldset className="jp-HpcEnvs-runForm-parameters">
      <legend>{trans.__('Parameters (a cell tagged “parameters” gets them after it)')}</legend>
      {model.parameters.map((row, index) => (
        <div key={index} className="jp-HpcEnvs-runForm-parameter">
          <input
            className="jp-mod-styled"
            aria-label={trans.__('Name of parameter %1', index + 1)}
            placeholder={trans.__('name')}
            value={row.name}
            aria-invalid={model.rowErrors.has(index) ? true : undefined}
            onChange={e => model.set(m => (m.parameters[index].name = e.target.value))}
          />
          <span>=</span>
          <input
            className="jp-mod-styled"
            aria-label={trans.__('Value of parameter %1', index + 1)}
            placeholder={trans.__('value (JSON, or a word)')}
            value={row.value}
            aria-invalid={model.rowErrors.has(index) ? true : undefined}
            onChange={e => model.set(m => (m.parameters[index].value = e.target.value))}
          />
        </div>
      ))}
      <button
        type="button"
        className="jp-HpcEnvs-button jp-HpcEnvs-runForm-addParameter"
        onClick={() => model.set(m => m.parameters.push({ name: '', value: '' }))}
      >
        {trans.__('Add a parameter')}
      </button>
      <FieldError id={errorId} message={model.errors.get('parameters')} />
    </fieldset>
  );
}

function SweepTable(props: {
  model: RunFormModel;
  trans: TranslationBundle;
  errorId: string;
}): React.ReactElement {
  const { model, trans, errorId } = props;
  const { names, rows } = model.sweep;
  return (
    <fieldset className="jp-HpcEnvs-runForm-sweep">
      <legend>{trans.__('Sweep: one job array task per row (leave empty for one run)')}</legend>
      <table>
        <thead>
          <tr>
            {names.map((name, column) => (
              <th key={column}>
                <input
                  className="jp-mod-styled"
                  aria-label={trans.__('Sweep parameter %1', column + 1)}
                  placeholder={trans.__('name')}
                  value={name}
                  onChange={e => model.set(m => (m.sweep.names[column] = e.target.value))}
                />
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {rows.map((row, r) => (
            <tr key={r}>
              {names.map((_, column) => (
                <td key={column}>
                  <input
                    className="jp-mod-styled"
                    aria-label={trans.__('Set %1, value %2', r + 1, column + 1)}
                    value={row[column] ?? ''}
                    onChange={e => model.set(m => (m.sweep.rows[r][column] = e.target.value))}
                  />
                </td>
              ))}
            </tr>
          ))}
        </tbody>
      </table>
      <button
        type="button"
        className="jp-HpcEnvs-button jp-HpcEnvs-runForm-addColumn"
        onClick={() => model.set(m => m.sweep.names.push(''))}
      >
        {trans.__('Add a column')}
      </button>
      <button
        type="button"
        className="jp-HpcEnvs-button jp-HpcEnvs-runForm-addSet"
        onClick={() => model.set(m => m.sweep.rows.push(m.sweep.names.map(() => '')))}
      >
        {trans.__('Add a parameter set')}
      </button>
      <FieldError id={errorId} message={model.errors.get('sweep')} />
    </fieldset>
  );
}
