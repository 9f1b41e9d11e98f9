/**
 * The left side panel "HPC environments": where this JupyterLab runs, the environments with their
 * builds per partition, and the actions on them. It renders the model and never calls the server:
 * actions are commands.
 */
import { PathExt } from '@jupyterlab/coreutils';
import { Session } from '@jupyterlab/services';
import { ITranslator, nullTranslator, TranslationBundle } from '@jupyterlab/translation';
import { addIcon, ReactWidget, refreshIcon } from '@jupyterlab/ui-components';
import { CommandRegistry } from '@lumino/commands';
import { ReadonlyJSONObject } from '@lumino/coreutils';
import { Menu } from '@lumino/widgets';
import React, { useMemo, useState } from 'react';

import { Environment, isWaitingJob, JobResources, KernelJob, Site } from '../api';
import { filterEnvironments, IPartitionStatus, partitionStatuses } from '../model';
import { hpcEnvsIcon } from '../icons';
import { RunsModel } from '../runsmodel';
import { CommandIDs, IHpcEnvsModel, PANEL_ID } from '../tokens';
import {
  buildStatusLabel,
  Chip,
  IconButton,
  jobStateChip,
  useSignals,
  VirtualList
} from './common';
import { useNewerGenerations } from './migration';
import { RunsView } from './runs';
import { WalltimeLeft } from './walltime';

export { PANEL_ID };

/**
 * The height of a row of the environment list, in pixels.
 */
export const ENV_ROW_HEIGHT = 44;

/**
 * The side panel of the extension.
 */
export class HpcEnvsPanel extends ReactWidget {
  /**
   * Create the panel.
   *
   * @param options - The model to render, the commands of the actions, the translator.
   */
  constructor(options: HpcEnvsPanel.IOptions) {
    super();
    this._model = options.model;
    this._commands = options.commands;
    this._sessions = options.sessions ?? null;
    this._runs = options.runs ?? null;
    this._trans = (options.translator ?? nullTranslator).load('jupyterlab_hpc_envs');

    this.id = PANEL_ID;
    this.addClass('jp-HpcEnvs-panel');
    this.title.icon = hpcEnvsIcon;
    this.title.caption = this._trans.__('HPC environments');
    this.node.setAttribute('role', 'region');
    this.node.setAttribute('aria-label', this._trans.__('HPC environments'));
    this._model.stateChanged.connect(this._onStateChanged, this);
    this._onStateChanged();
  }

  /**
   * The model the panel renders.
   */
  get model(): IHpcEnvsModel {
    return this._model;
  }

  override dispose(): void {
    if (this.isDisposed) {
      return;
    }
    this._model.stateChanged.disconnect(this._onStateChanged, this);
    super.dispose();
  }

  protected render(): React.ReactElement {
    return (
      <PanelView
        model={this._model}
        commands={this._commands}
        sessions={this._sessions}
        runs={this._runs}
        trans={this._trans}
      />
    );
  }

  private _onStateChanged(): void {
    this.toggleClass('jp-mod-loading', this._model.isLoading);
    this.toggleClass('jp-mod-error', this._model.error !== null);
  }

  private _model: IHpcEnvsModel;
  private _commands: CommandRegistry;
  private _sessions: Session.IManager | null;
  private _runs: RunsModel | null;
  private _trans: TranslationBundle;
}

/**
 * The namespace of {@link HpcEnvsPanel}'s types.
 */
export namespace HpcEnvsPanel {
  /**
   * The options of the panel's constructor.
   */
  export interface IOptions {
    /**
     * The model to render.
     */
    model: IHpcEnvsModel;

    /**
     * The application's commands: the panel's buttons run them.
     */
    commands: CommandRegistry;

    /**
     * The sessions of the server: the kernel jobs name the notebook using each kernel.
     */
    sessions?: Session.IManager;

    /**
     * The notebooks run as Slurm jobs: the "Runs" section renders them.
     */
    runs?: RunsModel;

    /**
     * The translator of the UI strings.
     */
    translator?: ITranslator;
  }
}

interface IViewProps {
  model: IHpcEnvsModel;
  commands: CommandRegistry;
  sessions: Session.IManager | null;
  runs: RunsModel | null;
  trans: TranslationBundle;
}

/**
 * Run a command, reporting a failure on the console (commands report to the user themselves).
 */
function run(commands: CommandRegistry, id: string, args: ReadonlyJSONObject = {}): void {
  commands.execute(id, args).catch(reason => {
    console.error(`jupyterlab-hpc-envs: ${id} failed`, reason);
  });
}

function PanelView(props: IViewProps): React.ReactElement {
  const { model, commands, trans } = props;
  useSignals(model.stateChanged);
  const [query, setQuery] = useState('');
  const [selected, setSelected] = useState<string | null>(null);

  const environments = model.environments;
  const shown = useMemo(() => filterEnvironments(environments, query), [environments, query]);
  const current =
    environments.find(e => e.name === selected) ?? (shown.length === 1 ? shown[0] : null);
  const selectedIndex = current ? shown.indexOf(current) : -1;

  const onListKey = (event: React.KeyboardEvent<HTMLDivElement>): void => {
    if (!shown.length || (event.key !== 'ArrowDown' && event.key !== 'ArrowUp')) {
      return;
    }
    event.preventDefault();
    const step = event.key === 'ArrowDown' ? 1 : -1;
    const index = Math.min(shown.length - 1, Math.max(0, selectedIndex + step));
    setSelected(shown[index].name);
    // Move the focus with the selection (the row is rendered by then or on the next frame).
    requestAnimationFrame(() => {
      const row = (event.target as HTMLElement)
        .closest('.jp-HpcEnvs-envList')
        ?.querySelector<HTMLElement>(`[data-env="${CSS.escape(shown[index].name)}"]`);
      row?.focus();
    });
  };

  return (
    <>
      <div className="jp-HpcEnvs-toolbar">
        <h2 className="jp-HpcEnvs-header">{trans.__('HPC environments')}</h2>
        <IconButton
          icon={addIcon}
          label={trans.__('New HPC environment')}
          className="jp-HpcEnvs-new"
          onClick={() => run(commands, CommandIDs.createEnvironment)}
        />
        <IconButton
          icon={refreshIcon}
          label={trans.__('Refresh (ask Slurm and the module system again)')}
          className="jp-HpcEnvs-refresh"
          onClick={() => run(commands, CommandIDs.refresh, { rescan: true })}
        />
      </div>
      <SiteView site={model.site} trans={trans} isLoading={model.isLoading} />
      <div className="jp-HpcEnvs-error" role="alert" hidden={model.error === null}>
        {model.error === null
          ? ''
          : trans.__('The server extension did not answer: %1', model.error)}
      </div>
      <KernelJobsView
        jobs={model.kernelJobs}
        sessions={props.sessions}
        commands={commands}
        trans={trans}
      />
      {props.runs ? <RunsView model={props.runs} commands={commands} trans={trans} /> : null}
      <input
        type="search"
        className="jp-HpcEnvs-filter jp-mod-styled"
        placeholder={trans.__('Filter environments')}
        aria-label={trans.__('Filter environments by name, module or package')}
        value={query}
        onChange={event => setQuery(event.target.value)}
      />
      {environments.length === 0 && model.site !== null ? (
        <div className="jp-HpcEnvs-empty">
          <p>{trans.__('No environments yet.')}</p>
          <button
            type="button"
            className="jp-Button jp-mod-styled jp-mod-accept"
            onClick={() => run(commands, CommandIDs.createEnvironment)}
          >
            {trans.__('New HPC environment')}
          </button>
        </div>
      ) : (
        <VirtualList
          className="jp-HpcEnvs-envList"
          label={trans.__('Environments')}
          items={shown}
          rowHeight={ENV_ROW_HEIGHT}
          fitRows
          rowKey={env => env.name}
          scrollToIndex={selectedIndex}
          onKeyDown={onListKey}
          renderRow={env => (
            <EnvRow
              env={env}
              statuses={partitionStatuses(env, model.site?.partitions ?? [], model.tasks)}
              selected={env === current}
              onSelect={() => setSelected(env === current ? null : env.name)}
              trans={trans}
            />
          )}
        />
      )}
      {environments.length > 0 && shown.length === 0 ? (
        <div className="jp-HpcEnvs-empty">{trans.__('No environment matches the filter.')}</div>
      ) : null}
      {current ? (
        <EnvDetails
          env={current}
          model={model}
          statuses={partitionStatuses(current, model.site?.partitions ?? [], model.tasks)}
          commands={commands}
          trans={trans}
        />
      ) : null}
      <div className="jp-HpcEnvs-version">
        {model.info
          ? `${model.info.name} ${model.info.version}`
          : model.isLoading
            ? trans.__('Connecting to the server…')
            : ''}
      </div>
    </>
  );
}

/**
 * Where this JupyterLab runs, and the site's warnings.
 */
function SiteView(props: {
  site: Site | null;
  isLoading: boolean;
  trans: TranslationBundle;
}): React.ReactElement | null {
  const { site, trans } = props;
  if (!site) {
    return null;
  }
  const here = site.partitions.find(p => p.name === site.partition);
  // Partitions the site description leaves out: where their arch and modules come from.
  const probed = site.partitions.filter(p => p.origin?.kind === 'probe');
  const modules =
    site.module_system.kind === 'none'
      ? trans.__('no module system')
      : `${site.module_system.kind === 'lmod' ? 'Lmod' : site.module_system.kind} ${
          site.module_system.version ?? ''
        }`.trim();
  return (
    <section className="jp-HpcEnvs-site" aria-label={trans.__('Where this JupyterLab runs')}>
      <div className="jp-HpcEnvs-site-where">
        <span className="jp-HpcEnvs-site-partition" title={trans.__('Partition')}>
          {trans.__('Partition %1', site.partition)}
          {site.in_job ? '' : ` ${trans.__('(server node)')}`}
        </span>
        <span title={trans.__('CPU microarchitecture (from %1)', site.arch_source)}>
          {here?.arch ?? site.arch}
        </span>
        <span title={trans.__('Module system')}>{modules}</span>
        {site.slurm ? <span>{trans.__('Slurm')}</span> : null}
      </div>
      {probed.length ? (
        <ul className="jp-HpcEnvs-probes" aria-label={trans.__('Partitions learned from a node')}>
          {probed.map(p => (
            <li key={p.name} data-state={p.origin?.state}>
              {trans.__('%1: %2', p.name, p.origin?.text ?? '')}
            </li>
          ))}
        </ul>
      ) : null}
      {site.warnings.length ? (
        <details className="jp-HpcEnvs-siteWarnings" open>
          <summary>
            {trans._n(
              '%1 warning about this site',
              '%1 warnings about this site',
              site.warnings.length
            )}
          </summary>
          {site.warnings.map(w => (
            <div
              key={w.code + w.path}
              className="jp-HpcEnvs-warning"
              role="note"
              data-code={w.code}
            >
              {w.message}
            </div>
          ))}
        </details>
      ) : null}
    </section>
  );
}

/**
 * The user's kernel jobs (only when there are any): what each runs (the environment and
 * partition, once), its Slurm job, the notebook using the kernel, when it started (or is expected
 * to), and a Cancel button for the ones waiting in the queue.
 */
function KernelJobsView(props: {
  jobs: readonly KernelJob[];
  sessions: Session.IManager | null;
  commands: CommandRegistry;
  trans: TranslationBundle;
}): React.ReactElement | null {
  const { jobs, sessions, commands, trans } = props;
  useSignals(...(sessions ? [sessions.runningChanged] : []));
  if (!jobs.length) {
    return null;
  }
  const notebooks = new Map<string, string>();
  for (const session of sessions?.running() ?? []) {
    if (session.kernel) {
      notebooks.set(session.kernel.id, session.path);
    }
  }
  return (
    <section className="jp-HpcEnvs-kernelJobs" aria-label={trans.__('Kernel jobs')}>
      <h3 className="jp-HpcEnvs-kernelJobs-title">{trans.__('Kernel jobs')}</h3>
      <ul className="jp-HpcEnvs-kernelJobs-list">
        {jobs.map(job => {
          const terminal = job.kind === 'terminal';
          const what = job.env ? `${job.env} (${job.partition})` : job.job_name;
          // The server's messages may start with the same words: they are said once.
          const message = job.message.startsWith(`${what}: `)
            ? job.message.slice(what.length + 2)
            : job.message;
          const facts = kernelJobFacts(job, notebooks.get(job.kernel_id) ?? '', trans);
          return (
            <li
              key={job.kernel_id}
              className="jp-HpcEnvs-kernelJob"
              data-kernel-id={job.kernel_id}
              data-kind={job.kind}
              data-state={job.state}
            >
              <span className="jp-HpcEnvs-kernelJob-name" title={job.job_name}>
                {terminal ? trans.__('Terminal: %1', what) : what}
              </span>
              <Chip state={jobStateChip(job.state)} label={job.state} />
              {isWaitingJob(job) || (terminal && !job.ended) ? (
                <button
                  type="button"
                  className="jp-HpcEnvs-button jp-mod-warn jp-HpcEnvs-kernelJob-cancel"
                  aria-label={
                    terminal
                      ? trans.__('Cancel the terminal job of %1', what)
                      : trans.__('Cancel the kernel job of %1', what)
                  }
                  onClick={() =>
                    run(commands, CommandIDs.cancelKernelJob, { kernel_id: job.kernel_id })
                  }
                >
                  {trans.__('Cancel')}
                </button>
              ) : (
                <span />
              )}
              {facts.length ? (
                <span className="jp-HpcEnvs-kernelJob-facts">
                  {facts.map(f => (
                    <span key={f.key} className={`jp-HpcEnvs-kernelJob-${f.key}`} title={f.title}>
                      {f.text}
                    </span>
                  ))}
                </span>
              ) : null}
              <WalltimeLeft job={job} trans={trans} />
              {message ? (
                <span className="jp-HpcEnvs-kernelJob-message" title={message}>
                  {message}
                </span>
              ) : null}
              {job.resources ? (
                <span
                  className="jp-HpcEnvs-kernelJob-resources"
                  title={trans.__('What the job asked Slurm for')}
                >
                  {jobResourcesText(job.resources, trans)}
                </span>
              ) : null}
            </li>
          );
        })}
      </ul>
    </section>
  );
}

/**
 * The facts of a kernel job in a few words each: its Slurm job id, the notebook using its
 * kernel, when it started (or squeue's estimate while it waits).
 *
 * @param job - The job.
 * @param notebook - The path of the notebook whose session uses its kernel, or `''`.
 * @param trans - The translation bundle.
 * @returns The facts that are known.
 */
export function kernelJobFacts(
  job: KernelJob,
  notebook: string,
  trans: TranslationBundle
): { key: string; text: string; title: string }[] {
  const facts: { key: string; text: string; title: string }[] = [];
  if (job.job_id) {
    facts.push({
      key: 'id',
      text: trans.__('job %1', job.job_id),
      title: trans.__('Slurm job %1 (%2)', job.job_id, job.job_name)
    });
  }
  if (notebook) {
    facts.push({
      key: 'notebook',
      text: PathExt.basename(notebook),
      title: trans.__('Used by %1', notebook)
    });
  }
  if (job.started) {
    const when = new Date(job.started * 1000);
    facts.push({
      key: 'start',
      text: trans.__(
        'started %1',
        when.toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' })
      ),
      title: when.toLocaleString()
    });
  } else if (job.start && job.start !== 'N/A' && isWaitingJob(job)) {
    facts.push({
      key: 'start',
      text: trans.__('expected at %1', job.start.replace('T', ' ')),
      title: trans.__("Slurm's estimate of its start")
    });
  }
  return facts;
}

/**
 * What a kernel job asked for, in a few words (`1:30:00 · 1 CPU · 4G`).
 *
 * @param resources - The job's resources.
 * @param trans - The translation bundle.
 * @returns The words.
 */
function jobResourcesText(resources: JobResources, trans: TranslationBundle): string {
  const parts = [resources.time, trans._n('%1 CPU', '%1 CPUs', resources.cpus)];
  if (resources.memory) {
    parts.push(resources.memory);
  }
  if (resources.gpus) {
    parts.push(trans._n('%1 GPU', '%1 GPUs', resources.gpus));
  }
  if (resources.account) {
    parts.push(resources.account);
  }
  return parts.filter(Boolean).join(' · ');
}

/**
 * A row of the environment list: the name and the state of its builds per partition.
 */
const EnvRow = React.memo(
  (props: {
    env: Environment;
    statuses: IPartitionStatus[];
    selected: boolean;
    onSelect: () => void;
    trans: TranslationBundle;
  }): React.ReactElement => {
    const { env, statuses, trans } = props;
    return (
      <button
        type="button"
        className={`jp-HpcEnvs-envRow${props.selected ? ' jp-mod-selected' : ''}`}
        aria-pressed={props.selected}
        data-env={env.name}
        onClick={props.onSelect}
        title={env.modules.join(', ')}
      >
        <span className="jp-HpcEnvs-envRow-name">
          {env.name}
          {env.kind && env.kind !== 'venv' ? (
            <span className="jp-HpcEnvs-envRow-kind" title={trans.__('Kind')}>
              {env.kind}
            </span>
          ) : null}
          <OwnerNote env={env} trans={trans} />
        </span>
        <span className="jp-HpcEnvs-envRow-builds">
          {statuses.map(s => (
            <Chip
              key={s.partition.name}
              state={s.status}
              label={s.partition.name}
              title={`${s.partition.name}: ${buildStatusLabel(s.status, trans)}`}
            />
          ))}
        </span>
      </button>
    );
  }
);

/**
 * The selected environment: modules, builds per partition with their actions, and the
 * environment's actions.
 */
function EnvDetails(props: {
  env: Environment;
  model: IHpcEnvsModel;
  statuses: IPartitionStatus[];
  commands: CommandRegistry;
  trans: TranslationBundle;
}): React.ReactElement {
  const { env, statuses, commands, trans } = props;
  const name = env.name;
  const readyOn = statuses.filter(s => s.status === 'ready').map(s => s.partition.name);
  const newer = useNewerGenerations(props.model, env, readyOn);
  if (env.refused) {
    return <RefusedDetails env={env} trans={trans} />;
  }
  const busy = env.tasks.length > 0 || statuses.some(s => s.task !== null);
  const ready = statuses.filter(s => s.status === 'ready' || s.status === 'unregistered');
  const first = ready.find(s => s.partition.local) ?? ready[0];
  return (
    <section
      className="jp-HpcEnvs-details"
      aria-label={trans.__('Environment %1', name)}
      data-env={name}
    >
      <h3 className="jp-HpcEnvs-details-name">
        {name} <span className="jp-HpcEnvs-details-kind">{env.kind}</span>{' '}
        <OwnerNote env={env} trans={trans} />
      </h3>
      <div className="jp-HpcEnvs-details-modules">
        {env.modules.length ? env.modules.join(' · ') : trans.__('no modules')}
      </div>
      {env.kind === 'conda' ? <CondaSummary env={env} trans={trans} /> : null}
      {env.packages.length ? (
        <div className="jp-HpcEnvs-details-packages" title={trans.__('Requested packages')}>
          {env.packages.join(' ')}
        </div>
      ) : null}
      <div className="jp-HpcEnvs-details-home" title={trans.__('Folder')}>
        {env.home}
      </div>
      {env.warnings.map(w => (
        <div key={w} className="jp-HpcEnvs-warning" role="note">
          {w}
        </div>
      ))}
      {Object.values(env.builds).flatMap(b =>
        b.problems.map(p => (
          <div
            key={`${b.arch} ${p.kind} ${p.subject}`}
            className="jp-HpcEnvs-warning jp-HpcEnvs-problem"
            role="note"
            data-kind={p.kind}
          >
            {trans.__('The %1 build is stale: %2', b.arch, p.message)}
          </div>
        ))
      )}
      <ul className="jp-HpcEnvs-builds" aria-label={trans.__('Builds per partition')}>
        {statuses.map(s => (
          <BuildRow
            key={s.partition.name}
            env={env}
            status={s}
            commands={commands}
            trans={trans}
            newer={newer.has(s.partition.name)}
          />
        ))}
      </ul>
      <div className="jp-HpcEnvs-details-actions">
        {first ? (
          <>
            <button
              type="button"
              className="jp-HpcEnvs-button jp-HpcEnvs-packagesButton"
              onClick={() =>
                run(commands, CommandIDs.showPackages, { name, partition: first.partition.name })
              }
            >
              {trans.__('Packages')}
            </button>
            <button
              type="button"
              className="jp-HpcEnvs-button jp-HpcEnvs-registerButton"
              title={trans.__('Write the kernels of every ready build again')}
              onClick={() => run(commands, CommandIDs.registerKernel, { name })}
            >
              {trans.__('Register kernels')}
            </button>
          </>
        ) : null}
        {env.mine ? (
          <button
            type="button"
            className="jp-HpcEnvs-button jp-mod-warn jp-HpcEnvs-removeButton"
            disabled={busy}
            title={
              busy
                ? trans.__('A task of this environment is running')
                : trans.__('Remove the environment, its builds and its kernels')
            }
            onClick={() => run(commands, CommandIDs.removeEnvironment, { name })}
          >
            {trans.__('Remove…')}
          </button>
        ) : null}
      </div>
    </section>
  );
}

/**
 * Who shares an environment: "shared by X" (read-only here), "shared with your VO" (yours).
 */
function OwnerNote(props: {
  env: Environment;
  trans: TranslationBundle;
}): React.ReactElement | null {
  const { env, trans } = props;
  if (env.refused) {
    return <span className="jp-HpcEnvs-owner jp-mod-refused">{trans.__('refused')}</span>;
  }
  if (!env.shared && env.mine) {
    return null;
  }
  return (
    <span
      className="jp-HpcEnvs-owner"
      title={
        env.mine
          ? trans.__('The members of your VO can use it; only you can change it')
          : trans.__('You can use it; only %1 can change or remove it', env.owner)
      }
    >
      {env.mine ? trans.__('shared with your VO') : trans.__('shared by %1', env.owner)}
    </span>
  );
}

/**
 * An environment that failed the ownership rule: where it is and why; nothing can be done with it.
 */
function RefusedDetails(props: { env: Environment; trans: TranslationBundle }): React.ReactElement {
  const { env, trans } = props;
  return (
    <section
      className="jp-HpcEnvs-details"
      aria-label={trans.__('Environment %1', env.name)}
      data-env={env.name}
    >
      <h3 className="jp-HpcEnvs-details-name">
        {env.name} <OwnerNote env={env} trans={trans} />
      </h3>
      <div className="jp-HpcEnvs-details-home" title={trans.__('Folder')}>
        {env.home}
      </div>
      <div className="jp-HpcEnvs-warning" role="alert">
        {env.refused}
      </div>
    </section>
  );
}

/**
 * What a conda environment was made from: its Python, channels and engine.
 */
function CondaSummary(props: { env: Environment; trans: TranslationBundle }): React.ReactElement {
  const { env, trans } = props;
  const options = env.options;
  const channels = Array.isArray(options.channels)
    ? options.channels.filter((c): c is string => typeof c === 'string')
    : [];
  const engine =
    options.engine && typeof options.engine === 'object'
      ? (options.engine as Record<string, unknown>)
      : null;
  const parts: string[] = [];
  if (typeof options.python === 'string' && options.python) {
    parts.push(trans.__('Python %1', options.python));
  }
  if (channels.length) {
    parts.push(trans.__('channels: %1', channels.join(', ')));
  }
  if (engine && typeof engine.kind === 'string') {
    parts.push(trans.__('made with %1', engine.kind));
  }
  if (options.adopted === true) {
    parts.push(trans.__('adopted (made by hand)'));
  }
  return <div className="jp-HpcEnvs-details-conda">{parts.join(' · ')}</div>;
}

/**
 * One partition of the selected environment: the state of its build, why it failed or is out of
 * date, and what can be done, in words: the main actions as buttons, the others in a menu.
 */
function BuildRow(props: {
  env: Environment;
  status: IPartitionStatus;
  commands: CommandRegistry;
  trans: TranslationBundle;
  /**
   * Whether a newer toolchain generation than the environment's is on the partition.
   */
  newer?: boolean;
}): React.ReactElement {
  const { env, status, commands, trans } = props;
  const { partition, build, task } = status;
  const args = { name: env.name, partition: partition.name };
  const label = buildStatusLabel(status.status, trans);
  const archNote =
    partition.arch && partition.arch !== partition.name ? ` (${partition.arch})` : '';
  const actions = buildActions(env, status, trans);
  const more = moreActions(env, status, trans, props.newer ?? false);
  return (
    <li
      className={`jp-HpcEnvs-build jp-mod-${status.status}`}
      data-partition={partition.name}
      data-status={status.status}
    >
      <div className="jp-HpcEnvs-build-head">
        <span className="jp-HpcEnvs-build-partition">
          {partition.name}
          {archNote}
          {partition.local ? (
            <span className="jp-HpcEnvs-build-here" title={trans.__('This server runs here')}>
              {' '}
              ●
            </span>
          ) : null}
        </span>
        <Chip state={status.status} label={label} />
        <span className="jp-HpcEnvs-build-detail">{buildDetail(status, trans)}</span>
      </div>
      {status.status === 'failed' ? <FailureView build={build} trans={trans} /> : null}
      {status.status === 'stale' && build?.problems.length ? (
        <ul className="jp-HpcEnvs-build-problems" aria-label={trans.__('Why it is out of date')}>
          {build.problems.map(p => (
            <li key={p.kind + p.subject} data-kind={p.kind}>
              {p.message || `${p.kind}: ${p.subject}`}
            </li>
          ))}
        </ul>
      ) : null}
      <div className="jp-HpcEnvs-build-actions">
        {actions.map(a => (
          <button
            key={a.key}
            type="button"
            className={`jp-HpcEnvs-button jp-HpcEnvs-build-${a.key}${a.accent ? ' jp-mod-accept' : ''}`}
            aria-label={a.title}
            title={a.title}
            onClick={() => run(commands, a.command, a.args ?? args)}
          >
            {a.label}
          </button>
        ))}
        {more.length && !task ? (
          <button
            type="button"
            className="jp-HpcEnvs-button jp-HpcEnvs-build-more"
            aria-haspopup="menu"
            aria-label={trans.__('More actions on the %1 build of %2', partition.name, env.name)}
            title={trans.__('More actions on the %1 build of %2', partition.name, env.name)}
            onClick={event => openMenu(event.currentTarget, commands, more, args)}
          >
            {trans.__('More')} ▾
          </button>
        ) : null}
      </div>
    </li>
  );
}

/**
 * An action of a build row: a command with the row's arguments (or its own).
 */
interface IBuildAction {
  key: string;
  label: string;
  title: string;
  command: string;
  args?: ReadonlyJSONObject;
  accent?: boolean;
}

/**
 * The one-line detail of a build: its Python, the step of its build, or why it has no kernel.
 */
function buildDetail(status: IPartitionStatus, trans: TranslationBundle): string {
  const { build, task } = status;
  if (status.status === 'none') {
    return trans.__('not built for this partition');
  }
  if (status.status === 'unregistered') {
    return trans.__('built for %1; its kernel is not registered here', build?.arch ?? '');
  }
  if (status.status === 'building') {
    return task?.step ?? '';
  }
  if (status.status === 'failed') {
    return '';
  }
  return build?.python ? `Python ${build.python}` : '';
}

/**
 * Why a build failed: the server's summary (naming what pip could not find) and the entries of
 * the spec to correct; the older servers' one-line error otherwise.
 */
function FailureView(props: {
  build: IPartitionStatus['build'];
  trans: TranslationBundle;
}): React.ReactElement | null {
  const { build, trans } = props;
  const summary = build?.failure?.summary || build?.error || '';
  if (!summary) {
    return null;
  }
  const entries = build?.failure?.entries ?? [];
  return (
    <div className="jp-HpcEnvs-build-failure" role="note">
      <div className="jp-HpcEnvs-build-failureSummary">{summary}</div>
      {entries.length ? (
        <div className="jp-HpcEnvs-build-failureEntries">
          {trans.__('To correct:')}{' '}
          {entries.map(e => (
            <code key={e} className="jp-HpcEnvs-build-entry">
              {e}
            </code>
          ))}
        </div>
      ) : null}
    </div>
  );
}

/**
 * The main actions of a build row, shown as buttons with words.
 */
function buildActions(
  env: Environment,
  status: IPartitionStatus,
  trans: TranslationBundle
): IBuildAction[] {
  const { partition, build, task, kernel } = status;
  const where = partition.name;
  const actions: IBuildAction[] = [];
  const logTask = task?.id || (status.status === 'failed' ? build?.task : '');
  if (logTask) {
    actions.push({
      key: 'log',
      label: trans.__('Log'),
      title: task
        ? trans.__('Show the log of %1', task.title)
        : trans.__('Show the log of the failed build of %1 on %2', env.name, where),
      command: CommandIDs.showLog,
      args: { task: logTask }
    });
  }
  if (task) {
    return actions;
  }
  const mine = env.mine;
  switch (status.status) {
    case 'ready':
      actions.push(
        {
          key: 'terminal',
          label: trans.__('Terminal'),
          title: trans.__('Open a terminal with %1 activated on %2', env.name, where),
          command: CommandIDs.openTerminal
        },
        {
          key: 'packages',
          label: trans.__('Packages'),
          title: trans.__('Show the packages of %1 on %2', env.name, where),
          command: CommandIDs.showPackages
        }
      );
      break;
    case 'unregistered':
      actions.push({
        key: 'register',
        label: trans.__('Register kernel'),
        title: trans.__('Register the kernel of %1 on %2 again', env.name, where),
        command: CommandIDs.registerKernel,
        accent: true
      });
      break;
    case 'failed':
      if (mine) {
        actions.push({
          key: 'edit',
          label: trans.__('Edit and retry'),
          title: trans.__('Correct the spec of %1 in the form and build it again', env.name),
          command: CommandIDs.editEnvironment,
          accent: true
        });
      }
      break;
    case 'stale':
      if (mine) {
        const behind = build?.problems.some(p => p.kind === 'out-of-date') ?? false;
        actions.push({
          key: 'catchup',
          label: behind ? trans.__('Catch up') : trans.__('Rebuild'),
          title: behind
            ? trans.__('Apply the changes of %1 to its %2 build', env.name, where)
            : trans.__('Rebuild %1 for %2', env.name, where),
          command: CommandIDs.rebuildEnvironment,
          args: { name: env.name, partition: where, force: true },
          accent: true
        });
      }
      break;
    case 'none':
      if (mine) {
        actions.push({
          key: 'build',
          label: trans.__('Build for %1', where),
          title: trans.__('Build %1 for %2', env.name, where),
          command: CommandIDs.rebuildEnvironment,
          args: { name: env.name, partition: where, force: false }
        });
      }
      break;
  }
  if (kernel) {
    actions.push({
      key: 'resources',
      label: trans.__('Resources…'),
      title: trans.__('Kernel resources of %1 on %2…', env.name, where),
      command: CommandIDs.kernelResources,
      args: { kernel: kernel.name }
    });
  }
  return actions;
}

/**
 * The other actions of a build row, in its "More" menu.
 */
function moreActions(
  env: Environment,
  status: IPartitionStatus,
  trans: TranslationBundle,
  newer: boolean
): IBuildAction[] {
  const where = status.partition.name;
  const more: IBuildAction[] = [];
  if (status.status === 'ready') {
    more.push({
      key: 'register',
      label: trans.__('Register the kernel again'),
      title: '',
      command: CommandIDs.registerKernel
    });
  }
  if (env.mine && status.status !== 'none' && status.status !== 'building') {
    more.push({
      key: 'rebuild',
      label:
        status.status === 'failed'
          ? trans.__('Build for %1 again, unchanged', where)
          : trans.__('Rebuild for %1', where),
      title: '',
      command: CommandIDs.rebuildEnvironment,
      args: { name: env.name, partition: where, force: status.status !== 'failed' }
    });
  }
  // A stale build, or one a newer toolchain generation is installed for, may move to it.
  const movable = status.status === 'stale' || (status.status === 'ready' && newer);
  if (env.mine && env.kind === 'venv' && movable && env.modules.length) {
    more.push({
      key: 'migrate',
      label: '',
      title: '',
      command: CommandIDs.migrateEnvironment
    });
  }
  if (status.kernel || (env.mine && status.build)) {
    more.push({
      key: 'remove',
      label: '',
      title: '',
      command: CommandIDs.removeEnvironment
    });
  }
  return more;
}

/**
 * Open the "More" menu of a build row below its button: a Lumino menu of the commands (their
 * labels and captions come from the commands, given the arguments).
 */
function openMenu(
  anchor: HTMLElement,
  commands: CommandRegistry,
  actions: readonly IBuildAction[],
  args: ReadonlyJSONObject
): void {
  const menu = new Menu({ commands });
  menu.addClass('jp-HpcEnvs-buildMenu');
  for (const action of actions) {
    menu.addItem({ command: action.command, args: action.args ?? args });
  }
  menu.aboutToClose.connect(() => requestAnimationFrame(() => menu.dispose()));
  const box = anchor.getBoundingClientRect();
  menu.open(box.left, box.bottom);
}
