/**
 * Runs: the parameters and sweeps checked as the server checks them, the model following runs
 * (closely while one is active, `ended` when one ends), the dialog's state with the server's
 * refusal on its field, and the side panel's "Runs" section.
 *
 * `fetch` is faked (see fake-server.ts); the real routes are exercised by test_runs.py and the
 * Galata test runs.spec.ts.
 */
import { JupyterFrontEnd } from '@jupyterlab/application';
import { Notification } from '@jupyterlab/apputils';
import { CommandRegistry } from '@lumino/commands';
import { nullTranslator } from '@jupyterlab/translation';

import { Run, RunSchema } from '../api';
import { notifyEnded } from '../commands/runs';
import { RunFormModel } from '../runformmodel';
import {
  ACTIVE_RUNS_INTERVAL,
  failureText,
  isParameterName,
  parseParameters,
  parseParameterValue,
  parseSweep,
  RunsModel
} from '../runsmodel';
import { RunCommandIDs } from '../tokens';
import { HpcEnvsModel } from '../model';
import { HpcEnvsPanel } from '../widgets/panel';
import { json, RoutedServer } from './fake-server';
import { RUN_FAILED, RUN_PENDING, RUN_SUCCEEDED, RUN_SWEEP } from './runfixtures';
import { click, dispose, find, settle, show } from './render';

const trans = nullTranslator.load('jupyterlab_hpc_envs');
const KERNELS = [{ kernel: 'hpcenv-science-zen2', env: 'science', partition: 'zen2' }];

describe('parameters, as the server takes them', () => {
  it.each([
    ['3', 3],
    ['0.5', 0.5],
    ['true', true],
    ['null', null],
    ['[1, "two"]', [1, 'two']],
    ['{"a": 1}', { a: 1 }],
    ['"a: b"', 'a: b'],
    ['run a', 'run a'],
    ['', '']
  ])('%s is the value %j', (text, value) => {
    expect(parseParameterValue(text)).toEqual({ value });
  });

  it.each(['[1, 2', '{a: }', 'a: b', '*ref', "'quoted"])('%s is refused with a hint', text => {
    const parsed = parseParameterValue(text);
    expect('error' in parsed && parsed.error).toContain('is not a value');
  });

  it('takes identifiers as names, never keywords or code', () => {
    expect(isParameterName('alpha_1')).toBe(true);
    expect(isParameterName('λ')).toBe(true);
    expect(isParameterName('import os')).toBe(false);
    expect(isParameterName('class')).toBe(false);
    expect(isParameterName('1a')).toBe(false);
  });

  it('reports each refused row, and twice the same name', () => {
    const { values, errors } = parseParameters(
      [
        { name: 'alpha', value: '0.25' },
        { name: 'import os', value: '1' },
        { name: 'alpha', value: '2' },
        { name: '', value: '' },
        { name: 'label', value: 'run a' }
      ],
      trans
    );
    expect(values).toEqual({ alpha: 0.25, label: 'run a' });
    expect([...errors.keys()]).toEqual([1, 2]);
    expect(errors.get(1)).toContain('Python identifier');
    expect(errors.get(2)).toContain('given twice');
  });

  it('makes a sweep table one parameter set per filled row', () => {
    const table = {
      names: ['alpha', 'label'],
      rows: [
        ['1', 'a'],
        ['', ''],
        ['2.5', '"b c"']
      ]
    };
    expect(parseSweep(table)).toEqual({
      sets: [
        { alpha: 1, label: 'a' },
        { alpha: 2.5, label: 'b c' }
      ]
    });
    expect(parseSweep({ names: ['x'], rows: [] })).toEqual({ sets: [] });
    const bad = parseSweep({ names: ['x y'], rows: [['1']] });
    expect('error' in bad && bad.error).toContain('Python identifier');
    const value = parseSweep({ names: ['x'], rows: [['1'], ['[oops']] });
    expect('error' in value && value.error).toContain('Set 2, x');
  });
});

describe('RunsModel', () => {
  let model: RunsModel | undefined;
  afterEach(() => model?.dispose());

  it('follows the runs closely while one is active and tells when it ended', async () => {
    const server = new RoutedServer({ 'GET runs': json({ runs: [RUN_PENDING] }) });
    model = new RunsModel({ serverSettings: server.settings(), activeInterval: 10 });
    const ended: Run[] = [];
    model.ended.connect((_, run) => ended.push(run));
    await model.refresh();
    expect(model.runs[0].state).toBe('PENDING');
    expect(model.hasActive).toBe(true);
    server.routes['GET runs'] = json({ runs: [RUN_FAILED] });
    await model.refresh();
    expect(ended.map(r => r.state)).toEqual(['FAILED']);
    expect(failureText(ended[0], trans)).toBe(
      'cell 3 (1 / 0): ZeroDivisionError: division by zero'
    );
    await model.refresh(); // the same listing again: no second notice
    expect(ended).toHaveLength(1);
    expect(model.hasActive).toBe(false);
  });

  it('does not announce runs that had ended before it first listed them', async () => {
    const server = new RoutedServer({ 'GET runs': json({ runs: [RUN_SUCCEEDED] }) });
    model = new RunsModel({ serverSettings: server.settings() });
    const ended: Run[] = [];
    model.ended.connect((_, run) => ended.push(run));
    await model.refresh();
    expect(ended).toEqual([]);
    expect(ACTIVE_RUNS_INTERVAL).toBeLessThan(60000);
  });

  it('parses a sweep with its tasks', () => {
    const run = RunSchema.parse(RUN_SWEEP);
    expect(run.tasks?.map(t => t.state)).toEqual(['RUNNING', 'PENDING', 'PENDING']);
    expect(run.tasks?.[2].reason).toBe('JobArrayTaskLimit');
  });
});

describe('RunFormModel', () => {
  let runs: RunsModel | undefined;
  afterEach(() => runs?.dispose());

  function form(server: RoutedServer, kernel = 'hpcenv-science-zen2'): RunFormModel {
    runs = new RunsModel({ serverSettings: server.settings() });
    return new RunFormModel({
      notebook: 'project/analysis.ipynb',
      kernels: KERNELS,
      kernel,
      runs,
      serverSettings: server.settings(),
      trans
    });
  }

  it('refuses a notebook whose kernel is not ours, before asking the server', async () => {
    const server = new RoutedServer();
    const model = form(server, 'python3');
    expect(model.errors.get('kernel')).toContain('python3 is not a kernel of an HPC environment');
    expect(await model.submit()).toBeNull();
    expect(server.calls('POST runs')).toEqual([]);
  });

  it('fills the resources with the kernel’s choices and sends what was typed', async () => {
    const resources = {
      kernel: 'hpcenv-science-zen2',
      partition: 'zen2',
      defaults: { time: '1:00:00', cpus: 1, memory: '', gpus: '', account: '' },
      chosen: { cpus: 4 },
      mode: 'auto',
      effective: null
    };
    const server = new RoutedServer({
      'GET kernels/hpcenv-science-zen2/resources': json(resources),
      'POST runs': json(RUN_SUBMITTED_REPLY, 201)
    });
    const model = form(server);
    await model.chooseKernel('hpcenv-science-zen2');
    expect(model.resources).toMatchObject({ time: '1:00:00', cpus: '4' });
    model.set(m => {
      m.parameters = [{ name: 'alpha', value: '0.25' }];
      m.sweep = { names: ['seed'], rows: [['1'], ['2']] };
    });
    const run = await model.submit();
    expect(run?.id).toBe(RUN_PENDING.id);
    const body = JSON.parse(server.calls('POST runs')[0].body);
    expect(body).toEqual({
      notebook: 'project/analysis.ipynb',
      kernel: 'hpcenv-science-zen2',
      partition: 'zen2',
      resources: { time: '1:00:00', cpus: '4' },
      parameters: { alpha: 0.25 },
      sweep: [{ seed: 1 }, { seed: 2 }]
    });
  });

  it('keeps the server’s refusal on the field it names', async () => {
    const refusal = { message: 'The time limit 9:00:00 is over the limit 2:00:00.', field: 'time' };
    const server = new RoutedServer({ 'POST runs': json(refusal, 400) });
    const model = form(server);
    model.set(m => (m.resources.time = '9:00:00'));
    expect(await model.submit()).toBeNull();
    expect(model.errors.get('time')).toContain('over the limit');
    expect(model.isBusy).toBe(false);
  });

  it('refuses a bad parameter before asking the server', async () => {
    const server = new RoutedServer();
    const model = form(server);
    model.set(m => (m.parameters = [{ name: 'import os', value: '1' }]));
    expect(await model.submit()).toBeNull();
    expect(model.errors.get('parameters')).toContain('Python identifier');
    expect(model.rowErrors.has(0)).toBe(true);
    expect(server.calls('POST runs')).toEqual([]);
  });
});

const RUN_SUBMITTED_REPLY = { ...RUN_PENDING, state: 'SUBMITTED' };

describe('the Runs section of the side panel', () => {
  let panel: HpcEnvsPanel | undefined;
  let runs: RunsModel | undefined;
  afterEach(async () => {
    await dispose(panel);
    runs?.dispose();
  });

  it('shows each run’s state, Slurm’s reason, tasks and the actions that apply', async () => {
    const server = new RoutedServer({
      'GET runs': json({
        runs: [RUN_PENDING, RUN_FAILED, RUN_SWEEP].map((r, i) => ({ ...r, id: `r${i}` }))
      })
    });
    runs = new RunsModel({ serverSettings: server.settings() });
    await runs.refresh();
    const commands = new CommandRegistry();
    const executed: [string, unknown][] = [];
    for (const id of Object.values(RunCommandIDs)) {
      commands.addCommand(id, { execute: args => void executed.push([id, args]) });
    }
    const model = new HpcEnvsModel({ serverSettings: server.settings() });
    panel = await show(new HpcEnvsPanel({ model, commands, runs }));
    const rows = panel.node.querySelectorAll('.jp-HpcEnvs-run');
    expect([...rows].map(r => r.getAttribute('data-state'))).toEqual([
      'PENDING',
      'FAILED',
      'RUNNING'
    ]);
    expect(find(rows[0], '.jp-HpcEnvs-run-reason').textContent).toBe('Pending: Priority');
    expect(find(rows[0], '.jp-HpcEnvs-run-parameters').textContent).toBe(
      'alpha=0.25, label="run a"'
    );
    expect(rows[0].querySelector('.jp-HpcEnvs-run-cancel')).not.toBeNull();
    expect(rows[0].querySelector('.jp-HpcEnvs-run-output')).toBeNull();
    expect(find(rows[1], '.jp-HpcEnvs-run-reason').textContent).toContain('cell 3 (1 / 0)');
    expect(find(rows[1], '.jp-HpcEnvs-run-facts').textContent).toContain('7 s');
    const tasks = rows[2].querySelectorAll('.jp-HpcEnvs-run-task');
    expect([...tasks].map(t => t.textContent)).toEqual(['0: RUNNING', '1: PENDING', '2: PENDING']);
    await click(rows[1].querySelector('.jp-HpcEnvs-run-output'));
    await click(rows[1].querySelector('.jp-HpcEnvs-run-again'));
    await click(rows[0].querySelector('.jp-HpcEnvs-run-script'));
    await settle();
    expect(executed).toEqual([
      [RunCommandIDs.openOutput, { id: 'r1' }],
      [RunCommandIDs.again, { id: 'r1' }],
      [RunCommandIDs.showScript, { id: 'r0' }]
    ]);
    model.dispose();
  });
});

describe('the notification of a run that ended', () => {
  afterEach(() => Notification.dismiss());

  function notify(run: unknown): { notice: Notification.INotification; executed: unknown[] } {
    const commands = new CommandRegistry();
    const executed: unknown[] = [];
    for (const id of Object.values(RunCommandIDs)) {
      commands.addCommand(id, { execute: args => void executed.push([id, args]) });
    }
    notifyEnded({ commands } as unknown as JupyterFrontEnd, RunSchema.parse(run), trans);
    const notices = Notification.manager.notifications;
    return { notice: notices[notices.length - 1], executed };
  }

  it('says a failure with its cell and error, offering the output and the log', () => {
    const { notice, executed } = notify(RUN_FAILED);
    expect(notice.type).toBe('error');
    expect(notice.message).toBe(
      'The run of analysis.ipynb failed: cell 3 (1 / 0): ZeroDivisionError: division by zero'
    );
    const actions = notice.options.actions ?? [];
    expect(actions.map(a => a.label)).toEqual(['Open output', 'Log']);
    actions[1].callback(new MouseEvent('click'));
    expect(executed).toEqual([[RunCommandIDs.showLog, { id: RUN_FAILED.id }]]);
  });

  it('says a success, offering the output', () => {
    const { notice } = notify(RUN_SUCCEEDED);
    expect(notice.type).toBe('success');
    expect(notice.message).toBe('The run of analysis.ipynb finished.');
    expect((notice.options.actions ?? []).map(a => a.label)).toEqual(['Open output']);
  });
});
