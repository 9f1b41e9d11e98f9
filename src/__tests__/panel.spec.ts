/**
 * HpcEnvsPanel: what the side panel shows for the state of the model, and which commands its
 * buttons run.
 *
 * The model is the real one over a faked `fetch` (fake-server.ts) with the real server's replies
 * (fixtures.ts); the commands are recorded instead of run (they have their own tests).
 */
import { CommandRegistry } from '@lumino/commands';
import { ReadonlyPartialJSONObject } from '@lumino/coreutils';

import { CommandIDs } from '../commands';
import { HpcEnvsModel } from '../model';
import { ENV_ROW_HEIGHT, HpcEnvsPanel, PANEL_ID } from '../widgets/panel';
import { json, RoutedServer } from './fake-server';
import {
  condaEnvironment,
  environment,
  INFO,
  mendableEnvironment,
  MODULES,
  SITE,
  task
} from './fixtures';
import { click, dispose, find, settle, show, type } from './render';

/**
 * A command registry that records what was run.
 */
function recorder(): { commands: CommandRegistry; runs: [string, ReadonlyPartialJSONObject][] } {
  const commands = new CommandRegistry();
  const runs: [string, ReadonlyPartialJSONObject][] = [];
  for (const id of Object.values(CommandIDs)) {
    commands.addCommand(id, { execute: args => void runs.push([id, args]) });
  }
  return { commands, runs };
}

/**
 * Open a build row's "More" menu and choose the item of a command with the keyboard (jsdom has no
 * layout for the pointer).
 */
async function chooseFromMenu(button: HTMLElement, command: string): Promise<void> {
  await click(button);
  const menu = find(document.body, '.jp-HpcEnvs-buildMenu');
  const items = Array.from(menu.querySelectorAll<HTMLElement>('.lm-Menu-item'));
  const index = items.findIndex(item => item.dataset.command === command);
  if (index < 0) {
    throw new Error(`The menu has no item of ${command}`);
  }
  const press = (keyCode: number): void => {
    const event = new KeyboardEvent('keydown', { bubbles: true, cancelable: true });
    Object.defineProperty(event, 'keyCode', { value: keyCode });
    menu.dispatchEvent(event);
  };
  await settle(() => {
    for (let step = 0; step <= index; step++) {
      press(40); // ArrowDown
    }
    press(13); // Enter
  });
}

describe('HpcEnvsPanel', () => {
  let model: HpcEnvsModel;
  let panel: HpcEnvsPanel;
  let fake: RoutedServer;
  let runs: [string, ReadonlyPartialJSONObject][];

  async function open(routes: ConstructorParameters<typeof RoutedServer>[0] = {}): Promise<void> {
    fake = new RoutedServer({
      'GET info': json(INFO),
      'GET site': json(SITE),
      'GET envs': json({ environments: [environment('science')] }),
      'GET tasks': json({ tasks: [] }),
      'GET kernel-jobs': json({ jobs: [] }),
      ...routes
    });
    model = new HpcEnvsModel({ serverSettings: fake.settings() });
    const recorded = recorder();
    runs = recorded.runs;
    panel = await show(new HpcEnvsPanel({ model, commands: recorded.commands }));
    await settle(() => model.refresh());
  }

  afterEach(async () => {
    await dispose(panel);
    model.dispose();
  });

  it('has the id and class the shell and the UI tests look for', async () => {
    await open();

    expect(panel.id).toBe(PANEL_ID);
    expect(panel.hasClass('jp-HpcEnvs-panel')).toBe(true);
  });

  it("shows the extension's name and version, and no error", async () => {
    await open();

    expect(find(panel.node, '.jp-HpcEnvs-version').textContent).toBe('jupyterlab-hpc-envs 0.1.0');
    expect(find(panel.node, '.jp-HpcEnvs-error').hidden).toBe(true);
  });

  it("shows the server's message when the server fails", async () => {
    await open({ 'GET envs': json({ message: 'Forbidden' }, 403) });

    const error = find(panel.node, '.jp-HpcEnvs-error');
    expect(error.hidden).toBe(false);
    expect(error.textContent).toContain('Forbidden');
    expect(panel.hasClass('jp-mod-error')).toBe(true);
  });

  it('says where this JupyterLab runs, and the warnings about the site', async () => {
    await open();

    const site = find(panel.node, '.jp-HpcEnvs-site');
    expect(site.textContent).toContain('Partition zen4');
    expect(site.textContent).toContain('Lmod 8.6.19');
    expect(site.textContent).toContain('Slurm');
    expect(find(site, '.jp-HpcEnvs-warning[data-code="user-site"]').textContent).toContain(
      '~/.local/lib'
    );
  });

  it('shows each environment with the state of its build on every partition', async () => {
    await open();

    const row = find(panel.node, '.jp-HpcEnvs-envRow[data-env="science"]');
    const chips = [...row.querySelectorAll('.jp-HpcEnvs-chip')].map(c => [
      c.textContent,
      c.className.replace('jp-HpcEnvs-chip jp-mod-', '')
    ]);
    expect(chips).toEqual([
      ['zen2', 'none'],
      ['zen4', 'ready']
    ]);
  });

  it('renders only the rows in view of a long list', async () => {
    const many = Array.from({ length: 500 }, (_, i) =>
      environment(`env${String(i).padStart(3, '0')}`)
    );
    await open({ 'GET envs': json({ environments: many }) });

    const rows = panel.node.querySelectorAll('.jp-HpcEnvs-envRow');
    expect(rows.length).toBeGreaterThan(5);
    expect(rows.length).toBeLessThan(40);
    const spacer = find(panel.node, '.jp-HpcEnvs-virtualSpacer');
    expect(spacer.style.height).toBe(`${500 * ENV_ROW_HEIGHT}px`);
  });

  it('filters the environments by name, module or package', async () => {
    await open({
      'GET envs': json({
        environments: [
          environment('science'),
          environment('torch', { modules: ['Python/3.12.1-GCCcore-13.2.0'], packages: ['torch'] })
        ]
      })
    });

    await type(find<HTMLInputElement>(panel.node, '.jp-HpcEnvs-filter'), 'torch');

    const names = [...panel.node.querySelectorAll('.jp-HpcEnvs-envRow')].map(r =>
      r.getAttribute('data-env')
    );
    expect(names).toEqual(['torch']);
  });

  it('shows the builds of the selected environment and runs their actions', async () => {
    await open({
      'GET envs': json({ environments: [environment('science'), environment('other')] }),
      // Python 3.12 of 2023b beside the environment's 3.11 of 2023a: "Migrate…" is offered
      'GET modules': json({ partition: 'zen4', module_system: 'lmod', modules: MODULES })
    });

    await click(find(panel.node, '.jp-HpcEnvs-envRow[data-env="science"]'));
    const details = find(panel.node, '.jp-HpcEnvs-details[data-env="science"]');
    const zen2 = find(details, '.jp-HpcEnvs-build[data-partition="zen2"]');
    const zen4 = find(details, '.jp-HpcEnvs-build[data-partition="zen4"]');
    await click(find(zen4, 'button[aria-label^="Open a terminal"]'));
    await click(find(zen4, 'button[aria-label^="Show the packages"]'));
    await click(find(zen4, 'button[aria-label^="Kernel resources"]'));
    await chooseFromMenu(find(zen4, '.jp-HpcEnvs-build-more'), CommandIDs.rebuildEnvironment);
    await chooseFromMenu(find(zen4, '.jp-HpcEnvs-build-more'), CommandIDs.migrateEnvironment);
    await chooseFromMenu(find(zen4, '.jp-HpcEnvs-build-more'), CommandIDs.removeEnvironment);
    await click(find(zen2, 'button[aria-label^="Build"]'));
    await click(find(details, '.jp-HpcEnvs-removeButton'));

    expect(zen2.dataset.status).toBe('none');
    expect(zen2.textContent).toContain('not built for this partition');
    expect(find(zen2, '.jp-HpcEnvs-build-build').textContent).toBe('Build for zen2');
    expect(zen4.dataset.status).toBe('ready');
    // The main actions are words, not icons.
    expect(
      Array.from(zen4.querySelectorAll('.jp-HpcEnvs-build-actions button')).map(b => b.textContent)
    ).toEqual(['Terminal', 'Packages', 'Resources…', 'More ▾']);
    expect(runs).toEqual([
      [CommandIDs.openTerminal, { name: 'science', partition: 'zen4' }],
      [CommandIDs.showPackages, { name: 'science', partition: 'zen4' }],
      [CommandIDs.kernelResources, { kernel: 'hpcenv-science-zen4' }],
      [CommandIDs.rebuildEnvironment, { name: 'science', partition: 'zen4', force: true }],
      [CommandIDs.migrateEnvironment, { name: 'science', partition: 'zen4' }],
      [CommandIDs.removeEnvironment, { name: 'science', partition: 'zen4' }],
      [CommandIDs.rebuildEnvironment, { name: 'science', partition: 'zen2', force: false }],
      [CommandIDs.removeEnvironment, { name: 'science' }]
    ]);
  });

  it('shows who shares an environment, and offers its user no change of it', async () => {
    await open({
      'GET envs': json({
        environments: [environment('team', { owner: 'alice', shared: true, mine: false })]
      })
    });

    expect(find(panel.node, '.jp-HpcEnvs-envRow[data-env="team"]').textContent).toContain(
      'shared by alice'
    );
    await click(find(panel.node, '.jp-HpcEnvs-envRow[data-env="team"]'));
    const details = find(panel.node, '.jp-HpcEnvs-details[data-env="team"]');
    const zen4 = find(details, '.jp-HpcEnvs-build[data-partition="zen4"]');
    await click(find(zen4, 'button[aria-label^="Show the packages"]'));
    await click(find(details, '.jp-HpcEnvs-registerButton'));

    expect(details.querySelector('.jp-HpcEnvs-removeButton')).toBeNull();
    expect(details.querySelector('button[aria-label^="Rebuild"]')).toBeNull();
    expect(details.querySelector('button[aria-label^="Build"]')).toBeNull();
    expect(runs).toEqual([
      [CommandIDs.showPackages, { name: 'team', partition: 'zen4' }],
      [CommandIDs.registerKernel, { name: 'team' }]
    ]);
  });

  it('shows a refused environment with the reason and nothing to do with it', async () => {
    const reason = '/site/data/hpc-envs/evil is owned by mallory: nothing of it is read or run.';
    await open({
      'GET envs': json({
        environments: [
          {
            name: 'evil',
            kind: '',
            home: '/site/data/hpc-envs/evil',
            shared: false,
            refused: reason,
            warnings: [reason]
          }
        ]
      })
    });

    await click(find(panel.node, '.jp-HpcEnvs-envRow[data-env="evil"]'));
    const details = find(panel.node, '.jp-HpcEnvs-details[data-env="evil"]');

    expect(find(panel.node, '.jp-HpcEnvs-envRow[data-env="evil"]').textContent).toContain(
      'refused'
    );
    expect(find(details, '[role="alert"]').textContent).toBe(reason);
    expect(details.querySelectorAll('button')).toHaveLength(0);
  });

  it('shows a stale build with the problems the server found', async () => {
    const stale = environment('science');
    const message = 'Module Python/3.11.7-GCCcore-12.3.0 is gone from the module tree: migrate.';
    stale.builds.zen4 = {
      ...stale.builds.zen4,
      state: 'stale',
      problems: [{ kind: 'module', subject: 'Python/3.11.7-GCCcore-12.3.0', message }]
    };
    await open({ 'GET envs': json({ environments: [stale] }) });

    await click(find(panel.node, '.jp-HpcEnvs-envRow[data-env="science"]'));
    const details = find(panel.node, '.jp-HpcEnvs-details[data-env="science"]');

    expect(find(details, '.jp-HpcEnvs-problem[data-kind="module"]').textContent).toBe(
      `The zen4 build is stale: ${message}`
    );
    expect(find(details, '.jp-HpcEnvs-build[data-partition="zen4"]').dataset.status).toBe('stale');
  });

  it('shows a conda environment with its kind, no modules, its Python and channels', async () => {
    await open({
      'GET envs': json({ environments: [environment('science'), condaEnvironment('forge')] })
    });

    await click(find(panel.node, '.jp-HpcEnvs-envRow[data-env="forge"]'));
    const details = find(panel.node, '.jp-HpcEnvs-details[data-env="forge"]');

    expect(find(panel.node, '.jp-HpcEnvs-envRow[data-env="forge"]').textContent).toContain('conda');
    expect(
      panel.node.querySelector('.jp-HpcEnvs-envRow[data-env="science"] .jp-HpcEnvs-envRow-kind')
    ).toBeNull();
    expect(find(details, '.jp-HpcEnvs-details-kind').textContent).toBe('conda');
    expect(find(details, '.jp-HpcEnvs-details-modules').textContent).toBe('no modules');
    expect(find(details, '.jp-HpcEnvs-details-conda').textContent).toBe(
      'Python 3.11 · channels: file:///site/conda-channel · made with rattler'
    );
  });

  it('shows a running build, its step and its log, and does not offer removal meanwhile', async () => {
    const building = task({ state: 'running', step: 'pip upgrade' });
    await open({
      'GET envs': json({
        environments: [environment('science', { builds: {}, kernels: [], tasks: [building] })]
      }),
      'GET tasks': json({ tasks: [building] }),
      [`GET tasks/${building.id}/log`]: () => ({ error: new TypeError('Failed to fetch') })
    });

    await click(find(panel.node, '.jp-HpcEnvs-envRow[data-env="science"]'));
    const zen4 = find(panel.node, '.jp-HpcEnvs-build[data-partition="zen4"]');
    await click(find(zen4, 'button[aria-label^="Show the log"]'));

    expect(zen4.dataset.status).toBe('building');
    expect(zen4.textContent).toContain('pip upgrade');
    expect(find<HTMLButtonElement>(panel.node, '.jp-HpcEnvs-removeButton').disabled).toBe(true);
    expect(runs).toEqual([[CommandIDs.showLog, { task: building.id }]]);
  });

  it('shows why a build failed, its log, and offers to edit the spec and retry', async () => {
    await open({ 'GET envs': json({ environments: [mendableEnvironment('science')] }) });

    await click(find(panel.node, '.jp-HpcEnvs-envRow[data-env="science"]'));
    const zen2 = find(panel.node, '.jp-HpcEnvs-build[data-partition="zen2"]');
    await click(find(zen2, 'button.jp-HpcEnvs-build-log'));
    await click(find(zen2, 'button.jp-HpcEnvs-build-edit'));
    await chooseFromMenu(find(zen2, '.jp-HpcEnvs-build-more'), CommandIDs.rebuildEnvironment);

    expect(zen2.dataset.status).toBe('failed');
    expect(find(zen2, '.jp-HpcEnvs-build-failureSummary').textContent).toBe(
      'pip found no distribution named numpyy (no matching distribution found).'
    );
    expect(find(zen2, '.jp-HpcEnvs-build-entry').textContent).toBe('numpyy');
    expect(find(zen2, '.jp-HpcEnvs-build-log').textContent).toBe('Log');
    expect(find(zen2, '.jp-HpcEnvs-build-edit').textContent).toBe('Edit and retry');
    expect(runs).toEqual([
      [CommandIDs.showLog, { task: '5ad0c8e4f2a14b7e9bb1c0d2e3f4a5b6' }],
      [CommandIDs.editEnvironment, { name: 'science', partition: 'zen2' }],
      [CommandIDs.rebuildEnvironment, { name: 'science', partition: 'zen2', force: false }]
    ]);
  });

  it('shows why a build is out of date and catches it up in one click', async () => {
    await open({ 'GET envs': json({ environments: [mendableEnvironment('science')] }) });

    await click(find(panel.node, '.jp-HpcEnvs-envRow[data-env="science"]'));
    const zen4 = find(panel.node, '.jp-HpcEnvs-build[data-partition="zen4"]');
    await click(find(zen4, 'button.jp-HpcEnvs-build-catchup'));

    expect(zen4.dataset.status).toBe('stale');
    expect(find(zen4, '.jp-HpcEnvs-build-problems').textContent).toBe(
      'numpyy was added to the environment after this build.'
    );
    expect(find(zen4, '.jp-HpcEnvs-build-catchup').textContent).toBe('Catch up');
    expect(runs).toEqual([
      [CommandIDs.rebuildEnvironment, { name: 'science', partition: 'zen4', force: true }]
    ]);
  });

  it('makes the environment list as tall as its rows, not a fixed box', async () => {
    await open({
      'GET envs': json({ environments: [environment('alpha'), environment('beta')] })
    });

    const list = find(panel.node, '.jp-HpcEnvs-envList');

    expect(list.style.height).toBe(`${2 * ENV_ROW_HEIGHT}px`);
  });

  it('offers to create the first environment', async () => {
    await open({ 'GET envs': json({ environments: [] }) });

    await click(find(panel.node, '.jp-HpcEnvs-empty button'));

    expect(runs).toEqual([[CommandIDs.createEnvironment, {}]]);
  });

  it('moves the selection with the arrow keys', async () => {
    await open({
      'GET envs': json({ environments: [environment('alpha'), environment('beta')] })
    });
    await click(find(panel.node, '.jp-HpcEnvs-envRow[data-env="alpha"]'));

    await settle(() =>
      find(panel.node, '.jp-HpcEnvs-envRow[data-env="alpha"]').dispatchEvent(
        new KeyboardEvent('keydown', { key: 'ArrowDown', bubbles: true })
      )
    );

    expect(find(panel.node, '.jp-HpcEnvs-details').dataset.env).toBe('beta');
  });
});
