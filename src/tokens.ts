/**
 * Tokens and public interfaces of jupyterlab-hpc-envs, for other extensions to depend on.
 */
import { Token } from '@lumino/coreutils';
import { IDisposable } from '@lumino/disposable';
import { ISignal } from '@lumino/signaling';

import {
  Activation,
  Adopted,
  CondaEnvironment,
  CondaInfo,
  Environment,
  ICreateRequest,
  IKernelResourcesRequest,
  IMigrationRequest,
  Info,
  KernelJob,
  KernelResources,
  MigrationPlan,
  Modules,
  Packages,
  RemovalPlan,
  Site,
  Task
} from './api';

/**
 * The id of the extension's settings plugin (its schema is `schema/plugin.json`).
 */
export const PLUGIN_ID = 'jupyterlab-hpc-envs:plugin';

/**
 * A task of the server followed by the frontend: its record and its log, streamed live.
 */
export interface ITaskLog extends IDisposable {
  /**
   * The task's record; `state` and `step` follow the log, the rest is refreshed when it ends.
   */
  readonly task: Task;

  /**
   * The log received so far.
   */
  readonly text: string;

  /**
   * Whether the task has ended (succeeded, failed, cancelled or interrupted).
   */
  readonly isFinal: boolean;

  /**
   * Why the log cannot be followed right now (the server is unreachable; it is retried), or `null`.
   */
  readonly error: string | null;

  /**
   * Emitted with the new text (possibly empty) whenever the log or the task's state change.
   */
  readonly changed: ISignal<ITaskLog, string>;

  /**
   * Resolves with the task's final record when it ends (never rejects).
   */
  readonly finished: Promise<Task>;
}

/**
 * The state of the frontend's view of the server extension, and the operations on it.
 *
 * Every operation that changes environments ends with the kernel specs being refreshed, so that new
 * kernels show up in the launcher and the kernel picker at once (and removed ones disappear).
 * Operations reject with the server's error (an `ApiError` carrying the server's message and
 * the field it is about); state reads never throw.
 */
export interface IHpcEnvsModel extends IDisposable {
  /**
   * What the server extension said about itself, or `null` before its first answer.
   */
  readonly info: Info | null;

  /**
   * The site (partitions, storage roots, where the server runs), or `null` before it is known.
   */
  readonly site: Site | null;

  /**
   * The environments, by name.
   */
  readonly environments: readonly Environment[];

  /**
   * The tasks the server knows, newest first.
   */
  readonly tasks: readonly Task[];

  /**
   * The user's kernel jobs (the Slurm jobs of kernels), newest first: refreshed with the rest,
   * and every few seconds while one waits in the queue or a kernel start was noticed.
   */
  readonly kernelJobs: readonly KernelJob[];

  /**
   * The message of the last failed refresh, or `null` when the last refresh succeeded.
   */
  readonly error: string | null;

  /**
   * Whether a refresh is in flight.
   */
  readonly isLoading: boolean;

  /**
   * Seconds between two refreshes in the background; `0` turns them off.
   */
  refreshInterval: number;

  /**
   * The partition the creation form proposes (`''`: where the server runs).
   */
  defaultPartition: string;

  /**
   * The storage root the creation form proposes, by label or path (`''`: the first usable one).
   */
  defaultStorageRoot: string;

  /**
   * Emitted whenever `info`, `site`, `environments`, `tasks`, `kernelJobs`, `error` or
   * `isLoading` change.
   */
  readonly stateChanged: ISignal<IHpcEnvsModel, void>;

  /**
   * Emitted with the kernel jobs whenever an answer of the server changed them.
   */
  readonly kernelJobsChanged: ISignal<IHpcEnvsModel, readonly KernelJob[]>;

  /**
   * Emitted when a task starts, or a running task is found (after a page reload, or one started
   * elsewhere), with its log being followed.
   */
  readonly taskStarted: ISignal<IHpcEnvsModel, ITaskLog>;

  /**
   * Emitted when a followed task ends, with its final record, after the environments were
   * refreshed.
   */
  readonly taskFinished: ISignal<IHpcEnvsModel, Task>;

  /**
   * Ask the server again now.
   *
   * @param rescan - Also make the server ask Slurm and the module system again.
   * @returns A promise that resolves when the state is up to date; it never rejects (failures
   *   land in `error`).
   */
  refresh(rescan?: boolean): Promise<void>;

  /**
   * The followed log of a task, by id; fetches the task if it is not known yet.
   *
   * @param id - The task's id.
   * @returns The log, followed until the task ends.
   */
  taskLog(id: string): Promise<ITaskLog>;

  /**
   * A partition's module catalog, with compatibility with a Python module (cached).
   *
   * @param partition - The partition.
   * @param python - A Python module, or `null`.
   */
  modules(partition: string, python: string | null): Promise<Modules>;

  /**
   * Probe a partition the site description leaves out again (a short Slurm job on one of its
   * nodes); the site is updated ("probing…") and its catalog asked again afterwards.
   *
   * @param partition - The partition.
   */
  probePartition(partition: string): Promise<void>;

  /**
   * Create an environment and start its first build.
   *
   * @param request - The environment.
   * @returns The followed build task.
   */
  createEnvironment(request: ICreateRequest): Promise<ITaskLog>;

  /**
   * Build an environment for a partition.
   *
   * @param name - The environment.
   * @param partition - The partition.
   * @param force - Build again even when a build of the partition's arch is ready.
   * @returns The followed task, or the server's message when only the kernel was registered.
   */
  rebuild(name: string, partition: string, force: boolean): Promise<ITaskLog | string>;

  /**
   * Register an environment's kernels again.
   *
   * @param name - The environment.
   * @param partition - One partition, or `null` for every ready build.
   * @returns The kernels written.
   */
  registerKernels(name: string, partition: string | null): Promise<string[]>;

  /**
   * What a migration to another toolchain generation would build.
   *
   * @param name - The environment.
   * @param request - The partition, the generation (`null`: the newest) and the new name.
   * @returns The plan.
   */
  migrationPlan(name: string, request: IMigrationRequest): Promise<MigrationPlan>;

  /**
   * Build a migration as a new environment, leaving the old one as it is.
   *
   * @param name - The environment.
   * @param request - The partition, the generation and the new name.
   * @returns The followed build task of the new environment.
   */
  migrate(name: string, request: IMigrationRequest): Promise<ITaskLog>;

  /**
   * What a removal would delete.
   *
   * @param name - The environment.
   * @param partition - One partition, or `null` for the whole environment.
   * @returns What it deletes, and its kernels that run now.
   */
  removalPlan(name: string, partition: string | null): Promise<RemovalPlan>;

  /**
   * Remove an environment, or its kernel and build of one partition.
   *
   * @param name - The environment.
   * @param partition - One partition, or `null` for the whole environment.
   * @param stop - Whether its running kernels (local, Slurm jobs) are stopped first.
   * @returns What was deleted.
   */
  remove(name: string, partition: string | null, stop?: boolean): Promise<string[]>;

  /**
   * Shell code that activates an environment's build of a partition.
   *
   * @param name - The environment.
   * @param partition - The partition.
   */
  activation(name: string, partition: string): Promise<string>;

  /**
   * How a terminal activates an environment's build of a partition.
   *
   * @param name - The environment.
   * @param partition - The partition.
   * @param remote - Whether a shell on the partition's node is needed first (its `srun` line,
   *   with the kernel's resources, is then in `srun`).
   */
  terminalActivation(name: string, partition: string, remote: boolean): Promise<Activation>;

  /**
   * The packages of an environment's build of a partition.
   *
   * @param name - The environment.
   * @param partition - The partition.
   */
  packages(name: string, partition: string): Promise<Packages>;

  /**
   * Install (or upgrade) packages.
   *
   * @param name - The environment.
   * @param partition - The partition.
   * @param specs - Requirement specifiers.
   * @param upgrade - Upgrade what is installed already.
   * @returns The followed task.
   */
  install(name: string, partition: string, specs: string[], upgrade: boolean): Promise<ITaskLog>;

  /**
   * Uninstall packages of the venv.
   *
   * @param name - The environment.
   * @param partition - The partition.
   * @param packages - Distribution names.
   * @returns The followed task.
   */
  uninstall(name: string, partition: string, packages: string[]): Promise<ITaskLog>;

  /**
   * The venv's own packages as a requirements file.
   *
   * @param name - The environment.
   * @param partition - The partition.
   */
  requirements(name: string, partition: string): Promise<string>;

  /**
   * Update every package of a conda environment (`conda update --all`).
   *
   * @param name - The environment.
   * @param partition - The partition.
   * @returns The followed task.
   */
  updateAll(name: string, partition: string): Promise<ITaskLog>;

  /**
   * Whether conda environments can be made here (policy, engine, channels), cached; a rescan
   * (`refresh(true)`) or `refresh` here asks again.
   *
   * @param refresh - Make the server look for the engines again.
   */
  conda(refresh?: boolean): Promise<CondaInfo>;

  /**
   * The conda environments made by hand on the server's node.
   */
  condaEnvironments(): Promise<CondaEnvironment[]>;

  /**
   * Register an environment made by hand (a venv or a conda prefix) with a kernel.
   *
   * @param path - Its folder.
   * @param name - Its name; the folder's when omitted.
   * @returns The environment and its kernel.
   */
  adopt(path: string, name?: string | null): Promise<Adopted>;

  /**
   * Cancel a running task.
   *
   * @param id - The task's id.
   */
  cancelTask(id: string): Promise<void>;

  /**
   * Ask the server for the kernel jobs again now (calls made while one is under way are answered
   * by one more request).
   *
   * @returns A promise that resolves when `kernelJobs` is up to date; it never rejects (a failure
   *   is logged, and the jobs stay as they were).
   */
  refreshKernelJobs(): Promise<void>;

  /**
   * A kernel is starting (somewhere in the application): follow the kernel jobs every few seconds
   * for a while, and for as long as one waits in the queue.
   */
  watchKernelJobs(): void;

  /**
   * Cancel the Slurm job of a kernel (a start waiting in the queue then fails).
   *
   * @param kernelId - The kernel's id.
   */
  cancelKernelJob(kernelId: string): Promise<void>;

  /**
   * A kernel's resource choice, its partition's defaults and limits.
   *
   * @param kernel - The kernel's name.
   */
  kernelResources(kernel: string): Promise<KernelResources>;

  /**
   * Choose a kernel's resources (checked against the limits by the server, kept in the
   * kernelspec); the kernel specs are refreshed afterwards.
   *
   * @param kernel - The kernel's name.
   * @param request - The values; `null` goes back to the site's default.
   * @returns The kernel's resources as stored.
   */
  setKernelResources(kernel: string, request: IKernelResourcesRequest): Promise<KernelResources>;
}

/**
 * The model of jupyterlab-hpc-envs, provided by the `jupyterlab-hpc-envs:plugin` plugin.
 */
export const IHpcEnvsModel = new Token<IHpcEnvsModel>(
  'jupyterlab-hpc-envs:IHpcEnvsModel',
  'The state of HPC environments as seen by the frontend.'
);

/**
 * The id of the side panel (its commands activate it by id).
 */
export const PANEL_ID = 'jp-HpcEnvs-panel';

/**
 * The ids of the extension's commands, `hpc-envs:verb-noun`.
 */
export namespace CommandIDs {
  /**
   * Open (activate) the side panel.
   */
  export const openPanel = 'hpc-envs:open-panel';

  /**
   * Ask the server again now; `{rescan: true}` also makes it ask Slurm and the modules again.
   */
  export const refresh = 'hpc-envs:refresh';

  /**
   * Open the creation form (the launcher item "New HPC environment").
   */
  export const createEnvironment = 'hpc-envs:create-environment';

  /**
   * Open the creation form filled with the spec of an environment whose build failed, the
   * entries at fault marked; creating it replaces the failed environment: `{name, partition}`.
   */
  export const editEnvironment = 'hpc-envs:edit-environment';

  /**
   * Build an environment for a partition: `{name, partition, force?}`.
   */
  export const rebuildEnvironment = 'hpc-envs:rebuild-environment';

  /**
   * Register an environment's kernels again: `{name, partition?}`.
   */
  export const registerKernel = 'hpc-envs:register-kernel';

  /**
   * Open a terminal with an environment activated: `{name, partition}`.
   */
  export const openTerminal = 'hpc-envs:open-terminal';

  /**
   * Open a notebook on an environment's kernel: `{name, partition}`.
   */
  export const openNotebook = 'hpc-envs:open-notebook';

  /**
   * Open the packages view: `{name, partition}`.
   */
  export const showPackages = 'hpc-envs:show-packages';

  /**
   * Remove an environment (or its kernel and build of one partition), after confirmation:
   * `{name, partition?}`.
   */
  export const removeEnvironment = 'hpc-envs:remove-environment';
  /**
   * Rebuild a venv's modules in another toolchain generation as a new environment, after a
   * dialog showing the plan: `{name, partition}`.
   */
  export const migrateEnvironment = 'hpc-envs:migrate-environment';

  /**
   * Open the live log of a task: `{task}`.
   */
  export const showLog = 'hpc-envs:show-log';

  /**
   * Cancel a running task: `{task}`.
   */
  export const cancelTask = 'hpc-envs:cancel-task';

  /**
   * Install packages: `{name, partition, packages, upgrade?}`; returns whether a task started.
   */
  export const installPackages = 'hpc-envs:install-packages';

  /**
   * Uninstall a package, after confirmation: `{name, partition, package}`.
   */
  export const uninstallPackage = 'hpc-envs:uninstall-package';

  /**
   * Update every package of a conda environment, after confirmation: `{name, partition}`;
   * returns whether a task started.
   */
  export const updateAllPackages = 'hpc-envs:update-all-packages';

  /**
   * Show the requirements file of a build, to copy or download: `{name, partition}`.
   */
  export const exportRequirements = 'hpc-envs:export-requirements';

  /**
   * Choose what a kernel's Slurm job asks for, in a dialog: `{kernel}` or `{name, partition}`;
   * without arguments, the kernel is asked for first. Returns the stored resources, or `null`.
   */
  export const kernelResources = 'hpc-envs:kernel-resources';

  /**
   * Cancel the Slurm job of a kernel waiting in the queue, after confirmation: `{kernel_id}`.
   */
  export const cancelKernelJob = 'hpc-envs:cancel-kernel-job';
}

/**
 * The ids of the commands on runs (notebooks run as Slurm batch jobs).
 */
export namespace RunCommandIDs {
  /**
   * Run a notebook as a Slurm job, in a dialog: `{path}` (relative to the server's folder);
   * without it, the current notebook or the file browser's selected one.
   */
  export const submit = 'hpc-envs:submit-run';

  /**
   * Open a run's output notebook: `{id, task?}`.
   */
  export const openOutput = 'hpc-envs:open-run-output';

  /**
   * Show a run's job log: `{id, task?}`.
   */
  export const showLog = 'hpc-envs:show-run-log';

  /**
   * Show a run's generated sbatch script, with a button that saves it: `{id}`.
   */
  export const showScript = 'hpc-envs:show-run-script';

  /**
   * Cancel a run's job, after confirmation: `{id}`.
   */
  export const cancel = 'hpc-envs:cancel-run';

  /**
   * Submit a run again as it was asked: `{id}`.
   */
  export const again = 'hpc-envs:run-again';
}
