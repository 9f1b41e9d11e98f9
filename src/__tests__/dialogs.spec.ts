/**
 * The removal confirmation: what goes, the kernels of it that run, and the user's consent to stop
 * them (the plan is the real server's reply shape, see openapi.yaml).
 */
import { nullTranslator } from '@jupyterlab/translation';

import { RemovalPlan } from '../api';
import { ICommandContext } from '../commands/context';
import { removalCaption } from '../commands/environments';
import { RemovalBody } from '../widgets/dialogs';
import { condaEnvironment, environment } from './fixtures';
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

describe('removalCaption', () => {
  /**
   * The part of the commands' context the caption reads: the environments and the translation.
   */
  function context(...environments: ReturnType<typeof environment>[]): ICommandContext {
    return { model: { environments }, trans } as unknown as ICommandContext;
  }

  it('says that a build row removes the build, its venv and its kernel', () => {
    expect(removalCaption(context(environment('science')), 'science', 'zen2')).toBe(
      'Remove the zen2 build of science (its venv and kernel)'
    );
    expect(removalCaption(context(condaEnvironment('forge')), 'forge', 'zen4')).toBe(
      'Remove the zen4 build of forge (its conda environment and kernel)'
    );
  });

  it("says that only one's own kernel goes from an environment shared by another", () => {
    const shared = environment('team', { owner: 'alice', shared: true, mine: false });

    expect(removalCaption(context(shared), 'team', 'zen4')).toBe(
      'Remove your kernel of team on zen4'
    );
  });
});
