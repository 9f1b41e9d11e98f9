/**
 * CreateFormModel: validation as the user types, defaults from the site and the settings, the
 * module catalogs, the request sent, and the server's refusals put next to their field.
 *
 * `fetch` is faked (see fake-server.ts); the replies are the real server's (fixtures.ts).
 */
import { CreateFormModel, splitCondaSpecs, splitSpecs, validateEnvName } from '../formmodel';
import { HpcEnvsModel } from '../model';
import { json, RoutedServer } from './fake-server';
import {
  acceptCreate,
  CONDA_INFO,
  environment,
  INFO,
  mendableEnvironment,
  MODULES,
  modulesFor,
  SITE,
  SITE_WITH_VO
} from './fixtures';

const PYTHON = 'Python/3.11.7-GCCcore-12.3.0';
const SCIPY = 'SciPy-bundle/2023.07-gfbf-2023a';
const OLD_SCIPY = 'SciPy-bundle/2022.05-foss-2022a';

/**
 * Resolve once the form's state satisfies `test`.
 */
function until(form: CreateFormModel, test: () => boolean): Promise<void> {
  return new Promise(resolve => {
    if (test()) {
      resolve();
      return;
    }
    const check = (): void => {
      if (test()) {
        form.stateChanged.disconnect(check);
        resolve();
      }
    };
    form.stateChanged.connect(check);
  });
}

describe('validateEnvName', () => {
  // The server's own cases (jupyterlab_hpc_envs/tests/test_names.py).
  it.each(['science', 'torch-2.1', 'my_env', 'A1', 'a.b'])('accepts %s', name => {
    expect(validateEnvName(name, SITE.rules)).toBeNull();
  });

  it.each([
    'a;rm -rf ~',
    'a$(id)',
    'a`id`',
    'a\nb',
    'a\x00b',
    'a b',
    '../etc',
    'a|b',
    "'a'",
    'sciеnce', // a Cyrillic е
    'x'.repeat(49), // one more than the server's limit
    '',
    ' science',
    '1abc',
    'a..b',
    'a.',
    'adopt'
  ])('refuses %j with a reason', name => {
    expect(validateEnvName(name, SITE.rules)).toEqual(expect.any(String));
  });

  it('refuses a name taken, whatever its case', () => {
    expect(validateEnvName('Science', SITE.rules, ['science'])).toContain('exists already');
  });
});

describe('splitSpecs', () => {
  it('splits on spaces and lines, keeps specifiers whole and drops comments', () => {
    expect(splitSpecs('icecream tqdm>=4.66\nnumpy >= 1.25, <2  # pinned\n\n# all\nsix')).toEqual([
      'icecream',
      'tqdm>=4.66',
      'numpy>=1.25,<2',
      'six'
    ]);
  });
});

describe('splitCondaSpecs', () => {
  it('keeps a version written apart with its package, as conda reads a quoted spec', () => {
    expect(
      splitCondaSpecs(
        'numpy 1.26.* scipy >=1.11\npython = 3.11  # the kernel\nintel::mkl hpc-envs-hook'
      )
    ).toEqual(['numpy 1.26.*', 'scipy>=1.11', 'python=3.11', 'intel::mkl', 'hpc-envs-hook']);
  });
});

describe("the site's rules", () => {
  it('checks a name against the rules the server sent, not a copy of its own', () => {
    const rules = { ...SITE.rules, name_max: 6, reserved_names: ['adopt', 'tmp'] };

    expect(validateEnvName('science', rules)).toContain('at most 6 characters');
    expect(validateEnvName('Tmp', rules)).toContain('reserved');
    expect(validateEnvName('torch', { ...rules, name_pattern: '^[a-z]+-[0-9]+$' })).toEqual(
      expect.stringContaining('Use ASCII letters')
    );
  });

  it("offers the pip options of the site's reply, and no other", async () => {
    const site = { ...SITE, pip_options: ['--pre', '--no-deps'] };
    const fake = new RoutedServer({
      'GET info': json(INFO),
      'GET site': json(site),
      'GET envs': json({ environments: [] }),
      'GET tasks': json({ tasks: [] }),
      'GET kernel-jobs': json({ jobs: [] }),
      'GET modules': json({ partition: 'zen4', module_system: 'lmod', modules: MODULES })
    });
    const model = new HpcEnvsModel({ serverSettings: fake.settings() });
    await model.refresh();
    const form = new CreateFormModel({ model });

    form.setPipOption('--prefer-binary', true);
    form.setPipOption('--pre', true);

    expect(form.allowedPipOptions).toEqual(['--pre', '--no-deps']);
    expect(form.pipOptions).toEqual(['--pre']);
    form.dispose();
    model.dispose();
  });
});

describe('CreateFormModel', () => {
  let model: HpcEnvsModel;
  let form: CreateFormModel;
  let fake: RoutedServer;

  beforeEach(async () => {
    fake = new RoutedServer({
      'GET info': json(INFO),
      'GET site': json(SITE),
      'GET envs': json({ environments: [environment('science')] }),
      'GET tasks': json({ tasks: [] }),
      'GET kernel-jobs': json({ jobs: [] }),
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
  });

  afterEach(() => {
    form.dispose();
    model.dispose();
  });

  it("proposes the server's partition and the first usable storage root", async () => {
    form = new CreateFormModel({ model });

    await until(form, () => form.catalog !== null);

    expect(form.partition).toBe('zen4');
    expect(form.root).toBe('$VSC_DATA');
    expect(fake.calls('GET modules')[0].query.get('partition')).toBe('zen4');
  });

  it('proposes the partition and the storage root of the settings', () => {
    model.defaultPartition = 'zen2';
    model.defaultStorageRoot = '/site/scratch';

    form = new CreateFormModel({ model });

    expect(form.partition).toBe('zen2');
    expect(form.root).toBe('$VSC_SCRATCH');
  });

  it('offers the Python modules of the partition, and no Python module chosen for the user', async () => {
    form = new CreateFormModel({ model });

    await until(form, () => form.catalog !== null);

    expect(form.pythonModules.map(m => m.full)).toEqual([
      'Python/3.10.13-GCCcore-11.3.0',
      PYTHON,
      'Python/3.12.1-GCCcore-13.2.0'
    ]);
    expect(form.python).toBeNull();
    expect(form.canSubmit).toBe(false);
  });

  it('lists compatible modules first and will not load an incompatible one', async () => {
    form = new CreateFormModel({ model });
    await until(form, () => form.catalog !== null);

    form.setPython(PYTHON);
    await until(form, () => !form.compatLoading);
    form.toggleExtra(OLD_SCIPY, true);
    form.toggleExtra(SCIPY, true);

    const extras = form.extraModules;
    expect(extras.map(m => m.compatible)).toEqual([true, true, true, false]);
    expect(extras.find(m => m.full === OLD_SCIPY)?.reason).toContain('generation');
    expect(form.extras).toEqual([SCIPY]);
    expect(fake.calls('GET modules')[1].query.get('python')).toBe(PYTHON);
  });

  it('drops chosen modules that the new Python module cannot load, saying which and why', async () => {
    form = new CreateFormModel({ model });
    await until(form, () => form.catalog !== null);
    form.setPython(PYTHON);
    await until(form, () => !form.compatLoading);
    form.toggleExtra(SCIPY, true);

    form.setPython('Python/3.10.13-GCCcore-11.3.0');
    await until(form, () => !form.compatLoading);

    expect(form.extras).toEqual([]);
    expect(form.droppedModules.map(d => d.module)).toEqual([SCIPY]);
    expect(form.droppedModules[0].reason).toContain(
      'but Python/3.10.13-GCCcore-11.3.0 is 2022a: modules of different generations'
    );
  });

  it('forgets what it dropped once the user chooses again', async () => {
    form = new CreateFormModel({ model });
    await until(form, () => form.catalog !== null);
    form.setPython(PYTHON);
    await until(form, () => !form.compatLoading);
    form.toggleExtra(SCIPY, true);
    form.setPython('Python/3.10.13-GCCcore-11.3.0');
    await until(form, () => !form.compatLoading);

    form.setPython(PYTHON);
    await until(form, () => !form.compatLoading);

    expect(form.droppedModules).toEqual([]);
  });

  it('sends the Python module first, then the others in the order chosen', async () => {
    acceptCreate(fake, 'data');
    form = new CreateFormModel({ model });
    await until(form, () => form.catalog !== null);
    form.setName('data');
    form.setPython(PYTHON);
    await until(form, () => !form.compatLoading);
    form.toggleExtra(SCIPY, true);
    form.toggleExtra('tqdm/4.66.1-GCCcore-12.3.0', true);
    form.setRoot('$VSC_SCRATCH');
    form.setPackagesText('icecream six>=1.16');
    form.setRequirements({ name: 'req.txt', text: 'tqdm\n' });
    form.setSystemSitePackages(false);
    form.setPipOption('--prefer-binary', true);

    const log = await form.submit();

    expect(log?.task.env).toBe('data');
    expect(JSON.parse(fake.calls('POST envs')[0].body)).toEqual({
      name: 'data',
      kind: 'venv',
      modules: [PYTHON, SCIPY, 'tqdm/4.66.1-GCCcore-12.3.0'],
      partition: 'zen4',
      root: '$VSC_SCRATCH',
      packages: ['icecream', 'six>=1.16'],
      requirements: 'tqdm\n',
      options: { system_site_packages: false, pip_options: ['--prefer-binary'] }
    });
  });

  it('sends every partition chosen, the first one first, and drops the first from the others', async () => {
    acceptCreate(fake, 'both');
    form = new CreateFormModel({ model });
    await until(form, () => form.catalog !== null);
    form.setName('both');
    form.setPython(PYTHON);
    form.setAlsoPartition('zen4', true); // the first partition is not an "also"
    expect(form.alsoPartitions).toEqual([]);
    form.setAlsoPartition('zen2', true);
    expect(form.alsoPartitions).toEqual(['zen2']);

    await form.submit();

    expect(JSON.parse(fake.calls('POST envs')[0].body).partition).toEqual(['zen4', 'zen2']);
    form.setAlsoPartition('zen2', false);
    expect(form.request().partition).toBe('zen4');
  });

  it('is filled with the spec of a failed environment, the entry at fault marked, and replaces it', async () => {
    const failed = mendableEnvironment('science');
    fake.routes['GET envs'] = json({ environments: [failed] });
    await model.refresh();
    acceptCreate(fake, 'science');
    form = new CreateFormModel({ model });

    form.editFrom(failed, 'zen2', ['numpyy']);
    await until(form, () => form.catalog !== null);

    expect(form.replacing).toBe('science');
    expect(form.name).toBe('science');
    expect(form.nameError).toBeNull();
    expect(form.partition).toBe('zen2');
    expect(form.python).toBe(PYTHON);
    expect(form.extras).toEqual([SCIPY]);
    expect(form.packagesText).toBe('icecream\nnumpyy');
    expect(form.fieldErrors.packages).toContain('numpyy');

    // When the user corrects the entry and creates it again
    form.setPackagesText('icecream numpy');
    await form.submit();

    // Then the same name is sent: the server replaces the failed environment
    expect(JSON.parse(fake.calls('POST envs')[0].body)).toMatchObject({
      name: 'science',
      kind: 'venv',
      modules: [PYTHON, SCIPY],
      partition: 'zen2',
      packages: ['icecream', 'numpy']
    });
  });

  it("sends a shared environment to the VO's folder, with no storage root", async () => {
    fake.routes['GET site'] = json(SITE_WITH_VO);
    await model.refresh();
    acceptCreate(fake, 'team');
    form = new CreateFormModel({ model });
    await until(form, () => form.catalog !== null);
    expect(form.sharedRoot?.path).toBe('/site/vo');
    form.setName('team');
    form.setPython(PYTHON);
    await until(form, () => !form.compatLoading);
    form.setShared(true);

    await form.submit();

    const body = JSON.parse(fake.calls('POST envs')[0].body);
    expect(body.shared).toBe(true);
    expect(body.root).toBeUndefined();
  });

  it('offers no sharing where the site has no VO folder', async () => {
    form = new CreateFormModel({ model });
    await until(form, () => form.catalog !== null);

    expect(form.sharedRoot).toBeNull();
    expect(form.request().shared).toBeUndefined();
  });

  it('does not send a form with a bad or taken name, and says why', async () => {
    form = new CreateFormModel({ model });
    await until(form, () => form.catalog !== null);
    form.setPython(PYTHON);

    form.setName('science');
    const log = await form.submit();

    expect(log).toBeNull();
    expect(form.fieldErrors.name).toContain('exists already');
    expect(fake.calls('POST envs')).toEqual([]);
  });

  it.each<[number, { message: string; field?: string; suggestions?: string[] }, string]>([
    [400, { message: 'pip option "--index-url" is not accepted', field: 'options' }, 'options'],
    [400, { message: 'Line 2: not a requirement', field: 'requirements' }, 'packages'],
    [404, { message: "There is no partition 'zen9'.", suggestions: ['zen2', 'zen4'] }, 'partition'],
    [
      404,
      {
        message: `Module '${PYTHON}' is not available on partition 'zen4'.`,
        suggestions: ['Python/3.12.1-GCCcore-13.2.0']
      },
      'python'
    ],
    [409, { message: "An environment named 'data' exists already." }, 'name']
  ])('puts a %i refusal next to its field', async (status, body, field) => {
    fake.routes['POST envs'] = json(body, status);
    form = new CreateFormModel({ model });
    await until(form, () => form.catalog !== null);
    form.setName('data');
    form.setPython(PYTHON);

    await form.submit();

    expect(form.fieldErrors).toEqual({ [field]: body.message });
    expect(form.formError).toBeNull();
    expect(form.suggestions).toEqual(body.suggestions ?? []);
  });

  it('shows a failure that is about no field for the whole form, and clears it on a change', async () => {
    fake.routes['POST envs'] = { error: new TypeError('Failed to fetch') };
    form = new CreateFormModel({ model });
    await until(form, () => form.catalog !== null);
    form.setName('data');
    form.setPython(PYTHON);

    await form.submit();
    expect(form.formError).toEqual(expect.any(String));
    form.setName('data2');

    expect(form.formError).toBeNull();
  });
});

describe('CreateFormModel with conda', () => {
  let model: HpcEnvsModel;
  let form: CreateFormModel;
  let fake: RoutedServer;

  beforeEach(async () => {
    fake = new RoutedServer({
      'GET info': json(INFO),
      'GET site': json(SITE),
      'GET envs': json({ environments: [environment('science')] }),
      'GET tasks': json({ tasks: [] }),
      'GET kernel-jobs': json({ jobs: [] }),
      'GET modules': json({ partition: 'zen4', module_system: 'lmod', modules: MODULES }),
      'GET conda': json(CONDA_INFO),
      'GET conda/environments': json({ environments: [] })
    });
    model = new HpcEnvsModel({ serverSettings: fake.settings() });
    await model.refresh();
  });

  afterEach(() => {
    form.dispose();
    model.dispose();
  });

  it('offers conda when the site does not forbid it and an engine exists', async () => {
    form = new CreateFormModel({ model });

    await until(form, () => form.condaInfo !== null);
    form.setKind('conda');

    expect(form.condaStatus).toEqual({ available: true, reason: '', loading: false });
    expect(form.kind).toBe('conda');
    expect(form.channels).toEqual(['file:///site/conda-channel']);
  });

  it('keeps conda disabled with how to get an engine when there is none', async () => {
    const how = 'No conda engine was found: install Miniconda into $VSC_DATA.';
    fake.routes['GET conda'] = json({ ...CONDA_INFO, engine: null, engines: [], how_to_get: how });
    form = new CreateFormModel({ model });
    await until(form, () => form.condaInfo !== null);

    form.setKind('conda');

    expect(form.condaStatus).toEqual({ available: false, reason: how, loading: false });
    expect(form.kind).toBe('venv');
  });

  it("keeps conda disabled with the site's message when the site forbids it", async () => {
    const message = 'Conda environments are not allowed on this cluster.';
    fake.routes['GET conda'] = json({ ...CONDA_INFO, policy: 'forbidden', message });
    form = new CreateFormModel({ model });
    await until(form, () => form.condaInfo !== null);

    expect(form.condaStatus.available).toBe(false);
    expect(form.condaStatus.reason).toBe(message);
  });

  it("tells the user the site's message before a conda environment is made where conda is discouraged", async () => {
    fake.routes['GET conda'] = json({ ...CONDA_INFO, warnings: ['~/.local/lib conflicts'] });
    form = new CreateFormModel({ model });

    await until(form, () => form.condaInfo !== null);

    expect(form.condaWarnings).toEqual([CONDA_INFO.message, '~/.local/lib conflicts']);
  });

  it('sends no modules, the Python version, conda specs and the channels by priority', async () => {
    acceptCreate(fake, 'forge');
    form = new CreateFormModel({ model });
    await until(form, () => form.condaInfo !== null && form.catalog !== null);
    form.setPython(PYTHON);
    form.setKind('conda');
    form.setName('forge');
    form.setCondaPython(' 3.11 ');
    form.setPackagesText('numpy 1.26.* hpc-envs-hook');
    form.setChannel('intel', true);
    form.raiseChannel('intel');

    expect(form.canSubmit).toBe(true);
    await form.submit();

    expect(JSON.parse(fake.calls('POST envs')[0].body)).toEqual({
      name: 'forge',
      kind: 'conda',
      modules: [],
      partition: 'zen4',
      root: '$VSC_DATA',
      packages: ['numpy 1.26.*', 'hpc-envs-hook'],
      python: '3.11',
      channels: ['intel', 'file:///site/conda-channel']
    });
  });

  it('offers the default and the known channels, and the ones added', async () => {
    form = new CreateFormModel({ model });
    await until(form, () => form.condaInfo !== null);

    form.setChannel('https://conda.example.org/hpc', true);
    form.setChannel('file:///site/conda-channel', false);

    expect(form.channelChoices.map(c => [c.name, c.isDefault])).toEqual([
      ['file:///site/conda-channel', true],
      ['conda-forge', false],
      ['intel', false],
      ['https://conda.example.org/hpc', false]
    ]);
    expect(form.channels).toEqual(['https://conda.example.org/hpc']);
  });

  it.each<[{ message: string; field?: string }, string]>([
    [{ message: "'x y' is not a channel", field: 'channels' }, 'channels'],
    [{ message: "'3' is not a Python version", field: 'python' }, 'python'],
    [{ message: 'Conda environments are not allowed on this cluster.', field: 'kind' }, 'kind']
  ])('puts a refusal of a conda field next to it: %j', async (body, field) => {
    fake.routes['POST envs'] = json(body, 400);
    form = new CreateFormModel({ model });
    await until(form, () => form.condaInfo !== null);
    form.setKind('conda');
    form.setName('forge');

    await form.submit();

    expect(form.fieldErrors).toEqual({ [field]: body.message });
  });

  it('shows how to get an engine when the server has none at the time of sending', async () => {
    const how = 'No conda engine was found.';
    fake.routes['POST envs'] = json({ message: how }, 409);
    form = new CreateFormModel({ model });
    await until(form, () => form.condaInfo !== null);
    form.setKind('conda');
    form.setName('forge');

    await form.submit();

    expect(form.formError).toBe(how);
  });

  it('lists the conda environments made by hand and adopts one', async () => {
    const handmade = {
      name: 'science',
      prefix: '/site/data/miniconda3/envs/science',
      python: '3.11.7',
      managed_as: '',
      adoptable: true,
      reason: ''
    };
    fake.routes['GET conda/environments'] = json({ environments: [handmade] });
    fake.routes['POST envs/adopt'] = json(
      {
        name: 'science-1',
        home: '/site/data/hpc-envs/science-1',
        arch: 'zen4',
        modules: [],
        kernel: 'hpcenv-science-1-zen4'
      },
      201
    );
    form = new CreateFormModel({ model });
    await until(form, () => form.condaInfo !== null);
    form.setKind('conda');
    await until(form, () => form.condaEnvironments !== null);
    const before = fake.calls('GET envs').length;

    const ok = await form.adopt(handmade.prefix);

    expect(form.condaEnvironments).toEqual([handmade]);
    expect(ok).toBe(true);
    expect(JSON.parse(fake.calls('POST envs/adopt')[0].body)).toEqual({ path: handmade.prefix });
    expect(form.adoptResult?.message).toContain('hpcenv-science-1-zen4');
    expect(fake.calls('GET envs').length).toBeGreaterThan(before);
  });

  it("shows the server's refusal of an adoption", async () => {
    fake.routes['POST envs/adopt'] = json(
      { message: 'It does not work as a kernel: install ipykernel', field: 'path' },
      400
    );
    form = new CreateFormModel({ model });
    await until(form, () => form.condaInfo !== null);

    const ok = await form.adopt('/site/data/miniconda3/envs/bare');

    expect(ok).toBe(false);
    expect(form.adoptResult).toEqual({
      ok: false,
      message: 'It does not work as a kernel: install ipykernel'
    });
  });
});
