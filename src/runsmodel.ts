/**
 * The state of runs in the frontend: the user's runs, followed with a Lumino `Poll` (closely while
 * one is queued or running), the runs that ended while followed, and the values of the "Run as
 * Slurm job" dialog checked the way the server checks them. No DOM here.
 */
import { ServerConnection } from '@jupyterlab/services';
import { nullTranslator, TranslationBundle } from '@jupyterlab/translation';
import { IDisposable } from '@lumino/disposable';
import { Poll } from '@lumino/polling';
import { ISignal, Signal } from '@lumino/signaling';

import {
  cancelRun,
  errorMessage,
  isFinalRunState,
  IRunRequest,
  listRuns,
  readRunFile,
  Run,
  RunFile,
  runAgain,
  submitRun
} from './api';

/**
 * Milliseconds between two listings while a run is queued or running.
 */
export const ACTIVE_RUNS_INTERVAL = 5000;

/**
 * Milliseconds between two listings while no run is active.
 */
export const IDLE_RUNS_INTERVAL = 60000;

/**
 * The user's runs, refreshed from the server.
 */
export class RunsModel implements IDisposable {
  /**
   * Create the model and start following the runs.
   *
   * @param options - The server settings and the intervals of the poll.
   */
  constructor(options: RunsModel.IOptions = {}) {
    this._settings = options.serverSettings;
    this._active = options.activeInterval ?? ACTIVE_RUNS_INTERVAL;
    this._idle = options.idleInterval ?? IDLE_RUNS_INTERVAL;
    this._poll = new Poll({
      factory: () => this.refresh(),
      frequency: { interval: this._idle, backoff: true, max: 5 * this._idle },
      name: 'jupyterlab-hpc-envs:runs',
      standby: 'when-hidden'
    });
  }

  /**
   * The runs, newest first.
   */
  get runs(): readonly Run[] {
    return this._runs;
  }

  /**
   * The last error of a listing, or `null`.
   */
  get error(): string | null {
    return this._error;
  }

  /**
   * Emitted when the runs (or the error) change.
   */
  get changed(): ISignal<RunsModel, void> {
    return this._changed;
  }

  /**
   * Emitted for each run seen queued or running that has ended since (succeeded, failed or
   * ended before its notebook did).
   */
  get ended(): ISignal<RunsModel, Run> {
    return this._ended;
  }

  /**
   * Whether a run is still in Slurm's hands.
   */
  get hasActive(): boolean {
    return this._runs.some(r => !isFinalRunState(r.state));
  }

  get isDisposed(): boolean {
    return this._isDisposed;
  }

  dispose(): void {
    if (this._isDisposed) {
      return;
    }
    this._isDisposed = true;
    this._poll.dispose();
    Signal.clearData(this);
  }

  /**
   * Ask the server for the runs now; the poll follows closely while one is active.
   */
  async refresh(): Promise<void> {
    try {
      this.update(await listRuns(this._settings));
      this._error = null;
    } catch (reason) {
      this._error = errorMessage(reason);
      this._changed.emit();
      throw reason;
    }
  }

  /**
   * Take a listing: emit `ended` for the runs that were active and are no more, and poll
   * closely while one is active.
   *
   * @param runs - The runs, as the server lists them.
   */
  update(runs: Run[]): void {
    if (this._isDisposed) {
      return;
    }
    for (const run of runs) {
      const before = this._states.get(run.id);
      if (before !== undefined && !isFinalRunState(before) && isFinalRunState(run.state)) {
        this._ended.emit(run);
      }
      this._states.set(run.id, run.state);
    }
    this._runs = runs;
    const interval = this.hasActive ? this._active : this._idle;
    if (this._poll.frequency.interval !== interval) {
      this._poll.frequency = { interval, backoff: !this.hasActive, max: 5 * this._idle };
    }
    this._changed.emit();
  }

  /**
   * Submit a run; it is followed from then on.
   *
   * @param request - The run request.
   * @returns The run.
   * @throws {ApiError} 400 with the `field` of the value refused.
   */
  async submit(request: IRunRequest): Promise<Run> {
    return this._follow(await submitRun(request, this._settings));
  }

  /**
   * Cancel a run's job.
   *
   * @param id - The run's id.
   * @returns The run after.
   */
  async cancel(id: string): Promise<Run> {
    const run = await cancelRun(id, this._settings);
    await this._poll.refresh();
    return run;
  }

  /**
   * Submit a run again as it was asked.
   *
   * @param id - The run's id.
   * @returns The new run.
   */
  async again(id: string): Promise<Run> {
    return this._follow(await runAgain(id, this._settings));
  }

  /**
   * A run's sbatch script or job log.
   *
   * @param id - The run's id.
   * @param which - `script` or `log`.
   * @param task - A sweep's task, for its log.
   * @returns The file.
   */
  readFile(id: string, which: 'script' | 'log', task: number | null = null): Promise<RunFile> {
    return readRunFile(id, which, task, this._settings);
  }

  private async _follow(run: Run): Promise<Run> {
    this._states.set(run.id, run.state);
    this.update([run, ...this._runs.filter(r => r.id !== run.id)]);
    void this._poll.refresh();
    return run;
  }

  private _settings: ServerConnection.ISettings | undefined;
  private _active: number;
  private _idle: number;
  private _poll: Poll;
  private _runs: Run[] = [];
  private _states = new Map<string, string>();
  private _error: string | null = null;
  private _isDisposed = false;
  private _changed = new Signal<RunsModel, void>(this);
  private _ended = new Signal<RunsModel, Run>(this);
}

/**
 * The namespace of {@link RunsModel}'s types.
 */
export namespace RunsModel {
  /**
   * The options of the constructor.
   */
  export interface IOptions {
    serverSettings?: ServerConnection.ISettings;
    /**
     * Milliseconds between two listings while a run is active.
     */
    activeInterval?: number;
    /**
     * Milliseconds between two listings otherwise.
     */
    idleInterval?: number;
  }
}

// Python's keywords: not parameter names (the server refuses them too).
const KEYWORDS = new Set(
  (
    'False None True and as assert async await break class continue def del elif else except ' +
    'finally for from global if import in is lambda nonlocal not or pass raise return try while ' +
    'with yield'
  ).split(' ')
);

/**
 * Whether a name is a parameter name: a Python identifier that is not a keyword.
 *
 * @param name - The name.
 * @returns `true` when the server accepts it.
 */
export function isParameterName(name: string): boolean {
  return /^[\p{L}_][\p{L}\p{N}_]*$/u.test(name) && !KEYWORDS.has(name);
}

// A plain word or phrase, taken as a string (as YAML takes it): no quote, bracket, brace,
// colon-space, comment or YAML indicator that would make it something else.
const PLAIN = /^[^\s[\]{}'"#&*!|>%@`,:?-][^\n]*$/;

/**
 * A parameter's value typed in the dialog: a JSON value (`3`, `0.5`, `true`, `null`, `"a b"`,
 * `[1, 2]`, `{"a": 1}`), or a plain word or phrase taken as a string (`abc`, `run a`). Anything
 * else is refused with a hint, as the server would refuse it.
 *
 * @param text - What was typed.
 * @param trans - The translations.
 * @returns The value, or the error.
 */
export function parseParameterValue(
  text: string,
  trans: TranslationBundle = nullTranslator.load('jupyterlab_hpc_envs')
): { value: unknown } | { error: string } {
  const trimmed = text.trim();
  if (trimmed === '') {
    return { value: '' };
  }
  try {
    return { value: JSON.parse(trimmed) };
  } catch {
    // not JSON: maybe a plain string
  }
  if (PLAIN.test(trimmed) && !trimmed.includes(': ') && !trimmed.includes(' #')) {
    return { value: trimmed };
  }
  return {
    error: trans.__(
      '%1 is not a value: write a number, true/false, null, a JSON list or mapping, or a string (in double quotes when it has special characters).',
      trimmed
    )
  };
}

/**
 * A parameter as the dialog edits it.
 */
export interface IParameterRow {
  name: string;
  value: string;
}

/**
 * The parameters of the dialog as the server takes them, or the first error of each row.
 *
 * @param rows - The rows (a row with neither name nor value is ignored).
 * @param trans - The translations.
 * @returns The values by name, and the errors by row index.
 */
export function parseParameters(
  rows: readonly IParameterRow[],
  trans: TranslationBundle = nullTranslator.load('jupyterlab_hpc_envs')
): { values: Record<string, unknown>; errors: Map<number, string> } {
  const values: Record<string, unknown> = {};
  const errors = new Map<number, string>();
  rows.forEach((row, index) => {
    const name = row.name.trim();
    if (!name && !row.value.trim()) {
      return;
    }
    if (!isParameterName(name)) {
      errors.set(
        index,
        trans.__('%1 is not a parameter name: use a Python identifier (a_b1).', name || '""')
      );
      return;
    }
    if (name in values) {
      errors.set(index, trans.__('%1 is given twice.', name));
      return;
    }
    const parsed = parseParameterValue(row.value, trans);
    if ('error' in parsed) {
      errors.set(index, parsed.error);
    } else {
      values[name] = parsed.value;
    }
  });
  return { values, errors };
}

/**
 * A sweep as the dialog edits it: a table whose columns are parameter names and whose rows are
 * parameter sets (one job array task each).
 */
export interface ISweepTable {
  names: string[];
  rows: string[][];
}

/**
 * The parameter sets of a sweep table, or its first error.
 *
 * @param table - The names and the rows of values (empty rows are ignored).
 * @param trans - The translations.
 * @returns The parameter sets (none when the table is empty), or the error.
 */
export function parseSweep(
  table: ISweepTable,
  trans: TranslationBundle = nullTranslator.load('jupyterlab_hpc_envs')
): { sets: Record<string, unknown>[] } | { error: string } {
  const rows = table.rows.filter(row => row.some(cell => cell.trim() !== ''));
  if (!rows.length) {
    return { sets: [] };
  }
  const names = table.names.map(n => n.trim());
  const bad = names.find(n => !isParameterName(n));
  if (bad !== undefined) {
    return {
      error: trans.__('%1 is not a parameter name: use a Python identifier (a_b1).', bad || '""')
    };
  }
  if (new Set(names).size !== names.length) {
    return { error: trans.__('A column name is given twice.') };
  }
  const sets: Record<string, unknown>[] = [];
  for (const [index, row] of rows.entries()) {
    const set: Record<string, unknown> = {};
    for (const [column, name] of names.entries()) {
      const parsed = parseParameterValue(row[column] ?? '', trans);
      if ('error' in parsed) {
        return { error: trans.__('Set %1, %2: %3', index + 1, name, parsed.error) };
      }
      set[name] = parsed.value;
    }
    sets.push(set);
  }
  return { sets };
}

/**
 * How long a run has taken, in words (`45 s`, `3 min 5 s`, `2 h 4 min`).
 *
 * @param seconds - The elapsed time in seconds.
 * @returns The text.
 */
export function elapsedText(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) {
    return `${s} s`;
  }
  if (s < 3600) {
    return `${Math.floor(s / 60)} min ${s % 60} s`;
  }
  return `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`;
}

/**
 * The failure of a run or of the first failed task of a sweep, in one sentence.
 *
 * @param run - The run.
 * @param trans - The translations.
 * @returns `cell 3 (1 / 0): ZeroDivisionError: …` (cells counted from 1), or `''` when none is known.
 */
export function failureText(
  run: Run,
  trans: TranslationBundle = nullTranslator.load('jupyterlab_hpc_envs')
): string {
  const task = run.tasks?.find(t => t.failure);
  const failure = run.failure ?? task?.failure ?? null;
  if (!failure) {
    return run.reason;
  }
  const cell = trans.__('cell %1', failure.cell + 1);
  const where = failure.source ? `${cell} (${failure.source})` : cell;
  const prefix = task && !run.failure ? trans.__('task %1, ', task.task) : '';
  return `${prefix}${where}: ${failure.error}`;
}
