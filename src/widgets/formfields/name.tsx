/**
 * The environment's name, checked as the user types (with the site's rules).
 */
import React from 'react';

import { FieldError } from '../common';
import { IFieldProps } from './fields';

/**
 * The "Name" box.
 */
export function NameField(
  props: IFieldProps & {
    /**
     * What is wrong with the name (the server's or the check's), shown under the box.
     */
    error: string | undefined;

    /**
     * The user typed: the check's message is shown from now on.
     */
    onType: () => void;
  }
): React.ReactElement {
  const { model, trans, ids } = props;
  const nameError = props.error;
  return (
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
          props.onType();
          model.setName(event.target.value);
        }}
      />
      <FieldError id={ids('name-error')} message={nameError} />
    </div>
  );
}
