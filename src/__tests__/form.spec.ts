/**
 * CreateEnvironmentForm: what the creation form shows and sends.
 *
 * The models are the real ones over a faked `fetch` (fake-server.ts) with the real server's
 * replies (fixtures.ts).
 */
import { CreateFormModel } from '../formmodel';
import { HpcEnvsModel } from '../model';
import { ITaskLog } from '../tokens';
import { CreateEnvironmentForm } from '../widgets/form';
import { json, RoutedServer } from './fake-server';
import { environment, INFO, MODULES, modulesFor, SITE, task } from './fixtures';
import { click, dispose, find, settle, show, type } from './render';

const PYTHON = 'Python/3.11.7-GCCcore-12.3.0';
const SCIPY = 'SciPy-bundle/2023.07-gfbf-2023a';

describe('CreateEnvironmentForm', () => {
  let model: HpcEnvsModel;
  let form: CreateEnvironmentForm;
  let fake: RoutedServer;
  let created: ITaskLog[];

  beforeEach(async () => {
    fake = new RoutedServer({
      'GET info': json(INFO),
      'GET site': json(SITE),
      'GET envs': json({ environments: [environment('science')] }),
      'GET tasks': json({ tasks: [] }),
      'GET modules': request => {
        const python = request.query.get('python');
        return json({
          partition: request.query.get('partition'),
          module_system: 'lmod',
          modules: python ? modulesFor(python) : MODULES
        });
      }
    });
    model = new HpcEnvsModel({ serverSettings: fake.settings() });
    await model.refresh();
    created = [];
    form = await show(
      new CreateEnvironmentForm({
        model: new CreateFormModel({ model }),
        onCreated: log => created.push(log)
      })
    );
    await settle();
  });

  afterEach(async () => {
    await dispose(form);
    model.dispose();
  });

  it('says why a name is refused as it is typed', async () => {
    const name = find<HTMLInputElement>(form.node, '.jp-HpcEnvs-name');

    await type(name, '1bad');
    const refused = find(form.node, '.jp-HpcEnvs-fieldError').textContent;
    await type(name, 'good');

    expect(refused).toContain('starting with a letter');
    expect(name.getAttribute('aria-invalid')).toBeNull();
    expect(form.node.querySelector('.jp-HpcEnvs-fieldError')).toBeNull();
  });

  it('offers conda disabled, with the site policy', () => {
    const conda = find<HTMLInputElement>(form.node, 'input[value="conda"]');

    expect(conda.disabled).toBe(true);
    expect(find(form.node, '.jp-HpcEnvs-kind').textContent).toContain(
      'Conda is discouraged on this cluster.'
    );
  });

  it('flags the home folder with its quota warning', () => {
    const roots = [...form.node.querySelectorAll('.jp-HpcEnvs-root')].map(r => r.textContent);

    expect(roots[0]).toContain('$VSC_DATA');
    expect(roots[2]).toContain('very small quota');
  });

  it('filters the Python modules and lists compatible modules first, others disabled with the reason', async () => {
    await type(find<HTMLInputElement>(form.node, '.jp-HpcEnvs-pythonFilter'), '3.11');
    const pythons = [...form.node.querySelectorAll('.jp-HpcEnvs-python option')].map(
      o => o.textContent
    );
    await type(find<HTMLSelectElement>(form.node, '.jp-HpcEnvs-python'), PYTHON);

    const modules = [...form.node.querySelectorAll('.jp-HpcEnvs-module')];
    expect(pythons).toEqual([PYTHON]);
    expect(modules.map(m => m.querySelector('input')?.disabled)).toEqual([
      false,
      false,
      false,
      true
    ]);
    expect(modules[3].textContent).toContain('SciPy-bundle/2022.05-foss-2022a');
    expect(modules[3].textContent).toContain('different generations');
  });

  it('sends the form and hands over the build task', async () => {
    fake.routes['POST envs'] = json({ task: task({ env: 'data', state: 'pending' }) }, 202);
    fake.routes[`GET tasks/${task().id}/log`] = json({
      text: '',
      offset: 0,
      state: 'succeeded',
      step: ''
    });
    await type(find<HTMLInputElement>(form.node, '.jp-HpcEnvs-name'), 'data');
    await type(find<HTMLSelectElement>(form.node, '.jp-HpcEnvs-python'), PYTHON);
    await click(find(form.node, `.jp-HpcEnvs-module input[value="${SCIPY}"]`));
    await type(find<HTMLTextAreaElement>(form.node, '.jp-HpcEnvs-packages'), 'icecream');

    await click(find(form.node, '.jp-HpcEnvs-create'));

    expect(JSON.parse(fake.calls('POST envs')[0].body)).toMatchObject({
      name: 'data',
      modules: [PYTHON, SCIPY],
      partition: 'zen4',
      root: '$VSC_DATA',
      packages: ['icecream']
    });
    expect(created.map(l => l.task.env)).toEqual(['data']);
  });

  it("shows the server's refusal next to the field it is about", async () => {
    fake.routes['POST envs'] = json(
      { message: 'The storage root /site/data is not writable.', field: 'root' },
      400
    );
    await type(find<HTMLInputElement>(form.node, '.jp-HpcEnvs-name'), 'data');
    await type(find<HTMLSelectElement>(form.node, '.jp-HpcEnvs-python'), PYTHON);

    await click(find(form.node, '.jp-HpcEnvs-create'));

    const roots = find(form.node, '.jp-HpcEnvs-roots');
    expect(find(roots, '.jp-HpcEnvs-fieldError').textContent).toBe(
      'The storage root /site/data is not writable.'
    );
    expect(roots.getAttribute('aria-describedby')).toBe(find(roots, '.jp-HpcEnvs-fieldError').id);
    expect(created).toEqual([]);
  });

  it('labels every control', () => {
    const controls = [...form.node.querySelectorAll('input, select, textarea')];
    const unlabelled = controls.filter(
      c =>
        !c.getAttribute('aria-label') &&
        !(c.id && form.node.querySelector(`label[for="${c.id}"]`)) &&
        !c.closest('label')
    );

    expect(unlabelled).toEqual([]);
  });
});
