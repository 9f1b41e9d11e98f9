/**
 * Where the environment is stored: one of the site's storage roots, or the VO's folder when it is
 * shared with the user's VO ("Share with my VO").
 */
import React from 'react';

import { FieldError } from '../common';
import { IFieldProps } from './fields';

/**
 * The "Storage" choice.
 */
export function StorageField(props: IFieldProps): React.ReactElement | null {
  const { model, trans, ids, describe } = props;
  const site = model.site;
  if (!site) {
    return null;
  }
  const errors = model.fieldErrors;
  return (
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
  );
}
