/**
 * The modules a venv is built on: its Python module, then the other modules of the same
 * toolchain generation, in load order.
 */
import { closeIcon } from '@jupyterlab/ui-components';
import React, { useMemo } from 'react';

import { visibleAfter } from '../../form/modules';
import { FieldError, IconButton, VirtualList } from '../common';
import { IFieldProps } from './fields';

/**
 * The height of a row of the module list, in pixels.
 */
export const MODULE_ROW_HEIGHT = 26;

/**
 * The Python module and the other modules, each with a filter (kept by the form, so that it
 * survives a switch of kind).
 */
export function ModulesFields(
  props: IFieldProps & {
    pythonQuery: string;
    moduleQuery: string;
    onPythonQuery: (query: string) => void;
    onModuleQuery: (query: string) => void;
  }
): React.ReactElement {
  const { model, trans, ids, describe, pythonQuery, moduleQuery } = props;
  const errors = model.fieldErrors;

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

  return (
    <>
      <div className="jp-HpcEnvs-field">
        <label htmlFor={ids('python')}>{trans.__('Python module')}</label>
        <input
          type="search"
          className="jp-mod-styled jp-HpcEnvs-pythonFilter"
          placeholder={trans.__('Filter Python modules')}
          aria-label={trans.__('Filter Python modules')}
          value={pythonQuery}
          onChange={event => props.onPythonQuery(event.target.value)}
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
          {/* What the select shows while nothing is chosen: without an option of its value,
              React would mark the first module selected, which the model has not chosen. */}
          <option value="" disabled hidden>
            {trans.__('No Python module chosen')}
          </option>
          {pythons.map(m => (
            <option key={m.path || m.full} value={m.full} title={m.description}>
              {visibleAfter(m) ? trans.__('%1 (after %2)', m.full, visibleAfter(m)) : m.full}
            </option>
          ))}
        </select>
        {model.catalog === null ? (
          <div className="jp-HpcEnvs-note jp-HpcEnvs-probing" role="status">
            {model.probing
              ? trans.__('Learning what partition %1 offers (a short Slurm job)…', model.partition)
              : trans.__('Loading the modules of %1…', model.partition)}
          </div>
        ) : null}
        {model.catalog !== null && !model.pythonModules.length && !model.catalogError ? (
          <div className="jp-HpcEnvs-note">
            {trans.__('Partition %1 offers no Python module.', model.partition)}
          </div>
        ) : null}
        {model.catalog !== null && model.pythonModules.length && !model.python ? (
          <div className="jp-HpcEnvs-note jp-HpcEnvs-python-none">
            {trans.__('No Python module chosen yet: click one.')}
          </div>
        ) : null}
        <FieldError id={ids('catalog-error')} message={model.catalogError ?? undefined} />
        {model.probeFailed ? (
          <button
            type="button"
            className="jp-mod-styled jp-HpcEnvs-probeAgain"
            onClick={() => void model.probeAgain()}
          >
            {trans.__('Probe again')}
          </button>
        ) : null}
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
        {model.droppedModules.length ? (
          <div className="jp-HpcEnvs-warning jp-HpcEnvs-droppedModules" role="status">
            {trans._n(
              'Taken out of your choice, as it no longer fits:',
              'Taken out of your choice, as they no longer fit:',
              model.droppedModules.length
            )}
            <ul>
              {model.droppedModules.map(d => (
                <li key={d.module} data-module={d.module}>
                  <span className="jp-HpcEnvs-module-name">{d.module}</span>: {d.reason}
                </li>
              ))}
            </ul>
          </div>
        ) : null}
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
          onChange={event => props.onModuleQuery(event.target.value)}
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
              rowKey={m => m.path || m.full}
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
                    {visibleAfter(m) ? (
                      <span className="jp-HpcEnvs-module-parent">
                        {trans.__('after %1', visibleAfter(m))}
                      </span>
                    ) : null}
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
  );
}
