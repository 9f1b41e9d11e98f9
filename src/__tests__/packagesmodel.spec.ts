/**
 * PackagesModel: loading, filtering, the partitions offered, and reloading after a task.
 *
 * `fetch` is faked (see fake-server.ts); the replies are the real server's (fixtures.ts).
 */
import { HpcEnvsModel } from '../model';
import { filterPackages, PackagesModel } from '../packagesmodel';
import { json, RoutedServer } from './fake-server';
import { environment, INFO, PACKAGES, SITE, task } from './fixtures';

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
      'GET envs/science/packages': json(PACKAGES)
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
    expect(fake.calls('GET envs/science/packages')[0].query.get('partition')).toBe('zen4');
  });

  it('offers only the partitions with a ready build', () => {
    expect(packages.partitions.map(p => p.name)).toEqual(['zen4']);
  });

  it("holds the server's message when the listing fails", async () => {
    fake.routes['GET envs/science/packages'] = json(
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
    expect(fake.calls('GET envs/science/packages').length).toBe(1);
  });
});
