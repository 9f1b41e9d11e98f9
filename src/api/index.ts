/**
 * Typed calls of the REST API: each one is `requestAPI` with the schema of its reply.
 *
 * Every call takes the server settings of the service manager last, and throws what `requestAPI`
 * throws: `ServerConnection.NetworkError` when the server cannot be reached, `ApiError` (a
 * `ServerConnection.ResponseError` with the server's message, `field` and `suggestions`) for an
 * error reply, `ServerConnection.ResponseError` for a reply that does not match its schema.
 */
import { ServerConnection } from '@jupyterlab/services';

import { requestAPI } from './request';
import {
  Activation,
  ActivationSchema,
  Adopted,
  AdoptedSchema,
  CondaEnvironment,
  CondaEnvironmentsSchema,
  CondaInfo,
  CondaInfoSchema,
  Environment,
  EnvironmentsSchema,
  Info,
  InfoSchema,
  KernelJob,
  KernelJobCancelled,
  KernelJobCancelledSchema,
  KernelJobsSchema,
  KernelMode,
  KernelResources,
  KernelResourcesSchema,
  KernelsReplySchema,
  MigrationPlan,
  MigrationPlanSchema,
  MigrationReplySchema,
  Modules,
  ModulesSchema,
  Packages,
  PackagesSchema,
  RebuildReply,
  RebuildReplySchema,
  RemovalPlan,
  RemovalPlanSchema,
  RemovedSchema,
  RequirementsSchema,
  Site,
  SiteSchema,
  Task,
  TaskLogChunk,
  TaskLogSchema,
  TaskReplySchema,
  TaskSchema,
  TasksSchema
} from './schemas';

export { API_NAMESPACE, ApiError, errorMessage, requestAPI } from './request';
export * from './schemas';
export * from './recreations';
export * from './runs';

type Settings = ServerConnection.ISettings | undefined;

/**
 * A path segment, escaped.
 *
 * @param value - A name (environment, task).
 * @returns The value, percent-encoded.
 */
function seg(value: string): string {
  return encodeURIComponent(value);
}

/**
 * A query string from the values that are set.
 *
 * @param params - Names and values; `undefined`, `null` and `''` are left out, arrays repeat.
 * @returns `''`, or `?a=1&b=2`.
 */
export function query(
  params: Record<string, string | number | boolean | string[] | null | undefined>
): string {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value === undefined || value === null || value === '') {
      continue;
    }
    for (const item of Array.isArray(value) ? value : [value]) {
      search.append(key, String(item));
    }
  }
  const text = search.toString();
  return text ? `?${text}` : '';
}

/**
 * A JSON request.
 *
 * @param method - The HTTP method.
 * @param body - The value to send as JSON.
 * @returns The fetch options.
 */
function json(method: string, body: unknown): RequestInit {
  return { method, body: JSON.stringify(body), headers: { 'Content-Type': 'application/json' } };
}

/**
 * Ask the server extension who it is.
 *
 * @param settings - The server settings of the service manager.
 * @returns The name and version of the server extension.
 */
export function getInfo(settings?: Settings): Promise<Info> {
  return requestAPI('info', InfoSchema, {}, settings);
}

/**
 * What the cluster offers and where this server runs.
 *
 * @param settings - The server settings.
 * @param refresh - Ask Slurm and the module system again instead of the server's caches.
 * @returns The site.
 */
export function getSite(settings?: Settings, refresh = false): Promise<Site> {
  return requestAPI(`site${query({ refresh: refresh ? '1' : '' })}`, SiteSchema, {}, settings);
}

/**
 * A partition's module catalog, with each module's compatibility with a Python module.
 *
 * @param partition - The partition.
 * @param python - A Python module: adds `compatible` and `reason` to every module.
 * @param settings - The server settings.
 * @returns The catalog.
 */
export function getModules(
  partition: string,
  python?: string | null,
  settings?: Settings
): Promise<Modules> {
  return requestAPI(`modules${query({ partition, python })}`, ModulesSchema, {}, settings);
}

/**
 * Probe again (a short Slurm job, in the background) a partition the site description leaves out,
 * or all of them.
 *
 * @param partition - The partition; all of them when `null`.
 * @param settings - The server settings.
 * @returns The site, the partitions probed "probing…".
 */
export function probePartitions(partition: string | null, settings?: Settings): Promise<Site> {
  return requestAPI(
    'site/probes',
    SiteSchema,
    json('POST', partition ? { partition } : {}),
    settings
  );
}

/**
 * The environments.
 *
 * @param settings - The server settings.
 * @returns Every environment in the storage roots.
 */
export async function listEnvironments(settings?: Settings): Promise<Environment[]> {
  return (await requestAPI('envs', EnvironmentsSchema, {}, settings)).environments;
}

/**
 * What `POST envs` takes.
 */
export interface ICreateRequest {
  name: string;
  kind: 'venv' | 'conda';
  /**
   * The Python module first, then the other modules, in load order (always empty for conda:
   * conda is not mixed with modules).
   */
  modules: string[];
  /**
   * The partition to build on, or several: one build each, all at once.
   */
  partition: string | string[];
  /**
   * A storage root, by label (`$VSC_DATA`) or path; the server's first usable one when omitted.
   */
  root?: string;
  /**
   * In the VO's shared folder (then no `root`): the VO's members may use it, only its creator
   * may change it.
   */
  shared?: boolean;
  /**
   * Requirement specifiers (venv: pip's; conda: conda match specs such as `numpy>=1.26`).
   */
  packages: string[];
  /**
   * The text of a requirements file.
   */
  requirements?: string;
  /**
   * The options of a venv.
   */
  options?: {
    system_site_packages: boolean;
    pip_options: string[];
  };
  /**
   * conda only: the Python version (`3.11`); the channels' newest when omitted.
   */
  python?: string;
  /**
   * conda only: the channels, highest priority first; the site's defaults when omitted.
   */
  channels?: string[];
}

/**
 * Create an environment and start its first build.
 *
 * @param request - The environment.
 * @param settings - The server settings.
 * @returns The build's task.
 */
export async function createEnvironment(
  request: ICreateRequest,
  settings?: Settings
): Promise<Task> {
  return (await requestAPI('envs', TaskReplySchema, json('POST', request), settings)).task;
}

/**
 * Build an environment for a partition (again, with `force`).
 *
 * @param name - The environment.
 * @param partition - The partition.
 * @param force - Build again even when a build of the partition's arch is ready.
 * @param settings - The server settings.
 * @returns The task, or a message when only the kernel had to be registered.
 */
export function rebuildEnvironment(
  name: string,
  partition: string,
  force: boolean,
  settings?: Settings
): Promise<RebuildReply> {
  return requestAPI(
    `envs/${seg(name)}/builds`,
    RebuildReplySchema,
    json('POST', { partition, force }),
    settings
  );
}

/**
 * Register the kernels of an environment again (of one partition, or of every ready build).
 *
 * @param name - The environment.
 * @param partition - The partition, or `null` for all.
 * @param settings - The server settings.
 * @returns The names of the kernels written.
 */
export async function registerKernels(
  name: string,
  partition: string | null,
  settings?: Settings
): Promise<string[]> {
  const body = partition ? { partition } : {};
  return (
    await requestAPI(`envs/${seg(name)}/kernels`, KernelsReplySchema, json('POST', body), settings)
  ).kernels;
}

/**
 * What a migration to another toolchain generation would build.
 *
 * @param name - The environment.
 * @param request - The partition, the generation (`null`: the newest) and the new name (`null`:
 *   NAME-GENERATION).
 * @param settings - The server settings.
 * @returns The plan.
 */
export function getMigrationPlan(
  name: string,
  request: IMigrationRequest,
  settings?: Settings
): Promise<MigrationPlan> {
  const { partition, to } = request;
  return requestAPI(
    `envs/${seg(name)}/migration${query({ partition, to, as: request.as })}`,
    MigrationPlanSchema,
    {},
    settings
  );
}

/**
 * Build a migration as a new environment (the old one is left as it is).
 *
 * @param name - The environment.
 * @param request - The partition, the generation and the new name.
 * @param settings - The server settings.
 * @returns The new environment's build task.
 */
export async function startMigration(
  name: string,
  request: IMigrationRequest,
  settings?: Settings
): Promise<Task> {
  const body = { partition: request.partition, to: request.to, as: request.as || undefined };
  return (
    await requestAPI(
      `envs/${seg(name)}/migration`,
      MigrationReplySchema,
      json('POST', body),
      settings
    )
  ).task;
}

/**
 * A migration asked for: where, to which generation, under which name.
 */
export interface IMigrationRequest {
  partition: string;
  to: string | null;
  as: string | null;
}

/**
 * What removing an environment (or its kernel and build of one partition) would delete.
 *
 * @param name - The environment.
 * @param partition - The partition, or `null` for the whole environment.
 * @param settings - The server settings.
 * @returns One line per kernel, build and folder, and the kernels of them that run.
 */
export function getRemovalPlan(
  name: string,
  partition: string | null,
  settings?: Settings
): Promise<RemovalPlan> {
  return requestAPI(
    `envs/${seg(name)}/removal${query({ partition })}`,
    RemovalPlanSchema,
    {},
    settings
  );
}

/**
 * Remove an environment (or its kernel and build of one partition).
 *
 * @param name - The environment.
 * @param partition - The partition, or `null` for the whole environment.
 * @param settings - The server settings.
 * @param stop - Whether its running kernels (and their Slurm jobs) are stopped first.
 * @returns What was deleted.
 */
export async function removeEnvironment(
  name: string,
  partition: string | null,
  settings?: Settings,
  stop = false
): Promise<string[]> {
  return (
    await requestAPI(
      `envs/${seg(name)}${query({ partition, stop: stop ? '1' : null })}`,
      RemovedSchema,
      { method: 'DELETE' },
      settings
    )
  ).removed;
}

/**
 * Shell code that activates an environment's build of a partition (`source '<launch script>'`).
 *
 * @param name - The environment.
 * @param partition - The partition.
 * @param settings - The server settings.
 * @returns The code, ending with a line break.
 */
export async function getActivation(
  name: string,
  partition: string | null,
  settings?: Settings
): Promise<string> {
  return (await getTerminalActivation(name, partition, false, settings)).script;
}

/**
 * How a terminal activates an environment's build of a partition: the code, and with `remote`
 * the `srun` line of a shell on the partition's node with the resources of its kernel.
 *
 * @param name - The environment.
 * @param partition - The partition.
 * @param remote - Whether the terminal needs a shell on the partition's node first.
 * @param settings - The server settings.
 * @returns The code and the srun line.
 */
export function getTerminalActivation(
  name: string,
  partition: string | null,
  remote: boolean,
  settings?: Settings
): Promise<Activation> {
  return requestAPI(
    `envs/${seg(name)}/activation${query({ partition, terminal: remote ? '1' : null })}`,
    ActivationSchema,
    {},
    settings
  );
}

/**
 * The packages of an environment's build of a partition, with where each comes from.
 *
 * A POST: the listing runs the environment's Python (a Slurm job for another partition), which
 * the server authorizes as "execute" and protects against cross-site requests.
 *
 * @param name - The environment.
 * @param partition - The partition.
 * @param settings - The server settings.
 * @returns The packages and the shadowing warnings.
 */
export function getPackages(
  name: string,
  partition: string,
  settings?: Settings
): Promise<Packages> {
  return requestAPI(
    `envs/${seg(name)}/packages/listing`,
    PackagesSchema,
    json('POST', { partition }),
    settings
  );
}

/**
 * Install (or upgrade) packages into an environment's build of a partition.
 *
 * @param name - The environment.
 * @param partition - The partition.
 * @param packages - Requirement specifiers.
 * @param upgrade - Upgrade what is installed already.
 * @param settings - The server settings.
 * @returns The task.
 */
export async function installPackages(
  name: string,
  partition: string,
  packages: string[],
  upgrade: boolean,
  settings?: Settings
): Promise<Task> {
  return (
    await requestAPI(
      `envs/${seg(name)}/packages`,
      TaskReplySchema,
      json('POST', { partition, packages, upgrade }),
      settings
    )
  ).task;
}

/**
 * Uninstall packages from an environment's build of a partition.
 *
 * @param name - The environment.
 * @param partition - The partition.
 * @param packages - Names of distributions installed in the venv.
 * @param settings - The server settings.
 * @returns The task.
 */
export async function uninstallPackages(
  name: string,
  partition: string,
  packages: string[],
  settings?: Settings
): Promise<Task> {
  return (
    await requestAPI(
      `envs/${seg(name)}/packages${query({ partition, package: packages })}`,
      TaskReplySchema,
      { method: 'DELETE' },
      settings
    )
  ).task;
}

/**
 * The venv's own packages of a build as a requirements file (a POST: it runs the listing).
 *
 * @param name - The environment.
 * @param partition - The partition.
 * @param settings - The server settings.
 * @returns The text of the file.
 */
export async function getRequirements(
  name: string,
  partition: string,
  settings?: Settings
): Promise<string> {
  return (
    await requestAPI(
      `envs/${seg(name)}/requirements`,
      RequirementsSchema,
      json('POST', { partition }),
      settings
    )
  ).text;
}

/**
 * Update every package of a conda environment's build of a partition (`conda update --all`).
 *
 * @param name - The environment.
 * @param partition - The partition.
 * @param settings - The server settings.
 * @returns The task.
 */
export async function updateAllPackages(
  name: string,
  partition: string,
  settings?: Settings
): Promise<Task> {
  return (
    await requestAPI(
      `envs/${seg(name)}/packages/update-all`,
      TaskReplySchema,
      json('POST', { partition }),
      settings
    )
  ).task;
}

/**
 * Whether conda environments can be made here: the site's policy and message, the engine (or how
 * to get one), the default and known channels, the warnings shown before creating one.
 *
 * @param settings - The server settings.
 * @param refresh - Look for the engines again instead of the server's cache.
 * @returns The conda facts of the site.
 */
export function getCondaInfo(settings?: Settings, refresh = false): Promise<CondaInfo> {
  return requestAPI(
    `conda${query({ refresh: refresh ? '1' : '' })}`,
    CondaInfoSchema,
    {},
    settings
  );
}

/**
 * The conda environments made by hand on the server's node (for adoption).
 *
 * @param settings - The server settings.
 * @returns The environments, with whether each can be adopted.
 */
export async function listCondaEnvironments(settings?: Settings): Promise<CondaEnvironment[]> {
  return (await requestAPI('conda/environments', CondaEnvironmentsSchema, {}, settings))
    .environments;
}

/**
 * Register an environment made by hand (a venv or a conda environment) as an environment with a
 * kernel.
 *
 * @param path - Its folder (a conda prefix, or a venv).
 * @param name - The name to give it; the folder's when omitted.
 * @param settings - The server settings.
 * @returns The environment's name and its kernel.
 */
export function adoptEnvironment(
  path: string,
  name?: string | null,
  settings?: Settings
): Promise<Adopted> {
  const body: { path: string; name?: string } = { path };
  if (name) {
    body.name = name;
  }
  return requestAPI('envs/adopt', AdoptedSchema, json('POST', body), settings);
}

/**
 * The tasks the server knows, newest first (running ones and the latest finished ones).
 *
 * @param settings - The server settings.
 * @returns The tasks.
 */
export async function listTasks(settings?: Settings): Promise<Task[]> {
  return (await requestAPI('tasks', TasksSchema, {}, settings)).tasks;
}

/**
 * One task.
 *
 * @param id - The task's id.
 * @param settings - The server settings.
 * @returns The task.
 */
export function getTask(id: string, settings?: Settings): Promise<Task> {
  return requestAPI(`tasks/${seg(id)}`, TaskSchema, {}, settings);
}

/**
 * Cancel a running task.
 *
 * @param id - The task's id.
 * @param settings - The server settings.
 * @returns The task.
 */
export function cancelTask(id: string, settings?: Settings): Promise<Task> {
  return requestAPI(`tasks/${seg(id)}`, TaskSchema, { method: 'DELETE' }, settings);
}

/**
 * A task's log from a byte offset. While the task runs and nothing new was written, the server
 * holds the request for a while (a long poll), so that one request at a time streams the log.
 *
 * @param id - The task's id.
 * @param offset - The byte offset to read from (the `offset` of the previous chunk).
 * @param settings - The server settings.
 * @param wait - Whether the server may wait for new output.
 * @returns The new text, the next offset, the task's state and step.
 */
export function readTaskLog(
  id: string,
  offset: number,
  settings?: Settings,
  wait = true
): Promise<TaskLogChunk> {
  return requestAPI(
    `tasks/${seg(id)}/log${query({ offset, wait: wait ? '' : '0' })}`,
    TaskLogSchema,
    {},
    settings
  );
}

/**
 * What `PUT kernels/<kernel>/resources` takes: the values to choose; `null` or `''` goes back to
 * the site's default, a value left out stays as it was.
 */
export interface IKernelResourcesRequest {
  /**
   * A Slurm time limit: minutes (`90`), `H:MM:SS` or `D-HH:MM:SS`.
   */
  time?: string | null;
  cpus?: number | string | null;
  /**
   * An amount of memory: `4G`, `500M`, or MiB without a unit.
   */
  memory?: string | null;
  gpus?: number | string | null;
  account?: string | null;
  mode?: KernelMode | null;
}

/**
 * A kernel's resource choice, its partition's defaults and limits, and what its next start asks
 * Slurm for.
 *
 * @param kernel - The kernel's name (`hpcenv-<env>-<partition>`).
 * @param settings - The server settings.
 * @returns The kernel's resources.
 * @throws {ApiError} 404 when it is not a kernel of an HPC environment.
 */
export function getKernelResources(kernel: string, settings?: Settings): Promise<KernelResources> {
  return requestAPI(`kernels/${seg(kernel)}/resources`, KernelResourcesSchema, {}, settings);
}

/**
 * Choose a kernel's resources: the server checks them against the partition's limits and keeps
 * them in the kernelspec, so that every later start (from any front end) asks for them.
 *
 * @param kernel - The kernel's name.
 * @param request - The values to choose.
 * @param settings - The server settings.
 * @returns The kernel's resources, as stored (normalised: `90` becomes `1:30:00`).
 * @throws {ApiError} 400 with the `field` a value breaks a limit of, or is not valid for.
 */
export function setKernelResources(
  kernel: string,
  request: IKernelResourcesRequest,
  settings?: Settings
): Promise<KernelResources> {
  return requestAPI(
    `kernels/${seg(kernel)}/resources`,
    KernelResourcesSchema,
    json('PUT', request),
    settings
  );
}

/**
 * The user's kernel jobs: their state in the queue (with the reason and the estimated start),
 * where they run, why they ended.
 *
 * @param settings - The server settings.
 * @returns The jobs, newest first.
 */
export async function listKernelJobs(settings?: Settings): Promise<KernelJob[]> {
  return (await requestAPI('kernel-jobs', KernelJobsSchema, {}, settings)).jobs;
}

/**
 * Cancel the job of a kernel (scancel); a start waiting in the queue then fails, saying so.
 *
 * @param kernelId - The kernel's id.
 * @param settings - The server settings.
 * @returns The job that was cancelled.
 * @throws {ApiError} 404 when no job is recorded for the kernel.
 */
export function cancelKernelJob(
  kernelId: string,
  settings?: Settings
): Promise<KernelJobCancelled> {
  return requestAPI(
    `kernel-jobs/${seg(kernelId)}`,
    KernelJobCancelledSchema,
    { method: 'DELETE' },
    settings
  );
}
