/**
 * HpcEnvsModel and TaskLog: how replies of the server become state, signals and followed tasks.
 *
 * `fetch` is faked (see fake-server.ts): there is no Jupyter server in jsdom. The replies are the
 * real server's, recorded on the demo site (fixtures.ts).
 */
import { ITaskLog } from '../tokens';
import { filterEnvironments, HpcEnvsModel, partitionStatuses, TaskLog } from '../model';
import { json, RoutedServer } from './fake-server';
import { environment, INFO, MODULES, SITE, task } from './fixtures';

const TASK_ID = task().id;

/**
 * A server with the site, no environment and no task, plus `routes`.
 */
function server(routes: ConstructorParameters<typeof RoutedServer>[0] = {}): RoutedServer {
  return new RoutedServer({
    'GET info': json(INFO),
    'GET site': json(SITE),
    'GET envs': json({ environments: [] }),
    'GET tasks': json({ tasks: [] }),
    'GET kernel-jobs': json({ jobs: [] }),
    ...routes
  });
}

/**
 * A log route that gives `chunks` one after the other, then the end.
 */
function logRoute(chunks: { text: string; state?: string; step?: string }[]) {
  return (request: { query: URLSearchParams }) => {
    const offset = Number(request.query.get('offset') ?? '0');
    let at = 0;
    for (const chunk of chunks) {
      if (offset === at) {
        return json({
          text: chunk.text,
          offset: at + chunk.text.length,
          state: chunk.state ?? 'running',
          step: chunk.step ?? ''
        });
      }
      at += chunk.text.length;
    }
    return json({ text: '', offset: at, state: chunks[chunks.length - 1].state, step: 'done' });
  };
}

/**
 * A kernel spec manager that counts its refreshes.
 */
class Specs {
  refreshes = 0;
  refreshSpecs(): Promise<void> {
    this.refreshes++;
    return Promise.resolve();
  }
}

describe('HpcEnvsModel', () => {
  let model: HpcEnvsModel | null = null;

  afterEach(() => {
    model?.dispose();
    model = null;
  });

  it('holds the info, the site, the environments and the tasks after a refresh', async () => {
    const fake = server({
      'GET envs': json({ environments: [environment('zeta'), environment('Alpha')] })
    });
    model = new HpcEnvsModel({ serverSettings: fake.settings() });

    await model.refresh();

    expect(model.info).toEqual(INFO);
    expect(model.site?.partition).toBe('zen4');
    expect(model.environments.map(e => e.name)).toEqual(['Alpha', 'zeta']);
    expect(model.error).toBeNull();
    expect(model.isLoading).toBe(false);
  });

  it("holds the server's message when a refresh fails", async () => {
    const fake = server({ 'GET info': json({ message: 'The site is being scanned' }, 503) });
    model = new HpcEnvsModel({ serverSettings: fake.settings() });

    await model.refresh();

    expect(model.info).toBeNull();
    expect(model.error).toBe('The site is being scanned');
  });

  it('clears the error when a later refresh succeeds', async () => {
    const fake = server({ 'GET site': json({ message: 'down' }, 500) });
    model = new HpcEnvsModel({ serverSettings: fake.settings() });
    await model.refresh();
    fake.routes['GET site'] = json(SITE);

    await model.refresh();

    expect(model.error).toBeNull();
    expect(model.site).not.toBeNull();
  });

  it('signals the start and the end of a refresh', async () => {
    model = new HpcEnvsModel({ serverSettings: server().settings() });
    const seen: boolean[] = [];
    model.stateChanged.connect(sender => {
      seen.push(sender.isLoading);
    });

    await model.refresh();

    expect(seen).toEqual([true, false]);
  });

  it('asks the server to rescan when told to', async () => {
    const fake = server();
    model = new HpcEnvsModel({ serverSettings: fake.settings() });

    await model.refresh(true);

    expect(fake.calls('GET site')[0].query.get('refresh')).toBe('1');
  });

  it('refreshes at once when given a refresh interval', async () => {
    model = new HpcEnvsModel({ serverSettings: server().settings() });
    const loaded = new Promise<void>(resolve => {
      model!.stateChanged.connect(sender => {
        if (sender.info) {
          resolve();
        }
      });
    });

    model.refreshInterval = 3600;

    await loaded;
    expect(model.info).toEqual(INFO);
  });

  it('follows the tasks it finds running, as after a page reload', async () => {
    // Given the server runs a build started before the page was loaded
    const fake = server({
      'GET tasks': json({ tasks: [task({ state: 'running' })] }),
      [`GET tasks/${TASK_ID}/log`]: logRoute([
        { text: 'Building science\n', step: 'venv' },
        { text: 'Kernel registered.\n', state: 'succeeded' }
      ]),
      [`GET tasks/${TASK_ID}`]: json(task({ state: 'succeeded', message: 'Done.' }))
    });
    const specs = new Specs();
    model = new HpcEnvsModel({ serverSettings: fake.settings(), kernelSpecs: specs });
    const started: ITaskLog[] = [];
    model.taskStarted.connect((_, log) => started.push(log));
    const finished = new Promise(resolve => model!.taskFinished.connect((_, t) => resolve(t)));

    // When the model loads
    await model.refresh();

    // Then it follows the build to its end, and refreshes the kernels and environments then
    expect(started.map(l => l.task.id)).toEqual([TASK_ID]);
    await expect(finished).resolves.toMatchObject({ state: 'succeeded', message: 'Done.' });
    expect(started[0].text).toBe('Building science\nKernel registered.\n');
    expect(specs.refreshes).toBe(1);
    expect(fake.calls('GET envs').length).toBe(2);
    expect(model.tasks[0].state).toBe('succeeded');
  });

  it('does not follow finished tasks', async () => {
    const fake = server({ 'GET tasks': json({ tasks: [task({ state: 'failed' })] }) });
    model = new HpcEnvsModel({ serverSettings: fake.settings() });
    let started = 0;
    model.taskStarted.connect(() => started++);

    await model.refresh();

    expect(started).toBe(0);
    expect(fake.calls(`GET tasks/${TASK_ID}/log`)).toEqual([]);
  });

  it('posts a new environment and follows its build', async () => {
    const fake = server({
      'POST envs': json({ task: task({ state: 'pending', step: '' }) }, 202),
      [`GET tasks/${TASK_ID}/log`]: logRoute([{ text: 'ok\n', state: 'succeeded' }]),
      [`GET tasks/${TASK_ID}`]: json(task({ state: 'succeeded' }))
    });
    model = new HpcEnvsModel({ serverSettings: fake.settings() });
    const request = {
      name: 'science',
      kind: 'venv' as const,
      modules: ['Python/3.11.7-GCCcore-12.3.0'],
      partition: 'zen4',
      packages: [],
      options: { system_site_packages: true, pip_options: [] }
    };

    const log = await model.createEnvironment(request);

    expect(JSON.parse(fake.calls('POST envs')[0].body)).toEqual(request);
    expect(log.task.id).toBe(TASK_ID);
    await expect(log.finished).resolves.toMatchObject({ state: 'succeeded' });
  });

  it("rejects a refused creation with the server's message and field", async () => {
    const fake = server({
      'POST envs': json({ message: "'1bad' is not a valid environment name", field: 'name' }, 400)
    });
    model = new HpcEnvsModel({ serverSettings: fake.settings() });

    const call = model.createEnvironment({
      name: '1bad',
      kind: 'venv',
      modules: [],
      partition: 'zen4',
      packages: [],
      options: { system_site_packages: true, pip_options: [] }
    });

    await expect(call).rejects.toMatchObject({
      message: "'1bad' is not a valid environment name",
      field: 'name',
      status: 400
    });
  });

  it('refreshes the kernel specs when a rebuild only registered a kernel', async () => {
    const fake = server({
      'POST envs/science/builds': json({ task: null, message: 'A build was ready.' })
    });
    const specs = new Specs();
    model = new HpcEnvsModel({ serverSettings: fake.settings(), kernelSpecs: specs });

    const outcome = await model.rebuild('science', 'zen4', false);

    expect(outcome).toBe('A build was ready.');
    expect(JSON.parse(fake.calls('POST envs/science/builds')[0].body)).toEqual({
      partition: 'zen4',
      force: false
    });
    expect(specs.refreshes).toBe(1);
  });

  it('refreshes the kernel specs and the environments after a removal', async () => {
    const fake = server({
      'DELETE envs/science': json({ removed: ['kernel hpcenv-science-zen4'] })
    });
    const specs = new Specs();
    model = new HpcEnvsModel({ serverSettings: fake.settings(), kernelSpecs: specs });

    const removed = await model.remove('science', 'zen4');

    expect(removed).toEqual(['kernel hpcenv-science-zen4']);
    expect(fake.calls('DELETE envs/science')[0].query.get('partition')).toBe('zen4');
    expect(specs.refreshes).toBe(1);
    expect(fake.calls('GET envs').length).toBe(1);
  });

  it('refreshes the kernel specs after registering kernels again', async () => {
    const fake = server({
      'POST envs/science/kernels': json({ kernels: ['hpcenv-science-zen4'] })
    });
    const specs = new Specs();
    model = new HpcEnvsModel({ serverSettings: fake.settings(), kernelSpecs: specs });

    await expect(model.registerKernels('science', null)).resolves.toEqual(['hpcenv-science-zen4']);
    expect(fake.calls('POST envs/science/kernels')[0].body).toBe('{}');
    expect(specs.refreshes).toBe(1);
  });

  it('asks for a catalog once, and again after a failure', async () => {
    const fake = server({ 'GET modules': json({ message: 'Lmod did not answer' }, 503) });
    model = new HpcEnvsModel({ serverSettings: fake.settings() });
    await expect(model.modules('zen4', null)).rejects.toThrow('Lmod did not answer');
    fake.routes['GET modules'] = json({
      partition: 'zen4',
      module_system: 'lmod',
      modules: MODULES
    });

    await model.modules('zen4', null);
    await model.modules('zen4', null);

    expect(fake.calls('GET modules').length).toBe(2);
    expect(fake.calls('GET modules')[1].query.get('partition')).toBe('zen4');
  });

  it('sends the packages to uninstall as repeated query arguments', async () => {
    const fake = server({
      'DELETE envs/science/packages': json({ task: task({ kind: 'packages' }) }, 202),
      [`GET tasks/${TASK_ID}/log`]: logRoute([{ text: '', state: 'succeeded' }])
    });
    model = new HpcEnvsModel({ serverSettings: fake.settings() });

    await model.uninstall('science', 'zen4', ['six', 'icecream']);

    const query = fake.calls('DELETE envs/science/packages')[0].query;
    expect(query.getAll('package')).toEqual(['six', 'icecream']);
    expect(query.get('partition')).toBe('zen4');
  });

  it('stops signalling once disposed, and can be disposed twice', async () => {
    const fake = server();
    model = new HpcEnvsModel({ serverSettings: fake.settings() });
    let signals = 0;
    model.stateChanged.connect(() => signals++);

    model.dispose();
    model.dispose();
    await model.refresh();

    expect(model.isDisposed).toBe(true);
    expect(signals).toBe(0);
    expect(fake.received).toEqual([]);
  });
});

describe('TaskLog', () => {
  it('streams the log from the offset it got to, then reads the final record', async () => {
    const fake = server({
      [`GET tasks/${TASK_ID}/log`]: logRoute([
        { text: 'one\n', step: 'modules' },
        { text: 'two\n', step: 'venv' },
        { text: 'three\n', state: 'failed', step: 'pip' }
      ]),
      [`GET tasks/${TASK_ID}`]: json(task({ state: 'failed', message: 'pip failed' }))
    });
    const log = new TaskLog({ task: task(), serverSettings: fake.settings() });
    const chunks: string[] = [];
    log.changed.connect((_, text) => chunks.push(text));

    log.start();
    const final = await log.finished;

    expect(chunks.filter(Boolean)).toEqual(['one\n', 'two\n', 'three\n']);
    expect(fake.calls(`GET tasks/${TASK_ID}/log`).map(r => r.query.get('offset'))).toEqual([
      '0',
      '4',
      '8',
      '14'
    ]);
    expect(final).toMatchObject({ state: 'failed', message: 'pip failed' });
    expect(log.isFinal).toBe(true);
    log.dispose();
  });

  it('retries when the server cannot be reached, and says so meanwhile', async () => {
    let calls = 0;
    const fake = server({
      [`GET tasks/${TASK_ID}/log`]: request =>
        ++calls === 1
          ? { error: new TypeError('Failed to fetch') }
          : logRoute([{ text: 'back\n', state: 'succeeded' }])(request)
    });
    const log = new TaskLog({ task: task(), serverSettings: fake.settings(), retryDelay: 1 });
    const errors: (string | null)[] = [];
    log.changed.connect(sender => errors.push(sender.error));

    log.start();
    await log.finished;

    expect(errors[0]).not.toBeNull();
    expect(log.error).toBeNull();
    expect(log.text).toBe('back\n');
    log.dispose();
  });

  it('ends as interrupted when the server no longer knows the task', async () => {
    const fake = server({
      [`GET tasks/${TASK_ID}/log`]: json({ message: 'There is no task.' }, 404)
    });
    const log = new TaskLog({ task: task(), serverSettings: fake.settings() });

    log.start();

    await expect(log.finished).resolves.toMatchObject({ state: 'interrupted' });
    log.dispose();
  });
});

describe('partitionStatuses', () => {
  it('tells ready, not registered, building, failed and not built apart', () => {
    const partitions = [
      ...SITE.partitions,
      { ...SITE.partitions[1], name: 'zen4-big', default: false },
      { ...SITE.partitions[0], name: 'zen3', arch: 'zen3' },
      { ...SITE.partitions[0], name: 'zen5', arch: 'zen5' }
    ];
    const env = environment('science', {
      builds: {
        ...environment().builds,
        zen2: { ...environment().builds.zen4, arch: 'zen2', state: 'failed', error: 'pip failed' },
        zen5: { ...environment().builds.zen4, arch: 'zen5', state: 'building' }
      }
    });

    const statuses = partitionStatuses(env, partitions);

    expect(statuses.map(s => [s.partition.name, s.status])).toEqual([
      ['zen2', 'failed'],
      ['zen4', 'ready'],
      ['zen4-big', 'unregistered'],
      ['zen3', 'none'],
      ['zen5', 'building']
    ]);
  });

  it('counts a running build task of the partition as building', () => {
    const env = environment('science', { builds: {}, kernels: [] });

    const [zen2, zen4] = partitionStatuses(env, SITE.partitions, [
      task({ env: 'science', partition: 'zen4', state: 'running' })
    ]);

    expect(zen2.status).toBe('none');
    expect(zen4.status).toBe('building');
    expect(zen4.task?.id).toBe(TASK_ID);
  });
});

describe('filterEnvironments', () => {
  it('matches every word in the name, the modules or the packages', () => {
    const envs = [
      environment('science'),
      environment('torch', { modules: ['Python/3.12.1-GCCcore-13.2.0'], packages: ['torch'] })
    ];

    expect(filterEnvironments(envs, 'SCIPY').map(e => e.name)).toEqual(['science']);
    expect(filterEnvironments(envs, 'python 3.12').map(e => e.name)).toEqual(['torch']);
    expect(filterEnvironments(envs, '  ')).toBe(envs);
    expect(filterEnvironments(envs, 'nothing')).toEqual([]);
  });
});
