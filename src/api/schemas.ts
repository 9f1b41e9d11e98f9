/**
 * Zod schemas of every reply of the REST API under `/hpc-envs/api/`.
 *
 * The server is another program, possibly of another version: every reply is validated here before
 * the rest of the frontend sees it, and the TypeScript types are inferred from the schemas. Keys the
 * frontend does not use are dropped by the schemas (zod's default), and fields a newer server may
 * leave out have defaults, so that a small change on the server does not blank the panel.
 */
import { z } from 'zod';

/**
 * `GET /hpc-envs/api/info`: who answers, and in which version.
 */
export const InfoSchema = z.object({
  name: z.string(),
  version: z.string()
});

/**
 * The reply of `GET /hpc-envs/api/info`.
 */
export type Info = z.infer<typeof InfoSchema>;

/**
 * The body of an error reply (400, 404, 409, 503): the server's message, and for bad input the
 * field it is about and, for an unknown name, close matches.
 */
export const ErrorBodySchema = z.object({
  message: z.string(),
  field: z.string().optional(),
  /**
   * Every refused field's message, when several values of one request were refused at once.
   */
  fields: z.record(z.string(), z.string()).optional(),
  suggestions: z.array(z.string()).optional()
});

/**
 * The body of an error reply.
 */
export type ErrorBody = z.infer<typeof ErrorBodySchema>;

// --- site -------------------------------------------------------------------------------------

/**
 * Where a partition's arch and module tree come from: the site description (`site`), this node
 * (`node`), a probe (a short Slurm job on one of its nodes: `probe`, with its `state`), or nowhere
 * yet (`none`). `text` says it in words ("learned from node X at T", "probing…", "probe failed:
 * …"); `message` is what the form shows while the probe runs, or why it failed.
 */
export const OriginSchema = z.object({
  kind: z.enum(['site', 'node', 'probe', 'none']),
  text: z.string(),
  state: z.enum(['', 'ok', 'running', 'failed']).default(''),
  node: z.string().default(''),
  at: z.string().default(''),
  error: z.string().default(''),
  message: z.string().default('')
});

/**
 * Where a partition's arch and modules come from.
 */
export type Origin = z.infer<typeof OriginSchema>;

/**
 * A partition of the cluster (from Slurm, enriched by the site description), or `local`.
 */
export const PartitionSchema = z.object({
  name: z.string(),
  arch: z.string().nullable(),
  /**
   * The folders of its module tree.
   */
  modulepath: z.array(z.string()).default([]),
  available: z.boolean().default(true),
  default: z.boolean().default(false),
  /**
   * This server's node has the partition's arch: builds and kernels run here.
   */
  local: z.boolean().default(false),
  gpu: z.string().default(''),
  description: z.string().default(''),
  slurm: z.boolean().default(false),
  origin: OriginSchema.optional()
});

/**
 * A partition of the cluster.
 */
export type Partition = z.infer<typeof PartitionSchema>;

/**
 * A storage root environments can be created in (`$VSC_DATA`, `$VSC_SCRATCH`, …, `$HOME` last).
 */
export const StorageRootSchema = z.object({
  path: z.string(),
  label: z.string(),
  exists: z.boolean(),
  writable: z.boolean(),
  home: z.boolean().default(false),
  /**
   * Why this root is a poor choice (the home folder's small quota), or `''`.
   */
  warning: z.string().default(''),
  /**
   * A VO's folder: only for environments shared with the VO (`shared` in the create request).
   */
  shared: z.boolean().default(false)
});

/**
 * A storage root.
 */
export type StorageRoot = z.infer<typeof StorageRootSchema>;

/**
 * A problem of the site the user should know about (a stray user site, Slurm not answering, …).
 */
export const SiteWarningSchema = z.object({
  code: z.string(),
  message: z.string(),
  path: z.string().default('')
});

/**
 * A warning about the site.
 */
export type SiteWarning = z.infer<typeof SiteWarningSchema>;

/**
 * What the frontend checks as the user types, as the server checks it: an environment name's
 * pattern, length and reserved names, and the packages the kernel needs (never removed), by kind.
 */
export const SiteRulesSchema = z.object({
  name_pattern: z.string(),
  name_max: z.number(),
  reserved_names: z.array(z.string()),
  kept_packages: z.object({ venv: z.array(z.string()), conda: z.array(z.string()) })
});

/**
 * The rules of the site's reply.
 */
export type SiteRules = z.infer<typeof SiteRulesSchema>;

/**
 * `GET /hpc-envs/api/site`: what the cluster offers and where this server runs.
 */
export const SiteSchema = z.object({
  host: z.string(),
  arch: z.string(),
  arch_source: z.string().default(''),
  /**
   * The partition this server runs on (or the one it stands for).
   */
  partition: z.string(),
  in_job: z.boolean().default(false),
  module_system: z.object({
    kind: z.string(),
    version: z.string().nullable().default(null)
  }),
  slurm: z.boolean(),
  partitions: z.array(PartitionSchema),
  storage_roots: z.array(StorageRootSchema),
  /**
   * The VO folders where a shared environment can be created.
   */
  shared_roots: z.array(StorageRootSchema).default([]),
  conda: z.object({
    policy: z.string(),
    message: z.string().default('')
  }),
  warnings: z.array(SiteWarningSchema).default([]),
  /**
   * The pip options a user may add (ones that change how pip resolves, not where code comes from).
   */
  pip_options: z.array(z.string()),
  rules: SiteRulesSchema
});

/**
 * The reply of `GET /hpc-envs/api/site`.
 */
export type Site = z.infer<typeof SiteSchema>;

/**
 * A module of a partition's catalog. `python` is the Python version of a Python module (`null`
 * for every other module); `compatible` and `reason` are there when the catalog was asked for
 * with a Python module (`?python=`).
 */
export const ModuleSchema = z.object({
  full: z.string(),
  name: z.string(),
  version: z.string().default(''),
  /**
   * Its modulefile.
   */
  path: z.string().default(''),
  description: z.string().default(''),
  toolchain: z.string().nullable().default(null),
  generation: z.string().nullable().default(null),
  python: z.string().nullable().default(null),
  /**
   * In a module hierarchy: the lists of modules (each in load order) that make this one visible,
   * e.g. `[["GCCcore/12.3.0"]]`; empty at the top of a tree.
   */
  parents: z.array(z.array(z.string())).default([]),
  compatible: z.boolean().optional(),
  reason: z.string().optional()
});

/**
 * A module of the catalog.
 */
export type Module = z.infer<typeof ModuleSchema>;

/**
 * `GET /hpc-envs/api/modules?partition=P[&python=M]`: a partition's module catalog.
 */
export const ModulesSchema = z.object({
  partition: z.string(),
  module_system: z.string(),
  modules: z.array(ModuleSchema),
  /**
   * A partition the site description leaves out: its probe's state (`running`: no catalog yet).
   */
  origin: OriginSchema.optional()
});

/**
 * The reply of `GET /hpc-envs/api/modules`.
 */
export type Modules = z.infer<typeof ModulesSchema>;

// --- tasks ------------------------------------------------------------------------------------

/**
 * The states of a task; the last four are final.
 */
export const TaskStateSchema = z.enum([
  'pending',
  'running',
  'succeeded',
  'failed',
  'cancelled',
  'interrupted'
]);

/**
 * The state of a task.
 */
export type TaskState = z.infer<typeof TaskStateSchema>;

/**
 * Whether a task in this state has ended.
 *
 * @param state - The state of a task.
 * @returns `true` for succeeded, failed, cancelled and interrupted.
 */
export function isFinal(state: TaskState): boolean {
  return state !== 'pending' && state !== 'running';
}

/**
 * A long operation (a build, an install, …) run by the server; it outlives a page reload.
 */
export const TaskSchema = z.object({
  id: z.string(),
  kind: z.string(),
  title: z.string(),
  env: z.string().default(''),
  partition: z.string().default(''),
  state: TaskStateSchema,
  step: z.string().default(''),
  message: z.string().default(''),
  created: z.number(),
  started: z.number().nullable().default(null),
  finished: z.number().nullable().default(null),
  params: z.record(z.string(), z.unknown()).default({}),
  result: z.record(z.string(), z.unknown()).default({})
});

/**
 * A task record.
 */
export type Task = z.infer<typeof TaskSchema>;

/**
 * `GET /hpc-envs/api/tasks`: the tasks, newest first.
 */
export const TasksSchema = z.object({ tasks: z.array(TaskSchema) });

/**
 * The reply of the calls that start a task (202): create, rebuild, install, uninstall.
 */
export const TaskReplySchema = z.object({ task: TaskSchema });

/**
 * `GET /hpc-envs/api/tasks/<id>/log?offset=N`: the log from byte N (a long poll).
 */
export const TaskLogSchema = z.object({
  text: z.string(),
  offset: z.number(),
  state: TaskStateSchema,
  step: z.string().default('')
});

/**
 * A chunk of a task's log.
 */
export type TaskLogChunk = z.infer<typeof TaskLogSchema>;

// --- environments -----------------------------------------------------------------------------

/**
 * The states of a build (a state this version does not know is shown as `stale`: the build is
 * not usable as far as this frontend can tell, and the rest of the panel still works).
 */
export const BuildStateSchema = z.enum(['building', 'ready', 'failed', 'stale']).catch('stale');

/**
 * Why a build failed, as the server read it from the build's log.
 */
export const BuildFailureSchema = z.object({
  summary: z.string().default(''),
  /**
   * The entries of the spec (packages, modules) the failure names: the ones to correct.
   */
  entries: z.array(z.string()).default([]),
  /**
   * The build log's path.
   */
  log: z.string().default('')
});

/**
 * Why a build failed.
 */
export type BuildFailure = z.infer<typeof BuildFailureSchema>;

/**
 * What makes a build out of date (`out-of-date`: a change of the environment it has not had yet)
 * or drifted from its spec.
 */
export const BuildProblemSchema = z.object({
  kind: z.string(),
  subject: z.string().default(''),
  message: z.string().default('')
});

/**
 * A problem of a build.
 */
export type BuildProblem = z.infer<typeof BuildProblemSchema>;

/**
 * One realisation of an environment for one CPU microarchitecture.
 */
export const BuildSchema = z.object({
  arch: z.string(),
  path: z.string(),
  state: BuildStateSchema,
  /**
   * The partitions with a kernel on this build.
   */
  partitions: z.array(z.string()).default([]),
  built_on: z.string().default(''),
  built_partition: z.string().default(''),
  started: z.number().default(0),
  finished: z.number().default(0),
  task: z.string().default(''),
  log: z.string().default(''),
  python: z.string().default(''),
  loaded_modules: z.array(z.string()).default([]),
  error: z.string().default(''),
  adopted: z.boolean().default(false),
  /**
   * Why a failed build failed: a summary, the spec entries at fault, the log's path.
   */
  failure: BuildFailureSchema.nullable().catch(null).default(null),
  /**
   * Why a build is out of date (`state: "stale"`): what changed since it was built.
   */
  problems: z.array(BuildProblemSchema).catch([]).default([])
});

/**
 * A build.
 */
export type Build = z.infer<typeof BuildSchema>;

/**
 * A kernel registered for an environment on a partition.
 */
export const KernelRefSchema = z.object({
  name: z.string(),
  partition: z.string().nullable(),
  arch: z.string().nullable()
});

/**
 * A kernel of an environment.
 */
export type KernelRef = z.infer<typeof KernelRefSchema>;

/**
 * An environment as `GET /hpc-envs/api/envs` describes it.
 */
export const EnvironmentSchema = z.object({
  name: z.string(),
  kind: z.string(),
  modules: z.array(z.string()).default([]),
  packages: z.array(z.string()).default([]),
  options: z.record(z.string(), z.unknown()).default({}),
  /**
   * The builds, by arch.
   */
  builds: z.record(z.string(), BuildSchema).default({}),
  created: z.number().default(0),
  home: z.string(),
  kernels: z.array(KernelRefSchema).default([]),
  /**
   * The environment's running tasks.
   */
  tasks: z.array(TaskSchema).default([]),
  warnings: z.array(z.string()).default([]),
  /**
   * The login name of its owner.
   */
  owner: z.string().default(''),
  /**
   * In a VO's shared folder.
   */
  shared: z.boolean().default(false),
  /**
   * Owned by this server's user; otherwise only its owner may change it (use it, not more).
   */
  mine: z.boolean().default(true),
  /**
   * Why it failed the ownership rule ('' when it did not): nothing of it is read or run.
   */
  refused: z.string().default('')
});

/**
 * An environment.
 */
export type Environment = z.infer<typeof EnvironmentSchema>;

/**
 * `GET /hpc-envs/api/envs`.
 */
export const EnvironmentsSchema = z.object({ environments: z.array(EnvironmentSchema) });

/**
 * `POST /hpc-envs/api/envs/<name>/builds`: a task (202), or `null` when a build of the
 * partition's arch was ready and only its kernel was registered.
 */
export const RebuildReplySchema = z.object({
  task: TaskSchema.nullable(),
  message: z.string().optional()
});

/**
 * The reply of a rebuild.
 */
export type RebuildReply = z.infer<typeof RebuildReplySchema>;

/**
 * `POST /hpc-envs/api/envs/<name>/kernels`: the kernels registered again.
 */
export const KernelsReplySchema = z.object({ kernels: z.array(z.string()) });

/**
 * `GET /hpc-envs/api/envs/<name>/removal`: what a removal would delete, one line each.
 */
export const RemovalPlanSchema = z.object({
  plan: z.array(z.string()),
  /**
   * The kernels of what is removed that run now: a removal with `stop` stops them first.
   */
  running: z
    .array(
      z.object({
        kernel_id: z.string(),
        kernel: z.string().default(''),
        partition: z.string().default(''),
        /**
         * Its Slurm job, `''` for a local kernel.
         */
        job_id: z.string().default(''),
        /**
         * The notebook of its session, `''` when none.
         */
        notebook: z.string().default('')
      })
    )
    .default([])
});

/**
 * What a removal would delete, and the running kernels it would leave without an environment.
 */
export type RemovalPlan = z.infer<typeof RemovalPlanSchema>;

/**
 * A running kernel of what a removal deletes.
 */
export type RunningKernel = RemovalPlan['running'][number];

/**
 * `GET /hpc-envs/api/envs/<name>/migration?to=GEN`: the plan of a migration to another toolchain
 * generation (each module and the module it becomes, `to` null where none matches).
 */
export const MigrationPlanSchema = z.object({
  name: z.string(),
  new_name: z.string(),
  partition: z.string(),
  from: z.string().nullable(),
  to: z.string(),
  generations: z.array(z.string()),
  modules: z.array(z.object({ from: z.string(), to: z.string().nullable(), reason: z.string() })),
  unmatched: z.array(z.string()),
  provided: z.array(z.object({ package: z.string(), module: z.string(), version: z.string() })),
  packages: z.array(z.string()),
  unavailable: z.array(z.object({ package: z.string(), reason: z.string(), instead: z.string() }))
});

export type MigrationPlan = z.infer<typeof MigrationPlanSchema>;

/**
 * `POST /hpc-envs/api/envs/<name>/migration`: the plan built and the new environment's build.
 */
export const MigrationReplySchema = z.object({ plan: MigrationPlanSchema, task: TaskSchema });

/**
 * `DELETE /hpc-envs/api/envs/<name>`: what was deleted.
 */
export const RemovedSchema = z.object({ removed: z.array(z.string()) });

/**
 * `GET /hpc-envs/api/envs/<name>/activation`: shell code that activates the environment.
 */
export const ActivationSchema = z.object({
  script: z.string(),
  /**
   * With `terminal=1`: the `srun` line of a shell on the partition's node, with the resources of
   * the environment's kernel there (its time limit among them), every word quoted.
   */
  srun: z.string().optional()
});

/**
 * How to activate an environment in a terminal.
 */
export type Activation = z.infer<typeof ActivationSchema>;

/**
 * `POST /hpc-envs/api/envs/<name>/requirements`: the venv's own packages as a requirements file.
 */
export const RequirementsSchema = z.object({ text: z.string() });

// --- packages ---------------------------------------------------------------------------------

/**
 * Where an installed distribution comes from (a source this version does not know is shown as
 * `path`: somewhere else on `sys.path`).
 */
export const PackageSourceSchema = z
  .enum(['venv', 'module', 'base', 'conda', 'user', 'path'])
  .catch('path');

/**
 * Where a distribution comes from.
 */
export type PackageSource = z.infer<typeof PackageSourceSchema>;

/**
 * An installed distribution, in `sys.path` order (`order`); a copy Python does not import has
 * `shadowed_by` (the location of the copy it imports).
 */
export const PackageSchema = z.object({
  name: z.string(),
  key: z.string(),
  version: z.string(),
  location: z.string(),
  source: PackageSourceSchema,
  /**
   * The module providing it (source `module` or `base`), else `null`.
   */
  module: z.string().nullable().default(null),
  /**
   * The project folder of an editable install, else `null`.
   */
  editable: z.string().nullable().default(null),
  order: z.number(),
  shadowed_by: z.string().nullable().default(null),
  /**
   * In a conda environment: the conda package that installed it, or `null` (pip, or a venv).
   */
  conda: z.string().nullable().default(null)
});

/**
 * An installed distribution.
 */
export type Package = z.infer<typeof PackageSchema>;

/**
 * A distribution seen twice: `warning` when a module's copy outranks the venv's, else `info`.
 */
export const ShadowWarningSchema = z.object({
  level: z.enum(['warning', 'info']),
  name: z.string(),
  message: z.string()
});

/**
 * A shadowing warning.
 */
export type ShadowWarning = z.infer<typeof ShadowWarningSchema>;

/**
 * A package of a conda environment, from its `conda-meta` records: `requested` holds the specs
 * that asked for it (empty for a dependency).
 */
export const CondaPackageSchema = z.object({
  name: z.string(),
  version: z.string().default(''),
  build: z.string().default(''),
  channel: z.string().default(''),
  requested: z.array(z.string()).default([])
});

/**
 * A conda package.
 */
export type CondaPackage = z.infer<typeof CondaPackageSchema>;

/**
 * `POST /hpc-envs/api/envs/<name>/packages/listing` (`{partition}`). For a conda environment `kind` is
 * `conda`, with its conda packages and the specs that only pip could install.
 */
export const PackagesSchema = z.object({
  environment: z.string(),
  partition: z.string(),
  arch: z.string(),
  kind: z.string().default('venv'),
  python: z.string().default(''),
  prefix: z.string().default(''),
  loaded_modules: z.array(z.string()).default([]),
  requested: z.array(z.string()).default([]),
  packages: z.array(PackageSchema),
  conda_packages: z.array(CondaPackageSchema).default([]),
  pip_packages: z.array(z.string()).default([]),
  warnings: z.array(ShadowWarningSchema).default([])
});

/**
 * The packages of an environment on a partition.
 */
export type Packages = z.infer<typeof PackagesSchema>;

// --- conda ------------------------------------------------------------------------------------

/**
 * The site's conda policy (a policy this version does not know is shown as `discouraged`: the
 * server still decides).
 */
export const CondaPolicySchema = z
  .enum(['allowed', 'discouraged', 'forbidden'])
  .catch('discouraged');

/**
 * The site's conda policy.
 */
export type CondaPolicy = z.infer<typeof CondaPolicySchema>;

/**
 * A conda engine found on the server's node: conda, mamba, micromamba, or py-rattler.
 */
export const CondaEngineSchema = z.object({
  kind: z.string(),
  executable: z.string().default(''),
  version: z.string().default(''),
  /**
   * Where it was found: `configured`, `PATH`, `module Miniconda3/…`, `py-rattler`…
   */
  source: z.string().default(''),
  activator: z.string().default('')
});

/**
 * A conda engine.
 */
export type CondaEngine = z.infer<typeof CondaEngineSchema>;

/**
 * `GET /hpc-envs/api/conda`: whether conda environments can be made here, with what, and what
 * users are told first.
 */
export const CondaInfoSchema = z.object({
  policy: CondaPolicySchema,
  message: z.string().default(''),
  /**
   * The engine that makes conda environments, or `null` when there is none (see `how_to_get`).
   */
  engine: CondaEngineSchema.nullable().default(null),
  engines: z.array(CondaEngineSchema).default([]),
  how_to_get: z.string().default(''),
  /**
   * The channels of a new environment when the user names none.
   */
  channels: z.array(z.string()).default([]),
  known_channels: z
    .array(z.object({ name: z.string(), description: z.string().default('') }))
    .default([]),
  /**
   * What a user is told before making a conda environment (the policy, a stray `~/.local/lib`).
   */
  warnings: z.array(z.string()).default([])
});

/**
 * The reply of `GET /hpc-envs/api/conda`.
 */
export type CondaInfo = z.infer<typeof CondaInfoSchema>;

/**
 * A conda environment found on the server's node (made by hand), and whether it can be adopted.
 */
export const CondaEnvironmentSchema = z.object({
  name: z.string(),
  prefix: z.string(),
  python: z.string().default(''),
  /**
   * The environment it is a build of already, or `''`.
   */
  managed_as: z.string().default(''),
  adoptable: z.boolean().default(false),
  /**
   * Why it cannot be adopted, or `''`.
   */
  reason: z.string().default('')
});

/**
 * A conda environment made by hand.
 */
export type CondaEnvironment = z.infer<typeof CondaEnvironmentSchema>;

/**
 * `GET /hpc-envs/api/conda/environments`.
 */
export const CondaEnvironmentsSchema = z.object({
  environments: z.array(CondaEnvironmentSchema)
});

/**
 * `POST /hpc-envs/api/envs/adopt` (201): the environment registered, and its kernel.
 */
export const AdoptedSchema = z.object({
  name: z.string(),
  home: z.string().default(''),
  arch: z.string().default(''),
  modules: z.array(z.string()).default([]),
  kernel: z.string().default('')
});

/**
 * The reply of an adoption.
 */
export type Adopted = z.infer<typeof AdoptedSchema>;

// --- kernels ----------------------------------------------------------------------------------

/**
 * A resource value as the site's description gives it (`4`, `'4'`, `'4:00:00'`), as text.
 */
const ResourceTextSchema = z.union([z.string(), z.number()]).transform(value => String(value));

/**
 * Where a kernel runs: on this node when it has the kernel's arch, else as a Slurm job (`auto`),
 * always on this node (`local`), or always as a Slurm job (`slurm`). A mode this version does not
 * know is shown as `auto`: the server still decides.
 */
export const KernelModeSchema = z.enum(['auto', 'local', 'slurm']).catch('auto');

/**
 * Where a kernel runs.
 */
export type KernelMode = z.infer<typeof KernelModeSchema>;

/**
 * What a kernel's Slurm job asks for, validated and normalised by the server (`time` as
 * `H:MM:SS`, `memory` as `4G` or `''` for the partition's default, `account` `''` for none).
 */
export const JobResourcesSchema = z.object({
  partition: z.string().default(''),
  time: z.string().default(''),
  cpus: z.number().default(1),
  memory: z.string().default(''),
  gpus: z.number().default(0),
  account: z.string().default('')
});

/**
 * The resources of a kernel's job.
 */
export type JobResources = z.infer<typeof JobResourcesSchema>;

/**
 * `GET|PUT /hpc-envs/api/kernels/<kernel>/resources`: a kernel's resource choice (kept in its
 * kernelspec), its partition's defaults and limits, and what its next start asks Slurm for.
 */
export const KernelResourcesSchema = z.object({
  kernel: z.string(),
  env: z.string().nullable().default(null),
  arch: z.string().nullable().default(null),
  partition: z.string(),
  /**
   * The partition's defaults, as the site describes them.
   */
  defaults: z
    .object({
      time: ResourceTextSchema.default(''),
      cpus: ResourceTextSchema.default(''),
      memory: ResourceTextSchema.default(''),
      gpus: ResourceTextSchema.default(''),
      account: ResourceTextSchema.default('')
    })
    .default({ time: '', cpus: '', memory: '', gpus: '', account: '' }),
  /**
   * The partition's limits; a missing one is no limit of the site's (Slurm has its own).
   */
  limits: z
    .object({
      time: ResourceTextSchema.optional(),
      cpus: ResourceTextSchema.optional(),
      memory: ResourceTextSchema.optional(),
      gpus: ResourceTextSchema.optional(),
      accounts: z.array(z.string()).optional()
    })
    .default({}),
  /**
   * What a node of the partition has (from Slurm); a missing one is unknown or unlimited.
   */
  capacity: z
    .object({
      time: z.string().optional(),
      cpus: z.number().optional(),
      memory: z.string().optional(),
      gpus: z.number().optional(),
      gres: z.string().optional()
    })
    .default({}),
  /**
   * What the user chose (the fields they set, and `mode`).
   */
  chosen: z
    .object({
      time: ResourceTextSchema.optional(),
      cpus: ResourceTextSchema.optional(),
      memory: ResourceTextSchema.optional(),
      gpus: ResourceTextSchema.optional(),
      account: ResourceTextSchema.optional(),
      mode: KernelModeSchema.optional()
    })
    .default({}),
  /**
   * The kernel's mode: the one chosen, else the site's.
   */
  mode: KernelModeSchema,
  /**
   * What the next start asks Slurm for; `null` when the choice breaks a limit (see `problem`).
   */
  effective: JobResourcesSchema.nullable(),
  /**
   * A stored choice that breaks a limit lowered since, or `null`.
   */
  problem: z.object({ field: z.string(), message: z.string() }).nullable().default(null),
  /**
   * Every field of the stored choice that breaks a limit, and why.
   */
  problems: z.record(z.string(), z.string()).default({})
});

/**
 * A kernel's resources.
 */
export type KernelResources = z.infer<typeof KernelResourcesSchema>;

/**
 * The job of one of the user's kernels. `state` is `SUBMITTING`, a Slurm state (`PENDING`,
 * `RUNNING`, `TIMEOUT`, `CANCELLED`…) or `CANCELLING`; `message` is what to show the user
 * (`pending (Resources), estimated start 14:05`, `running on node12`, why it ended).
 */
export const KernelJobSchema = z.object({
  /**
   * `terminal:<job id>` for a terminal's job.
   */
  kernel_id: z.string(),
  /**
   * `kernel`, or `terminal` for the shell of a terminal opened on another partition.
   */
  kind: z.string().default('kernel'),
  env: z.string().default(''),
  partition: z.string().default(''),
  job_name: z.string().default(''),
  /**
   * `''` until Slurm gave the job an id.
   */
  job_id: z.string().default(''),
  host: z.string().default(''),
  state: z.string().default(''),
  reason: z.string().default(''),
  /**
   * squeue's estimated start (`2024-05-02T14:05:00`, or `N/A`), `''` when unknown.
   */
  start: z.string().default(''),
  message: z.string().default(''),
  resources: JobResourcesSchema.nullable().catch(null).default(null),
  submitted: z.number().nullable().default(null),
  started: z.number().nullable().default(null),
  ended: z.number().nullable().default(null),
  /**
   * The job's time limit in seconds; `null` when unlimited or not known (yet).
   */
  time_limit: z.number().nullable().default(null),
  /**
   * When the job started, in seconds since the epoch (Slurm's).
   */
  start_time: z.number().nullable().default(null),
  /**
   * When Slurm ends the job at its time limit, in seconds since the epoch: the countdown's end.
   */
  end_time: z.number().nullable().default(null),
  /**
   * Why an ended job ended: `timeout` (its time limit), `cancelled`, `completed` or `failed`;
   * `null` until it ended.
   */
  end_reason: z.string().nullable().default(null)
});

/**
 * A kernel job.
 */
export type KernelJob = z.infer<typeof KernelJobSchema>;

/**
 * `GET /hpc-envs/api/kernel-jobs`: the user's kernel jobs, newest first.
 */
export const KernelJobsSchema = z.object({ jobs: z.array(KernelJobSchema) });

/**
 * `DELETE /hpc-envs/api/kernel-jobs/<kernel id>`: the job that was cancelled.
 */
export const KernelJobCancelledSchema = z.object({
  kernel_id: z.string(),
  job_id: z.string().default(''),
  job_name: z.string().default(''),
  cancelled: z.boolean()
});

/**
 * The reply of a cancellation of a kernel job.
 */
export type KernelJobCancelled = z.infer<typeof KernelJobCancelledSchema>;

/**
 * The states of a kernel job that wait for the queue (the kernel is not running yet): the UI
 * follows them closely and offers to cancel them.
 */
export const WAITING_JOB_STATES: readonly string[] = ['SUBMITTING', 'PENDING', 'CONFIGURING'];

/**
 * Whether a kernel job waits for the queue (submitted, pending, or its node being configured).
 *
 * @param job - A kernel job.
 * @returns `true` while the kernel's start waits for Slurm.
 */
export function isWaitingJob(job: KernelJob): boolean {
  return WAITING_JOB_STATES.includes(job.state);
}
