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
import {
  acceptCreate,
  CONDA_INFO,
  environment,
  INFO,
  MODULES,
  modulesFor,
  SITE,
  SITE_WITH_VO
} from './fixtures';
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
      'GET kernel-jobs': json({ jobs: [] }),
      'GET conda': json({
        ...CONDA_INFO,
        engine: null,
        engines: [],
        how_to_get: 'No conda engine was found: install Miniconda into $VSC_DATA.'
      }),
      'GET conda/environments': json({ environments: [] }),
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

  it('offers the other partitions to build on at once, as checkboxes', async () => {
    const also = find(form.node, '.jp-HpcEnvs-alsoPartitions');
    const boxes = [...also.querySelectorAll<HTMLInputElement>('input[type="checkbox"]')];
    expect(boxes.map(b => b.parentElement?.textContent)).toEqual(['zen2']);

    await click(boxes[0]);

    expect(boxes[0].checked).toBe(true);
    expect(form.model.alsoPartitions).toEqual(['zen2']);
  });

  it('offers conda disabled, with how to get an engine, where the server has none', () => {
    const conda = find<HTMLInputElement>(form.node, 'input[value="conda"]');

    expect(conda.disabled).toBe(true);
    expect(find(form.node, '.jp-HpcEnvs-condaReason').textContent).toBe(
      'No conda engine was found: install Miniconda into $VSC_DATA.'
    );
    expect(conda.getAttribute('aria-describedby')).toBe(
      find(form.node, '.jp-HpcEnvs-condaReason').id
    );
  });

  describe('with a conda engine', () => {
    const handmade = {
      name: 'science',
      prefix: '/site/data/miniconda3/envs/science',
      python: '3.11.7',
      managed_as: '',
      adoptable: true,
      reason: ''
    };

    beforeEach(async () => {
      await dispose(form);
      model.dispose();
      fake.routes['GET conda'] = json(CONDA_INFO);
      fake.routes['GET conda/environments'] = json({ environments: [handmade] });
      model = new HpcEnvsModel({ serverSettings: fake.settings() });
      await model.refresh();
      form = await show(
        new CreateEnvironmentForm({
          model: new CreateFormModel({ model }),
          onCreated: log => created.push(log)
        })
      );
      await settle();
      await click(find(form.node, 'input[value="conda"]'));
    });

    it("shows the conda fields instead of the module pickers, with the site's message first", () => {
      expect(form.node.querySelector('.jp-HpcEnvs-python')).toBeNull();
      expect(form.node.querySelector('.jp-HpcEnvs-moduleList')).toBeNull();
      expect(find(form.node, '.jp-HpcEnvs-condaWarning').textContent).toBe(CONDA_INFO.message);
      expect(find(form.node, '.jp-HpcEnvs-condaPython')).toBeTruthy();
      expect(find(form.node, '.jp-HpcEnvs-selectedChannels').textContent).toContain(
        'file:///site/conda-channel'
      );
      expect(
        [...form.node.querySelectorAll('.jp-HpcEnvs-channelChoice code')].map(c => c.textContent)
      ).toEqual(['conda-forge', 'intel']);
      expect(form.node.querySelector('.jp-HpcEnvs-advanced')).toBeNull();
    });

    it('sends a conda environment with a channel added in front', async () => {
      acceptCreate(fake, 'forge');
      await type(find<HTMLInputElement>(form.node, '.jp-HpcEnvs-name'), 'forge');
      await type(find<HTMLInputElement>(form.node, '.jp-HpcEnvs-condaPython'), '3.11');
      await type(find<HTMLTextAreaElement>(form.node, '.jp-HpcEnvs-packages'), 'hpc-envs-hook');
      await click(find(form.node, 'button[aria-label="Use the channel intel"]'));
      await click(find(form.node, 'button[aria-label="Try intel earlier"]'));

      await click(find(form.node, '.jp-HpcEnvs-create'));

      expect(JSON.parse(fake.calls('POST envs')[0].body)).toEqual({
        name: 'forge',
        kind: 'conda',
        modules: [],
        partition: 'zen4',
        root: '$VSC_DATA',
        packages: ['hpc-envs-hook'],
        python: '3.11',
        channels: ['intel', 'file:///site/conda-channel']
      });
      expect(created.map(l => l.task.env)).toEqual(['forge']);
    });

    it('labels every conda control', () => {
      const controls = [...form.node.querySelectorAll('input, select, textarea')];
      const unlabelled = controls.filter(
        c =>
          !c.getAttribute('aria-label') &&
          !(c.id && form.node.querySelector(`label[for="${c.id}"]`)) &&
          !c.closest('label')
      );

      expect(unlabelled).toEqual([]);
    });

    it('adopts a conda environment made by hand', async () => {
      fake.routes['POST envs/adopt'] = json(
        { name: 'science-1', home: '', arch: 'zen4', modules: [], kernel: 'hpcenv-science-1-zen4' },
        201
      );
      const item = find(form.node, `.jp-HpcEnvs-adoptItem[data-prefix="${handmade.prefix}"]`);

      await click(find(item, '.jp-HpcEnvs-adoptButton'));

      expect(JSON.parse(fake.calls('POST envs/adopt')[0].body)).toEqual({
        path: handmade.prefix
      });
      expect(find(form.node, '.jp-HpcEnvs-adoptResult').textContent).toContain(
        'hpcenv-science-1-zen4'
      );
    });
  });

  it('flags the home folder with its quota warning', () => {
    const roots = [...form.node.querySelectorAll('.jp-HpcEnvs-root')].map(r => r.textContent);

    expect(roots[0]).toContain('$VSC_DATA');
    expect(roots[2]).toContain('very small quota');
  });

  it('filters the Python modules and lists compatible modules first, others disabled with the reason', async () => {
    await type(find<HTMLInputElement>(form.node, '.jp-HpcEnvs-pythonFilter'), '3.11');
    const pythons = [...form.node.querySelectorAll('.jp-HpcEnvs-python option:not([hidden])')].map(
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

  it('says that no Python module is chosen until one is', async () => {
    const none = (): Element | null => form.node.querySelector('.jp-HpcEnvs-python-none');
    const before = none()?.textContent;
    const select = find<HTMLSelectElement>(form.node, '.jp-HpcEnvs-python');
    const selected = [...select.options].filter(o => o.selected).map(o => [o.value, o.hidden]);

    await type(find<HTMLSelectElement>(form.node, '.jp-HpcEnvs-python'), PYTHON);

    expect(before).toBe('No Python module chosen yet: click one.');
    // (no module selected: only the hidden placeholder, which the user never sees)
    expect(selected).toEqual([['', true]]);
    expect(none()).toBeNull();
  });

  it('says which chosen modules a new Python module takes out, and why', async () => {
    await type(find<HTMLSelectElement>(form.node, '.jp-HpcEnvs-python'), PYTHON);
    await click(find(form.node, `.jp-HpcEnvs-module input[value="${SCIPY}"]`));

    await type(
      find<HTMLSelectElement>(form.node, '.jp-HpcEnvs-python'),
      'Python/3.12.1-GCCcore-13.2.0'
    );

    const dropped = find(form.node, '.jp-HpcEnvs-droppedModules');
    expect(dropped.getAttribute('role')).toBe('status');
    expect(find(dropped, `li[data-module="${SCIPY}"]`).textContent).toContain(
      'is generation 2023a but Python/3.12.1-GCCcore-13.2.0 is 2023b'
    );
    expect(form.node.querySelector('.jp-HpcEnvs-selectedModules')).toBeNull();
  });

  it('sends the form and hands over the build task', async () => {
    acceptCreate(fake, 'data');
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

  it('shares the environment with the VO when asked, instead of a storage root', async () => {
    expect(form.node.querySelector('.jp-HpcEnvs-shared')).toBeNull();
    fake.routes['GET site'] = json(SITE_WITH_VO);
    await settle(() => model.refresh());
    acceptCreate(fake, 'team');
    await type(find<HTMLInputElement>(form.node, '.jp-HpcEnvs-name'), 'team');
    await type(find<HTMLSelectElement>(form.node, '.jp-HpcEnvs-python'), PYTHON);

    await click(find(form.node, '.jp-HpcEnvs-shared input[type="checkbox"]'));
    const radios = [
      ...form.node.querySelectorAll<HTMLInputElement>('.jp-HpcEnvs-roots input[type="radio"]')
    ];
    await click(find(form.node, '.jp-HpcEnvs-create'));

    expect(find(form.node, '.jp-HpcEnvs-shared').textContent).toContain('/site/vo');
    expect(radios.every(r => r.disabled)).toBe(true);
    const body = JSON.parse(fake.calls('POST envs')[0].body);
    expect(body.shared).toBe(true);
    expect(body.root).toBeUndefined();
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
