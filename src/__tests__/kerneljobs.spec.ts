/**
 * Kernel jobs: the API calls and their schema, how the model follows them (closely while one waits
 * in the queue), the side panel's "Kernel jobs" section, and the notification of a start waiting
 * in the queue.
 *
 * `fetch` is faked (see fake-server.ts): there is no Jupyter server in jsdom. The replies are the
 * real server's, recorded on the demo site (fixtures.ts).
 */
import { Notification } from '@jupyterlab/apputils';
import { nullTranslator } from '@jupyterlab/translation';
import { CommandRegistry } from '@lumino/commands';
import { ReadonlyPartialJSONObject } from '@lumino/coreutils';
import { Signal } from '@lumino/signaling';
import { Session } from '@jupyterlab/services';

import { cancelKernelJob, listKernelJobs } from '../api';
import { CommandIDs } from '../commands';
import { HpcEnvsModel } from '../model';
import { KernelJobNotifier } from '../notifications';
import { HpcEnvsPanel } from '../widgets/panel';
import { json, Route, RoutedServer } from './fake-server';
import {
  environment,
  INFO,
  KERNEL_JOB_CANCEL_REPLY,
  KERNEL_JOB_CANCELLED,
  KERNEL_JOB_PENDING,
  KERNEL_JOB_RUNNING,
  KERNEL_JOB_SUBMITTING,
  KERNEL_JOB_TERMINAL,
  SITE
} from './fixtures';
import { click, dispose, find, settle, show } from './render';

const ID = KERNEL_JOB_PENDING.kernel_id;

/**
 * A server with the site and an environment, whose kernel jobs are `jobs`.
 */
function server(jobs: Route = json({ jobs: [] })): RoutedServer {
  return new RoutedServer({
    'GET info': json(INFO),
    'GET site': json(SITE),
    'GET envs': json({ environments: [environment('science')] }),
    'GET tasks': json({ tasks: [] }),
    'GET kernel-jobs': jobs
  });
}

/**
 * A kernel-jobs route that answers with `replies` one after the other, then the last one again.
 */
function sequence(...replies: unknown[][]): Route {
  let call = 0;
  return () => json({ jobs: replies[Math.min(call++, replies.length - 1)] });
}

/**
 * Wait until a condition holds (the model polls on its own timers).
 */
async function until(condition: () => boolean, timeout = 2000): Promise<void> {
  const end = Date.now() + timeout;
  while (!condition()) {
    if (Date.now() > end) {
      throw new Error('The condition did not hold in time');
    }
    await settle(() => new Promise(resolve => setTimeout(resolve, 5)));
  }
}

describe('listKernelJobs and cancelKernelJob', () => {
  it('list the jobs with the fields the UI shows, and defaults for those not known yet', async () => {
    const fake = server(json({ jobs: [KERNEL_JOB_SUBMITTING] }));

    const [job] = await listKernelJobs(fake.settings());

    expect(job).toEqual({
      kernel_id: ID,
      kind: 'kernel',
      env: 'science',
      partition: 'zen2',
      job_name: 'hpc-envs-kernel:science:d9d4b2b8',
      job_id: '',
      host: '',
      state: 'SUBMITTING',
      reason: '',
      start: '',
      message: 'submitting',
      resources: {
        partition: 'zen2',
        time: '2:00:00',
        cpus: 1,
        memory: '',
        gpus: 0,
        account: ''
      },
      submitted: 1795559146.724269,
      started: null,
      ended: null,
      time_limit: null,
      start_time: null,
      end_time: null,
      end_reason: null
    });
  });

  it('cancel a job with a DELETE of the kernel id', async () => {
    const fake = server();
    fake.routes[`DELETE kernel-jobs/${ID}`] = json(KERNEL_JOB_CANCEL_REPLY);

    const reply = await cancelKernelJob(ID, fake.settings());

    expect(fake.calls(`DELETE kernel-jobs/${ID}`)).toHaveLength(1);
    expect(reply).toEqual(KERNEL_JOB_CANCEL_REPLY);
  });
});

describe('HpcEnvsModel and the kernel jobs', () => {
  let model: HpcEnvsModel;

  afterEach(() => {
    model.dispose();
  });

  it('has the kernel jobs after a refresh', async () => {
    model = new HpcEnvsModel({
      serverSettings: server(json({ jobs: [KERNEL_JOB_RUNNING] })).settings()
    });

    await model.refresh();

    expect(model.kernelJobs.map(j => [j.env, j.state, j.message])).toEqual([
      ['science', 'RUNNING', 'running on vm']
    ]);
  });

  it('still shows the environments when the kernel jobs cannot be had', async () => {
    const warn = jest.spyOn(console, 'warn').mockImplementation(() => undefined);
    model = new HpcEnvsModel({
      serverSettings: server(json({ message: 'down' }, 500)).settings()
    });

    await model.refresh();

    expect(model.error).toBeNull();
    expect(model.environments.map(e => e.name)).toEqual(['science']);
    expect(model.kernelJobs).toEqual([]);
    expect(warn).toHaveBeenCalled();
    warn.mockRestore();
  });

  it('follows a job waiting in the queue every few moments until it runs, then stops', async () => {
    const fake = server(sequence([KERNEL_JOB_PENDING], [KERNEL_JOB_PENDING], [KERNEL_JOB_RUNNING]));
    model = new HpcEnvsModel({ serverSettings: fake.settings(), kernelJobsInterval: 5 });
    const states: string[] = [];
    model.kernelJobsChanged.connect((_, jobs) => states.push(jobs[0]?.state));

    await model.refresh();
    await until(() => model.kernelJobs[0]?.state === 'RUNNING');
    const asked = fake.calls('GET kernel-jobs').length;
    await settle(() => new Promise(resolve => setTimeout(resolve, 50)));

    expect(asked).toBe(3);
    expect(fake.calls('GET kernel-jobs')).toHaveLength(3);
    expect(states).toEqual(['PENDING', 'RUNNING']);
  });

  it('pauses following a queued job while the page is hidden, and asks at once when shown', async () => {
    const hidden = jest.spyOn(document, 'hidden', 'get').mockReturnValue(true);
    const fake = server(sequence([KERNEL_JOB_PENDING], [KERNEL_JOB_RUNNING]));
    model = new HpcEnvsModel({ serverSettings: fake.settings(), kernelJobsInterval: 5 });
    let whileHidden: number;
    try {
      await model.refresh();
      await settle(() => new Promise(resolve => setTimeout(resolve, 50)));
      whileHidden = fake.calls('GET kernel-jobs').length;
      hidden.mockReturnValue(false);
      document.dispatchEvent(new Event('visibilitychange'));
      await until(() => model.kernelJobs[0]?.state === 'RUNNING');
    } finally {
      hidden.mockRestore();
    }

    expect(whileHidden).toBe(1);
    expect(fake.calls('GET kernel-jobs')).toHaveLength(2);
  });

  it('follows the kernel jobs closely for a while when a kernel start is noticed', async () => {
    const fake = server(sequence([], [KERNEL_JOB_SUBMITTING], [KERNEL_JOB_RUNNING]));
    model = new HpcEnvsModel({
      serverSettings: fake.settings(),
      kernelJobsInterval: 5,
      kernelJobsWatch: 100
    });

    model.watchKernelJobs();
    await until(() => model.kernelJobs[0]?.state === 'RUNNING');
    await settle(() => new Promise(resolve => setTimeout(resolve, 150)));
    const asked = fake.calls('GET kernel-jobs').length;
    await settle(() => new Promise(resolve => setTimeout(resolve, 50)));

    expect(asked).toBeGreaterThan(3);
    expect(fake.calls('GET kernel-jobs')).toHaveLength(asked);
  });

  it('answers calls made while a request is under way with one more request', async () => {
    const fake = server(json({ jobs: [] }));
    model = new HpcEnvsModel({ serverSettings: fake.settings() });

    await Promise.all([
      model.refreshKernelJobs(),
      model.refreshKernelJobs(),
      model.refreshKernelJobs(),
      model.refreshKernelJobs()
    ]);

    expect(fake.calls('GET kernel-jobs')).toHaveLength(2);
  });

  it('cancels a job and shows the jobs as they are afterwards', async () => {
    const fake = server(sequence([KERNEL_JOB_PENDING], []));
    fake.routes[`DELETE kernel-jobs/${ID}`] = json(KERNEL_JOB_CANCEL_REPLY);
    model = new HpcEnvsModel({ serverSettings: fake.settings(), kernelJobsInterval: 60000 });
    await model.refreshKernelJobs();

    await model.cancelKernelJob(ID);

    expect(fake.calls(`DELETE kernel-jobs/${ID}`)).toHaveLength(1);
    expect(model.kernelJobs).toEqual([]);
  });
});

/**
 * The sessions of a server, as the panel reads them (the session manager's `running()` and
 * `runningChanged`); `set` changes them.
 */
function fakeSessions(initial: { path: string; kernel: { id: string } }[]): {
  manager: Session.IManager;
  set: (models: { path: string; kernel: { id: string } }[]) => void;
} {
  let models = initial;
  const changed = new Signal<unknown, unknown>({});
  const manager = {
    running: () => models[Symbol.iterator](),
    runningChanged: changed
  } as unknown as Session.IManager;
  return {
    manager,
    set: next => {
      models = next;
      changed.emit(next);
    }
  };
}

describe('The kernel jobs section of the side panel', () => {
  let model: HpcEnvsModel;
  let panel: HpcEnvsPanel;
  let runs: [string, ReadonlyPartialJSONObject][];

  async function open(jobs: unknown[], sessions?: Session.IManager): Promise<void> {
    model = new HpcEnvsModel({
      serverSettings: server(json({ jobs })).settings(),
      kernelJobsInterval: 60000
    });
    const commands = new CommandRegistry();
    runs = [];
    commands.addCommand(CommandIDs.cancelKernelJob, {
      execute: args => void runs.push([CommandIDs.cancelKernelJob, args])
    });
    panel = await show(new HpcEnvsPanel({ model, commands, sessions }));
    await settle(() => model.refresh());
  }

  afterEach(async () => {
    await dispose(panel);
    model.dispose();
  });

  it('is not there when there is no kernel job', async () => {
    await open([]);

    expect(panel.node.querySelector('.jp-HpcEnvs-kernelJobs')).toBeNull();
  });

  it('shows a running job with its environment, partition, state and where it runs', async () => {
    await open([KERNEL_JOB_RUNNING]);

    const row = find(panel.node, `.jp-HpcEnvs-kernelJob[data-kernel-id="${ID}"]`);
    expect(row.dataset.state).toBe('RUNNING');
    expect(find(row, '.jp-HpcEnvs-kernelJob-name').textContent).toBe('science (zen2)');
    expect(find(row, '.jp-HpcEnvs-chip').textContent).toBe('RUNNING');
    expect(find(row, '.jp-HpcEnvs-chip').className).toContain('jp-mod-running');
    expect(find(row, '.jp-HpcEnvs-kernelJob-message').textContent).toBe('running on vm');
    expect(find(row, '.jp-HpcEnvs-kernelJob-resources').textContent).toBe('2:00:00 · 1 CPU');
    expect(row.querySelector('.jp-HpcEnvs-kernelJob-cancel')).toBeNull();
  });

  it('offers to cancel a job waiting in the queue', async () => {
    await open([KERNEL_JOB_PENDING]);

    const row = find(panel.node, `.jp-HpcEnvs-kernelJob[data-kernel-id="${ID}"]`);
    await click(find(row, '.jp-HpcEnvs-kernelJob-cancel'));

    expect(find(row, '.jp-HpcEnvs-kernelJob-message').textContent).toBe(
      'pending (Resources), estimated start 22:35'
    );
    expect(runs).toEqual([[CommandIDs.cancelKernelJob, { kernel_id: ID }]]);
  });

  it('says why a job ended, naming the environment and partition once', async () => {
    await open([KERNEL_JOB_CANCELLED]);

    const row = find(panel.node, `.jp-HpcEnvs-kernelJob[data-kernel-id="${ID}"]`);
    expect(find(row, '.jp-HpcEnvs-chip').className).toContain('jp-mod-cancelled');
    expect(find(row, '.jp-HpcEnvs-kernelJob-message').textContent).toBe(
      "the kernel's job 3 on vm was cancelled outside of Jupyter (scancel)."
    );
    expect(row.textContent?.split('science (zen2)')).toHaveLength(2);
  });

  it('shows the job id, the notebook using the kernel and when the job started', async () => {
    const sessions = fakeSessions([
      { path: 'work/analysis.ipynb', kernel: { id: ID } },
      { path: 'other.ipynb', kernel: { id: 'another-kernel' } }
    ]);
    await open([KERNEL_JOB_RUNNING], sessions.manager);

    const row = find(panel.node, `.jp-HpcEnvs-kernelJob[data-kernel-id="${ID}"]`);
    const started = new Date(KERNEL_JOB_RUNNING.started * 1000).toLocaleTimeString([], {
      hour: '2-digit',
      minute: '2-digit'
    });
    expect(find(row, '.jp-HpcEnvs-kernelJob-id').textContent).toBe('job 3');
    expect(find(row, '.jp-HpcEnvs-kernelJob-notebook').textContent).toBe('analysis.ipynb');
    expect(find(row, '.jp-HpcEnvs-kernelJob-notebook').title).toBe('Used by work/analysis.ipynb');
    expect(find(row, '.jp-HpcEnvs-kernelJob-start').textContent).toBe(`started ${started}`);

    // When the notebook is closed (its session ends), it is no longer named
    await settle(() => sessions.set([]));
    expect(row.querySelector('.jp-HpcEnvs-kernelJob-notebook')).toBeNull();
  });

  it('lists a terminal opened on another partition and offers to cancel its job', async () => {
    await open([KERNEL_JOB_TERMINAL]);

    const row = find(panel.node, '.jp-HpcEnvs-kernelJob[data-kernel-id="terminal:456"]');
    await click(find(row, '.jp-HpcEnvs-kernelJob-cancel'));

    expect(row.dataset.kind).toBe('terminal');
    expect(find(row, '.jp-HpcEnvs-kernelJob-name').textContent).toBe('Terminal: science (zen2)');
    expect(find(row, '.jp-HpcEnvs-kernelJob-id').textContent).toBe('job 456');
    expect(runs).toEqual([[CommandIDs.cancelKernelJob, { kernel_id: 'terminal:456' }]]);
  });
});

describe('KernelJobNotifier', () => {
  let model: HpcEnvsModel;
  let notifier: KernelJobNotifier;
  let cancelled: string[];

  function open(fake: RoutedServer): void {
    model = new HpcEnvsModel({ serverSettings: fake.settings(), kernelJobsInterval: 60000 });
    cancelled = [];
    notifier = new KernelJobNotifier({
      model,
      trans: nullTranslator.load('jupyterlab_hpc_envs'),
      cancel: id => cancelled.push(id)
    });
  }

  function shown(): Notification.INotification | undefined {
    const id = notifier.notificationOf(ID);
    return Notification.manager.notifications.find(n => n.id === id);
  }

  afterEach(() => {
    notifier.dispose();
    model.dispose();
    Notification.dismiss();
  });

  it('shows a start waiting in the queue in progress, with its reason and estimated start', async () => {
    open(server(json({ jobs: [KERNEL_JOB_PENDING] })));

    await model.refreshKernelJobs();

    expect(shown()?.type).toBe('in-progress');
    expect(shown()?.message).toBe('science (zen2): pending (Resources), estimated start 22:35');
  });

  it('updates the notification as the message changes', async () => {
    const earlier = { ...KERNEL_JOB_PENDING, message: 'pending (Resources)', start: 'N/A' };
    open(server(sequence([earlier], [KERNEL_JOB_PENDING])));
    await model.refreshKernelJobs();
    const id = notifier.notificationOf(ID);

    await model.refreshKernelJobs();

    expect(notifier.notificationOf(ID)).toBe(id);
    expect(shown()?.message).toBe('science (zen2): pending (Resources), estimated start 22:35');
  });

  it('dismisses the notification when the job runs', async () => {
    open(server(sequence([KERNEL_JOB_PENDING], [KERNEL_JOB_RUNNING])));
    await model.refreshKernelJobs();
    const id = notifier.notificationOf(ID);

    await model.refreshKernelJobs();

    expect(notifier.notificationOf(ID)).toBeUndefined();
    expect(Notification.manager.notifications.find(n => n.id === id)).toBeUndefined();
  });

  it('shows nothing for a start that did not wait in the queue', async () => {
    open(server(sequence([KERNEL_JOB_SUBMITTING], [KERNEL_JOB_RUNNING])));

    await model.refreshKernelJobs();
    await model.refreshKernelJobs();

    expect(Notification.manager.notifications).toEqual([]);
  });

  it('offers to cancel the job from the notification', async () => {
    open(server(json({ jobs: [KERNEL_JOB_PENDING] })));
    await model.refreshKernelJobs();

    shown()?.options.actions?.[0].callback(new MouseEvent('click'));

    expect(shown()?.options.actions?.map(a => a.label)).toEqual(['Cancel job']);
    expect(cancelled).toEqual([ID]);
  });
});
