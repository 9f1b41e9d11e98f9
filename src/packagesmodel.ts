/**
 * The state of the packages view: the packages of one environment on one partition, filtered,
 * with the shadowing warnings, and the install and uninstall tasks. No DOM here.
 */
import { ISignal, Signal } from '@lumino/signaling';

import {
  CondaPackage,
  errorMessage,
  isFinal,
  Package,
  PackageSource,
  Packages,
  Partition,
  Task
} from './api';
import { partitionStatuses } from './model';
import { IHpcEnvsModel, ITaskLog } from './tokens';

/**
 * The source filter of the view: every source, or one.
 */
export type SourceFilter = 'all' | PackageSource;

/**
 * The packages whose name, version, module or location contain every word of a query, and whose
 * source is the one wanted.
 *
 * @param packages - The packages.
 * @param query - Words separated by spaces, matched case-insensitively.
 * @param source - The source wanted, or `all`.
 * @returns The matching packages, in their order.
 */
export function filterPackages(
  packages: readonly Package[],
  query: string,
  source: SourceFilter = 'all'
): readonly Package[] {
  const words = query.toLowerCase().split(/\s+/).filter(Boolean);
  if (!words.length && source === 'all') {
    return packages;
  }
  return packages.filter(p => {
    if (source !== 'all' && p.source !== source) {
      return false;
    }
    if (!words.length) {
      return true;
    }
    const text = `${p.name} ${p.key} ${p.version} ${p.module ?? ''}`.toLowerCase();
    return words.every(word => text.includes(word));
  });
}

/**
 * What the packages view of a conda environment lists: its conda packages (with the ones only
 * pip could install), or its Python distributions with their provenance, as for a venv.
 */
export type Listing = 'conda' | 'python';

/**
 * A row of the conda listing: a conda package, or a distribution pip installed because no
 * channel had it (`pip`).
 */
export interface ICondaRow {
  name: string;
  version: string;
  build: string;
  /**
   * The channel it came from (`pip` for pip's).
   */
  channel: string;
  /**
   * Whether the user asked for it (not only a dependency).
   */
  requested: boolean;
  pip: boolean;
}

/**
 * The package name of a conda match spec (`conda-forge::numpy>=1.26` → `numpy`), lower case.
 *
 * @param spec - A spec.
 * @returns Its name.
 */
export function condaSpecName(spec: string): string {
  const body = spec.split('::').pop() ?? spec;
  return body.split(/[\s=<>!~]/, 1)[0].toLowerCase();
}

/**
 * The rows of the conda listing of a conda environment's packages: the conda packages by name,
 * then what pip installed; a package is requested when a spec of the environment names it.
 *
 * @param data - The listing of a conda environment.
 * @returns The rows.
 */
export function condaRows(data: Packages): ICondaRow[] {
  const wanted = new Set(data.requested.map(condaSpecName));
  const rows: ICondaRow[] = data.conda_packages.map((p: CondaPackage) => ({
    name: p.name,
    version: p.version,
    build: p.build,
    channel: p.channel.replace(/\/+$/, ''),
    requested: p.requested.length > 0 || wanted.has(p.name.toLowerCase()),
    pip: false
  }));
  rows.sort((a, b) => a.name.localeCompare(b.name));
  const pipWanted = new Set(data.pip_packages.map(condaSpecName));
  for (const p of data.packages) {
    if (
      p.conda === null &&
      p.shadowed_by === null &&
      (p.source === 'conda' || p.source === 'venv')
    ) {
      rows.push({
        name: p.name,
        version: p.version,
        build: '',
        channel: 'pip',
        requested: pipWanted.has(p.key) || pipWanted.has(p.name.toLowerCase()),
        pip: true
      });
    }
  }
  return rows;
}

/**
 * The conda rows whose name, version, build or channel contain every word of a query.
 *
 * @param rows - The rows.
 * @param query - Words separated by spaces, matched case-insensitively.
 * @returns The matching rows, in their order.
 */
export function filterCondaRows(rows: readonly ICondaRow[], query: string): readonly ICondaRow[] {
  const words = query.toLowerCase().split(/\s+/).filter(Boolean);
  if (!words.length) {
    return rows;
  }
  return rows.filter(r => {
    const text = `${r.name} ${r.version} ${r.build} ${r.channel}`.toLowerCase();
    return words.every(word => text.includes(word));
  });
}

/**
 * The state of the packages view of one environment.
 */
export class PackagesModel {
  /**
   * Create the state; call `refresh()` to load the packages.
   *
   * @param options - The model of the extension, the environment and the partition.
   */
  constructor(options: PackagesModel.IOptions) {
    this._model = options.model;
    this._name = options.name;
    this._partition = options.partition;
    this._model.taskFinished.connect(this._onTaskFinished, this);
    this._model.stateChanged.connect(this._emit, this);
  }

  get stateChanged(): ISignal<PackagesModel, void> {
    return this._stateChanged;
  }

  get isDisposed(): boolean {
    return this._isDisposed;
  }

  /**
   * The environment's name.
   */
  get name(): string {
    return this._name;
  }

  /**
   * The partition whose build is shown.
   */
  get partition(): string {
    return this._partition;
  }

  /**
   * The partitions on which the environment has a ready build (the ones the view can show).
   */
  get partitions(): readonly Partition[] {
    const env = this._model.environments.find(e => e.name === this._name);
    const site = this._model.site;
    if (!env || !site) {
      return [];
    }
    return partitionStatuses(env, site.partitions)
      .filter(s => s.build?.state === 'ready')
      .map(s => s.partition);
  }

  /**
   * The listing, or `null` before it is loaded.
   */
  get data(): Packages | null {
    return this._data;
  }

  get error(): string | null {
    return this._error;
  }

  get isLoading(): boolean {
    return this._loading > 0;
  }

  get query(): string {
    return this._query;
  }

  get source(): SourceFilter {
    return this._source;
  }

  /**
   * The packages that pass the filter.
   */
  get rows(): readonly Package[] {
    if (this._rows === null) {
      this._rows = filterPackages(this._data?.packages ?? [], this._query, this._source);
    }
    return this._rows;
  }

  /**
   * The owner of the environment when another user shares it with this one (who may list its
   * packages, not change them), else `null`.
   */
  get sharedBy(): string | null {
    const env = this._model.environments.find(e => e.name === this._name);
    return env && !env.mine ? env.owner : null;
  }

  /**
   * The environment's kind (`venv` or `conda`), from the listing or the environment.
   */
  get kind(): string {
    return (
      this._data?.kind ?? this._model.environments.find(e => e.name === this._name)?.kind ?? 'venv'
    );
  }

  /**
   * Whether the kernel needs a package, so that the server refuses to remove it (the site's
   * `kept_packages` of this kind); every package counts as needed until the site is known.
   *
   * @param name - The package's name (its key for a Python distribution).
   */
  isKept(name: string): boolean {
    const kept = this._model.site?.rules.kept_packages;
    if (!kept) {
      return true;
    }
    return (this.kind === 'conda' ? kept.conda : kept.venv).includes(name);
  }

  /**
   * What is listed: the conda packages (a conda environment's default) or the Python
   * distributions with their provenance (the only listing of a venv).
   */
  get listing(): Listing {
    return this.kind === 'conda' ? this._listing : 'python';
  }

  /**
   * The rows of the conda listing that pass the filter.
   */
  get condaRows(): readonly ICondaRow[] {
    if (this._condaRows === null) {
      this._allCondaRows ??= this._data ? condaRows(this._data) : [];
      this._condaRows = filterCondaRows(this._allCondaRows, this._query);
    }
    return this._condaRows;
  }

  /**
   * How many rows the current listing has before filtering.
   */
  get total(): number {
    if (this.listing === 'conda') {
      this._allCondaRows ??= this._data ? condaRows(this._data) : [];
      return this._allCondaRows.length;
    }
    return this._data?.packages.length ?? 0;
  }

  /**
   * The sources present in the listing, for the source filter.
   */
  get sources(): readonly PackageSource[] {
    const seen = new Set((this._data?.packages ?? []).map(p => p.source));
    return (['venv', 'module', 'base', 'conda', 'user', 'path'] as PackageSource[]).filter(s =>
      seen.has(s)
    );
  }

  /**
   * The running task of the environment on this partition (an install, a build…), or `null`:
   * the server refuses a second one.
   */
  get busy(): Task | null {
    return (
      this._model.tasks.find(
        t => t.env === this._name && t.partition === this._partition && !isFinal(t.state)
      ) ?? null
    );
  }

  /**
   * Show another partition's build.
   *
   * @param partition - The partition.
   */
  setPartition(partition: string): void {
    if (partition === this._partition) {
      return;
    }
    this._partition = partition;
    this._data = null;
    this._rows = null;
    this._condaRows = null;
    this._allCondaRows = null;
    this._emit();
    void this.refresh();
  }

  /**
   * Filter the packages.
   *
   * @param query - Words to match.
   */
  setQuery(query: string): void {
    this._query = query;
    this._rows = null;
    this._condaRows = null;
    this._emit();
  }

  /**
   * Show the conda packages or the Python distributions (conda environments).
   *
   * @param listing - What to list.
   */
  setListing(listing: Listing): void {
    this._listing = listing;
    this._emit();
  }

  /**
   * Show the packages of one source only, or all.
   *
   * @param source - The source.
   */
  setSource(source: SourceFilter): void {
    this._source = source;
    this._rows = null;
    this._emit();
  }

  /**
   * Load the packages again.
   *
   * @returns A promise that never rejects (a failure lands in `error`).
   */
  async refresh(): Promise<void> {
    const partition = this._partition;
    const call = ++this._calls;
    this._loading++;
    this._emit();
    try {
      const data = await this._model.packages(this._name, partition);
      if (call === this._calls && !this._isDisposed) {
        this._data = data;
        this._rows = null;
        this._condaRows = null;
        this._allCondaRows = null;
        this._error = null;
      }
    } catch (reason) {
      if (call === this._calls) {
        this._error = errorMessage(reason);
      }
    } finally {
      this._loading--;
      this._emit();
    }
  }

  /**
   * Install (or upgrade) packages; the listing is loaded again when the task ends.
   *
   * @param specs - Requirement specifiers.
   * @param upgrade - Upgrade what is installed already.
   * @returns The followed task.
   * @throws {ApiError} The server's refusal.
   */
  install(specs: string[], upgrade: boolean): Promise<ITaskLog> {
    return this._model.install(this._name, this._partition, specs, upgrade);
  }

  /**
   * Uninstall packages of the venv; the listing is loaded again when the task ends.
   *
   * @param packages - Distribution names.
   * @returns The followed task.
   * @throws {ApiError} The server's refusal.
   */
  uninstall(packages: string[]): Promise<ITaskLog> {
    return this._model.uninstall(this._name, this._partition, packages);
  }

  /**
   * Update every package of a conda environment (`conda update --all`); the listing is loaded
   * again when the task ends.
   *
   * @returns The followed task.
   * @throws {ApiError} The server's refusal (a venv has no "update all").
   */
  updateAll(): Promise<ITaskLog> {
    return this._model.updateAll(this._name, this._partition);
  }

  /**
   * Follow the outcome of an install this view started: the install box keeps what was typed
   * until it succeeded, and shows why it failed in full.
   *
   * @param taskId - The install's task.
   */
  expectInstall(taskId: string): void {
    this._install = { taskId, state: 'running', message: '' };
    this._emit();
  }

  /**
   * The last install this view started: running, succeeded or failed with the task's message;
   * `null` before any.
   */
  get installOutcome(): PackagesModel.IInstallOutcome | null {
    return this._install;
  }

  dispose(): void {
    if (this._isDisposed) {
      return;
    }
    this._isDisposed = true;
    this._model.taskFinished.disconnect(this._onTaskFinished, this);
    this._model.stateChanged.disconnect(this._emit, this);
    Signal.clearData(this);
  }

  private _onTaskFinished(_: IHpcEnvsModel, task: Task): void {
    if (this._install?.taskId === task.id) {
      this._install = {
        taskId: task.id,
        state: task.state === 'succeeded' ? 'succeeded' : 'failed',
        message: task.message
      };
      this._emit();
    }
    if (task.env === this._name && task.partition === this._partition) {
      void this.refresh();
    }
  }

  private _emit(): void {
    if (!this._isDisposed) {
      this._stateChanged.emit();
    }
  }

  private _model: IHpcEnvsModel;
  private _name: string;
  private _partition: string;
  private _data: Packages | null = null;
  private _rows: readonly Package[] | null = null;
  private _allCondaRows: ICondaRow[] | null = null;
  private _condaRows: readonly ICondaRow[] | null = null;
  private _listing: Listing = 'conda';
  private _error: string | null = null;
  private _loading = 0;
  private _calls = 0;
  private _query = '';
  private _source: SourceFilter = 'all';
  private _isDisposed = false;
  private _install: PackagesModel.IInstallOutcome | null = null;
  private _stateChanged = new Signal<PackagesModel, void>(this);
}

/**
 * The namespace of {@link PackagesModel}'s types.
 */
export namespace PackagesModel {
  /**
   * Where an install started from the view is.
   */
  export interface IInstallOutcome {
    /**
     * The install's task.
     */
    taskId: string;

    /**
     * Running, succeeded, or failed (also cancelled or interrupted).
     */
    state: 'running' | 'succeeded' | 'failed';

    /**
     * The task's final message (why it failed).
     */
    message: string;
  }

  /**
   * The options of the constructor.
   */
  export interface IOptions {
    /**
     * The model of the extension.
     */
    model: IHpcEnvsModel;

    /**
     * The environment.
     */
    name: string;

    /**
     * The partition whose build is shown.
     */
    partition: string;
  }
}
