/**
 * The frontend's state: what the server extension says, refreshed in the background, and the
 * tasks it runs, followed live. No DOM here.
 */
import { ServerConnection } from '@jupyterlab/services';
import { PromiseDelegate } from '@lumino/coreutils';
import { Poll } from '@lumino/polling';
import { ISignal, Signal } from '@lumino/signaling';

import {
  adoptEnvironment,
  Activation,
  Adopted,
  ApiError,
  Build,
  cancelKernelJob,
  cancelTask,
  CondaEnvironment,
  CondaInfo,
  createEnvironment,
  Environment,
  errorMessage,
  getActivation,
  getTerminalActivation,
  getCondaInfo,
  getInfo,
  getKernelResources,
  getMigrationPlan,
  getModules,
  probePartitions,
  getPackages,
  getRemovalPlan,
  getRequirements,
  getSite,
  getTask,
  ICreateRequest,
  IKernelResourcesRequest,
  IMigrationRequest,
  Info,
  installPackages,
  isFinal,
  isWaitingJob,
  KernelJob,
  KernelRef,
  KernelResources,
  MigrationPlan,
  listCondaEnvironments,
  listEnvironments,
  listKernelJobs,
  listTasks,
  Modules,
  Packages,
  RemovalPlan,
  Partition,
  readTaskLog,
  rebuildEnvironment,
  registerKernels,
  removeEnvironment,
  setKernelResources,
  Site,
  startMigration,
  Task,
  uninstallPackages,
  updateAllPackages
} from './api';
import { IHpcEnvsModel, ITaskLog } from './tokens';

/**
 * The default number of seconds between two background refreshes.
 */
export const DEFAULT_REFRESH_INTERVAL = 60;

/**
 * The default number of milliseconds between two looks at the kernel jobs while one waits in the
 * queue.
 */
export const DEFAULT_KERNEL_JOBS_INTERVAL = 3000;

/**
 * The default number of milliseconds the kernel jobs are followed closely after a kernel start
 * was noticed (its job shows up in the record within a second or two).
 */
export const DEFAULT_KERNEL_JOBS_WATCH = 30000;

/**
 * What the kernel spec manager of the service manager offers that the model needs.
 */
export interface IKernelSpecRefresher {
  /**
   * Ask the server for the kernel specs again (new kernels show in the launcher at once).
   */
  refreshSpecs(): Promise<void>;
}

/**
 * A task's log, followed with the server's long poll until the task ends.
 */
export class TaskLog implements ITaskLog {
  /**
   * Create the log of a task; it is followed from `start()` on.
   *
   * @param options - The task, the server settings and the retry delays.
   */
  constructor(options: TaskLog.IOptions) {
    this._task = options.task;
    this._serverSettings = options.serverSettings;
    this._retryDelay = options.retryDelay ?? 1000;
    this._idleDelay = options.idleDelay ?? 1000;
  }

  get task(): Task {
    return this._task;
  }

  get text(): string {
    return this._text;
  }

  get isFinal(): boolean {
    return this._done;
  }

  get error(): string | null {
    return this._error;
  }

  get changed(): ISignal<ITaskLog, string> {
    return this._changed;
  }

  get finished(): Promise<Task> {
    return this._finished.promise;
  }

  get isDisposed(): boolean {
    return this._isDisposed;
  }

  /**
   * Start following the log (once; later calls do nothing).
   */
  start(): void {
    if (this._started || this._isDisposed) {
      return;
    }
    this._started = true;
    void this._follow();
  }

  /**
   * Stop following; `finished` resolves with the record as it is.
   */
  dispose(): void {
    if (this._isDisposed) {
      return;
    }
    this._isDisposed = true;
    this._finished.resolve(this._task);
    Signal.clearData(this);
  }

  private async _follow(): Promise<void> {
    let delay = 0;
    while (!this._isDisposed) {
      try {
        const asked = Date.now();
        const chunk = await readTaskLog(this._task.id, this._offset, this._serverSettings);
        if (this._isDisposed) {
          return;
        }
        delay = 0;
        this._error = null;
        const advanced = chunk.offset > this._offset;
        this._text += chunk.text;
        this._offset = chunk.offset;
        this._task = { ...this._task, state: chunk.state, step: chunk.step };
        // A final state answers at once: read on until the rest of the log is in (and stop if the
        // server does not move on, rather than asking forever).
        const ended = isFinal(chunk.state) && (chunk.text === '' || !advanced);
        if (ended) {
          await this._end();
          return;
        }
        this._changed.emit(chunk.text);
        if (!chunk.text && !isFinal(chunk.state) && Date.now() - asked < this._idleDelay) {
          // The server answered at once with nothing new (it normally holds the request until
          // there is output): do not ask again right away.
          await new Promise(resolve => setTimeout(resolve, this._idleDelay));
        }
      } catch (reason) {
        if (this._isDisposed) {
          return;
        }
        this._error = errorMessage(reason);
        if (reason instanceof ApiError && reason.status === 404) {
          // The task is gone (pruned by the server): nothing more will come.
          this._task = { ...this._task, state: 'interrupted', message: this._error };
          this._done = true;
          this._changed.emit('');
          this._finished.resolve(this._task);
          return;
        }
        this._changed.emit('');
        delay = Math.min(Math.max(this._retryDelay, delay * 2), 30 * this._retryDelay);
        await new Promise(resolve => setTimeout(resolve, delay));
      }
    }
  }

  private async _end(): Promise<void> {
    try {
      const record = await getTask(this._task.id, this._serverSettings);
      this._task = record;
    } catch {
      // The record as the log knows it will do.
    }
    if (this._isDisposed) {
      return;
    }
    this._done = true;
    this._changed.emit('');
    this._finished.resolve(this._task);
  }

  private _task: Task;
  private _serverSettings: ServerConnection.ISettings;
  private _retryDelay: number;
  private _idleDelay: number;
  private _text = '';
  private _offset = 0;
  private _error: string | null = null;
  private _started = false;
  private _done = false;
  private _isDisposed = false;
  private _finished = new PromiseDelegate<Task>();
  private _changed = new Signal<ITaskLog, string>(this);
}

/**
 * The namespace of {@link TaskLog}'s types.
 */
export namespace TaskLog {
  /**
   * The options of the constructor.
   */
  export interface IOptions {
    /**
     * The task as the server described it.
     */
    task: Task;

    /**
     * The server settings.
     */
    serverSettings: ServerConnection.ISettings;

    /**
     * Milliseconds before the first retry when the server cannot be reached (doubling up to 30
     * times that).
     */
    retryDelay?: number;

    /**
     * Milliseconds to wait before asking again when the server answered at once with no new
     * output (it normally holds the request until there is some).
     */
    idleDelay?: number;
  }
}

/**
 * The implementation of {@link IHpcEnvsModel} over the REST API.
 */
export class HpcEnvsModel implements IHpcEnvsModel {
  /**
   * Create a model. It does not call the server until `refresh()` is called or
   * `refreshInterval` is set to a positive number.
   *
   * @param options - The server settings (from the service manager), the kernel spec manager and
   *   the refresh interval.
   */
  constructor(options: HpcEnvsModel.IOptions) {
    this._serverSettings = options.serverSettings;
    this._kernelSpecs = options.kernelSpecs ?? null;
    this._retryDelay = options.retryDelay;
    this._kernelJobsInterval = options.kernelJobsInterval ?? DEFAULT_KERNEL_JOBS_INTERVAL;
    this._kernelJobsWatch = options.kernelJobsWatch ?? DEFAULT_KERNEL_JOBS_WATCH;
    this._refreshInterval = 0;
    if (options.refreshInterval !== undefined) {
      this.refreshInterval = options.refreshInterval;
    }
  }

  get info(): Info | null {
    return this._info;
  }

  get site(): Site | null {
    return this._site;
  }

  get environments(): readonly Environment[] {
    return this._environments;
  }

  get tasks(): readonly Task[] {
    return this._tasks;
  }

  get kernelJobs(): readonly KernelJob[] {
    return this._kernelJobs;
  }

  get kernelJobsChanged(): ISignal<IHpcEnvsModel, readonly KernelJob[]> {
    return this._kernelJobsChanged;
  }

  get error(): string | null {
    return this._error;
  }

  get isLoading(): boolean {
    return this._pending > 0;
  }

  get stateChanged(): ISignal<IHpcEnvsModel, void> {
    return this._stateChanged;
  }

  get taskStarted(): ISignal<IHpcEnvsModel, ITaskLog> {
    return this._taskStarted;
  }

  get taskFinished(): ISignal<IHpcEnvsModel, Task> {
    return this._taskFinished;
  }

  get isDisposed(): boolean {
    return this._isDisposed;
  }

  get defaultPartition(): string {
    return this._defaultPartition;
  }

  set defaultPartition(value: string) {
    this._defaultPartition = value;
  }

  get defaultStorageRoot(): string {
    return this._defaultStorageRoot;
  }

  set defaultStorageRoot(value: string) {
    this._defaultStorageRoot = value;
  }

  get refreshInterval(): number {
    return this._refreshInterval;
  }

  set refreshInterval(seconds: number) {
    const value = Number.isFinite(seconds) && seconds > 0 ? seconds : 0;
    if (this._isDisposed || (value === this._refreshInterval && this._poll)) {
      return;
    }
    this._refreshInterval = value;
    this._poll?.dispose();
    this._poll = null;
    if (value > 0) {
      // The poll's first tick is immediate: it also does the first refresh.
      this._poll = new Poll({
        auto: true,
        factory: () => this.refresh(),
        frequency: { interval: value * 1000, backoff: false },
        name: 'jupyterlab-hpc-envs:model',
        standby: 'when-hidden'
      });
    }
  }

  async refresh(rescan = false): Promise<void> {
    if (this._isDisposed) {
      return;
    }
    // Only the answer to the latest call is kept: an older answer arriving late is dropped.
    const call = ++this._calls;
    this._pending++;
    this._emit();
    // The kernel jobs on the side: a server without them still shows its environments.
    const jobs = this.refreshKernelJobs();
    try {
      const settings = this._serverSettings;
      const [info, site, environments, tasks] = await Promise.all([
        getInfo(settings),
        getSite(settings, rescan),
        listEnvironments(settings),
        listTasks(settings)
      ]);
      if (call === this._calls && !this._isDisposed) {
        if (rescan) {
          this._catalogs.clear();
          this._condaInfo = null;
        }
        this._info = info;
        this._site = site;
        this._environments = sortByName(environments);
        this._setTasks(tasks);
        this._error = null;
      }
    } catch (reason) {
      if (call === this._calls) {
        this._error = errorMessage(reason);
      }
    } finally {
      await jobs;
      this._pending--;
      this._emit();
    }
  }

  refreshKernelJobs(): Promise<void> {
    if (this._isDisposed) {
      return Promise.resolve();
    }
    if (!this._jobsFetch) {
      const fetch = this._fetchKernelJobs().finally(() => {
        if (this._jobsFetch === fetch) {
          this._jobsFetch = null;
        }
      });
      this._jobsFetch = fetch;
      return fetch;
    }
    // One is under way: it may have left before what the caller wants to see; ask once more
    // after it (however many calls come in meanwhile).
    if (!this._jobsNext) {
      this._jobsNext = this._jobsFetch.then(() => {
        this._jobsNext = null;
        return this.refreshKernelJobs();
      });
    }
    return this._jobsNext;
  }

  watchKernelJobs(): void {
    if (this._isDisposed) {
      return;
    }
    this._watchUntil = Date.now() + this._kernelJobsWatch;
    void this.refreshKernelJobs();
  }

  async cancelKernelJob(kernelId: string): Promise<void> {
    try {
      await cancelKernelJob(kernelId, this._serverSettings);
    } finally {
      await this.refreshKernelJobs();
    }
  }

  kernelResources(kernel: string): Promise<KernelResources> {
    return getKernelResources(kernel, this._serverSettings);
  }

  async setKernelResources(
    kernel: string,
    request: IKernelResourcesRequest
  ): Promise<KernelResources> {
    const reply = await setKernelResources(kernel, request, this._serverSettings);
    // The kernelspec changed: the frontend's copy of the specs follows.
    await this._kernelSpecs?.refreshSpecs().catch(reason => {
      console.warn('jupyterlab-hpc-envs: cannot refresh the kernel specs', reason);
    });
    return reply;
  }

  async taskLog(id: string): Promise<ITaskLog> {
    const known = this._logs.get(id);
    if (known) {
      return known;
    }
    const task = await getTask(id, this._serverSettings);
    return this._follow(task);
  }

  async modules(partition: string, python: string | null): Promise<Modules> {
    const key = `${partition}\n${python ?? ''}`;
    let reply = this._catalogs.get(key);
    if (!reply) {
      reply = getModules(partition, python, this._serverSettings);
      this._catalogs.set(key, reply);
      // A failure is not cached, nor a partition still being probed: the next call asks again.
      reply.then(
        found => {
          if (found.origin?.kind === 'probe' && found.origin.state !== 'ok') {
            this._catalogs.delete(key);
          }
        },
        () => this._catalogs.delete(key)
      );
    }
    return reply;
  }

  /**
   * Probe a partition the site description leaves out again (a short Slurm job); its catalog
   * is asked again afterwards.
   *
   * @param partition - The partition.
   */
  async probePartition(partition: string): Promise<void> {
    const site = await probePartitions(partition, this._serverSettings);
    for (const key of [...this._catalogs.keys()]) {
      if (key.startsWith(`${partition}\n`)) {
        this._catalogs.delete(key);
      }
    }
    if (!this._isDisposed) {
      this._site = site;
      this._emit();
    }
  }

  async createEnvironment(request: ICreateRequest): Promise<ITaskLog> {
    const task = await createEnvironment(request, this._serverSettings);
    const log = this._follow(task);
    void this._refreshEnvironments();
    return log;
  }

  async rebuild(name: string, partition: string, force: boolean): Promise<ITaskLog | string> {
    const reply = await rebuildEnvironment(name, partition, force, this._serverSettings);
    if (reply.task) {
      const log = this._follow(reply.task);
      void this._refreshEnvironments();
      return log;
    }
    await this._changed();
    return reply.message ?? '';
  }

  async registerKernels(name: string, partition: string | null): Promise<string[]> {
    const kernels = await registerKernels(name, partition, this._serverSettings);
    await this._changed();
    return kernels;
  }

  migrationPlan(name: string, request: IMigrationRequest): Promise<MigrationPlan> {
    return getMigrationPlan(name, request, this._serverSettings);
  }

  async migrate(name: string, request: IMigrationRequest): Promise<ITaskLog> {
    const task = await startMigration(name, request, this._serverSettings);
    const log = this._follow(task);
    void this._refreshEnvironments();
    return log;
  }

  removalPlan(name: string, partition: string | null): Promise<RemovalPlan> {
    return getRemovalPlan(name, partition, this._serverSettings);
  }

  async remove(name: string, partition: string | null, stop = false): Promise<string[]> {
    try {
      return await removeEnvironment(name, partition, this._serverSettings, stop);
    } finally {
      // Even a failed removal may have removed some of it: show what is left.
      await this._changed();
      if (stop) {
        void this.refreshKernelJobs();
      }
    }
  }

  activation(name: string, partition: string): Promise<string> {
    return getActivation(name, partition, this._serverSettings);
  }

  async terminalActivation(name: string, partition: string, remote: boolean): Promise<Activation> {
    const activation = await getTerminalActivation(name, partition, remote, this._serverSettings);
    if (remote) {
      // The terminal's job shows in the kernel jobs list as soon as Slurm has it.
      this.watchKernelJobs();
    }
    return activation;
  }

  packages(name: string, partition: string): Promise<Packages> {
    return getPackages(name, partition, this._serverSettings);
  }

  async install(
    name: string,
    partition: string,
    specs: string[],
    upgrade: boolean
  ): Promise<ITaskLog> {
    const task = await installPackages(name, partition, specs, upgrade, this._serverSettings);
    return this._follow(task);
  }

  async uninstall(name: string, partition: string, packages: string[]): Promise<ITaskLog> {
    const task = await uninstallPackages(name, partition, packages, this._serverSettings);
    return this._follow(task);
  }

  requirements(name: string, partition: string): Promise<string> {
    return getRequirements(name, partition, this._serverSettings);
  }

  async updateAll(name: string, partition: string): Promise<ITaskLog> {
    const task = await updateAllPackages(name, partition, this._serverSettings);
    return this._follow(task);
  }

  conda(refresh = false): Promise<CondaInfo> {
    if (refresh || !this._condaInfo) {
      const reply = getCondaInfo(this._serverSettings, refresh);
      this._condaInfo = reply;
      // A failure is not cached: the next call asks again.
      reply.catch(() => {
        if (this._condaInfo === reply) {
          this._condaInfo = null;
        }
      });
    }
    return this._condaInfo;
  }

  condaEnvironments(): Promise<CondaEnvironment[]> {
    return listCondaEnvironments(this._serverSettings);
  }

  async adopt(path: string, name?: string | null): Promise<Adopted> {
    try {
      return await adoptEnvironment(path, name, this._serverSettings);
    } finally {
      await this._changed();
    }
  }

  async cancelTask(id: string): Promise<void> {
    const task = await cancelTask(id, this._serverSettings);
    this._upsertTask(task);
    this._emit();
  }

  dispose(): void {
    if (this._isDisposed) {
      return;
    }
    this._isDisposed = true;
    this._poll?.dispose();
    this._poll = null;
    if (this._jobsTimer !== null) {
      clearTimeout(this._jobsTimer);
      this._jobsTimer = null;
    }
    this._stopAskingWhenShown();
    for (const log of this._logs.values()) {
      log.dispose();
    }
    this._logs.clear();
    Signal.clearData(this);
  }

  /**
   * Follow a task's log (once per task), and refresh what it changed when it ends.
   *
   * @param task - The task.
   * @returns Its followed log.
   */
  private _follow(task: Task): ITaskLog {
    const known = this._logs.get(task.id);
    if (known) {
      return known;
    }
    const log = new TaskLog({
      task,
      serverSettings: this._serverSettings,
      retryDelay: this._retryDelay
    });
    this._logs.set(task.id, log);
    this._upsertTask(task);
    log.changed.connect(this._onLogChanged, this);
    log.start();
    if (!isFinal(task.state)) {
      void log.finished.then(async record => {
        if (this._isDisposed || log.isDisposed) {
          return;
        }
        this._upsertTask(record);
        await this._changed();
        this._taskFinished.emit(record);
      });
      this._taskStarted.emit(log);
    }
    this._emit();
    return log;
  }

  private _onLogChanged(log: ITaskLog): void {
    const current = this._tasks.find(t => t.id === log.task.id);
    if (!current || current.state !== log.task.state || current.step !== log.task.step) {
      this._upsertTask(log.task);
      this._emit();
    }
  }

  private _setTasks(tasks: Task[]): void {
    // Records of followed tasks are fresher than the list when their logs are ahead.
    this._tasks = tasks.map(t => {
      const log = this._logs.get(t.id);
      return log && log.isFinal ? log.task : t;
    });
    for (const task of tasks) {
      if (!isFinal(task.state) && !this._logs.has(task.id)) {
        this._follow(task);
      }
    }
  }

  private _upsertTask(task: Task): void {
    const index = this._tasks.findIndex(t => t.id === task.id);
    if (index < 0) {
      this._tasks = [task, ...this._tasks];
    } else {
      const tasks = this._tasks.slice();
      tasks[index] = task;
      this._tasks = tasks;
    }
  }

  /**
   * After a change of environments: the environments again, and the kernel specs, so that the
   * launcher and the kernel picker show the change at once.
   */
  private async _changed(): Promise<void> {
    await Promise.all([
      this._refreshEnvironments(),
      this._kernelSpecs?.refreshSpecs().catch(reason => {
        console.warn('jupyterlab-hpc-envs: cannot refresh the kernel specs', reason);
      })
    ]);
  }

  private async _refreshEnvironments(): Promise<void> {
    if (this._isDisposed) {
      return;
    }
    try {
      const environments = await listEnvironments(this._serverSettings);
      if (!this._isDisposed) {
        this._environments = sortByName(environments);
        this._emit();
      }
    } catch (reason) {
      console.warn('jupyterlab-hpc-envs: cannot list the environments', reason);
    }
  }

  /**
   * Ask for the kernel jobs (one request), then look again soon if one waits in the queue or a
   * kernel start was noticed a moment ago.
   */
  private async _fetchKernelJobs(): Promise<void> {
    try {
      const jobs = await listKernelJobs(this._serverSettings);
      if (!this._isDisposed && !sameJobs(this._kernelJobs, jobs)) {
        this._kernelJobs = jobs;
        this._kernelJobsChanged.emit(jobs);
        this._emit();
      }
    } catch (reason) {
      console.warn('jupyterlab-hpc-envs: cannot list the kernel jobs', reason);
    } finally {
      this._scheduleKernelJobs();
    }
  }

  private _scheduleKernelJobs(): void {
    if (this._isDisposed || this._jobsTimer !== null) {
      return;
    }
    const closely = Date.now() < this._watchUntil || this._kernelJobs.some(isWaitingJob);
    if (closely) {
      this._jobsTimer = setTimeout(() => {
        this._jobsTimer = null;
        if (document.hidden) {
          // Nobody sees the page: ask again as soon as it is shown, not every few moments.
          this._askWhenShown();
        } else {
          void this.refreshKernelJobs();
        }
      }, this._kernelJobsInterval);
    }
  }

  private _askWhenShown(): void {
    if (this._onShown) {
      return;
    }
    const onShown = (): void => {
      if (!document.hidden) {
        this._stopAskingWhenShown();
        void this.refreshKernelJobs();
      }
    };
    this._onShown = onShown;
    document.addEventListener('visibilitychange', onShown);
  }

  private _stopAskingWhenShown(): void {
    if (this._onShown) {
      document.removeEventListener('visibilitychange', this._onShown);
      this._onShown = null;
    }
  }

  private _emit(): void {
    if (!this._isDisposed) {
      this._stateChanged.emit();
    }
  }

  private _serverSettings: ServerConnection.ISettings;
  private _kernelSpecs: IKernelSpecRefresher | null;
  private _retryDelay: number | undefined;
  private _info: Info | null = null;
  private _site: Site | null = null;
  private _environments: Environment[] = [];
  private _tasks: Task[] = [];
  private _kernelJobs: KernelJob[] = [];
  private _kernelJobsInterval: number;
  private _kernelJobsWatch: number;
  private _jobsFetch: Promise<void> | null = null;
  private _jobsNext: Promise<void> | null = null;
  private _jobsTimer: ReturnType<typeof setTimeout> | null = null;
  private _onShown: (() => void) | null = null;
  private _watchUntil = 0;
  private _logs = new Map<string, TaskLog>();
  private _catalogs = new Map<string, Promise<Modules>>();
  private _condaInfo: Promise<CondaInfo> | null = null;
  private _error: string | null = null;
  private _calls = 0;
  private _pending = 0;
  private _refreshInterval: number;
  private _defaultPartition = '';
  private _defaultStorageRoot = '';
  private _poll: Poll | null = null;
  private _isDisposed = false;
  private _stateChanged = new Signal<IHpcEnvsModel, void>(this);
  private _taskStarted = new Signal<IHpcEnvsModel, ITaskLog>(this);
  private _taskFinished = new Signal<IHpcEnvsModel, Task>(this);
  private _kernelJobsChanged = new Signal<IHpcEnvsModel, readonly KernelJob[]>(this);
}

/**
 * The namespace of {@link HpcEnvsModel}'s types.
 */
export namespace HpcEnvsModel {
  /**
   * The options of the model's constructor.
   */
  export interface IOptions {
    /**
     * The server settings: pass `app.serviceManager.serverSettings`.
     */
    serverSettings: ServerConnection.ISettings;

    /**
     * The kernel spec manager (`app.serviceManager.kernelspecs`), refreshed after every change.
     */
    kernelSpecs?: IKernelSpecRefresher | null;

    /**
     * Seconds between two refreshes in the background; `0` (the default) turns them off.
     */
    refreshInterval?: number;

    /**
     * Milliseconds before a task's log is asked for again after a failure (doubling).
     */
    retryDelay?: number;

    /**
     * Milliseconds between two looks at the kernel jobs while one waits in the queue.
     */
    kernelJobsInterval?: number;

    /**
     * Milliseconds the kernel jobs are followed closely after `watchKernelJobs()`.
     */
    kernelJobsWatch?: number;
  }
}

/**
 * Whether two lists of kernel jobs say the same (the server rewrites its record often; an
 * unchanged answer changes nothing on screen).
 *
 * @param a - A list.
 * @param b - Another.
 * @returns `true` when they are equal, field by field.
 */
function sameJobs(a: readonly KernelJob[], b: readonly KernelJob[]): boolean {
  return a.length === b.length && JSON.stringify(a) === JSON.stringify(b);
}

/**
 * The environments sorted by name, case-insensitively.
 *
 * @param environments - Environments in any order.
 * @returns A sorted copy.
 */
function sortByName(environments: Environment[]): Environment[] {
  return environments
    .slice()
    .sort((a, b) => a.name.localeCompare(b.name, undefined, { sensitivity: 'base' }));
}

// --- pure views of the state, shared by the widgets ---------------------------------------------

/**
 * What an environment has on one partition.
 *
 * - `ready`: a build of the partition's arch and its kernel;
 * - `unregistered`: a ready build of the partition's arch, but no kernel for the partition;
 * - `building`: a build is running (`task` is its task, when known);
 * - `failed`: the last build failed (`build.error` says why);
 * - `stale`: the build no longer matches the spec;
 * - `none`: not built for this partition.
 */
export type BuildStatus = 'ready' | 'unregistered' | 'building' | 'failed' | 'stale' | 'none';

/**
 * An environment on one partition.
 */
export interface IPartitionStatus {
  partition: Partition;
  status: BuildStatus;
  build: Build | null;
  kernel: KernelRef | null;
  /**
   * The running task of the environment on this partition (a build, an install…), or `null`.
   */
  task: Task | null;
}

/**
 * What an environment has on each partition of the site.
 *
 * @param env - The environment.
 * @param partitions - The site's partitions.
 * @param tasks - The tasks the model knows (running ones are matched by environment and
 *   partition, in addition to the environment's own `tasks`).
 * @returns One entry per partition, in the site's order.
 */
export function partitionStatuses(
  env: Environment,
  partitions: readonly Partition[],
  tasks: readonly Task[] = []
): IPartitionStatus[] {
  // The model's tasks first: they follow the logs live; the environment's are a snapshot.
  const running = [...tasks, ...env.tasks].filter(t => t.env === env.name && !isFinal(t.state));
  return partitions.map(partition => {
    const build = (partition.arch && env.builds[partition.arch]) || null;
    const kernel = env.kernels.find(k => k.partition === partition.name) ?? null;
    const task = running.find(t => t.partition === partition.name) ?? null;
    let status: BuildStatus;
    if ((task && task.kind === 'build') || build?.state === 'building') {
      status = 'building';
    } else if (!build) {
      status = 'none';
    } else if (build.state === 'ready') {
      status = kernel ? 'ready' : 'unregistered';
    } else {
      status = build.state;
    }
    return { partition, status, build, kernel, task };
  });
}

/**
 * The environments whose name, modules or packages contain every word of a query.
 *
 * @param environments - The environments.
 * @param query - Words separated by spaces, matched case-insensitively.
 * @returns The matching environments, in their order.
 */
export function filterEnvironments(
  environments: readonly Environment[],
  query: string
): readonly Environment[] {
  const words = query.toLowerCase().split(/\s+/).filter(Boolean);
  if (!words.length) {
    return environments;
  }
  return environments.filter(env => {
    const text = [env.name, env.kind, ...env.modules, ...env.packages].join(' ').toLowerCase();
    return words.every(word => text.includes(word));
  });
}
