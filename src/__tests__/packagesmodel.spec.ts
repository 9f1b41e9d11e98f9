/**
 * PackagesModel: loading, filtering, the partitions offered, and reloading after a task.
 *
 * `fetch` is faked (see fake-server.ts); the replies are the real server's (fixtures.ts).
 */
import { HpcEnvsModel } from '../model';
import {
  condaRows,
  condaSpecName,
  filterCondaRows,
  filterPackages,
  PackagesModel
} from '../packagesmodel';
import { json, RoutedServer } from './fake-server';
import {
  CONDA_PACKAGES,
  condaEnvironment,
  environment,
  INFO,
  PACKAGES,
  SITE,
  task
} from './fixtures';

describe('filterPackages', () => {
  it('matches words in the name, version or module, and one source', () => {
    const rows = PACKAGES.packages;

    expect(filterPackages(rows, 'NUM').map(p => p.name)).toEqual(['numpy']);
    expect(filterPackages(rows, 'scipy-bundle').map(p => p.name)).toEqual(['numpy']);
    expect(filterPackages(rows, 'pip 23').map(p => p.version)).toEqual(['23.2.1']);
    expect(filterPackages(rows, '', 'venv').map(p => p.name)).toEqual(['icecream', 'pip']);
    expect(filterPackages(rows, '')).toBe(rows);
  });
});

describe('PackagesModel', () => {
  let model: HpcEnvsModel;
  let packages: PackagesModel;
  let fake: RoutedServer;

  beforeEach(async () => {
    const env = environment('science', {
      builds: {
        ...environment().builds,
        zen2: { ...environment().builds.zen4, arch: 'zen2', state: 'failed' }
      }
    });
    fake = new RoutedServer({
      'GET info': json(INFO),
      'GET site': json(SITE),
      'GET envs': json({ environments: [env] }),
      'GET tasks': json({ tasks: [] }),
      'GET kernel-jobs': json({ jobs: [] }),
      'POST envs/science/packages/listing': json(PACKAGES)
    });
    model = new HpcEnvsModel({ serverSettings: fake.settings() });
    await model.refresh();
    packages = new PackagesModel({ model, name: 'science', partition: 'zen4' });
  });

  afterEach(() => {
    packages.dispose();
    model.dispose();
  });

  it('loads the packages of the partition', async () => {
    await packages.refresh();

    expect(packages.rows.length).toBe(4);
    expect(packages.sources).toEqual(['venv', 'module', 'base']);
    expect(JSON.parse(fake.calls('POST envs/science/packages/listing')[0].body)).toEqual({
      partition: 'zen4'
    });
  });

  it('exports the requirements with a POST (it runs the listing) naming the partition', async () => {
    fake.routes['POST envs/science/requirements'] = json({ text: 'six==1.16.0\n' });

    expect(await model.requirements('science', 'zen4')).toBe('six==1.16.0\n');
    expect(JSON.parse(fake.calls('POST envs/science/requirements')[0].body)).toEqual({
      partition: 'zen4'
    });
  });

  it('offers only the partitions with a ready build', () => {
    expect(packages.partitions.map(p => p.name)).toEqual(['zen4']);
  });

  it("holds the server's message when the listing fails", async () => {
    fake.routes['POST envs/science/packages/listing'] = json(
      { message: 'science has no ready build for partition zen4' },
      409
    );

    await packages.refresh();

    expect(packages.error).toBe('science has no ready build for partition zen4');
  });

  it('lists the packages again when a task of the same build ends', async () => {
    const id = task().id;
    fake.routes['POST envs/science/packages'] = json(
      { task: task({ kind: 'packages', title: 'Install six' }) },
      202
    );
    fake.routes[`GET tasks/${id}/log`] = json({
      text: '',
      offset: 0,
      state: 'succeeded',
      step: ''
    });
    fake.routes[`GET tasks/${id}`] = json(task({ kind: 'packages', state: 'succeeded' }));
    const reloaded = new Promise<void>(resolve =>
      model.taskFinished.connect(() => setTimeout(resolve, 0))
    );

    const log = await packages.install(['six'], true);
    await reloaded;

    expect(JSON.parse(fake.calls('POST envs/science/packages')[0].body)).toEqual({
      partition: 'zen4',
      packages: ['six'],
      upgrade: true
    });
    expect(log.task.kind).toBe('packages');
    expect(fake.calls('POST envs/science/packages/listing').length).toBe(1);
  });
});

describe('condaRows', () => {
  it('lists the conda packages by name, the requested ones marked, then what pip installed', () => {
    const data = {
      ...CONDA_PACKAGES,
      pip_packages: ['icecream'],
      packages: [
        ...CONDA_PACKAGES.packages,
        {
          ...CONDA_PACKAGES.packages[0],
          name: 'icecream',
          key: 'icecream',
          version: '2.1.3',
          conda: null
        }
      ]
    };

    const rows = condaRows(data);

    expect(rows.map(r => [r.name, r.requested, r.pip])).toEqual([
      ['hpc-envs-hook', true, false],
      ['ipykernel', true, false],
      ['jupyter-client', false, false],
      ['pip', false, false],
      ['pygments', false, false],
      ['python', true, false],
      ['tornado', false, false],
      ['icecream', true, true]
    ]);
    expect(rows[0].channel).toBe('file:///site/conda-channel');
    expect(rows[7].channel).toBe('pip');
  });

  it('marks a package requested by a spec of the environment even without the record', () => {
    const data = {
      ...CONDA_PACKAGES,
      requested: ['conda-forge::Tornado>=6'],
      conda_packages: CONDA_PACKAGES.conda_packages.map(p => ({ ...p, requested: [] }))
    };

    expect(
      condaRows(data)
        .filter(r => r.requested)
        .map(r => r.name)
    ).toEqual(['tornado']);
  });

  it('filters by name, version, build or channel', () => {
    const rows = condaRows(CONDA_PACKAGES);

    expect(filterCondaRows(rows, 'py311').map(r => r.name)).toEqual(['tornado']);
    expect(filterCondaRows(rows, 'PYTHON 3.11').map(r => r.name)).toEqual(['python']);
    expect(filterCondaRows(rows, '')).toBe(rows);
  });

  it.each([
    ['numpy', 'numpy'],
    ['numpy>=1.26', 'numpy'],
    ['numpy 1.26.*', 'numpy'],
    ['conda-forge::NumPy=1.26', 'numpy']
  ])('reads the name of %s', (spec, name) => {
    expect(condaSpecName(spec)).toBe(name);
  });
});

describe('PackagesModel of a conda environment', () => {
  let model: HpcEnvsModel;
  let packages: PackagesModel;
  let fake: RoutedServer;

  beforeEach(async () => {
    fake = new RoutedServer({
      'GET info': json(INFO),
      'GET site': json(SITE),
      'GET envs': json({ environments: [condaEnvironment('forge')] }),
      'GET tasks': json({ tasks: [] }),
      'GET kernel-jobs': json({ jobs: [] }),
      'POST envs/forge/packages/listing': json(CONDA_PACKAGES)
    });
    model = new HpcEnvsModel({ serverSettings: fake.settings() });
    await model.refresh();
    packages = new PackagesModel({ model, name: 'forge', partition: 'zen4' });
    await packages.refresh();
  });

  afterEach(() => {
    packages.dispose();
    model.dispose();
  });

  it('lists the conda packages first, and the Python distributions on demand', () => {
    expect(packages.kind).toBe('conda');
    expect(packages.listing).toBe('conda');
    expect(packages.total).toBe(7);

    packages.setListing('python');

    expect(packages.listing).toBe('python');
    expect(packages.total).toBe(5);
  });

  it('filters the conda listing', () => {
    packages.setQuery('hook');

    expect(packages.condaRows.map(r => r.name)).toEqual(['hpc-envs-hook']);
  });

  it('updates every package with one task', async () => {
    const id = task().id;
    fake.routes['POST envs/forge/packages/update-all'] = json(
      { task: task({ kind: 'packages', env: 'forge', title: 'Update all in forge (zen4)' }) },
      202
    );
    fake.routes[`GET tasks/${id}/log`] = json({ text: '', offset: 0, state: 'running', step: '' });

    const log = await packages.updateAll();

    expect(JSON.parse(fake.calls('POST envs/forge/packages/update-all')[0].body)).toEqual({
      partition: 'zen4'
    });
    expect(log.task.title).toBe('Update all in forge (zen4)');
  });
});
