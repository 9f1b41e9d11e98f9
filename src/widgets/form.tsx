/**
 * The creation form "New HPC environment" (main area). It renders a {@link CreateFormModel} and
 * never calls the server: the model loads the catalogs and sends the form.
 */
import { ITranslator, nullTranslator, TranslationBundle } from '@jupyterlab/translation';
import { addIcon, caretUpIcon, closeIcon, ReactWidget } from '@jupyterlab/ui-components';
import React, { useId, useMemo, useState } from 'react';

import { CreateFormModel, FormField } from '../formmodel';
import { hpcEnvsIcon } from '../icons';
import { ITaskLog } from '../tokens';
import { FieldError, IconButton, useSignals, VirtualList } from './common';

/**
 * The height of a row of the module list, in pixels.
 */
export const MODULE_ROW_HEIGHT = 26;

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

  const pythons = useMemo(() => {
    const words = pythonQuery.toLowerCase().split(/\s+/).filter(Boolean);
    return model.pythonModules.filter(m => words.every(w => m.full.toLowerCase().includes(w)));
  }, [model.pythonModules, pythonQuery]);

  const extras = useMemo(() => {
    const words = moduleQuery.toLowerCase().split(/\s+/).filter(Boolean);
    return model.extraModules.filter(
      m =>
        m.full !== model.python &&
        words.every(w => `${m.full} ${m.description}`.toLowerCase().includes(w))
    );
  }, [model.extraModules, model.python, moduleQuery]);

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

  const conda = model.condaStatus;
  const isConda = model.kind === 'conda';
  const partition = site.partitions.find(p => p.name === model.partition);

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

      <fieldset className="jp-HpcEnvs-field jp-HpcEnvs-kind" aria-describedby={describe('kind')}>
        <legend>{trans.__('Kind')}</legend>
        <label>
          <input
            type="radio"
            name={ids('kind')}
            value="venv"
            checked={model.kind === 'venv'}
            onChange={() => model.setKind('venv')}
          />{' '}
          {trans.__('venv on modules (pip)')}
        </label>
        <label className={conda.available ? '' : 'jp-mod-disabled'}>
          <input
            type="radio"
            name={ids('kind')}
            value="conda"
            disabled={!conda.available}
            checked={isConda}
            aria-describedby={conda.available ? undefined : ids('conda-reason')}
            onChange={() => model.setKind('conda')}
          />{' '}
          {trans.__('conda (no modules)')}
        </label>
        {conda.available ? null : (
          <div
            id={ids('conda-reason')}
            className="jp-HpcEnvs-note jp-HpcEnvs-condaReason"
            role={conda.loading ? 'status' : undefined}
          >
            {conda.reason}
          </div>
        )}
        {isConda ? <CondaNotes model={model} trans={trans} /> : null}
        <FieldError id={ids('kind-error')} message={errors.kind} />
      </fieldset>

      <div className="jp-HpcEnvs-field">
        <label htmlFor={ids('name')}>{trans.__('Name')}</label>
        <input
          id={ids('name')}
          className="jp-mod-styled jp-HpcEnvs-name"
          name="name"
          value={model.name}
          autoComplete="off"
          spellCheck={false}
          placeholder={trans.__('e.g. science')}
          aria-invalid={nameError ? true : undefined}
          aria-describedby={nameError ? ids('name-error') : undefined}
          onChange={event => {
            setTouched(true);
            model.setName(event.target.value);
          }}
        />
        <FieldError id={ids('name-error')} message={nameError} />
      </div>

      <div className="jp-HpcEnvs-field">
        <label htmlFor={ids('partition')}>{trans.__('Partition')}</label>
        <select
          id={ids('partition')}
          className="jp-mod-styled jp-HpcEnvs-partition"
          value={model.partition}
          aria-invalid={errors.partition ? true : undefined}
          aria-describedby={describe('partition', ids('partition-hint'))}
          onChange={event => model.setPartition(event.target.value)}
        >
          {site.partitions.map(p => (
            <option key={p.name} value={p.name} disabled={!p.available}>
              {p.name}
              {p.arch && p.arch !== p.name ? ` (${p.arch})` : ''}
              {p.name === site.partition ? ` — ${trans.__('this server')}` : ''}
              {p.available ? '' : ` — ${trans.__('unavailable')}`}
            </option>
          ))}
        </select>
        <div id={ids('partition-hint')} className="jp-HpcEnvs-note">
          {partition?.local
            ? trans.__('Built here, on this node (same CPU architecture).')
            : trans.__('Built as a Slurm job on a node of %1.', model.partition)}
          {partition?.description ? ` ${partition.description}` : ''}
        </div>
        <FieldError id={ids('partition-error')} message={errors.partition} />
      </div>

      {isConda ? (
        <CondaFields model={model} trans={trans} ids={ids} describe={describe} />
      ) : model.hasModules ? (
        <>
          <div className="jp-HpcEnvs-field">
            <label htmlFor={ids('python')}>{trans.__('Python module')}</label>
            <input
              type="search"
              className="jp-mod-styled jp-HpcEnvs-pythonFilter"
              placeholder={trans.__('Filter Python modules')}
              aria-label={trans.__('Filter Python modules')}
              value={pythonQuery}
              onChange={event => setPythonQuery(event.target.value)}
            />
            <select
              id={ids('python')}
              className="jp-mod-styled jp-HpcEnvs-python"
              size={Math.min(6, Math.max(2, pythons.length))}
              value={model.python ?? ''}
              aria-invalid={errors.python ? true : undefined}
              aria-describedby={describe('python')}
              onChange={event => model.setPython(event.target.value || null)}
            >
              {pythons.map(m => (
                <option key={m.full} value={m.full} title={m.description}>
                  {m.full}
                </option>
              ))}
            </select>
            {model.catalog === null ? (
              <div className="jp-HpcEnvs-note" role="status">
                {trans.__('Loading the modules of %1…', model.partition)}
              </div>
            ) : null}
            {model.catalog !== null && !model.pythonModules.length && !model.catalogError ? (
              <div className="jp-HpcEnvs-note">
                {trans.__('Partition %1 offers no Python module.', model.partition)}
              </div>
            ) : null}
            <FieldError id={ids('catalog-error')} message={model.catalogError ?? undefined} />
            <FieldError id={ids('python-error')} message={errors.python} />
          </div>

          <fieldset className="jp-HpcEnvs-field" aria-describedby={describe('modules')}>
            <legend>{trans.__('Other modules')}</legend>
            <div className="jp-HpcEnvs-note">
              {model.python
                ? trans.__(
                    'Modules of the same toolchain generation as %1 come first; others cannot be loaded with it.',
                    model.python
                  )
                : trans.__('Choose the Python module first: other modules must match it.')}
            </div>
            {model.extras.length ? (
              <ol className="jp-HpcEnvs-selectedModules" aria-label={trans.__('Load order')}>
                <li className="jp-HpcEnvs-moduleChip jp-mod-python">{model.python}</li>
                {model.extras.map(m => (
                  <li key={m} className="jp-HpcEnvs-moduleChip">
                    {m}
                    <IconButton
                      icon={closeIcon}
                      label={trans.__('Do not load %1', m)}
                      onClick={() => model.toggleExtra(m, false)}
                    />
                  </li>
                ))}
              </ol>
            ) : null}
            <input
              type="search"
              className="jp-mod-styled jp-HpcEnvs-moduleFilter"
              placeholder={trans.__('Filter modules')}
              aria-label={trans.__('Filter the other modules')}
              value={moduleQuery}
              disabled={!model.python}
              onChange={event => setModuleQuery(event.target.value)}
            />
            {model.python ? (
              model.compatLoading ? (
                <div className="jp-HpcEnvs-note" role="status">
                  {trans.__('Checking which modules match %1…', model.python)}
                </div>
              ) : (
                <VirtualList
                  className="jp-HpcEnvs-moduleList"
                  label={trans.__('Other modules')}
                  items={extras}
                  rowHeight={MODULE_ROW_HEIGHT}
                  initialHeight={8 * MODULE_ROW_HEIGHT}
                  rowKey={m => m.full}
                  renderRow={m => {
                    const incompatible = m.compatible === false;
                    return (
                      <label
                        className={`jp-HpcEnvs-module${incompatible ? ' jp-mod-incompatible' : ''}`}
                        title={m.reason ?? m.description}
                      >
                        <input
                          type="checkbox"
                          value={m.full}
                          checked={model.extras.includes(m.full)}
                          disabled={incompatible}
                          onChange={event => model.toggleExtra(m.full, event.target.checked)}
                        />
                        <span className="jp-HpcEnvs-module-name">{m.full}</span>
                        {incompatible ? (
                          <span className="jp-HpcEnvs-module-reason">{m.reason}</span>
                        ) : null}
                      </label>
                    );
                  }}
                />
              )
            ) : null}
            <FieldError id={ids('modules-error')} message={errors.modules} />
          </fieldset>
        </>
      ) : (
        <div className="jp-HpcEnvs-note">
          {trans.__('This site has no module system: the environment uses the server’s Python.')}
        </div>
      )}

      <fieldset className="jp-HpcEnvs-field jp-HpcEnvs-roots" aria-describedby={describe('root')}>
        <legend>{trans.__('Storage')}</legend>
        {model.sharedRoot ? (
          <div className="jp-HpcEnvs-root jp-HpcEnvs-shared">
            <label>
              <input
                type="checkbox"
                checked={model.shared}
                aria-describedby={describe('shared')}
                onChange={e => model.setShared(e.currentTarget.checked)}
              />{' '}
              {trans.__('Share with my VO')}{' '}
              <span className="jp-HpcEnvs-root-path">{model.sharedRoot.path}</span>
            </label>
            <div className="jp-HpcEnvs-note">
              {trans.__(
                'The members of your VO can see and use it (kernels, terminal, packages list); only you can change or remove it.'
              )}
            </div>
          </div>
        ) : null}
        <FieldError id={ids('shared-error')} message={errors.shared} />
        {site.storage_roots.map(r => {
          const writable = r.exists && r.writable;
          const usable = writable && !model.shared;
          return (
            <div key={r.label} className="jp-HpcEnvs-root">
              <label className={usable ? '' : 'jp-mod-disabled'}>
                <input
                  type="radio"
                  name={ids('root')}
                  value={r.label}
                  checked={model.root === r.label}
                  disabled={!usable}
                  onChange={() => model.setRoot(r.label)}
                />{' '}
                <span className="jp-HpcEnvs-root-label">{r.label}</span>{' '}
                <span className="jp-HpcEnvs-root-path">{r.path}</span>
                {writable ? '' : ` — ${trans.__('not writable')}`}
              </label>
              {r.warning && model.root === r.label ? (
                <div className="jp-HpcEnvs-warning" role="note">
                  {r.warning}
                </div>
              ) : r.warning ? (
                <div className="jp-HpcEnvs-note jp-HpcEnvs-root-warning">{r.warning}</div>
              ) : null}
            </div>
          );
        })}
        <FieldError id={ids('root-error')} message={errors.root} />
      </fieldset>

      <div className="jp-HpcEnvs-field">
        <label htmlFor={ids('packages')}>
          {isConda
            ? trans.__('Packages to install with conda')
            : trans.__('Packages to install with pip')}
        </label>
        <textarea
          id={ids('packages')}
          className="jp-mod-styled jp-HpcEnvs-packages"
          rows={3}
          spellCheck={false}
          placeholder={
            isConda
              ? trans.__(
                  'e.g. numpy scipy>=1.11 matplotlib (conda specs; spaces or lines between them)'
                )
              : trans.__('e.g. icecream tqdm>=4.66 (spaces or lines between them)')
          }
          value={model.packagesText}
          aria-invalid={errors.packages ? true : undefined}
          aria-describedby={describe('packages')}
          onChange={event => model.setPackagesText(event.target.value)}
        />
        <div className="jp-HpcEnvs-requirements">
          <label htmlFor={ids('requirements')}>{trans.__('or a requirements file:')}</label>{' '}
          <input
            id={ids('requirements')}
            type="file"
            accept=".txt,.in,text/plain"
            className="jp-HpcEnvs-requirementsFile"
            onChange={event => {
              const file = event.target.files?.[0];
              event.target.value = '';
              if (file) {
                void file.text().then(text => model.setRequirements({ name: file.name, text }));
              }
            }}
          />
          {model.requirements ? (
            <span className="jp-HpcEnvs-moduleChip">
              {trans.__(
                '%1 (%2 lines)',
                model.requirements.name,
                model.requirements.text.split('\n').filter(l => l.trim()).length
              )}
              <IconButton
                icon={closeIcon}
                label={trans.__('Do not use %1', model.requirements.name)}
                onClick={() => model.setRequirements(null)}
              />
            </span>
          ) : null}
        </div>
        {isConda ? (
          <div className="jp-HpcEnvs-note">
            {trans.__(
              'A package none of the channels has is installed with pip after the conda packages (conda first, pip last).'
            )}
          </div>
        ) : null}
        <FieldError id={ids('packages-error')} message={errors.packages} />
      </div>

      {isConda ? null : (
        <details className="jp-HpcEnvs-field jp-HpcEnvs-advanced">
          <summary>{trans.__('Advanced options')}</summary>
          <label>
            <input
              type="checkbox"
              checked={model.systemSitePackages}
              onChange={event => model.setSystemSitePackages(event.target.checked)}
            />{' '}
            {trans.__('See the packages of the modules (--system-site-packages, recommended)')}
          </label>
          <fieldset>
            <legend>{trans.__('pip options')}</legend>
            {model.allowedPipOptions.map(option => (
              <label key={option} className="jp-HpcEnvs-pipOption">
                <input
                  type="checkbox"
                  value={option}
                  checked={model.pipOptions.includes(option)}
                  onChange={event => model.setPipOption(option, event.target.checked)}
                />{' '}
                <code>{option}</code>
              </label>
            ))}
            <div className="jp-HpcEnvs-note">
              {trans.__(
                'pip always runs with --no-cache-dir --no-build-isolation, as the site advises.'
              )}
            </div>
          </fieldset>
          <FieldError id={ids('options-error')} message={errors.options} />
        </details>
      )}

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
          {model.isSubmitting ? trans.__('Creating…') : trans.__('Create')}
        </button>
      </div>
    </form>
  );
}

/**
 * What the user is told when choosing conda: the site's message and warnings, and the engine.
 */
function CondaNotes(props: {
  model: CreateFormModel;
  trans: TranslationBundle;
}): React.ReactElement {
  const { model, trans } = props;
  const engine = model.condaInfo?.engine;
  return (
    <div className="jp-HpcEnvs-condaNotes">
      {model.condaWarnings.map(w => (
        <div key={w} className="jp-HpcEnvs-warning jp-HpcEnvs-condaWarning" role="note">
          {w}
        </div>
      ))}
      <div className="jp-HpcEnvs-note">
        {trans.__(
          'A conda environment brings its own Python and libraries: no module is loaded with it (its kernel purges them), and it is activated as conda does, with its activate.d scripts.'
        )}
        {engine
          ? ` ${trans.__('Made with %1 %2 (%3).', engine.kind, engine.version, engine.source)}`
          : ''}
      </div>
    </div>
  );
}

/**
 * Versions offered for the Python of a conda environment (any other can be typed).
 */
const CONDA_PYTHONS = ['3.13', '3.12', '3.11', '3.10'];

/**
 * The fields of a conda environment: its Python version, its channels, and the environments made
 * by hand that can be adopted instead.
 */
function CondaFields(props: {
  model: CreateFormModel;
  trans: TranslationBundle;
  ids: (field: string) => string;
  describe: (field: FormField, hint?: string) => string | undefined;
}): React.ReactElement {
  const { model, trans, ids, describe } = props;
  const errors = model.fieldErrors;
  const [extra, setExtra] = useState('');
  const chosen = model.channels;
  const others = model.channelChoices.filter(c => !chosen.includes(c.name));
  const described = new Map(model.channelChoices.map(c => [c.name, c.description]));
  const addExtra = (): void => {
    if (extra.trim()) {
      model.setChannel(extra.trim(), true);
      setExtra('');
    }
  };
  return (
    <>
      <div className="jp-HpcEnvs-field">
        <label htmlFor={ids('condaPython')}>{trans.__('Python version')}</label>
        <input
          id={ids('condaPython')}
          className="jp-mod-styled jp-HpcEnvs-condaPython"
          list={ids('condaPythons')}
          value={model.condaPython}
          autoComplete="off"
          spellCheck={false}
          placeholder={trans.__("e.g. 3.11 (empty: the channels' newest)")}
          aria-invalid={errors.python ? true : undefined}
          aria-describedby={describe('python')}
          onChange={event => model.setCondaPython(event.target.value)}
        />
        <datalist id={ids('condaPythons')}>
          {CONDA_PYTHONS.map(v => (
            <option key={v} value={v} />
          ))}
        </datalist>
        <FieldError id={ids('python-error')} message={errors.python} />
      </div>

      <fieldset
        className="jp-HpcEnvs-field jp-HpcEnvs-channels"
        aria-describedby={describe('channels')}
      >
        <legend>{trans.__('Channels')}</legend>
        <div className="jp-HpcEnvs-note">
          {chosen.length
            ? trans.__('Packages are taken from the first channel that has them.')
            : trans.__("No channel chosen: the site's default channels are used.")}
        </div>
        {chosen.length ? (
          <ol
            className="jp-HpcEnvs-selectedModules jp-HpcEnvs-selectedChannels"
            aria-label={trans.__('Channels, by priority')}
          >
            {chosen.map((c, index) => (
              <li
                key={c}
                className="jp-HpcEnvs-moduleChip jp-HpcEnvs-channelChip"
                title={described.get(c) ?? ''}
              >
                {c}
                {index > 0 ? (
                  <IconButton
                    icon={caretUpIcon}
                    label={trans.__('Try %1 earlier', c)}
                    onClick={() => model.raiseChannel(c)}
                  />
                ) : null}
                <IconButton
                  icon={closeIcon}
                  label={trans.__('Do not use %1', c)}
                  onClick={() => model.setChannel(c, false)}
                />
              </li>
            ))}
          </ol>
        ) : null}
        {others.map(c => (
          <div key={c.name} className="jp-HpcEnvs-channelChoice">
            <IconButton
              icon={addIcon}
              label={trans.__('Use the channel %1', c.name)}
              onClick={() => model.setChannel(c.name, true)}
            />{' '}
            <code>{c.name}</code>
            {c.description ? <span className="jp-HpcEnvs-note"> — {c.description}</span> : null}
          </div>
        ))}
        <div className="jp-HpcEnvs-channelAdd">
          <input
            className="jp-mod-styled jp-HpcEnvs-channelInput"
            value={extra}
            spellCheck={false}
            autoComplete="off"
            placeholder={trans.__('Another channel: a name, a URL or a folder')}
            aria-label={trans.__('Another channel')}
            onChange={event => setExtra(event.target.value)}
            onKeyDown={event => {
              if (event.key === 'Enter') {
                event.preventDefault();
                addExtra();
              }
            }}
          />
          <button
            type="button"
            className="jp-Button jp-mod-styled jp-mod-reject"
            disabled={!extra.trim()}
            onClick={addExtra}
          >
            {trans.__('Add')}
          </button>
        </div>
        <FieldError id={ids('channels-error')} message={errors.channels} />
      </fieldset>

      <AdoptList model={model} trans={trans} />
    </>
  );
}

/**
 * The conda environments made by hand on the server's node, each with "Adopt" when it can be.
 */
function AdoptList(props: {
  model: CreateFormModel;
  trans: TranslationBundle;
}): React.ReactElement {
  const { model, trans } = props;
  const found = model.condaEnvironments;
  const result = model.adoptResult;
  const free = (found ?? []).filter(e => !e.managed_as);
  return (
    <details className="jp-HpcEnvs-field jp-HpcEnvs-adopt" open={free.length > 0}>
      <summary>
        {found === null
          ? trans.__('Conda environments made by hand: looking…')
          : trans._n(
              '%1 conda environment made by hand',
              '%1 conda environments made by hand',
              free.length
            )}
      </summary>
      <div className="jp-HpcEnvs-note">
        {trans.__(
          'Made with conda create (in the storage roots, e.g. $VSC_DATA/miniconda3/envs): adopt one to get a kernel for it, instead of creating a new environment.'
        )}
      </div>
      <ul className="jp-HpcEnvs-adoptList">
        {free.map(e => (
          <li key={e.prefix} className="jp-HpcEnvs-adoptItem" data-prefix={e.prefix}>
            <span className="jp-HpcEnvs-adoptItem-name">{e.name}</span>{' '}
            <span className="jp-HpcEnvs-root-path">{e.prefix}</span>
            {e.python ? ` · Python ${e.python}` : ''}
            {e.adoptable ? (
              <button
                type="button"
                className="jp-Button jp-mod-styled jp-mod-reject jp-HpcEnvs-adoptButton"
                disabled={model.adopting !== null}
                onClick={() => void model.adopt(e.prefix)}
              >
                {model.adopting === e.prefix ? trans.__('Adopting…') : trans.__('Adopt')}
              </button>
            ) : (
              <span className="jp-HpcEnvs-note"> — {e.reason}</span>
            )}
          </li>
        ))}
      </ul>
      {result ? (
        <div
          className={result.ok ? 'jp-HpcEnvs-note jp-HpcEnvs-adoptResult' : 'jp-HpcEnvs-error'}
          role={result.ok ? 'status' : 'alert'}
        >
          {result.message}
        </div>
      ) : null}
    </details>
  );
}
