/**
 * TaskLogView and TaskNotifier: a task's live log in the main area, and its notification.
 *
 * The logs are real TaskLogs over a faked `fetch` (fake-server.ts).
 */
import { Dialog, Notification } from '@jupyterlab/apputils';
import { nullTranslator } from '@jupyterlab/translation';

import { HpcEnvsModel, TaskLog } from '../model';
import { TaskNotifier } from '../notifications';
import { plain, readableLine, TaskLogView } from '../widgets/tasklog';
import { json, RoutedServer } from './fake-server';
import { INFO, SITE, task } from './fixtures';
import { click, dispose, find, settle, show } from './render';

const ID = task().id;

/**
 * A log route giving `chunks` one after the other; once they are given, the task is in `last`.
 */
function logRoute(chunks: string[], last: string) {
  return (request: { query: URLSearchParams }) => {
    const offset = Number(request.query.get('offset') ?? '0');
    let at = 0;
    for (const text of chunks) {
      if (offset === at) {
        return json({ text, offset: at + text.length, state: 'running', step: 'venv' });
      }
      at += text.length;
    }
    return json({ text: '', offset: at, state: last, step: last === 'running' ? 'venv' : 'done' });
  };
}

describe('TaskLogView', () => {
  let view: TaskLogView | undefined;
  let log: TaskLog | undefined;

  afterEach(async () => {
    await dispose(view);
    log?.dispose();
  });

  /**
   * Show the log of a task whose output is `chunks`, then the task as `last`, until it ends.
   */
  async function streamed(chunks: string[], last: ReturnType<typeof task>): Promise<TaskLogView> {
    const fake = new RoutedServer({
      [`GET tasks/${ID}/log`]: logRoute(chunks, last.state),
      [`GET tasks/${ID}`]: json(last)
    });
    log = new TaskLog({ task: task(), serverSettings: fake.settings() });
    const shown = await show(new TaskLogView({ log, onCancel: () => undefined }));
    view = shown;
    await settle(() => {
      log!.start();
      return log!.finished;
    });
    return shown;
  }

  it('shows the log as it streams, with the build steps as headings, and the outcome', async () => {
    const shown = await streamed(
      ['Building science\n::hpc-envs::step venv\n::hpc-envs::info ', 'host=vm\n'],
      task({ state: 'succeeded', message: 'Done.' })
    );

    const output = find(shown.node, '.jp-HpcEnvs-taskLog-output');
    expect(output.textContent).toBe('Building science\n==> venv\n    host: vm\n');
    expect(output.textContent).not.toContain('::hpc-envs::');
    expect(find(output, '.jp-HpcEnvs-taskLog-step-marker').textContent).toBe('==> venv\n');
    expect(find(output, '.jp-HpcEnvs-taskLog-marker').textContent).toBe('    host: vm\n');
    expect(find(shown.node, '.jp-HpcEnvs-chip').textContent).toBe('succeeded');
    expect(find(shown.node, '.jp-HpcEnvs-taskLog-message').textContent).toBe('Done.');
    expect(find(shown.node, '.jp-HpcEnvs-taskLog-cancel').hidden).toBe(true);
    expect(shown.node.dataset.state).toBe('succeeded');
  });

  it("highlights pip's ERROR lines, the ones to read first", async () => {
    const shown = await streamed(
      [
        'Collecting numpyy\nERROR: Could not find a version that satisfies the requirement numpyy\n' +
          'ERROR: No matching distribution found for numpyy\nerrors are listed above\n'
      ],
      task({ state: 'failed', message: 'pip failed.' })
    );

    const output = find(shown.node, '.jp-HpcEnvs-taskLog-output');
    expect(
      [...output.querySelectorAll('.jp-HpcEnvs-taskLog-errorLine')].map(e => e.textContent)
    ).toEqual([
      'ERROR: Could not find a version that satisfies the requirement numpyy\n',
      'ERROR: No matching distribution found for numpyy\n'
    ]);
  });

  it('shows the warnings the server attached to the task above the log', async () => {
    const fake = new RoutedServer({
      [`GET tasks/${ID}/log`]: logRoute(['solving\n'], 'running')
    });
    const warned = task({
      params: { arch: 'zen4', warnings: ['Conda is discouraged at hpcdemo.', 42, ''] }
    });
    log = new TaskLog({ task: warned, serverSettings: fake.settings(), idleDelay: 10 });

    view = await show(new TaskLogView({ log }));

    const warnings = find(view.node, '.jp-HpcEnvs-taskLog-warnings');
    expect(warnings.hidden).toBe(false);
    expect([...warnings.querySelectorAll('.jp-HpcEnvs-warning')].map(w => w.textContent)).toEqual([
      'Conda is discouraged at hpcdemo.'
    ]);
  });

  it('shows no warnings area for a task without warnings', async () => {
    const fake = new RoutedServer({ [`GET tasks/${ID}/log`]: logRoute([], 'running') });
    log = new TaskLog({ task: task(), serverSettings: fake.settings(), idleDelay: 10 });

    view = await show(new TaskLogView({ log }));

    expect(find(view.node, '.jp-HpcEnvs-taskLog-warnings').hidden).toBe(true);
  });

  it('offers to cancel a running task', async () => {
    const fake = new RoutedServer({
      [`GET tasks/${ID}/log`]: logRoute(['pip install\n'], 'running')
    });
    log = new TaskLog({ task: task(), serverSettings: fake.settings(), idleDelay: 10 });
    const cancelled: string[] = [];
    view = await show(new TaskLogView({ log, onCancel: id => void cancelled.push(id) }));
    await settle(() => log!.start());

    await click(find(view.node, '.jp-HpcEnvs-taskLog-cancel'));

    expect(find(view.node, '.jp-HpcEnvs-chip').textContent).toBe('running');
    expect(find(view.node, '.jp-HpcEnvs-taskLog-step').textContent).toBe('venv');
    expect(cancelled).toEqual([ID]);
  });

  it('shows a build waiting for others as pending, with how many it waits for, and cancellable', async () => {
    const waiting = 'waiting for 2 builds to finish (at most 1 at a time)';
    const fake = new RoutedServer({
      [`GET tasks/${ID}/log`]: (request: { query: URLSearchParams }) =>
        json(
          request.query.get('offset') === '0'
            ? { text: `==> ${waiting}\n`, offset: 56, state: 'pending', step: waiting }
            : { text: '', offset: 56, state: 'pending', step: waiting }
        )
    });
    log = new TaskLog({
      task: task({ state: 'pending' }),
      serverSettings: fake.settings(),
      idleDelay: 10
    });
    const cancelled: string[] = [];
    view = await show(new TaskLogView({ log, onCancel: id => void cancelled.push(id) }));
    await settle(() => log!.start());

    expect(find(view.node, '.jp-HpcEnvs-chip').textContent).toBe('pending');
    expect(find(view.node, '.jp-HpcEnvs-taskLog-step').textContent).toBe(waiting);
    expect(find(view.node, '.jp-HpcEnvs-taskLog-step-marker').textContent).toBe(`==> ${waiting}\n`);
    await click(find(view.node, '.jp-HpcEnvs-taskLog-cancel'));
    expect(cancelled).toEqual([ID]);
  });
});

describe('TaskNotifier', () => {
  afterEach(() => {
    Notification.dismiss();
  });

  it('shows a task in progress with a "Show log" action, then its outcome and "Edit and retry"', async () => {
    const fake = new RoutedServer({
      'GET info': json(INFO),
      'GET site': json(SITE),
      'GET envs': json({ environments: [] }),
      'GET tasks': json({ tasks: [task()] }),
      'GET kernel-jobs': json({ jobs: [] }),
      [`GET tasks/${ID}/log`]: logRoute(['one\n'], 'failed'),
      [`GET tasks/${ID}`]: json(task({ state: 'failed', message: 'pip could not install x' }))
    });
    const model = new HpcEnvsModel({ serverSettings: fake.settings() });
    const shown: string[] = [];
    const edited: string[] = [];
    const notifier = new TaskNotifier({
      model,
      trans: nullTranslator.load('jupyterlab_hpc_envs'),
      showLog: id => shown.push(id),
      editAndRetry: failed => edited.push(`${failed.env} on ${failed.partition}`)
    });
    const types: string[] = [];
    Notification.manager.changed.connect((_, change) => types.push(change.notification.type));
    const finished = new Promise(resolve => model.taskFinished.connect(resolve));

    await model.refresh();
    const id = notifier.notificationOf(ID)!;
    const inProgress = Notification.manager.notifications.find(n => n.id === id);
    inProgress?.options.actions?.[0].callback(new MouseEvent('click'));
    await finished;

    const outcome = Notification.manager.notifications.find(n => n.id === id);
    expect(types[0]).toBe('in-progress');
    expect(inProgress?.message).toBe('Create science on zen4: venv…');
    expect(shown).toEqual([ID]);
    expect(outcome?.type).toBe('error');
    expect(outcome?.message).toBe('Create science on zen4 failed: pip could not install x');
    expect(outcome?.options.actions?.map(a => a.label)).toEqual([
      'Show log',
      'Details',
      'Edit and retry'
    ]);
    outcome?.options.actions?.[2].callback(new MouseEvent('click'));
    expect(edited).toEqual(['science on zen4']);
    // "Details": the whole message in a dialog, which the toast would shorten.
    const click = new MouseEvent('click', { cancelable: true });
    outcome?.options.actions?.[1].callback(click);
    await settle();
    expect(click.defaultPrevented).toBe(true);
    const dialog = Dialog.tracker.currentWidget!;
    expect(dialog.node.querySelector('.jp-Dialog-header')?.textContent).toBe(
      'Create science on zen4'
    );
    expect(dialog.node.querySelector('.jp-HpcEnvs-diagnosis-text')?.textContent).toBe(
      'Create science on zen4 failed: pip could not install x'
    );
    await settle(() => dialog.resolve());
    notifier.dispose();
    model.dispose();
  });
});

describe('TaskNotifier, created after the model found a running task', () => {
  afterEach(() => {
    Notification.dismiss();
  });

  it('still shows that task in progress', async () => {
    const fake = new RoutedServer({
      'GET info': json(INFO),
      'GET site': json(SITE),
      'GET envs': json({ environments: [] }),
      'GET tasks': json({ tasks: [task()] }),
      'GET kernel-jobs': json({ jobs: [] }),
      [`GET tasks/${ID}/log`]: logRoute(['one\n'], 'running')
    });
    const model = new HpcEnvsModel({ serverSettings: fake.settings() });
    await model.refresh();

    const notifier = new TaskNotifier({
      model,
      trans: nullTranslator.load('jupyterlab_hpc_envs'),
      showLog: () => undefined
    });
    await settle();

    const id = notifier.notificationOf(ID);
    expect(Notification.manager.notifications.find(n => n.id === id)?.type).toBe('in-progress');
    notifier.dispose();
    model.dispose();
  });
});

describe('plain', () => {
  it('drops colour codes and keeps what a progress bar last drew', () => {
    expect(plain('\x1b[91m━━━\x1b[0m \x1b[32m4/9\x1b[0m [debugpy]\x1b[2K')).toBe(
      '━━━ 4/9 [debugpy]'
    );
    expect(plain('\x1b[?25l 10%\r 50%\r100% done\r')).toBe('100% done');
    expect(plain('plain text')).toBe('plain text');
  });
});

describe('readableLine', () => {
  it('shows the build script’s progress lines as steps, facts and the failure, as the CLI does', () => {
    expect(readableLine('::hpc-envs::step smoke-test')).toEqual({
      kind: 'step',
      text: '==> smoke-test'
    });
    expect(readableLine('::hpc-envs::info prefix=/data/envs/a=b')).toEqual({
      kind: 'info',
      text: '    prefix: /data/envs/a=b'
    });
    expect(readableLine('::hpc-envs::fail pip could not install nosuchpkg')).toEqual({
      kind: 'fail',
      text: 'failed: pip could not install nosuchpkg'
    });
    expect(readableLine('==> pip install tabulate')).toEqual({
      kind: 'step',
      text: '==> pip install tabulate'
    });
  });

  it('leaves the tools’ own output as it is', () => {
    expect(readableLine('Collecting numpy')).toEqual({ kind: 'output', text: 'Collecting numpy' });
    expect(readableLine('  ::hpc-envs::step indented')).toEqual({
      kind: 'output',
      text: '  ::hpc-envs::step indented'
    });
  });
});
