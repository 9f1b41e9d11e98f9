/**
 * The removal confirmation: what goes, the kernels of it that run, and the user's consent to stop
 * them (the plan is the real server's reply shape, see openapi.yaml).
 */
import { nullTranslator } from '@jupyterlab/translation';

import { RemovalPlan } from '../api';
import { RemovalBody } from '../widgets/dialogs';
import { find } from './render';

const trans = nullTranslator.load('jupyterlab_hpc_envs');

const PLAN: RemovalPlan = {
  plan: ['kernel hpcenv-science-zen2', 'build /site/data/hpc-envs/science/venv-zen2'],
  running: [
    {
      kernel_id: 'd9d4b2b8-32f3-4730-9644-4040c71a0536',
      kernel: 'hpcenv-science-zen2',
      partition: 'zen2',
      job_id: '3',
      notebook: 'work/analysis.ipynb'
    }
  ]
};

describe('RemovalBody', () => {
  it('lists what goes and the running kernels, and stops them unless the user unticks it', () => {
    const body = new RemovalBody(PLAN, trans);

    expect(
      [...body.node.querySelectorAll('.jp-HpcEnvs-removal-plan li')].map(li => li.textContent)
    ).toEqual(PLAN.plan);
    expect(find(body.node, '.jp-HpcEnvs-removal-running li').textContent).toBe(
      'work/analysis.ipynb — Slurm job 3 on zen2'
    );
    expect(find(body.node, '.jp-HpcEnvs-removal-stop').textContent).toContain(
      'Stop this kernel first'
    );
    expect(body.getValue()).toEqual({ stop: true });

    find<HTMLInputElement>(body.node, '.jp-HpcEnvs-removal-stop input').checked = false;

    expect(body.getValue()).toEqual({ stop: false });
    body.dispose();
  });

  it('asks nothing about kernels when none runs', () => {
    const body = new RemovalBody({ ...PLAN, running: [] }, trans);

    expect(body.node.querySelector('.jp-HpcEnvs-removal-stop')).toBeNull();
    expect(body.getValue()).toEqual({ stop: false });
    body.dispose();
  });
});
