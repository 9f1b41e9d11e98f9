/**
 * The packages to install (typed, or a requirements file) and, for a venv, pip's options.
 */
import { closeIcon } from '@jupyterlab/ui-components';
import React from 'react';

import { FieldError, IconButton } from '../common';
import { IFieldProps } from './fields';

/**
 * The packages box and the requirements file.
 */
export function PackagesField(props: IFieldProps): React.ReactElement {
  const { model, trans, ids, describe } = props;
  const errors = model.fieldErrors;
  const isConda = model.kind === 'conda';
  return (
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
  );
}

/**
 * The advanced options of a venv: the modules' packages, and the pip options the site allows.
 */
export function PipOptionsField(props: IFieldProps): React.ReactElement {
  const { model, trans, ids } = props;
  const errors = model.fieldErrors;
  return (
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
  );
}
