/**
 * Recreating the environment a notebook carries: when it is offered, the dialog's model (the
 * plan of the dry run, a refusal, the build followed to its end) and its body (the real server's
 * reply shapes, see openapi.yaml and envs/recreate.py).
 */
import { nullTranslator } from '@jupyterlab/translation';

import { RecreationPlan } from '../api';
import { missingEnvironment, RecreateModel } from '../recreatemodel';
import { moveText, RecreateBody } from '../widgets/recreate';
import { json, RoutedServer } from './fake-server';
import { RECREATION_PLAN as PLAN, task } from './fixtures';
import { find } from './render';

const trans = nullTranslator.load('jupyterlab_hpc_envs');

const PYTHON = 'Python/3.11.7-GCCcore-12.3.0';
const METADATA = {
  kernelspec: { name: 'hpcenv-analysis-zen4', display_name: 'analysis (zen4)', language: 'python' },
  hpc_envs: {
    version: 1,
    name: 'analysis',
    kind: 'venv',
    partition: 'zen4',
    arch: 'zen4',
    modules: [PYTHON, 'SciPy-bundle/2023.07-gfbf-2023a'],
    kernel: 'hpcenv-analysis-zen4',
    lock: {}
  }
};
const READY_PLAN: RecreationPlan = {
  ...PLAN,
  name: 'analysis2',
  partition: 'zen2',
  kernel: 'hpcenv-analysis2-zen2',
  modules: [PLAN.modules[0]]
};

describe('missingEnvironment', () => {
  it('is the carried environment when the notebook kernel does not exist here', () => {
    expect(missingEnvironment(METADATA, ['python3'])).toEqual({
      name: 'analysis',
      partition: 'zen4',
      kernel: 'hpcenv-analysis-zen4',
      modules: METADATA.hpc_envs.modules
    });
  });

  it('is null when the kernel exists or the notebook carries nothing', () => {
    expect(missingEnvironment(METADATA, ['python3', 'hpcenv-analysis-zen4'])).toBeNull();
    expect(missingEnvironment({ kernelspec: METADATA.kernelspec }, ['python3'])).toBeNull();
    expect(missingEnvironment({ hpc_envs: 'nonsense' }, [])).toBeNull();
    expect(missingEnvironment(undefined, [])).toBeNull();
  });
});

describe('RecreateModel', () => {
  const carried = missingEnvironment(METADATA, [])!;

  it('asks for the plan of the notebook with the name and partition chosen', async () => {
    const server = new RoutedServer({ 'POST recreations': json(PLAN) });
    const model = new RecreateModel('work/analysis.ipynb', carried, server.settings());
    await model.refresh();

    expect(JSON.parse(server.calls('POST recreations')[0].body)).toEqual({
      path: 'work/analysis.ipynb',
      name: 'analysis',
      partition: 'zen4',
      dry_run: true
    });
    expect(model.plan).toEqual(PLAN);
    expect(model.missing).toEqual(['SciPy-bundle/2023.07-gfbf-2023a']);
    expect(model.ready).toBe(false);
  });

  it('keeps the refusal and the field it names', async () => {
    const server = new RoutedServer({
      'POST recreations': json(
        { message: "An environment named 'analysis' exists already.", field: 'name' },
        409
      )
    });
    const model = new RecreateModel('a.ipynb', carried, server.settings());
    await model.refresh();

    expect(model.plan).toBeNull();
    expect(model.error).toContain('exists already');
    expect(model.field).toBe('name');
    expect(model.ready).toBe(false);
  });

  it('creates the environment, follows its build and answers its kernel', async () => {
    const building = task({ id: 't1', state: 'running', env: 'analysis2', partition: 'zen2' });
    const server = new RoutedServer({
      'POST recreations': json({ plan: READY_PLAN, task: building }, 202),
      'GET tasks/t1': json({ ...building, state: 'succeeded' })
    });
    const model = new RecreateModel('a.ipynb', carried, server.settings(), 1);
    model.name = 'analysis2';
    model.partition = 'zen2';

    await expect(model.recreate()).resolves.toBe('hpcenv-analysis2-zen2');
    expect(JSON.parse(server.calls('POST recreations')[0].body)).toEqual({
      path: 'a.ipynb',
      name: 'analysis2',
      partition: 'zen2'
    });
    expect(model.task?.state).toBe('succeeded');
  });

  it('says why when the build fails', async () => {
    const building = task({ id: 't2', state: 'running' });
    const server = new RoutedServer({
      'POST recreations': json({ plan: READY_PLAN, task: building }, 202),
      'GET tasks/t2': json({ ...building, state: 'failed', message: 'pip found no tabulate' })
    });
    const model = new RecreateModel('a.ipynb', carried, server.settings(), 1);

    await expect(model.recreate()).rejects.toThrow('pip found no tabulate');
  });
});

describe('RecreateBody', () => {
  const carried = missingEnvironment(METADATA, [])!;

  it('shows each module and what it becomes, the packages and what is missing', async () => {
    const server = new RoutedServer({ 'POST recreations': json(PLAN) });
    const model = new RecreateModel('a.ipynb', carried, server.settings());
    await model.refresh();
    const body = new RecreateBody(model, ['zen2', 'zen4'], trans);

    const items = [...body.node.querySelectorAll('.jp-HpcEnvs-recreate-modules li')];
    expect(items.map(li => li.textContent)).toEqual([
      PYTHON,
      'SciPy-bundle/2023.07-gfbf-2023a: none here (no SciPy-bundle of generation 2023a here)'
    ]);
    expect(items[1].classList.contains('jp-mod-missing')).toBe(true);
    expect(find(body.node, '.jp-HpcEnvs-recreate-packages').textContent).toBe(
      'and 1 package pinned to its version: tabulate==0.8.10'
    );
    expect(find(body.node, '.jp-HpcEnvs-recreate-error').textContent).toBe(
      'Partition zen4 has no module for SciPy-bundle/2023.07-gfbf-2023a: choose another partition.'
    );
    expect(body.getValue()).toEqual({ name: 'analysis', partition: 'zen4' });
    body.dispose();
  });

  it('asks for the plan again when the partition changes', async () => {
    const server = new RoutedServer({ 'POST recreations': json(PLAN) });
    const model = new RecreateModel('a.ipynb', carried, server.settings());
    await model.refresh();
    const body = new RecreateBody(model, ['zen2', 'zen4'], trans);
    server.routes['POST recreations'] = json({ ...READY_PLAN, name: 'analysis' });

    const select = find<HTMLSelectElement>(body.node, '.jp-HpcEnvs-recreate-partition');
    select.value = 'zen2';
    select.dispatchEvent(new Event('change'));
    await new Promise(resolve => model.changed.connect(() => resolve(undefined)));

    expect(JSON.parse(server.calls('POST recreations')[1].body).partition).toBe('zen2');
    expect(find(body.node, '.jp-HpcEnvs-recreate-error').textContent).toBe('');
    expect(body.node.querySelectorAll('.jp-HpcEnvs-recreate-modules li')).toHaveLength(1);
    body.dispose();
  });
});

describe('moveText', () => {
  it('says a module that becomes another with the reason', () => {
    expect(
      moveText({ from: 'Python/3.11.3-GCCcore-12.3.0', to: PYTHON, reason: 'the newest' }, trans)
    ).toBe(`Python/3.11.3-GCCcore-12.3.0 → ${PYTHON} (the newest)`);
  });
});
