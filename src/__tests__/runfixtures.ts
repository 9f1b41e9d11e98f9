/**
 * Replies of the runs routes, shaped as the server writes them (runs/plan.py's record, with the
 * states runs/records.py adds and the relative paths runs/rest.py adds).
 */
const FOLDER = '/home/user/.local/share/jupyter/hpc_envs/runs/20260101-120000-ab12';

/**
 * A run as submitted: `POST runs`.
 */
export const RUN_SUBMITTED = {
  id: '20260101-120000-ab12',
  notebook: '/home/user/project/analysis.ipynb',
  output: '/home/user/project/analysis-run-20260101-120000-ab12.ipynb',
  kernel: 'hpcenv-science-zen2',
  env: 'science',
  argv: [
    '/data/science/zen2/bin/hpc-envs-launch',
    '-m',
    'ipykernel_launcher',
    '-f',
    '{connection_file}'
  ],
  resources: { partition: 'zen2', time: '1:00:00', cpus: 1, memory: '', gpus: 0, account: '' },
  parameters: { alpha: 0.25, label: 'run a' },
  log: `${FOLDER}/job.log`,
  script: `${FOLDER}/job.sbatch`,
  tasks: null,
  job_id: '1234',
  submitted: 1767268800.5,
  notebook_path: 'project/analysis.ipynb',
  output_path: 'project/analysis-run-20260101-120000-ab12.ipynb'
};

/**
 * The same run pending in the queue: `GET runs`.
 */
export const RUN_PENDING = {
  ...RUN_SUBMITTED,
  state: 'PENDING',
  reason: 'Priority',
  failure: null
};

/**
 * The same run once its notebook ran.
 */
export const RUN_SUCCEEDED = { ...RUN_PENDING, state: 'SUCCEEDED', reason: '', elapsed: 42 };

/**
 * The same run, its third cell failed.
 */
export const RUN_FAILED = {
  ...RUN_PENDING,
  state: 'FAILED',
  reason: '',
  elapsed: 7,
  failure: { cell: 2, source: '1 / 0', error: 'ZeroDivisionError: division by zero' }
};

/**
 * A sweep of three parameter sets, one task running and two waiting.
 */
export const RUN_SWEEP = {
  ...RUN_SUBMITTED,
  id: '20260101-120500-cd34',
  job_id: '1240',
  parameters: {},
  log: `${FOLDER}/job-%a.log`,
  state: 'RUNNING',
  reason: '',
  failure: null,
  tasks: [0, 1, 2].map(task => ({
    task,
    parameters: { alpha: task / 2 },
    output: `/home/user/project/analysis-run-20260101-120500-cd34-${task}.ipynb`,
    output_path: `project/analysis-run-20260101-120500-cd34-${task}.ipynb`,
    state: task === 0 ? 'RUNNING' : 'PENDING',
    reason: task === 0 ? '' : 'JobArrayTaskLimit',
    failure: null
  }))
};

/**
 * `GET runs/<id>/script`.
 */
export const RUN_SCRIPT = {
  path: `${FOLDER}/job.sbatch`,
  text: '#!/bin/bash\n#SBATCH --partition=zen2\n',
  exists: true,
  truncated: false
};
