/**
 * The migration dialog: its model asks the server for the plan of each choice (a late answer to
 * an older choice is dropped), and its body shows the plan and gives the choice to build.
 *
 * The plans are the real server's reply shape (openapi.yaml, `MigrationPlan`), answered by a
 * faked `fetch` through the real model.
 */
import { nullTranslator } from '@jupyterlab/translation';

import { MigrationPlan } from '../api';
import { MigrationModel } from '../migrationmodel';
import { HpcEnvsModel } from '../model';
import { MigrationBody, newerGenerationThere } from '../widgets/migration';
import { json, RoutedServer } from './fake-server';
import { MODULES } from './fixtures';
import { dispose, find, settle, show } from './render';

const trans = nullTranslator.load('jupyterlab_hpc_envs');

function plan(to: string, newName = `science-${to}`): MigrationPlan {
  const python = to === '2023b' ? 'Python/3.12.1-GCCcore-13.2.0' : 'Python/3.11.7-GCCcore-12.3.0';
  return {
    name: 'science',
    new_name: newName,
    partition: 'zen4',
    from: '2023a',
    to,
    generations: ['2022a', '2023a', '2023b'],
    modules: [
      {
        from: 'Python/3.11.7-GCCcore-12.3.0',
        to: python,
        reason: `the newest Python of generation ${to}`
      },
      {
        from: 'tqdm/4.66.1-GCCcore-12.3.0',
        to: null,
        reason: `no tqdm of generation ${to} here (it has tqdm of 2023a)`
      }
    ],
    unmatched: ['tqdm/4.66.1-GCCcore-12.3.0'],
    provided: [{ package: 'numpy', module: 'SciPy-bundle/2023.11-gfbf-2023b', version: '1.26.2' }],
    packages: ['tabulate==0.8.10', 'PyYAML'],
    unavailable: [
      {
        package: 'PyYAML==6.0',
        reason: 'No matching distribution found for PyYAML==6.0',
        instead: 'PyYAML'
      }
    ]
  };
}

describe('MigrationModel', () => {
  let model: HpcEnvsModel;
  let fake: RoutedServer;

  function serve(answer: (to: string | null, as: string | null) => MigrationPlan | null): void {
    fake = new RoutedServer({
      'GET envs/science/migration': request => {
        const found = answer(request.query.get('to'), request.query.get('as'));
        return found
          ? json(found)
          : json({ message: 'An environment named taken exists already', field: 'as' }, 409);
      }
    });
    model = new HpcEnvsModel({ serverSettings: fake.settings() });
  }

  afterEach(() => model.dispose());

  it('starts from the newest generation, then plans each choice', async () => {
    serve((to, as) => (as === 'taken' ? null : plan(to ?? '2023b', as ?? undefined)));
    const migration = new MigrationModel('science', 'zen4', (n, r) => model.migrationPlan(n, r));

    await migration.load();

    expect(fake.calls('GET envs/science/migration')[0].query.toString()).toBe('partition=zen4');
    expect(migration.generation).toBe('2023b');
    expect(migration.ready).toBe(true);
    expect(migration.request).toEqual({ partition: 'zen4', to: '2023b', as: null });

    await migration.setGeneration('2022a');
    expect(fake.calls('GET envs/science/migration')[1].query.get('to')).toBe('2022a');
    expect(migration.plan?.new_name).toBe('science-2022a');

    await migration.setNewName('  taken ');
    expect(migration.error).toBe('An environment named taken exists already');
    expect(migration.ready).toBe(false);

    await migration.setNewName('science-next');
    expect(migration.error).toBeNull();
    expect(migration.request).toEqual({ partition: 'zen4', to: '2022a', as: 'science-next' });
  });

  it('drops the answer to an older choice that comes late', async () => {
    serve(to => plan(to ?? '2023b'));
    const answers: ((p: MigrationPlan) => void)[] = [];
    const migration = new MigrationModel(
      'science',
      'zen4',
      () => new Promise<MigrationPlan>(resolve => answers.push(resolve))
    );
    const first = migration.setGeneration('2022a');
    const second = migration.setGeneration('2023b');
    answers[1](plan('2023b'));
    await second;
    answers[0](plan('2022a'));
    await first;

    expect(migration.plan?.to).toBe('2023b');
    expect(migration.generation).toBe('2023b');
    expect(migration.busy).toBe(false);
  });
});

describe('MigrationBody', () => {
  it('shows each module before and after, what is left out and why, and its value', async () => {
    let answer = plan('2023b');
    const migration = new MigrationModel('science', 'zen4', async (_n, r) => {
      answer = plan(r.to ?? '2023b');
      return answer;
    });
    const body = await show(new MigrationBody(migration, trans));
    expect(body.getValue()).toBeNull();
    await settle(() => migration.load());

    const rows = [...body.node.querySelectorAll('.jp-HpcEnvs-migration-modules tr')];
    expect(rows.map(r => [...r.querySelectorAll('td')].map(td => td.textContent))).toEqual([
      ['Python/3.11.7-GCCcore-12.3.0', '→', 'Python/3.12.1-GCCcore-13.2.0'],
      ['tqdm/4.66.1-GCCcore-12.3.0', '→', '(none: left out)']
    ]);
    expect(rows[1].classList.contains('jp-mod-unmatched')).toBe(true);
    expect(find(body.node, '.jp-HpcEnvs-migration-provided').textContent).toBe(
      'numpy: provided by SciPy-bundle/2023.11-gfbf-2023b (1.26.2), not installed into the venv'
    );
    expect(find(body.node, '.jp-HpcEnvs-migration-unavailable').textContent).toContain(
      'PyYAML==6.0: No matching distribution found'
    );
    const picker = find<HTMLSelectElement>(body.node, '.jp-HpcEnvs-migration-generation');
    expect([...picker.options].map(o => o.textContent)).toEqual([
      '2022a',
      '2023a (its own)',
      '2023b'
    ]);
    expect(picker.value).toBe('2023b');
    expect(body.getValue()).toEqual({ partition: 'zen4', to: '2023b', as: null });
    await dispose(body);
  });
});

describe('newerGenerationThere', () => {
  it("is true where a Python module of a newer generation than the environment's is", () => {
    const science = ['Python/3.11.7-GCCcore-12.3.0', 'SciPy-bundle/2023.07-gfbf-2023a'];
    expect(newerGenerationThere(science, MODULES)).toBe(true);
    expect(newerGenerationThere(['Python/3.12.1-GCCcore-13.2.0'], MODULES)).toBe(false);
    const without2023b = MODULES.filter(m => m.generation !== '2023b');
    expect(newerGenerationThere(science, without2023b)).toBe(false);
    // A Python module the catalog does not have (gone: the build is stale) tells nothing here.
    expect(newerGenerationThere(['Python/3.11.3-GCCcore-12.3.0'], MODULES)).toBe(false);
  });
});
