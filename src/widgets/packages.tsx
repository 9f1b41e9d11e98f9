/**
 * The packages view (main area): the packages of an environment's build on a partition with where
 * each comes from, the shadowing warnings, install, uninstall and export. It renders a
 * {@link PackagesModel}; changes are commands (with their notifications and confirmations).
 */
import { ITranslator, nullTranslator, TranslationBundle } from '@jupyterlab/translation';
import { deleteIcon, ReactWidget, refreshIcon } from '@jupyterlab/ui-components';
import { CommandRegistry } from '@lumino/commands';
import React, { useEffect, useId, useState } from 'react';

import { Package, ShadowWarning } from '../api';
import { hpcEnvsIcon } from '../icons';
import { CommandIDs } from '../tokens';
import { ICondaRow, Listing, PackagesModel, SourceFilter } from '../packagesmodel';
import { splitCondaSpecs, splitSpecs } from '../specs';
import { IconButton, useSignals, VirtualList } from './common';

/**
 * The height of a package row, in pixels.
 */
export const PACKAGE_ROW_HEIGHT = 28;

/**
 * The packages view.
 */
export class PackagesView extends ReactWidget {
  /**
   * Create the view; it loads the packages when first shown.
   *
   * @param options - Its model, the commands of its actions, the translator.
   */
  constructor(options: PackagesView.IOptions) {
    super();
    this._model = options.model;
    this._commands = options.commands;
    this._trans = (options.translator ?? nullTranslator).load('jupyterlab_hpc_envs');
    this.addClass('jp-HpcEnvs-packagesView');
    this.title.icon = hpcEnvsIcon;
    this._model.stateChanged.connect(this._updateTitle, this);
    this._updateTitle();
    void this._model.refresh();
  }

  /**
   * The view's state.
   */
  get model(): PackagesModel {
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
    return <PackagesBody model={this._model} commands={this._commands} trans={this._trans} />;
  }

  private _updateTitle(): void {
    this.title.label = this._trans.__('Packages: %1 (%2)', this._model.name, this._model.partition);
    this.node.dataset.env = this._model.name;
    this.node.dataset.partition = this._model.partition;
  }

  private _model: PackagesModel;
  private _commands: CommandRegistry;
  private _trans: TranslationBundle;
}

/**
 * The namespace of {@link PackagesView}'s types.
 */
export namespace PackagesView {
  /**
   * The options of the constructor.
   */
  export interface IOptions {
    /**
     * The view's state.
     */
    model: PackagesModel;

    /**
     * The application's commands: install, uninstall and export run them.
     */
    commands: CommandRegistry;

    /**
     * The translator.
     */
    translator?: ITranslator;
  }
}

/**
 * The badge text of where a package comes from.
 *
 * @param row - The package.
 * @param trans - The translation bundle.
 * @returns The text and its longer explanation.
 */
export function sourceBadge(
  row: Package,
  trans: TranslationBundle
): { text: string; title: string } {
  switch (row.source) {
    case 'venv':
      return { text: 'venv', title: trans.__('Installed in the environment') };
    case 'module':
      return {
        text: row.module ?? trans.__('module'),
        title: trans.__('From the module %1', row.module ?? '')
      };
    case 'base':
      // Which module's interpreter, as the command line says it.
      return {
        text: row.module ? `base (${row.module})` : 'base',
        title: row.module
          ? trans.__('Part of the interpreter of the module %1', row.module)
          : trans.__("Part of the environment's Python interpreter")
      };
    case 'conda':
      return { text: 'conda', title: trans.__('From the conda environment') };
    case 'user':
      return {
        text: 'user',
        title: trans.__('From your user site (~/.local): it conflicts with environments')
      };
    case 'path':
      return { text: 'PYTHONPATH', title: trans.__('From another folder on sys.path') };
  }
}

function PackagesBody(props: {
  model: PackagesModel;
  commands: CommandRegistry;
  trans: TranslationBundle;
}): React.ReactElement {
  const { model, commands, trans } = props;
  useSignals(model.stateChanged);
  const data = model.data;
  const busy = model.busy;
  // Busy, or shared by another user: the rows' uninstall and update buttons are disabled.
  const readOnly = busy !== null || model.sharedBy !== null;
  const isConda = model.kind === 'conda';
  const listing = model.listing;
  const rows = model.rows;
  const shown = listing === 'conda' ? model.condaRows.length : rows.length;

  return (
    <div className="jp-HpcEnvs-packages-body">
      <PackagesHeader model={model} commands={commands} trans={trans} />
      {data ? (
        <div className="jp-HpcEnvs-note jp-HpcEnvs-packages-summary">
          {isConda
            ? trans.__(
                'conda environment · Python %1 · %2 · no modules · %3 requested',
                data.python,
                data.prefix,
                data.requested.join(' ') || trans.__('nothing')
              )
            : trans.__(
                'Python %1 · %2 · modules: %3',
                data.python,
                data.prefix,
                data.loaded_modules.join(' ') || trans.__('none')
              )}
        </div>
      ) : null}
      {model.error ? (
        <div className="jp-HpcEnvs-error" role="alert">
          {model.error}
        </div>
      ) : null}
      <ShadowWarnings warnings={data?.warnings ?? []} trans={trans} />

      {model.sharedBy !== null ? (
        <div className="jp-HpcEnvs-note jp-HpcEnvs-sharedBy">
          {trans.__('Shared by %1: only %1 can change it.', model.sharedBy)}
        </div>
      ) : (
        <InstallForm model={model} commands={commands} trans={trans} />
      )}

      <div className="jp-HpcEnvs-packages-filters">
        {isConda ? (
          <select
            className="jp-mod-styled jp-HpcEnvs-packages-listing"
            aria-label={trans.__('What to list')}
            value={listing}
            onChange={event => model.setListing(event.target.value as Listing)}
          >
            <option value="conda">{trans.__('conda packages')}</option>
            <option value="python">{trans.__('Python distributions')}</option>
          </select>
        ) : null}
        <input
          type="search"
          className="jp-mod-styled jp-HpcEnvs-packages-filter"
          placeholder={trans.__('Filter packages')}
          aria-label={trans.__('Filter packages by name, version or module')}
          value={model.query}
          onChange={event => model.setQuery(event.target.value)}
        />
        {listing === 'python' ? (
          <select
            className="jp-mod-styled jp-HpcEnvs-packages-source"
            aria-label={trans.__('Show the packages of one source')}
            value={model.source}
            onChange={event => model.setSource(event.target.value as SourceFilter)}
          >
            <option value="all">{trans.__('every source')}</option>
            {model.sources.map(s => (
              <option key={s} value={s}>
                {s}
              </option>
            ))}
          </select>
        ) : null}
        <span className="jp-HpcEnvs-packages-count" role="status">
          {data
            ? trans.__('%1 of %2', shown, model.total)
            : model.isLoading
              ? trans.__('Listing the packages (inside the environment)…')
              : ''}
        </span>
      </div>

      {listing === 'conda' ? (
        <CondaList model={model} commands={commands} trans={trans} busy={readOnly} />
      ) : (
        <PythonList model={model} commands={commands} trans={trans} busy={readOnly} />
      )}
    </div>
  );
}

/**
 * The header of the view: its title, the partition shown, refresh, "update all" (conda) and the
 * requirements export.
 */
function PackagesHeader(props: {
  model: PackagesModel;
  commands: CommandRegistry;
  trans: TranslationBundle;
}): React.ReactElement {
  const { model, commands, trans } = props;
  const { busy, name, partition } = model;
  const isConda = model.kind === 'conda';
  return (
    <div className="jp-HpcEnvs-packages-header">
      <h1 className="jp-HpcEnvs-packages-title">{trans.__('Packages of %1', name)}</h1>
      <label>
        {trans.__('Partition')}{' '}
        <select
          className="jp-mod-styled jp-HpcEnvs-packages-partition"
          value={partition}
          onChange={event => model.setPartition(event.target.value)}
        >
          {(model.partitions.length ? model.partitions.map(p => p.name) : [partition]).map(p => (
            <option key={p} value={p}>
              {p}
            </option>
          ))}
        </select>
      </label>
      <IconButton
        icon={refreshIcon}
        label={trans.__('List the packages again')}
        onClick={() => void model.refresh()}
        disabled={model.isLoading}
      />
      {isConda ? (
        <button
          type="button"
          className="jp-Button jp-mod-styled jp-mod-reject jp-HpcEnvs-updateAll"
          disabled={busy !== null}
          title={
            busy
              ? trans.__('Busy: %1', busy.title)
              : trans.__('Update every package to the newest the channels allow')
          }
          onClick={() => void commands.execute(CommandIDs.updateAllPackages, { name, partition })}
        >
          {trans.__('Update all…')}
        </button>
      ) : null}
      <button
        type="button"
        className="jp-Button jp-mod-styled jp-mod-reject jp-HpcEnvs-export"
        onClick={() => void commands.execute(CommandIDs.exportRequirements, { name, partition })}
      >
        {trans.__('Export requirements…')}
      </button>
    </div>
  );
}

/**
 * The warnings of the listing: a module outranking the environment first, then the packages
 * installed twice (folded).
 */
function ShadowWarnings(props: {
  warnings: readonly ShadowWarning[];
  trans: TranslationBundle;
}): React.ReactElement {
  const { trans } = props;
  const serious = props.warnings.filter(w => w.level === 'warning');
  const info = props.warnings.filter(w => w.level === 'info');
  return (
    <>
      {serious.map(w => (
        <div key={w.name + w.message} className="jp-HpcEnvs-warning jp-HpcEnvs-shadow" role="note">
          {w.message}
        </div>
      ))}
      {info.length ? (
        <details className="jp-HpcEnvs-shadowInfo">
          <summary>
            {trans._n(
              '%1 package is installed twice (the first copy is used)',
              '%1 packages are installed twice (the first copy is used)',
              info.length
            )}
          </summary>
          <ul>
            {info.map(w => (
              <li key={w.name + w.message}>{w.message}</li>
            ))}
          </ul>
        </details>
      ) : null}
    </>
  );
}

/**
 * The install box: specs split as the environment's installer reads them (a conda environment
 * takes match specs, where `numpy 1.26.*` is one; a venv pip requirements).
 */
function InstallForm(props: {
  model: PackagesModel;
  commands: CommandRegistry;
  trans: TranslationBundle;
}): React.ReactElement {
  const { model, commands, trans } = props;
  const uid = useId();
  const [specs, setSpecs] = useState('');
  const [upgrade, setUpgrade] = useState(false);
  const [installing, setInstalling] = useState(false);
  const { busy, name, partition } = model;
  const isConda = model.kind === 'conda';
  const split = isConda ? splitCondaSpecs : splitSpecs;

  const install = async (event: React.FormEvent): Promise<void> => {
    event.preventDefault();
    const packages = split(specs);
    if (!packages.length) {
      return;
    }
    setInstalling(true);
    try {
      // The task's id: what was typed stays until the install succeeded (a failed one is
      // corrected, not typed again).
      const started = await commands.execute(CommandIDs.installPackages, {
        name,
        partition,
        packages,
        upgrade
      });
      if (typeof started === 'string') {
        model.expectInstall(started);
      }
    } finally {
      setInstalling(false);
    }
  };

  const outcome = model.installOutcome;
  const succeeded = outcome?.state === 'succeeded' ? outcome.taskId : null;
  useEffect(() => {
    if (succeeded) {
      setSpecs('');
    }
  }, [succeeded]);

  return (
    <form className="jp-HpcEnvs-install" onSubmit={event => void install(event)}>
      <label htmlFor={`${uid}-install`}>{trans.__('Install')}</label>
      <input
        id={`${uid}-install`}
        className="jp-mod-styled jp-HpcEnvs-install-specs"
        placeholder={
          isConda
            ? trans.__('e.g. numpy scipy>=1.11 (conda specs)')
            : trans.__('e.g. icecream tqdm>=4.66')
        }
        spellCheck={false}
        autoComplete="off"
        value={specs}
        onChange={event => setSpecs(event.target.value)}
      />
      <label className="jp-HpcEnvs-install-upgrade">
        <input
          type="checkbox"
          checked={upgrade}
          onChange={event => setUpgrade(event.target.checked)}
        />{' '}
        {isConda ? trans.__('update') : trans.__('upgrade')}
      </label>
      <button
        type="submit"
        className="jp-Button jp-mod-styled jp-mod-accept jp-HpcEnvs-install-button"
        disabled={installing || busy !== null || !split(specs).length}
        title={busy ? trans.__('Busy: %1', busy.title) : undefined}
      >
        {trans.__('Install')}
      </button>
      {outcome?.state === 'failed' ? (
        <div className="jp-HpcEnvs-error jp-HpcEnvs-install-error" role="alert">
          {trans.__(
            'The install failed, the packages typed are kept for correction: %1',
            outcome.message
          )}
        </div>
      ) : null}
    </form>
  );
}

/**
 * The Python distributions of a build, with where each comes from (a venv's only listing).
 */
function PythonList(props: {
  model: PackagesModel;
  commands: CommandRegistry;
  trans: TranslationBundle;
  busy: boolean;
}): React.ReactElement {
  const { model, commands, trans, busy } = props;
  const { name, partition, rows } = model;
  return (
    <>
      <div className="jp-HpcEnvs-packages-head" aria-hidden="true">
        <span>{trans.__('Name')}</span>
        <span>{trans.__('Version')}</span>
        <span>{trans.__('From')}</span>
        <span />
      </div>
      <VirtualList
        className="jp-HpcEnvs-packages-list"
        label={trans.__('Packages')}
        items={rows}
        rowHeight={PACKAGE_ROW_HEIGHT}
        rowKey={row => `${row.key}@${row.location}`}
        renderRow={row => (
          <PackageRow
            row={row}
            busy={busy}
            trans={trans}
            conda={model.kind === 'conda'}
            kept={model.isKept(row.key)}
            onUninstall={() =>
              void commands.execute(CommandIDs.uninstallPackage, {
                name,
                partition,
                package: row.name
              })
            }
          />
        )}
      />
    </>
  );
}

/**
 * The conda packages of a conda environment's build (and what pip installed), with the ones the
 * user asked for marked, each with "update" and "remove".
 */
function CondaList(props: {
  model: PackagesModel;
  commands: CommandRegistry;
  trans: TranslationBundle;
  busy: boolean;
}): React.ReactElement {
  const { model, commands, trans, busy } = props;
  const { name, partition } = model;
  return (
    <>
      <div className="jp-HpcEnvs-packages-head jp-HpcEnvs-condaPackages-head" aria-hidden="true">
        <span>{trans.__('Name')}</span>
        <span>{trans.__('Version')}</span>
        <span>{trans.__('Build')}</span>
        <span>{trans.__('Channel')}</span>
        <span />
      </div>
      <VirtualList
        className="jp-HpcEnvs-packages-list"
        label={trans.__('conda packages')}
        items={model.condaRows}
        rowHeight={PACKAGE_ROW_HEIGHT}
        rowKey={row => `${row.pip ? 'pip' : 'conda'}:${row.name}`}
        renderRow={row => (
          <CondaRow
            row={row}
            busy={busy}
            trans={trans}
            kept={model.isKept(row.name)}
            onUpdate={() =>
              void commands.execute(CommandIDs.installPackages, {
                name,
                partition,
                packages: [row.name],
                upgrade: true
              })
            }
            onRemove={() =>
              void commands.execute(CommandIDs.uninstallPackage, {
                name,
                partition,
                package: row.name
              })
            }
          />
        )}
      />
    </>
  );
}

const CondaRow = React.memo(
  (props: {
    row: ICondaRow;
    busy: boolean;
    trans: TranslationBundle;
    /**
     * The kernel needs it: the server refuses to remove it, so no button is offered.
     */
    kept: boolean;
    onUpdate: () => void;
    onRemove: () => void;
  }): React.ReactElement => {
    const { row, trans } = props;
    return (
      <div
        className={`jp-HpcEnvs-package jp-HpcEnvs-condaPackage${row.requested ? ' jp-mod-requested' : ''}`}
        data-package={row.name}
        data-source={row.pip ? 'pip' : 'conda'}
        data-requested={row.requested ? 'true' : 'false'}
      >
        <span className="jp-HpcEnvs-package-name">
          {row.name}
          {row.requested ? (
            <span
              className="jp-HpcEnvs-package-tag jp-mod-requested"
              title={trans.__('Asked for when the environment was made or changed')}
            >
              {trans.__('requested')}
            </span>
          ) : null}
        </span>
        <span className="jp-HpcEnvs-package-version">{row.version}</span>
        <span className="jp-HpcEnvs-package-build">{row.build}</span>
        <span
          className={`jp-HpcEnvs-badge jp-HpcEnvs-package-channel jp-mod-${row.pip ? 'venv' : 'conda'}`}
          title={row.channel}
        >
          {row.pip ? 'pip' : channelLabel(row.channel)}
        </span>
        <span className="jp-HpcEnvs-package-actions">
          {row.pip ? null : (
            <IconButton
              icon={refreshIcon}
              label={trans.__('Update %1', row.name)}
              disabled={props.busy}
              onClick={props.onUpdate}
            />
          )}
          {props.kept ? null : (
            <IconButton
              icon={deleteIcon}
              label={trans.__('Remove %1', row.name)}
              disabled={props.busy}
              onClick={props.onRemove}
            />
          )}
        </span>
      </div>
    );
  }
);

/**
 * A short name of a channel: its name, or the last part of its URL.
 *
 * @param channel - A channel name or URL.
 * @returns The label.
 */
export function channelLabel(channel: string): string {
  const trimmed = channel.replace(/\/+$/, '');
  return trimmed.includes('/') ? trimmed.slice(trimmed.lastIndexOf('/') + 1) : trimmed;
}

const PackageRow = React.memo(
  (props: {
    row: Package;
    busy: boolean;
    trans: TranslationBundle;
    conda?: boolean;
    /**
     * The kernel needs it: the server refuses to uninstall it, so no button is offered.
     */
    kept: boolean;
    onUninstall: () => void;
  }): React.ReactElement => {
    const { row, trans } = props;
    // In a conda environment, packages are removed from the conda listing (conda remove).
    const removable = props.conda ? false : row.source === 'venv';
    const badge = sourceBadge(row, trans);
    const shadowed = row.shadowed_by !== null;
    return (
      <div
        className={`jp-HpcEnvs-package${shadowed ? ' jp-mod-shadowed' : ''}`}
        data-package={row.key}
        data-source={row.source}
        title={
          shadowed
            ? trans.__(
                '%1 — not imported: the copy in %2 comes first',
                row.location,
                row.shadowed_by ?? ''
              )
            : row.location
        }
      >
        <span className="jp-HpcEnvs-package-name">
          {row.name}
          {row.editable ? (
            <span className="jp-HpcEnvs-package-tag" title={row.editable}>
              {trans.__('editable')}
            </span>
          ) : null}
          {shadowed ? (
            <span className="jp-HpcEnvs-package-tag jp-mod-shadowed">{trans.__('shadowed')}</span>
          ) : null}
        </span>
        <span className="jp-HpcEnvs-package-version">{row.version}</span>
        <span className={`jp-HpcEnvs-badge jp-mod-${row.source}`} title={badge.title}>
          {badge.text}
        </span>
        <span className="jp-HpcEnvs-package-actions">
          {removable && !shadowed && !props.kept ? (
            <IconButton
              icon={deleteIcon}
              label={trans.__('Uninstall %1', row.name)}
              disabled={props.busy}
              onClick={props.onUninstall}
            />
          ) : null}
        </span>
      </div>
    );
  }
);
