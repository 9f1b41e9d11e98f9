/**
 * The kind of environment: a venv on modules (pip) or conda (no modules), with why conda cannot
 * be chosen here when it cannot.
 */
import React from 'react';

import { FieldError } from '../common';
import { CondaNotes } from './conda';
import { IFieldProps } from './fields';

/**
 * The "Kind" radio buttons.
 */
export function KindField(props: IFieldProps): React.ReactElement {
  const { model, trans, ids, describe } = props;
  const errors = model.fieldErrors;
  const conda = model.condaStatus;
  const isConda = model.kind === 'conda';
  return (
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
  );
}
