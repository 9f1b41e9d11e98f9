/**
 * The body of the dialog "Migrate…": the generation to move to, the new environment's name, and
 * the server's plan for them (each module before and after, the packages the new modules
 * provide, the pins without a wheel for the new Python). It renders a {@link MigrationModel} and
 * never calls the server itself.
 */
import { Dialog } from '@jupyterlab/apputils';
import { TranslationBundle } from '@jupyterlab/translation';
import { ReactWidget } from '@jupyterlab/ui-components';
import React, { useEffect, useState } from 'react';

import { Environment, IMigrationRequest, MigrationPlan, Module } from '../api';
import { MigrationModel } from '../migrationmodel';
import { IHpcEnvsModel } from '../tokens';
import { useSignals } from './common';

/**
 * Whether a newer toolchain generation than the environment's own (that of its Python module)
 * has a Python module in a partition's catalog: then "Migrate…" is offered for its build there.
 *
 * @param modules - The environment's modules.
 * @param catalog - The partition's catalog.
 * @returns Whether a newer generation is there.
 */
export function newerGenerationThere(
  modules: readonly string[],
  catalog: readonly Module[]
): boolean {
  const isPython = (full: string): boolean => full.split('/')[0].toLowerCase() === 'python';
  const python = modules.find(isPython);
  const own = catalog.find(m => m.full === python)?.generation;
  if (!own) {
    return false;
  }
  return catalog.some(m => isPython(m.full) && m.generation !== null && m.generation > own);
}

/**
 * The partitions where one's own venv could move to a newer generation (their catalogs are
 * fetched once, and cached by the model).
 *
 * @param model - The extension's model.
 * @param env - The environment.
 * @param partitions - The partitions of its ready builds.
 * @returns Their names.
 */
export function useNewerGenerations(
  model: IHpcEnvsModel,
  env: Environment,
  partitions: readonly string[]
): ReadonlySet<string> {
  const [found, setFound] = useState<ReadonlySet<string>>(new Set());
  const key = partitions.join(' ');
  useEffect(() => {
    let current = true;
    if (!env.mine || env.kind !== 'venv' || !env.modules.length) {
      setFound(new Set());
      return;
    }
    void Promise.all(
      partitions.map(p =>
        model.modules(p, null).then(
          reply => (newerGenerationThere(env.modules, reply.modules) ? p : ''),
          () => ''
        )
      )
    ).then(names => current && setFound(new Set(names.filter(Boolean))));
    return () => {
      current = false;
    };
  }, [model, env.name, env.modules.join(' '), key]);
  return found;
}

/**
 * The dialog's body; its value is the migration to build (or `null` while no plan answers the
 * current choice).
 */
export class MigrationBody
  extends ReactWidget
  implements Dialog.IBodyWidget<IMigrationRequest | null>
{
  /**
   * Create the body.
   *
   * @param model - The dialog's state.
   * @param trans - The translation bundle.
   */
  constructor(
    readonly model: MigrationModel,
    private _trans: TranslationBundle
  ) {
    super();
    this.addClass('jp-HpcEnvs-migration');
  }

  /**
   * The migration to build.
   *
   * @returns The request, or `null` when the plan shown is not the current choice's.
   */
  getValue(): IMigrationRequest | null {
    return this.model.ready ? this.model.request : null;
  }

  protected render(): React.ReactElement {
    return <MigrationView model={this.model} trans={this._trans} />;
  }
}

function MigrationView(props: {
  model: MigrationModel;
  trans: TranslationBundle;
}): React.ReactElement {
  const { model, trans } = props;
  useSignals(model.changed);
  const plan = model.plan;
  return (
    <div>
      <label className="jp-HpcEnvs-migration-field">
        {trans.__('Toolchain generation')}{' '}
        <select
          className="jp-HpcEnvs-migration-generation"
          value={model.generation ?? ''}
          disabled={!plan}
          onChange={e => void model.setGeneration(e.currentTarget.value)}
        >
          {(plan?.generations ?? []).map(g => (
            <option key={g} value={g}>
              {g === plan?.from ? trans.__('%1 (its own)', g) : g}
            </option>
          ))}
        </select>
      </label>
      <label className="jp-HpcEnvs-migration-field">
        {trans.__('New name')}{' '}
        <input
          className="jp-HpcEnvs-migration-name"
          type="text"
          placeholder={plan?.new_name ?? ''}
          defaultValue={model.newName}
          onBlur={e => void model.setNewName(e.currentTarget.value)}
        />
      </label>
      {model.error ? (
        <div className="jp-HpcEnvs-migration-error" role="alert">
          {model.error}
        </div>
      ) : null}
      {model.busy ? <div className="jp-HpcEnvs-migration-busy">{trans.__('Planning…')}</div> : null}
      {plan ? <PlanView plan={plan} trans={trans} /> : null}
    </div>
  );
}

function PlanView(props: { plan: MigrationPlan; trans: TranslationBundle }): React.ReactElement {
  const { plan, trans } = props;
  return (
    <div className="jp-HpcEnvs-migration-plan">
      <p>
        {trans.__(
          '%1 stays as it is; %2 is built on %3 with:',
          plan.name,
          plan.new_name,
          plan.partition
        )}
      </p>
      <table className="jp-HpcEnvs-migration-modules">
        <tbody>
          {plan.modules.map(m => (
            <tr key={m.from} data-module={m.from} className={m.to ? '' : 'jp-mod-unmatched'}>
              <td>{m.from}</td>
              <td>→</td>
              <td title={m.reason}>{m.to ?? trans.__('(none: left out)')}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {plan.provided.length ? (
        <ul className="jp-HpcEnvs-migration-provided">
          {plan.provided.map(p => (
            <li key={p.package}>
              {trans.__(
                '%1: provided by %2 (%3), not installed into the venv',
                p.package,
                p.module,
                p.version
              )}
            </li>
          ))}
        </ul>
      ) : null}
      {plan.unavailable.length ? (
        <ul className="jp-HpcEnvs-migration-unavailable">
          {plan.unavailable.map(p => (
            <li key={p.package}>
              {trans.__('%1: %2; %3 is installed instead', p.package, p.reason, p.instead)}
            </li>
          ))}
        </ul>
      ) : null}
      <p className="jp-HpcEnvs-migration-packages">
        {plan.packages.length
          ? trans.__('Packages: %1', plan.packages.join(' '))
          : trans.__('No packages to install into the venv.')}
      </p>
    </div>
  );
}
