/**
 * Replies of the real server on the demo site (`scripts/demo-site`), recorded with curl and cut
 * down (paths start with `/site` instead of the demo site's folder). Tests change copies of them.
 */
import { CondaInfo, Environment, Module, Package, Packages, Site, Task } from '../api';

export const INFO = { name: 'jupyterlab-hpc-envs', version: '0.1.0' };

export const SITE: Site = {
  host: 'vm',
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
      warning: ''
    },
    {
      path: '/site/scratch',
      label: '$VSC_SCRATCH',
      exists: true,
      writable: true,
      home: false,
      warning: ''
    },
    {
      path: '/site/home',
      label: '$HOME',
      exists: true,
      writable: true,
      home: true,
      warning:
        "Your home folder has a very small quota and fills up quickly with installation files: prefer $VSC_DATA or $VSC_SCRATCH (or your VO's folder)."
    }
  ],
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
    description: `${name} (test)`,
    toolchain: version.replace(/^[^-]*-/, ''),
    generation,
    python
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
        adopted: false
      }
    },
    created: 1795553424.89,
    home: `/site/data/hpc-envs/${name}`,
    kernels: [{ name: `hpcenv-${name}-zen4`, partition: 'zen4', arch: 'zen4' }],
    tasks: [],
    warnings: [],
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
      message: 'pip 26.3 (venv) hides 23.2.1 (base)'
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
        "Intel's oneAPI Python distribution: MKL, Intel MPI and optimised numpy and scipy (the seed recommends considering it)."
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
