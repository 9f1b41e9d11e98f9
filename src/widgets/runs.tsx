/**
 * The "Runs" section of the side panel (notebooks run as Slurm batch jobs: state, Slurm's reason
 * while pending, elapsed time, a sweep's tasks, and their actions) and the view of a run's
 * generated script or job log. They render a {@link RunsModel}; actions are commands.
 */
import { PathExt } from '@jupyterlab/coreutils';
import { TranslationBundle } from '@jupyterlab/translation';
import { ReactWidget } from '@jupyterlab/ui-components';
import { CommandRegistry } from '@lumino/commands';
import { ReadonlyJSONObject } from '@lumino/coreutils';
import React from 'react';

import { isFinalRunState, Run, RunFile, RunTask } from '../api';
import { elapsedText, failureText, RunsModel } from '../runsmodel';
import { RunCommandIDs } from '../tokens';
import { Chip, jobStateChip, useSignals } from './common';

/**
 * The chip (colour) of a run's state.
 *
 * @param state - SUBMITTED, a Slurm state, SUCCEEDED, FAILED or ENDED.
 * @returns The chip's modifier.
 */
export function runStateChip(state: string): string {
  switch (state) {
    case 'SUBMITTED':
      return 'pending';
    case 'SUCCEEDED':
      return 'succeeded';
    case 'ENDED':
      return 'cancelled';
    default:
      return jobStateChip(state);
  }
}

function run(commands: CommandRegistry, id: string, args: ReadonlyJSONObject): void {
  commands.execute(id, args).catch(reason => {
    console.error(`jupyterlab-hpc-envs: ${id} failed`, reason);
  });
}

/**
 * The parameters of a run in a few words: `alpha=0.25, label="run a"`.
 *
 * @param values - The parameters.
 * @returns The text.
 */
export function parametersText(values: Record<string, unknown>): string {
  return Object.entries(values)
    .map(([name, value]) => `${name}=${JSON.stringify(value)}`)
    .join(', ');
}

/**
 * The section "Runs" of the side panel; nothing while there is no run.
 *
 * @param props - The runs, the commands of the actions, the translations.
 * @returns The section.
 */
export function RunsView(props: {
  model: RunsModel;
  commands: CommandRegistry;
  trans: TranslationBundle;
}): React.ReactElement | null {
  const { model, commands, trans } = props;
  useSignals(model.changed);
  if (!model.runs.length) {
    return null;
  }
  return (
    <section className="jp-HpcEnvs-runs" aria-label={trans.__('Runs')}>
      <h3 className="jp-HpcEnvs-kernelJobs-title">{trans.__('Runs')}</h3>
      <ul className="jp-HpcEnvs-runs-list">
        {model.runs.map(r => (
          <RunRow key={r.id} run={r} commands={commands} trans={trans} />
        ))}
      </ul>
    </section>
  );
}

function RunRow(props: {
  run: Run;
  commands: CommandRegistry;
  trans: TranslationBundle;
}): React.ReactElement {
  const { run: r, commands, trans } = props;
  const name = PathExt.basename(r.notebook_path ?? r.notebook);
  const active = !isFinalRunState(r.state);
  const facts = [
    trans.__('job %1', r.job_id),
    r.resources.partition ? String(r.resources.partition) : '',
    typeof r.elapsed === 'number' ? elapsedText(r.elapsed) : '',
    r.tasks ? trans._n('%1 task', '%1 tasks', r.tasks.length) : ''
  ].filter(Boolean);
  const why = r.state === 'FAILED' || r.state === 'ENDED' ? failureText(r, trans) : r.reason;
  const args = { id: r.id };
  const button = (label: string, command: string, className: string, title: string) => (
    <button
      type="button"
      className={`jp-HpcEnvs-button jp-HpcEnvs-run-${className}`}
      title={title}
      onClick={() => run(commands, command, args)}
    >
      {label}
    </button>
  );
  return (
    <li className="jp-HpcEnvs-run" data-run-id={r.id} data-state={r.state}>
      <span className="jp-HpcEnvs-run-name" title={r.notebook}>
        {name}
      </span>
      <Chip state={runStateChip(r.state)} label={r.state} />
      <span className="jp-HpcEnvs-run-facts">{facts.join(' · ')}</span>
      {Object.keys(r.parameters).length ? (
        <span className="jp-HpcEnvs-run-parameters" title={trans.__('Parameters')}>
          {parametersText(r.parameters)}
        </span>
      ) : null}
      {why ? (
        <span className="jp-HpcEnvs-run-reason" title={why}>
          {r.state === 'PENDING' ? trans.__('Pending: %1', why) : why}
        </span>
      ) : null}
      {r.tasks ? <TaskList tasks={r.tasks} run={r} commands={commands} trans={trans} /> : null}
      <span className="jp-HpcEnvs-run-actions">
        {!r.tasks && r.output_path && !active
          ? button(trans.__('Output'), RunCommandIDs.openOutput, 'output', r.output)
          : null}
        {button(trans.__('Log'), RunCommandIDs.showLog, 'log', trans.__("The job's log"))}
        {button(
          trans.__('Script'),
          RunCommandIDs.showScript,
          'script',
          trans.__('The generated sbatch script')
        )}
        {active
          ? button(trans.__('Cancel'), RunCommandIDs.cancel, 'cancel', trans.__('Cancel the job'))
          : button(
              trans.__('Run again'),
              RunCommandIDs.again,
              'again',
              trans.__('Submit it again as it was asked')
            )}
      </span>
    </li>
  );
}

function TaskList(props: {
  tasks: RunTask[];
  run: Run;
  commands: CommandRegistry;
  trans: TranslationBundle;
}): React.ReactElement {
  const { tasks, run: r, commands, trans } = props;
  return (
    <ol className="jp-HpcEnvs-run-tasks" aria-label={trans.__('Tasks of the job array')}>
      {tasks.map(t => (
        <li key={t.task} className="jp-HpcEnvs-run-task" data-state={t.state}>
          <button
            type="button"
            className="jp-HpcEnvs-run-taskButton"
            disabled={!t.output_path || !isFinalRunState(t.state)}
            title={[parametersText(t.parameters), t.reason, t.failure?.error ?? '']
              .filter(Boolean)
              .join('\n')}
            onClick={() => run(commands, RunCommandIDs.openOutput, { id: r.id, task: t.task })}
          >
            <Chip state={runStateChip(t.state)} label={`${t.task}: ${t.state}`} />
          </button>
        </li>
      ))}
    </ol>
  );
}

/**
 * A run's generated script or job log, in the main area: read-only text, and for the script a
 * button that saves it beside the notebook (to submit it with `sbatch` by hand).
 */
export class RunFileView extends ReactWidget {
  /**
   * Create the view.
   *
   * @param options - The run, which file, its text, the save action and the translations.
   */
  constructor(options: RunFileView.IOptions) {
    super();
    this._options = options;
    this.addClass('jp-HpcEnvs-runFile');
  }

  /**
   * The file shown.
   */
  get file(): RunFile {
    return this._options.file;
  }

  protected render(): React.ReactElement {
    const { file, trans, save } = this._options;
    return (
      <>
        <div className="jp-HpcEnvs-runFile-bar">
          <code className="jp-HpcEnvs-runFile-path">{file.path}</code>
          {save ? (
            <button
              type="button"
              className="jp-HpcEnvs-button jp-HpcEnvs-runFile-save"
              onClick={save}
            >
              {trans.__('Save beside the notebook')}
            </button>
          ) : null}
        </div>
        {file.truncated ? (
          <p className="jp-HpcEnvs-runFile-note">{trans.__('The end of the log:')}</p>
        ) : null}
        <pre className="jp-HpcEnvs-runFile-text">
          {file.exists ? file.text : trans.__('Nothing yet: the job has not started.')}
        </pre>
      </>
    );
  }

  private _options: RunFileView.IOptions;
}

/**
 * The namespace of {@link RunFileView}'s types.
 */
export namespace RunFileView {
  /**
   * The options of the constructor.
   */
  export interface IOptions {
    file: RunFile;
    trans: TranslationBundle;
    /**
     * Save the file (the script); no button when absent.
     */
    save?: () => void;
  }
}
