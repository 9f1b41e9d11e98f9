/**
 * Kernel resources: the API calls and their schema, the dialog's state (KernelResourcesModel),
 * the dialog itself, and the side panel's "Kernel resources…" action.
 *
 * `fetch` is faked (see fake-server.ts): there is no Jupyter server in jsdom. The replies are the
 * real server's, recorded on the demo site (fixtures.ts).
 */
import { Dialog } from '@jupyterlab/apputils';
import { CommandRegistry } from '@lumino/commands';
import { ReadonlyPartialJSONObject } from '@lumino/coreutils';

import { ApiError, getKernelResources, setKernelResources } from '../api';
import { CommandIDs } from '../commands';
import { HpcEnvsModel } from '../model';
import { KernelResourcesModel } from '../resourcesmodel';
import { HpcEnvsPanel } from '../widgets/panel';
import { KernelResourcesDialog } from '../widgets/resources';
import { json, RoutedServer } from './fake-server';
import {
  CPUS_OVER_LIMIT,
  INFO,
  KERNEL_RESOURCES,
  KERNEL_RESOURCES_PROBLEM,
  KERNEL_RESOURCES_TIME,
  OVER_CAPACITY,
  SITE,
  twoPartitionEnvironment
} from './fixtures';
import { click, dispose, find, settle, show, type } from './render';

const KERNEL = 'hpcenv-science-zen2';
const ROUTE = `kernels/${KERNEL}/resources`;

/**
 * A server with the site and an environment with kernels on zen2 and zen4, plus `routes`.
 */
function server(routes: ConstructorParameters<typeof RoutedServer>[0] = {}): RoutedServer {
  return new RoutedServer({
    'GET info': json(INFO),
    'GET site': json(SITE),
    'GET envs': json({ environments: [twoPartitionEnvironment()] }),
    'GET tasks': json({ tasks: [] }),
    'GET kernel-jobs': json({ jobs: [] }),
    [`GET ${ROUTE}`]: json(KERNEL_RESOURCES),
    ...routes
  });
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

describe('getKernelResources and setKernelResources', () => {
  it("give the partition's defaults and limits as text, and what the next start asks for", async () => {
    const fake = server();

    const reply = await getKernelResources(KERNEL, fake.settings());

    expect(reply.defaults).toEqual({
      time: '1:00:00',
      cpus: '1',
      memory: '',
      gpus: '0',
      account: ''
    });
    expect(reply.limits).toEqual({
      time: '4:00:00',
      cpus: '2',
      memory: '4G',
      gpus: '0',
      accounts: ['hpcdemo', 'hpcdemo-ai']
    });
    expect(reply.chosen).toEqual({});
    expect(reply.effective?.cpus).toBe(1);
    expect(reply.problem).toBeNull();
  });

  it('PUT the choice as JSON to the kernel, escaped', async () => {
    const fake = server({ [`PUT ${ROUTE}`]: json(KERNEL_RESOURCES_TIME) });

    const reply = await setKernelResources(
      KERNEL,
      { time: '2:00:00', cpus: null },
      fake.settings()
    );

    const [call] = fake.calls(`PUT ${ROUTE}`);
    expect(call.url).toBe(`http://localhost:8888/hpc-envs/api/${ROUTE}`);
    expect(JSON.parse(call.body)).toEqual({ time: '2:00:00', cpus: null });
    expect(reply.chosen).toEqual({ time: '2:00:00' });
  });

  it('reject a value over a limit with the field it is about', async () => {
    const fake = server({ [`PUT ${ROUTE}`]: json(CPUS_OVER_LIMIT, 400) });

    const call = setKernelResources(KERNEL, { cpus: 64 }, fake.settings());

    await expect(call).rejects.toBeInstanceOf(ApiError);
    await expect(call).rejects.toMatchObject({ field: 'cpus', message: CPUS_OVER_LIMIT.message });
  });
});

describe('KernelResourcesModel', () => {
  let model: HpcEnvsModel;
  let resources: KernelResourcesModel;
  let specs: Specs;

  async function open(
    routes: ConstructorParameters<typeof RoutedServer>[0] = {},
    kernel = KERNEL
  ): Promise<RoutedServer> {
    const fake = server(routes);
    specs = new Specs();
    model = new HpcEnvsModel({ serverSettings: fake.settings(), kernelSpecs: specs });
    await model.refresh();
    resources = new KernelResourcesModel({ model, kernel });
    await resources.load();
    return fake;
  }

  afterEach(() => {
    resources.dispose();
    model.dispose();
  });

  it('starts from the stored choice: empty values stand for the site defaults', async () => {
    await open({ [`GET ${ROUTE}`]: json(KERNEL_RESOURCES_TIME) });

    expect(resources.values).toEqual({
      time: '2:00:00',
      cpus: '',
      memory: '',
      gpus: '',
      account: ''
    });
    expect(resources.mode).toBe('auto');
    expect(resources.fieldErrors).toEqual({});
  });

  it('says that auto runs a zen2 kernel as a Slurm job from the zen4 node, and that it cannot run here', async () => {
    await open();

    expect(resources.partition?.name).toBe('zen2');
    expect(resources.autoRunsOn).toBe('slurm');
    expect(resources.modeProblem('local')).toContain('not a zen2 node');
    expect(resources.modeProblem('slurm')).toBe('');
  });

  it('sends every value, empty ones as null, counts as numbers, and keeps following the site mode', async () => {
    const fake = await open({ [`PUT ${ROUTE}`]: json(KERNEL_RESOURCES_TIME) });
    resources.setValue('time', ' 2:00:00 ');
    resources.setValue('cpus', '2');

    const saved = await resources.save();

    expect(saved).toBe(true);
    expect(JSON.parse(fake.calls(`PUT ${ROUTE}`)[0].body)).toEqual({
      time: '2:00:00',
      cpus: 2,
      memory: null,
      gpus: null,
      account: null,
      mode: null
    });
    expect(specs.refreshes).toBe(1);
  });

  it('takes in what the server stored, in its normalised form', async () => {
    await open({ [`PUT ${ROUTE}`]: json(KERNEL_RESOURCES_TIME) });
    resources.setValue('time', '120');

    await resources.save();

    expect(resources.values.time).toBe('2:00:00');
    expect(resources.resources?.effective?.time).toBe('2:00:00');
  });

  it('sends a mode the user chose', async () => {
    const fake = await open({ [`PUT ${ROUTE}`]: json(KERNEL_RESOURCES) });

    resources.setMode('slurm');
    await resources.save();

    expect(JSON.parse(fake.calls(`PUT ${ROUTE}`)[0].body).mode).toBe('slurm');
  });

  it("puts the server's refusal beside the field, and keeps the values as typed", async () => {
    await open({ [`PUT ${ROUTE}`]: json(CPUS_OVER_LIMIT, 400) });
    resources.setValue('cpus', '64');

    const saved = await resources.save();

    expect(saved).toBe(false);
    expect(resources.fieldErrors).toEqual({ cpus: CPUS_OVER_LIMIT.message });
    expect(resources.values.cpus).toBe('64');
    expect(resources.formError).toBeNull();
  });

  it("puts every refused field's message beside its field at once", async () => {
    await open({ [`PUT ${ROUTE}`]: json(OVER_CAPACITY, 400) });
    resources.setValue('cpus', '3');
    resources.setValue('memory', '30G');
    resources.setValue('gpus', '1');

    expect(await resources.save()).toBe(false);

    expect(resources.fieldErrors).toEqual(OVER_CAPACITY.fields);
    expect(resources.formError).toBeNull();
  });

  it('clears the error of a field when it is edited', async () => {
    await open({ [`PUT ${ROUTE}`]: json(CPUS_OVER_LIMIT, 400) });
    resources.setValue('cpus', '64');
    await resources.save();

    resources.setValue('cpus', '2');

    expect(resources.fieldErrors).toEqual({});
  });

  it('shows a stored choice that a lowered limit now breaks beside its field', async () => {
    await open(
      { 'GET kernels/hpcenv-science-zen4/resources': json(KERNEL_RESOURCES_PROBLEM) },
      'hpcenv-science-zen4'
    );

    expect(resources.values.cpus).toBe('2');
    expect(resources.mode).toBe('slurm');
    expect(resources.fieldErrors.cpus).toBe('A kernel may use at most 1 CPUs on partition zen4.');
  });

  it('resets by sending null for every value and the mode', async () => {
    const fake = await open({
      [`GET ${ROUTE}`]: json(KERNEL_RESOURCES_TIME),
      [`PUT ${ROUTE}`]: json(KERNEL_RESOURCES)
    });

    await resources.reset();

    expect(JSON.parse(fake.calls(`PUT ${ROUTE}`)[0].body)).toEqual({
      time: null,
      cpus: null,
      memory: null,
      gpus: null,
      account: null,
      mode: null
    });
    expect(resources.values.time).toBe('');
  });

  it('says why the resources cannot be had for a kernel that is gone', async () => {
    await open({
      [`GET ${ROUTE}`]: json({ message: "There is no kernel 'hpcenv-science-zen2'." }, 404)
    });

    expect(resources.resources).toBeNull();
    expect(resources.formError).toBe("There is no kernel 'hpcenv-science-zen2'.");
  });
});

describe('KernelResourcesDialog', () => {
  let model: HpcEnvsModel;
  let resources: KernelResourcesModel;
  let dialog: KernelResourcesDialog;

  async function open(
    routes: ConstructorParameters<typeof RoutedServer>[0] = {}
  ): Promise<RoutedServer> {
    const fake = server(routes);
    model = new HpcEnvsModel({ serverSettings: fake.settings() });
    await model.refresh();
    resources = new KernelResourcesModel({ model, kernel: KERNEL });
    await resources.load();
    dialog = new KernelResourcesDialog({ model: resources, title: 'Kernel resources' });
    return fake;
  }

  /**
   * Show the dialog; its promise resolves with the button, or with `null` when the dialog is
   * disposed at the end of a test while still open.
   */
  function launch(): Promise<Dialog.IResult<unknown> | null> {
    return dialog.launch().catch(() => null);
  }

  function input(name: string): HTMLInputElement {
    return find<HTMLInputElement>(dialog.node, `[name="${name}"]`);
  }

  afterEach(async () => {
    await dispose(dialog);
    resources.dispose();
    model.dispose();
  });

  it('shows the site defaults as placeholders and the limits as hints', async () => {
    await open();
    void launch();
    await settle();

    expect(input('time').placeholder).toBe('1:00:00');
    expect(input('cpus').placeholder).toBe('1');
    const hint = (name: string): string =>
      find(dialog.node, `[data-field="${name}"] .jp-HpcEnvs-resources-hint`).textContent ?? '';
    expect(hint('time')).toContain('At most 4:00:00');
    expect(hint('cpus')).toBe('At most 2.');
    expect(hint('memory')).toContain('At most 4G');
    expect(hint('gpus')).toBe('No GPUs for kernels on zen2.');
    expect(input('gpus').disabled).toBe(true);
  });

  it("shows what a node of the partition has, from Slurm, beside the site's limits", async () => {
    await open();
    void launch();
    await settle();

    const capacity = (name: string): string =>
      find(dialog.node, `[data-field="${name}"] .jp-HpcEnvs-resources-capacity`).textContent ?? '';
    expect(capacity('time')).toBe('The time limit of zen2 is 1-00:00:00.');
    expect(capacity('cpus')).toBe('A node of zen2 has 2 CPUs.');
    expect(capacity('memory')).toBe('A node of zen2 has 22899M.');
    expect(capacity('gpus')).toBe('The nodes of zen2 have no GPUs.');
  });

  it("shows every refused field's message at once, and stays open", async () => {
    await open({ [`PUT ${ROUTE}`]: json(OVER_CAPACITY, 400) });
    void launch();
    await settle();
    await type(input('cpus'), '3');
    await type(input('memory'), '30G');

    await click(find(dialog.node, '.jp-HpcEnvs-resources-save'));

    for (const [name, message] of Object.entries(OVER_CAPACITY.fields)) {
      const field = find(dialog.node, `[data-field="${name}"]`);
      expect(find(field, '.jp-HpcEnvs-fieldError').textContent).toBe(message);
    }
    expect(input('memory').getAttribute('aria-invalid')).toBe('true');
    expect(dialog.isAttached).toBe(true);
  });

  it("offers the site's accounts in a select", async () => {
    await open();
    void launch();
    await settle();

    const select = find<HTMLSelectElement>(dialog.node, 'select[name="account"]');
    expect([...select.options].map(o => o.value)).toEqual(['', 'hpcdemo', 'hpcdemo-ai']);
    expect(select.options[0].textContent).toBe('Site default (none)');
  });

  it('offers to run here only where this node has the arch', async () => {
    await open();
    void launch();
    await settle();

    const radio = (mode: string): HTMLInputElement =>
      find<HTMLInputElement>(dialog.node, `input[type="radio"][value="${mode}"]`);
    expect(radio('auto').checked).toBe(true);
    expect(radio('local').disabled).toBe(true);
    expect(radio('slurm').disabled).toBe(false);
    expect(find(dialog.node, '.jp-HpcEnvs-resources-mode').textContent).toContain(
      'a Slurm job on zen2'
    );
  });

  it("stays open on Save with the server's message beside the field it refused", async () => {
    await open({ [`PUT ${ROUTE}`]: json(CPUS_OVER_LIMIT, 400) });
    let closed = false;
    void launch().then(() => (closed = true));
    await settle();
    await type(input('cpus'), '64');

    await click(find(dialog.node, '.jp-HpcEnvs-resources-save'));

    const field = find(dialog.node, '[data-field="cpus"]');
    expect(find(field, '.jp-HpcEnvs-fieldError').textContent).toBe(CPUS_OVER_LIMIT.message);
    expect(input('cpus').getAttribute('aria-invalid')).toBe('true');
    expect(closed).toBe(false);
    expect(dialog.isAttached).toBe(true);
  });

  it('closes on Save once the server stored the choice, with the stored resources', async () => {
    await open({ [`PUT ${ROUTE}`]: json(KERNEL_RESOURCES_TIME) });
    const result = launch();
    await settle();
    await type(input('time'), '2:00:00');

    await click(find(dialog.node, '.jp-HpcEnvs-resources-save'));

    const closed = await result;
    expect(closed?.button.label).toBe('Save');
    expect(closed?.value).toMatchObject({ chosen: { time: '2:00:00' } });
  });

  it('closes on Cancel without asking the server', async () => {
    const fake = await open();
    const result = launch();
    await settle();

    await click(find(dialog.node, '.jp-mod-reject'));

    expect((await result)?.button.accept).toBe(false);
    expect(fake.calls(`PUT ${ROUTE}`)).toEqual([]);
  });
});

describe('The side panel', () => {
  it('offers the kernel resources of each partition with a kernel', async () => {
    const fake = server();
    const model = new HpcEnvsModel({ serverSettings: fake.settings() });
    const commands = new CommandRegistry();
    const runs: [string, ReadonlyPartialJSONObject][] = [];
    commands.addCommand(CommandIDs.kernelResources, {
      execute: args => void runs.push([CommandIDs.kernelResources, args])
    });
    const panel = await show(new HpcEnvsPanel({ model, commands }));
    await settle(() => model.refresh());

    await click(find(panel.node, '.jp-HpcEnvs-envRow[data-env="science"]'));
    const zen2 = find(panel.node, '.jp-HpcEnvs-build[data-partition="zen2"]');
    await click(find(zen2, '.jp-HpcEnvs-build-resources'));

    expect(find(zen2, '.jp-HpcEnvs-build-resources').getAttribute('aria-label')).toBe(
      'Kernel resources of science on zen2…'
    );
    expect(runs).toEqual([[CommandIDs.kernelResources, { kernel: KERNEL }]]);
    expect(panel.node.querySelectorAll('.jp-HpcEnvs-build-resources')).toHaveLength(2);
    await dispose(panel);
    model.dispose();
  });
});
