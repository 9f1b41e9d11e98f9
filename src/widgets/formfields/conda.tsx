/**
 * The parts of the form for a conda environment: the site's notes on conda, the Python version,
 * the channels, and adopting an existing conda environment.
 */
import { TranslationBundle } from '@jupyterlab/translation';
import { addIcon, caretUpIcon, closeIcon } from '@jupyterlab/ui-components';
import React, { useState } from 'react';

import { CreateFormModel } from '../../formmodel';
import { FieldError, IconButton } from '../common';
import { IFieldProps } from './fields';
/**
 * What the user is told when choosing conda: the site's message and warnings, and the engine.
 */
export function CondaNotes(props: {
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
export function CondaFields(props: IFieldProps): React.ReactElement {
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
