/**
 * The creation form "New HPC environment" (main area). It renders a {@link CreateFormModel} and
 * never calls the server: the model loads the catalogs and sends the form.
 */
import { ITranslator, nullTranslator, TranslationBundle } from '@jupyterlab/translation';
import { ReactWidget } from '@jupyterlab/ui-components';
import React, { useId, useState } from 'react';

import { CreateFormModel, FormField } from '../formmodel';
import { hpcEnvsIcon } from '../icons';
import { ITaskLog } from '../tokens';
import { useSignals } from './common';
import { CondaFields } from './formfields/conda';
import { IFieldProps } from './formfields/fields';
import { KindField } from './formfields/kind';
import { ModulesFields } from './formfields/modules';
import { NameField } from './formfields/name';
import { PackagesField, PipOptionsField } from './formfields/packages';
import { PartitionField } from './formfields/partition';
import { StorageField } from './formfields/storage';

export { MODULE_ROW_HEIGHT } from './formfields/modules';

/**
 * The creation form.
 */
export class CreateEnvironmentForm extends ReactWidget {
  /**
   * Create the form.
   *
   * @param options - Its model, what to do once the environment's build started, the translator.
   */
  constructor(options: CreateEnvironmentForm.IOptions) {
    super();
    this._model = options.model;
    this._onCreated = options.onCreated;
    this._onCancel = options.onCancel ?? null;
    this._trans = (options.translator ?? nullTranslator).load('jupyterlab_hpc_envs');
    this.addClass('jp-HpcEnvs-form');
    this.title.label = this._trans.__('New HPC environment');
    this.title.icon = hpcEnvsIcon;
  }

  /**
   * The form's state.
   */
  get model(): CreateFormModel {
    return this._model;
  }

  override dispose(): void {
    if (this.isDisposed) {
      return;
    }
    this._model.dispose();
    super.dispose();
  }

  protected render(): React.ReactElement {
    return (
      <FormView
        model={this._model}
        trans={this._trans}
        onCreated={this._onCreated}
        onCancel={this._onCancel}
      />
    );
  }

  private _model: CreateFormModel;
  private _onCreated: (log: ITaskLog) => void;
  private _onCancel: (() => void) | null;
  private _trans: TranslationBundle;
}

/**
 * The namespace of {@link CreateEnvironmentForm}'s types.
 */
export namespace CreateEnvironmentForm {
  /**
   * The options of the constructor.
   */
  export interface IOptions {
    /**
     * The form's state.
     */
    model: CreateFormModel;

    /**
     * Called with the build's task once the server accepted the form.
     */
    onCreated: (log: ITaskLog) => void;

    /**
     * Called when the user cancels the form.
     */
    onCancel?: () => void;

    /**
     * The translator.
     */
    translator?: ITranslator;
  }
}

interface IFormViewProps {
  model: CreateFormModel;
  trans: TranslationBundle;
  onCreated: (log: ITaskLog) => void;
  onCancel: (() => void) | null;
}

function FormView(props: IFormViewProps): React.ReactElement {
  const { model, trans } = props;
  useSignals(model.stateChanged);
  const uid = useId();
  const ids = (field: string): string => `${uid}-${field}`;
  const [touched, setTouched] = useState(false);
  const [pythonQuery, setPythonQuery] = useState('');
  const [moduleQuery, setModuleQuery] = useState('');

  const site = model.site;
  const errors = model.fieldErrors;
  const nameError = errors.name ?? (touched ? model.nameError : null) ?? undefined;

  const describe = (field: FormField, hint?: string): string | undefined =>
    [errors[field] ? ids(`${field}-error`) : '', hint ?? ''].filter(Boolean).join(' ') || undefined;

  const onSubmit = async (event: React.FormEvent): Promise<void> => {
    event.preventDefault();
    setTouched(true);
    const log = await model.submit();
    if (log) {
      props.onCreated(log);
    }
  };

  if (!site) {
    return (
      <div className="jp-HpcEnvs-form-loading" role="status">
        {trans.__('Asking the server what the site offers…')}
      </div>
    );
  }

  const isConda = model.kind === 'conda';
  const field: IFieldProps = { model, trans, ids, describe };

  return (
    <form
      className="jp-HpcEnvs-form-body"
      onSubmit={event => void onSubmit(event)}
      aria-label={trans.__('New HPC environment')}
      noValidate
    >
      <h1 className="jp-HpcEnvs-form-title">{trans.__('New HPC environment')}</h1>
      <p className="jp-HpcEnvs-form-intro">
        {trans.__(
          'An environment is built on the modules of the partition it runs on, outside your home folder, and registered as a kernel: what the site documentation asks you to do by hand.'
        )}
      </p>
      {model.replacing ? (
        <div className="jp-HpcEnvs-note jp-HpcEnvs-form-replacing" role="note">
          {trans.__(
            'The build of %1 failed: correct its spec here; creating it again replaces the failed environment.',
            model.replacing
          )}
        </div>
      ) : null}

      <KindField {...field} />

      <NameField {...field} error={nameError} onType={() => setTouched(true)} />

      <PartitionField {...field} />

      {isConda ? (
        <CondaFields {...field} />
      ) : model.hasModules ? (
        <ModulesFields
          {...field}
          pythonQuery={pythonQuery}
          moduleQuery={moduleQuery}
          onPythonQuery={setPythonQuery}
          onModuleQuery={setModuleQuery}
        />
      ) : (
        <div className="jp-HpcEnvs-note">
          {trans.__('This site has no module system: the environment uses the server’s Python.')}
        </div>
      )}

      <StorageField {...field} />

      <PackagesField {...field} />

      {isConda ? null : <PipOptionsField {...field} />}

      {model.formError ? (
        <div className="jp-HpcEnvs-error" role="alert">
          {model.formError}
        </div>
      ) : null}
      {model.suggestions.length ? (
        <div className="jp-HpcEnvs-note">
          {trans.__('Did you mean: %1', model.suggestions.join(', '))}
        </div>
      ) : null}

      <div className="jp-HpcEnvs-form-actions">
        {props.onCancel ? (
          <button
            type="button"
            className="jp-Button jp-mod-styled jp-mod-reject"
            onClick={props.onCancel}
          >
            {trans.__('Cancel')}
          </button>
        ) : null}
        <button
          type="submit"
          className="jp-Button jp-mod-styled jp-mod-accept jp-HpcEnvs-create"
          disabled={model.isSubmitting}
          aria-disabled={!model.canSubmit}
        >
          {model.isSubmitting
            ? trans.__('Creating…')
            : model.replacing
              ? trans.__('Replace %1', model.replacing)
              : trans.__('Create')}
        </button>
      </div>
    </form>
  );
}
