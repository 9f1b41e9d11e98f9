/**
 * Replies of the real server on the demo site (`scripts/demo-site`), recorded with curl and cut
 * down (paths start with `/site` instead of the demo site's folder). Tests change copies of them.
 */
import {
  CondaInfo,
  Environment,
  Module,
  Package,
  Packages,
  RecreationPlan,
  Site,
  Task
} from '../api';
import { json, RoutedServer } from './fake-server';

export const INFO = { name: 'jupyterlab-hpc-envs', version: '0.1.0' };

export const SITE: Site = {
  host: 'vm',
  pip_options: [
    '--force-reinstall',
    '--ignore-installed',
    '--no-binary=:all:',
    '--no-deps',
    '--only-binary=:all:',
    '--pre',
    '--prefer-binary',
    '--upgrade',
    '--upgrade-strategy=eager'
  ],
  rules: {
    name_pattern: '^[A-Za-z][A-Za-z0-9_-]*(?:\\.[A-Za-z0-9_-]+)*$',
    name_max: 48,
    reserved_names: ['adopt'],
    kept_packages: { venv: ['ipykernel', 'pip'], conda: ['ipykernel', 'pip', 'python'] }
  },
  arch: 'zen4',
  arch_source: 'VSC_ARCH_LOCAL',
  partition: 'zen4',
  in_job: false,
  module_system: { kind: 'lmod', version: '8.6.19' },
  slurm: true,
  partitions: [
    {
      name: 'zen2',
      arch: 'zen2',
      modulepath: ['/site/modules/zen2/all'],
      available: true,
      default: false,
      local: false,
      gpu: '',
      description: '',
      slurm: true
    },
    {
      name: 'zen4',
      arch: 'zen4',
      modulepath: ['/site/modules/zen4/all'],
      available: true,
      default: true,
      local: true,
      gpu: '',
      description: '',
      slurm: true
    }
  ],
  storage_roots: [
    {
      path: '/site/data',
      label: '$VSC_DATA',
      exists: true,
      writable: true,
      home: false,
      warning: '',
      shared: false
    },
    {
      path: '/site/scratch',
      label: '$VSC_SCRATCH',
      exists: true,
      writable: true,
      home: false,
      warning: '',
      shared: false
    },
    {
      path: '/site/home',
      label: '$HOME',
      exists: true,
      writable: true,
      home: true,
      warning:
        "Your home folder has a very small quota and fills up quickly with installation files: prefer $VSC_DATA or $VSC_SCRATCH (or your VO's folder).",
      shared: false
    }
  ],
  shared_roots: [],
  conda: { policy: 'discouraged', message: 'Conda is discouraged on this cluster.' },
  warnings: [
    {
      code: 'user-site',
      message:
        "/site/home/.local/lib/python3.11/site-packages holds packages that Python loads before any environment's (the '~/.local/lib' conflict).",
      path: '/site/home/.local/lib/python3.11/site-packages'
    }
  ]
};

const catalogEntry = (full: string, generation: string, python: string | null = null): Module => {
  const [name, version] = full.split('/');
  return {
    full,
    name,
    version,
    path: `/site/modules/zen4/all/${full}.lua`,
    description: `${name} (test)`,
    toolchain: version.replace(/^[^-]*-/, ''),
    generation,
    python,
    parents: []
  };
};

export const MODULES: Module[] = [
  catalogEntry('IPython/8.14.0-GCCcore-12.3.0', '2023a'),
  catalogEntry('Python/3.10.13-GCCcore-11.3.0', '2022a', '3.10.13'),
  catalogEntry('Python/3.11.7-GCCcore-12.3.0', '2023a', '3.11.7'),
  catalogEntry('Python/3.12.1-GCCcore-13.2.0', '2023b', '3.12.1'),
  catalogEntry('SciPy-bundle/2022.05-foss-2022a', '2022a'),
  catalogEntry('SciPy-bundle/2023.07-gfbf-2023a', '2023a'),
  catalogEntry('tqdm/4.66.1-GCCcore-12.3.0', '2023a')
];

/**
 * The catalog as `GET modules?partition=P&python=M` gives it: compatibility by generation.
 *
 * @param python - The Python module.
 * @returns The modules with `compatible` and `reason`.
 */
export function modulesFor(python: string): Module[] {
  const generation = MODULES.find(m => m.full === python)?.generation;
  return MODULES.map(m => ({
    ...m,
    compatible: m.generation === generation,
    reason:
      m.generation === generation
        ? `${m.toolchain} is generation ${m.generation}, like ${python}`
        : `${m.toolchain} is generation ${m.generation} but ${python} is ${generation}: modules of different generations load conflicting libraries`
  }));
}

export function task(fields: Partial<Task> = {}): Task {
  return {
    id: '84f301593b1e4b94ab81358c7f263920',
    kind: 'build',
    title: 'Create science on zen4',
    env: 'science',
    partition: 'zen4',
    state: 'running',
    step: 'venv',
    message: '',
    created: 1795553424.89,
    started: 1795553424.9,
    finished: null,
    params: { home: '/site/data/hpc-envs/science', arch: 'zen4' },
    result: {},
    ...fields
  };
}

export function environment(name = 'science', fields: Partial<Environment> = {}): Environment {
  return {
    name,
    kind: 'venv',
    modules: ['Python/3.11.7-GCCcore-12.3.0', 'SciPy-bundle/2023.07-gfbf-2023a'],
    packages: ['icecream'],
    options: { allow_incompatible: false, pip_options: [], system_site_packages: true },
    builds: {
      zen4: {
        arch: 'zen4',
        path: `/site/data/hpc-envs/${name}/venv-zen4`,
        state: 'ready',
        partitions: ['zen4'],
        built_on: 'vm',
        built_partition: 'zen4',
        started: 1795553424.89,
        finished: 1795553437.01,
        task: '84f301593b1e4b94ab81358c7f263920',
        log: `/site/data/hpc-envs/${name}/logs/zen4-20261124-205037.log`,
        python: '3.11.7',
        loaded_modules: [
          'GCCcore/12.3.0',
          'Python/3.11.7-GCCcore-12.3.0',
          'gfbf/2023a',
          'SciPy-bundle/2023.07-gfbf-2023a'
        ],
        error: '',
        adopted: false,
        failure: null,
        problems: []
      }
    },
    created: 1795553424.89,
    home: `/site/data/hpc-envs/${name}`,
    kernels: [{ name: `hpcenv-${name}-zen4`, partition: 'zen4', arch: 'zen4' }],
    tasks: [],
    warnings: [],
    owner: 'me',
    shared: false,
    mine: true,
    refused: '',
    ...fields
  };
}

export const PACKAGES: Packages = {
  environment: 'science',
  partition: 'zen4',
  arch: 'zen4',
  kind: 'venv',
  python: '3.11.7',
  prefix: '/site/data/hpc-envs/science/venv-zen4',
  loaded_modules: [
    'GCCcore/12.3.0',
    'Python/3.11.7-GCCcore-12.3.0',
    'SciPy-bundle/2023.07-gfbf-2023a'
  ],
  requested: ['icecream'],
  packages: [
    {
      name: 'numpy',
      key: 'numpy',
      version: '1.25.1',
      location: '/site/software/zen4/SciPy-bundle/2023.07-gfbf-2023a/lib/python3.11/site-packages',
      source: 'module',
      module: 'SciPy-bundle/2023.07-gfbf-2023a',
      editable: null,
      order: 1,
      shadowed_by: null,
      conda: null
    },
    {
      name: 'icecream',
      key: 'icecream',
      version: '2.2.0',
      location: '/site/data/hpc-envs/science/venv-zen4/lib/python3.11/site-packages',
      source: 'venv',
      module: null,
      editable: null,
      order: 5,
      shadowed_by: null,
      conda: null
    },
    {
      name: 'pip',
      key: 'pip',
      version: '26.3',
      location: '/site/data/hpc-envs/science/venv-zen4/lib/python3.11/site-packages',
      source: 'venv',
      module: null,
      editable: null,
      order: 5,
      shadowed_by: null,
      conda: null
    },
    {
      name: 'pip',
      key: 'pip',
      version: '23.2.1',
      location: '/site/software/zen4/Python/3.11.7-GCCcore-12.3.0/lib/python3.11/site-packages',
      source: 'base',
      module: 'Python/3.11.7-GCCcore-12.3.0',
      editable: null,
      order: 6,
      shadowed_by: '/site/data/hpc-envs/science/venv-zen4/lib/python3.11/site-packages',
      conda: null
    }
  ],
  conda_packages: [],
  pip_packages: [],
  warnings: [
    {
      level: 'info',
      name: 'pip',
      message: 'pip 26.3 (venv) hides 23.2.1 (base: Python/3.11.7-GCCcore-12.3.0)'
    },
    {
      level: 'warning',
      name: 'numpy',
      message:
        "numpy 1.25.1 from SciPy-bundle/2023.07-gfbf-2023a outranks 2.0.0 installed in the venv: modules put their packages on PYTHONPATH, which comes first. Python imports the module's copy."
    }
  ]
};

// --- conda (recorded on the demo site with the py-rattler engine and the local channel of
// scripts/conda-channel; the site's policy set to discouraged) ---------------------------------

export const CONDA_INFO: CondaInfo = {
  policy: 'discouraged',
  message: 'Conda is discouraged at hpcdemo: prefer a venv on the Python modules.',
  engine: {
    kind: 'rattler',
    executable: '/site/venv/bin/python3',
    version: '0.28.0',
    source: 'py-rattler',
    activator: ''
  },
  engines: [
    {
      kind: 'rattler',
      executable: '/site/venv/bin/python3',
      version: '0.28.0',
      source: 'py-rattler',
      activator: ''
    }
  ],
  how_to_get: '',
  channels: ['file:///site/conda-channel'],
  known_channels: [
    { name: 'conda-forge', description: 'The community channel.' },
    {
      name: 'intel',
      description:
        "Intel's oneAPI Python distribution: MKL, Intel MPI and optimised numpy and scipy (the site's documentation recommends considering it)."
    }
  ],
  warnings: ['Conda is discouraged at hpcdemo: prefer a venv on the Python modules.']
};

/**
 * A conda environment as `GET envs` describes it.
 */
export function condaEnvironment(name = 'forge', fields: Partial<Environment> = {}): Environment {
  const venv = environment(name);
  return {
    ...venv,
    kind: 'conda',
    modules: [],
    packages: ['hpc-envs-hook'],
    options: {
      channels: ['file:///site/conda-channel'],
      engine: { kind: 'rattler', version: '0.28.0', source: 'py-rattler' },
      pip_packages: [],
      python: '3.11',
      warnings: [CONDA_INFO.message]
    },
    builds: {
      zen4: {
        ...venv.builds.zen4,
        path: `/site/data/hpc-envs/${name}/conda-zen4`,
        loaded_modules: []
      }
    },
    ...fields
  };
}

const condaRow = (name: string, version: string, conda: string = name): Package => ({
  name,
  key: name.toLowerCase().replace(/[-_.]+/g, '-'),
  version,
  location: '/site/data/hpc-envs/forge/conda-zen4/lib/python3.11/site-packages',
  source: 'conda',
  module: null,
  editable: null,
  order: 4,
  shadowed_by: null,
  conda
});

const CHANNEL = 'file:///site/conda-channel/';

export const CONDA_PACKAGES: Packages = {
  environment: 'forge',
  partition: 'zen4',
  arch: 'zen4',
  kind: 'conda',
  python: '3.11.7',
  prefix: '/site/data/hpc-envs/forge/conda-zen4',
  loaded_modules: [],
  requested: ['hpc-envs-hook'],
  packages: [
    condaRow('ipykernel', '6.29.5'),
    condaRow('jupyter_client', '8.10.0', 'jupyter-client'),
    condaRow('pip', '24.3.1'),
    condaRow('Pygments', '2.21.0', 'pygments'),
    condaRow('tornado', '6.6.1')
  ],
  conda_packages: [
    {
      name: 'hpc-envs-hook',
      version: '1.0',
      build: '0',
      channel: CHANNEL,
      requested: ['hpc-envs-hook']
    },
    {
      name: 'ipykernel',
      version: '6.29.5',
      build: 'pyh_hpcenvs_0',
      channel: CHANNEL,
      requested: ['ipykernel']
    },
    {
      name: 'jupyter-client',
      version: '8.10.0',
      build: 'pyh_hpcenvs_0',
      channel: CHANNEL,
      requested: []
    },
    { name: 'pip', version: '24.3.1', build: 'pyh_hpcenvs_0', channel: CHANNEL, requested: [] },
    {
      name: 'pygments',
      version: '2.21.0',
      build: 'pyh_hpcenvs_0',
      channel: CHANNEL,
      requested: []
    },
    {
      name: 'python',
      version: '3.11.7',
      build: 'h_hpcenvs_0_cp311',
      channel: CHANNEL,
      requested: ['python 3.11.*']
    },
    {
      name: 'tornado',
      version: '6.6.1',
      build: 'py311h_hpcenvs_0',
      channel: CHANNEL,
      requested: []
    }
  ],
  pip_packages: [],
  warnings: []
};

// --- kernels ------------------------------------------------------------------------------------
// Recorded on the demo site with `--HpcEnvs.kernel_limits={"time": "4:00:00", "cpus": 2, "memory":
// "4G", "gpus": 0, "accounts": ["hpcdemo", "hpcdemo-ai"]}` (the site's defaults are the built-in
// ones), for an environment built on zen4 and zen2 (renamed `science` here). Kernel-job records
// come as the server sends them, with the fields the frontend drops (owner, cancel, updated…).

const LIMITS = {
  time: '4:00:00',
  cpus: 2,
  memory: '4G',
  gpus: 0,
  accounts: ['hpcdemo', 'hpcdemo-ai']
};

const DEFAULTS = { time: '1:00:00', cpus: 1, memory: '', gpus: 0, account: '' };

/**
 * `GET kernels/hpcenv-science-zen2/resources` before any choice.
 */
export const KERNEL_RESOURCES = {
  partition: 'zen2',
  defaults: DEFAULTS,
  limits: LIMITS,
  capacity: { time: '1-00:00:00', cpus: 2, memory: '22899M', gpus: 0, gres: '' },
  kernel: 'hpcenv-science-zen2',
  env: 'science',
  arch: 'zen2',
  chosen: {},
  mode: 'auto',
  effective: { partition: 'zen2', time: '1:00:00', cpus: 1, memory: '', gpus: 0, account: '' },
  problem: null,
  problems: {}
};

/**
 * `PUT kernels/hpcenv-science-zen2/resources` with `{"time": "2:00:00"}`.
 */
export const KERNEL_RESOURCES_TIME = {
  ...KERNEL_RESOURCES,
  chosen: { time: '2:00:00' },
  effective: { partition: 'zen2', time: '2:00:00', cpus: 1, memory: '', gpus: 0, account: '' }
};

/**
 * `GET kernels/hpcenv-science-zen4/resources` after `{"cpus": 2, "mode": "slurm"}` was chosen
 * and the site lowered the CPU limit to 1.
 */
export const KERNEL_RESOURCES_PROBLEM = {
  partition: 'zen4',
  defaults: DEFAULTS,
  limits: { ...LIMITS, cpus: 1 },
  kernel: 'hpcenv-science-zen4',
  env: 'science',
  arch: 'zen4',
  chosen: { cpus: 2, mode: 'slurm' },
  mode: 'slurm',
  effective: null,
  problem: { field: 'cpus', message: 'A kernel may use at most 1 CPUs on partition zen4.' }
};

/**
 * The 400 reply of `PUT kernels/hpcenv-science-zen2/resources` with `{"cpus": 3, "memory":
 * "30G", "gpus": 1}` on a site without kernel limits (`make demo`): what the partition's node has.
 */
export const OVER_CAPACITY = {
  message:
    'A node of partition zen2 has 2 CPUs; 3 were asked. A node of partition zen2 has 22899M of memory; 30G was asked. Partition zen2 has no GPUs (its nodes have no GPU in their GRES): choose a partition with GPUs.',
  field: 'cpus',
  fields: {
    cpus: 'A node of partition zen2 has 2 CPUs; 3 were asked.',
    memory: 'A node of partition zen2 has 22899M of memory; 30G was asked.',
    gpus: 'Partition zen2 has no GPUs (its nodes have no GPU in their GRES): choose a partition with GPUs.'
  }
};

/**
 * The 400 reply of `PUT kernels/hpcenv-science-zen2/resources` with `{"cpus": 64}`.
 */
export const CPUS_OVER_LIMIT = {
  message: 'A kernel may use at most 2 CPUs on partition zen2.',
  field: 'cpus'
};

const JOB_RESOURCES = {
  account: '',
  cpus: 1,
  gpus: 0,
  memory: '',
  partition: 'zen2',
  time: '2:00:00'
};

/**
 * A kernel job of `GET kernel-jobs` right after srun was started (no job id yet).
 */
export const KERNEL_JOB_SUBMITTING = {
  cancel: false,
  ended: null,
  env: 'science',
  job_name: 'hpc-envs-kernel:science:d9d4b2b8',
  kernel_id: 'd9d4b2b8-32f3-4730-9644-4040c71a0536',
  message: 'submitting',
  owner: 'vm:6376:917408',
  partition: 'zen2',
  reason: '',
  resources: JOB_RESOURCES,
  start: '',
  state: 'SUBMITTING',
  submitted: 1795559146.724269,
  updated: 1795559146.7243257
};

/**
 * The same job waiting in the queue (another job held the node's CPUs).
 */
export const KERNEL_JOB_PENDING = {
  ...KERNEL_JOB_SUBMITTING,
  job_id: '3',
  message: 'pending (Resources), estimated start 22:35',
  reason: 'Resources',
  start: '2026-11-24T22:35:45',
  state: 'PENDING',
  updated: 1795559150.7625022
};

/**
 * The same job once the kernel runs.
 */
export const KERNEL_JOB_RUNNING = {
  ...KERNEL_JOB_PENDING,
  host: 'vm',
  message: 'running on vm',
  reason: '',
  started: 1795559158.6295772,
  state: 'RUNNING',
  step: '3.0',
  updated: 1795559158.6298065
};

/**
 * The same job after `DELETE kernel-jobs/<id>` cancelled it while the kernel ran.
 */
export const KERNEL_JOB_CANCELLED = {
  ...KERNEL_JOB_RUNNING,
  ended: 1795559162.2314317,
  message: "science (zen2): the kernel's job 3 on vm was cancelled outside of Jupyter (scancel).",
  reason: 'None',
  state: 'CANCELLED',
  updated: 1795559162.2315514
};

/**
 * A terminal opened on zen2 from the panel, as `GET kernel-jobs` lists it (from squeue).
 */
export const KERNEL_JOB_TERMINAL = {
  kernel_id: 'terminal:456',
  kind: 'terminal',
  env: 'science',
  partition: 'zen2',
  job_name: 'hpc-envs-terminal:science:zen2',
  job_id: '456',
  state: 'RUNNING',
  reason: '',
  start: '2026-11-24T22:41:02',
  message: ''
};

/**
 * The reply of `DELETE kernel-jobs/<id>`.
 */
export const KERNEL_JOB_CANCEL_REPLY = {
  kernel_id: 'd9d4b2b8-32f3-4730-9644-4040c71a0536',
  job_id: '3',
  job_name: 'hpc-envs-kernel:science:d9d4b2b8',
  cancelled: true
};

/**
 * An environment built for zen4 and zen2, with a kernel on each.
 *
 * @param name - Its name.
 * @returns The environment.
 */
export function twoPartitionEnvironment(name = 'science'): Environment {
  const base = environment(name);
  const zen4 = base.builds.zen4;
  return {
    ...base,
    builds: {
      ...base.builds,
      zen2: {
        ...zen4,
        arch: 'zen2',
        path: `/site/data/hpc-envs/${name}/venv-zen2`,
        partitions: ['zen2'],
        built_partition: 'zen2',
        log: `/site/data/hpc-envs/${name}/logs/zen2-20261124-222410.log`
      }
    },
    kernels: [...base.kernels, { name: `hpcenv-${name}-zen2`, partition: 'zen2', arch: 'zen2' }]
  };
}

/**
 * An environment whose zen2 build failed on a misspelled package, as the server describes it
 * (`failure` names the entry pip could not find), and whose zen4 build is out of date.
 *
 * @param name - Its name.
 * @returns The environment.
 */
export function mendableEnvironment(name = 'science'): Environment {
  const base = twoPartitionEnvironment(name);
  return {
    ...base,
    packages: ['icecream', 'numpyy'],
    builds: {
      zen4: {
        ...base.builds.zen4,
        state: 'stale',
        problems: [
          {
            kind: 'out-of-date',
            subject: 'numpyy',
            message: 'numpyy was added to the environment after this build.'
          }
        ]
      },
      zen2: {
        ...base.builds.zen2,
        state: 'failed',
        python: '',
        error: 'pip could not install numpyy: see the log.',
        task: '5ad0c8e4f2a14b7e9bb1c0d2e3f4a5b6',
        failure: {
          summary: 'pip found no distribution named numpyy (no matching distribution found).',
          entries: ['numpyy'],
          log: `/site/data/hpc-envs/${name}/logs/zen2-20261124-222410.log`
        }
      }
    },
    kernels: base.kernels.filter(k => k.partition === 'zen4')
  };
}

/**
 * The server accepts `POST envs` for `env`: a pending build task, whose log says it succeeded.
 *
 * @param fake - The faked server.
 * @param env - The environment's name.
 */
export function acceptCreate(fake: RoutedServer, env: string): void {
  fake.routes['POST envs'] = json({ task: task({ env, state: 'pending' }) }, 202);
  fake.routes[`GET tasks/${task().id}/log`] = json({
    text: '',
    offset: 0,
    state: 'succeeded',
    step: ''
  });
}

/**
 * The site with a VO folder where a shared environment can be created.
 */
export const SITE_WITH_VO: Site = {
  ...SITE,
  shared_roots: [
    {
      path: '/site/vo',
      label: '$VSC_DATA_VO',
      exists: true,
      writable: true,
      home: false,
      warning: '',
      shared: true
    }
  ]
};

/**
 * `POST recreations` with `dry_run`: the plan of a notebook's environment, one module present
 * here and one without a match (as envs/recreate.py answers).
 */
export const RECREATION_PLAN: RecreationPlan = {
  name: 'analysis',
  partition: 'zen4',
  arch: 'zen4',
  kind: 'venv',
  kernel: 'hpcenv-analysis-zen4',
  modules: [
    {
      from: 'Python/3.11.7-GCCcore-12.3.0',
      to: 'Python/3.11.7-GCCcore-12.3.0',
      reason: 'present here, generation 2023a'
    },
    {
      from: 'SciPy-bundle/2023.07-gfbf-2023a',
      to: null,
      reason: 'no SciPy-bundle of generation 2023a here'
    }
  ],
  packages: ['tabulate==0.8.10'],
  notebook: { name: 'analysis', partition: 'zen4', arch: 'zen4', python: '3.11.7' }
};
