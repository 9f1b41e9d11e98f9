/**
 * PackagesView: the packages of a build, with their sources and warnings, filtering, a long list,
 * and the commands of install, uninstall and export.
 *
 * The models are the real ones over a faked `fetch` (fake-server.ts) with the real server's
 * replies (fixtures.ts); the commands are recorded instead of run.
 */
import { nullTranslator } from '@jupyterlab/translation';
import { CommandRegistry } from '@lumino/commands';
import { ReadonlyPartialJSONObject } from '@lumino/coreutils';

import { Package } from '../api';
import { CommandIDs } from '../commands';
import { HpcEnvsModel } from '../model';
import { PackagesModel } from '../packagesmodel';
import { PACKAGE_ROW_HEIGHT, PackagesView, sourceBadge } from '../widgets/packages';
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
import { click, dispose, find, settle, show, type } from './render';

describe('PackagesView', () => {
  let model: HpcEnvsModel;
  let view: PackagesView;
  let fake: RoutedServer;
  let runs: [string, ReadonlyPartialJSONObject][];

  async function open(packages = PACKAGES, name = 'science'): Promise<void> {
    const env = packages.kind === 'conda' ? condaEnvironment(name) : environment(name);
    fake = new RoutedServer({
      'GET info': json(INFO),
      'GET site': json(SITE),
      'GET envs': json({ environments: [env] }),
      'GET tasks': json({ tasks: [] }),
      'GET kernel-jobs': json({ jobs: [] }),
      [`POST envs/${name}/packages/listing`]: json(packages)
    });
    model = new HpcEnvsModel({ serverSettings: fake.settings() });
    await model.refresh();
    const commands = new CommandRegistry();
    runs = [];
    for (const id of Object.values(CommandIDs)) {
      commands.addCommand(id, {
        execute: async args => {
          runs.push([id, args]);
          if (id !== CommandIDs.installPackages) {
            return true;
          }
          // As the real command: the install runs as a task, whose id is returned (false when
          // the server refuses; here, when the test gave it no reply).
          try {
            const log = await model.install(
              String(args.name),
              String(args.partition),
              args.packages as string[],
              args.upgrade === true
            );
            return log.task.id;
          } catch {
            return false;
          }
        }
      });
    }
    view = await show(
      new PackagesView({
        model: new PackagesModel({ model, name, partition: 'zen4' }),
        commands
      })
    );
    await settle();
  }

  afterEach(async () => {
    await dispose(view);
    model.dispose();
  });

  it('shows where each package comes from', async () => {
    await open();

    const rows = [...view.node.querySelectorAll('.jp-HpcEnvs-package')].map(r => [
      find(r, '.jp-HpcEnvs-package-name').textContent,
      find(r, '.jp-HpcEnvs-badge').textContent
    ]);
    expect(rows).toEqual([
      ['numpy', 'SciPy-bundle/2023.07-gfbf-2023a'],
      ['icecream', 'venv'],
      ['pip', 'venv'],
      ['pipshadowed', 'base (Python/3.11.7-GCCcore-12.3.0)']
    ]);
    expect(view.title.label).toBe('Packages: science (zen4)');
  });

  it('shows a module outranking the venv as a warning, and duplicates as information', async () => {
    await open();

    expect(find(view.node, '.jp-HpcEnvs-shadow').textContent).toContain('outranks 2.0.0');
    expect(find(view.node, '.jp-HpcEnvs-shadowInfo').textContent).toContain(
      'pip 26.3 (venv) hides 23.2.1 (base: Python/3.11.7-GCCcore-12.3.0)'
    );
  });

  it('offers to uninstall only what the venv owns and the kernel does not need', async () => {
    await open();

    const removable = [...view.node.querySelectorAll('.jp-HpcEnvs-package')]
      .filter(r => r.querySelector('button[aria-label^="Uninstall"]'))
      .map(r => r.getAttribute('data-package'));
    await click(find(view.node, '.jp-HpcEnvs-package[data-package="icecream"] button'));

    expect(removable).toEqual(['icecream']);
    expect(runs).toEqual([
      [CommandIDs.uninstallPackage, { name: 'science', partition: 'zen4', package: 'icecream' }]
    ]);
  });

  /**
   * The server's replies to an install that ends in `state` with `message`.
   */
  function installEnds(state: 'succeeded' | 'failed', message: string): void {
    const install = task({
      kind: 'install',
      title: 'Install in science (zen4)',
      step: '',
      params: { arch: 'zen4' }
    });
    fake.routes['POST envs/science/packages'] = json({ task: install }, 202);
    fake.routes[`GET tasks/${install.id}/log`] = json({ text: '', offset: 0, state, step: '' });
    fake.routes[`GET tasks/${install.id}`] = json({ ...install, state, message });
  }

  it('installs what is typed, as separate requirements, and clears the box once installed', async () => {
    await open();
    installEnds('succeeded', 'Installed.');
    const box = find<HTMLInputElement>(view.node, '.jp-HpcEnvs-install-specs');

    await type(box, 'six tqdm >= 4.66');
    await click(find(view.node, '.jp-HpcEnvs-install-button'));
    await settle();

    expect(runs).toEqual([
      [
        CommandIDs.installPackages,
        { name: 'science', partition: 'zen4', packages: ['six', 'tqdm>=4.66'], upgrade: false }
      ]
    ]);
    expect(box.value).toBe('');
    expect(view.node.querySelector('.jp-HpcEnvs-install-error')).toBeNull();
  });

  it('keeps what was typed after a failed install, with the whole reason', async () => {
    await open();
    const why =
      'pip could not install nosuchpkg-hpc: ERROR: Could not find a version that satisfies the requirement nosuchpkg-hpc (from versions: none). ERROR: No matching distribution found for nosuchpkg-hpc. The environment is as it was.';
    installEnds('failed', why);
    const box = find<HTMLInputElement>(view.node, '.jp-HpcEnvs-install-specs');

    await type(box, 'nosuchpkg-hpc');
    await click(find(view.node, '.jp-HpcEnvs-install-button'));
    await settle();

    expect(box.value).toBe('nosuchpkg-hpc');
    const error = find(view.node, '.jp-HpcEnvs-install-error');
    expect(error.getAttribute('role')).toBe('alert');
    expect(error.textContent).toContain(why);
  });

  it('filters the packages by name and by source', async () => {
    await open();

    await type(find<HTMLInputElement>(view.node, '.jp-HpcEnvs-packages-filter'), 'pip');
    await type(find<HTMLSelectElement>(view.node, '.jp-HpcEnvs-packages-source'), 'base');

    const rows = [...view.node.querySelectorAll('.jp-HpcEnvs-package')];
    expect(rows.map(r => r.getAttribute('data-source'))).toEqual(['base']);
    expect(find(view.node, '.jp-HpcEnvs-packages-count').textContent).toBe('1 of 4');
  });

  it('renders only the rows in view of thousands of packages', async () => {
    const many: Package[] = Array.from({ length: 5000 }, (_, i) => ({
      ...PACKAGES.packages[1],
      name: `pkg${i}`,
      key: `pkg${i}`
    }));
    await open({ ...PACKAGES, packages: many, warnings: [] });

    const rows = view.node.querySelectorAll('.jp-HpcEnvs-package');
    expect(rows.length).toBeGreaterThan(10);
    expect(rows.length).toBeLessThan(60);
    expect(
      find(view.node, '.jp-HpcEnvs-packages-list .jp-HpcEnvs-virtualSpacer').style.height
    ).toBe(`${5000 * PACKAGE_ROW_HEIGHT}px`);
  });

  it('exports the requirements of the partition shown', async () => {
    await open();

    await click(find(view.node, '.jp-HpcEnvs-export'));

    expect(runs).toEqual([[CommandIDs.exportRequirements, { name: 'science', partition: 'zen4' }]]);
  });

  describe('of a conda environment', () => {
    beforeEach(async () => {
      await open(CONDA_PACKAGES, 'forge');
    });

    it('lists the conda packages with the requested ones marked, and no module', () => {
      const rows = [...view.node.querySelectorAll('.jp-HpcEnvs-condaPackage')].map(r => [
        r.getAttribute('data-package'),
        r.getAttribute('data-requested'),
        find(r, '.jp-HpcEnvs-package-channel').textContent
      ]);

      expect(rows.slice(0, 3)).toEqual([
        ['hpc-envs-hook', 'true', 'conda-channel'],
        ['ipykernel', 'true', 'conda-channel'],
        ['jupyter-client', 'false', 'conda-channel']
      ]);
      expect(find(view.node, '.jp-HpcEnvs-packages-summary').textContent).toContain('no modules');
      expect(find(view.node, '.jp-HpcEnvs-packages-count').textContent).toBe('7 of 7');
    });

    it('offers update and remove per package, but no removal of what the kernel needs', async () => {
      const removable = [...view.node.querySelectorAll('.jp-HpcEnvs-condaPackage')]
        .filter(r => r.querySelector('button[aria-label^="Remove"]'))
        .map(r => r.getAttribute('data-package'));

      await click(find(view.node, 'button[aria-label="Update tornado"]'));
      await click(find(view.node, 'button[aria-label="Remove tornado"]'));

      expect(removable).toEqual(['hpc-envs-hook', 'jupyter-client', 'pygments', 'tornado']);
      expect(runs).toEqual([
        [
          CommandIDs.installPackages,
          { name: 'forge', partition: 'zen4', packages: ['tornado'], upgrade: true }
        ],
        [CommandIDs.uninstallPackage, { name: 'forge', partition: 'zen4', package: 'tornado' }]
      ]);
    });

    it('installs a conda spec whose version is written apart as one spec', async () => {
      await type(
        find<HTMLInputElement>(view.node, '.jp-HpcEnvs-install-specs'),
        'numpy 1.26.* scipy >=1.11'
      );
      await click(find(view.node, '.jp-HpcEnvs-install-button'));

      expect(runs).toEqual([
        [
          CommandIDs.installPackages,
          {
            name: 'forge',
            partition: 'zen4',
            packages: ['numpy 1.26.*', 'scipy>=1.11'],
            upgrade: false
          }
        ]
      ]);
    });

    it('updates all packages with the command', async () => {
      await click(find(view.node, '.jp-HpcEnvs-updateAll'));

      expect(runs).toEqual([[CommandIDs.updateAllPackages, { name: 'forge', partition: 'zen4' }]]);
    });

    it('shows the Python distributions with their provenance on demand, without uninstall', async () => {
      await type(find<HTMLSelectElement>(view.node, '.jp-HpcEnvs-packages-listing'), 'python');

      const rows = [...view.node.querySelectorAll('.jp-HpcEnvs-package')];
      expect(rows.map(r => r.getAttribute('data-source'))).toEqual(Array(5).fill('conda'));
      expect(view.node.querySelector('button[aria-label^="Uninstall"]')).toBeNull();
    });

    it('offers no "update all" for a venv', async () => {
      await dispose(view);
      model.dispose();
      await open();

      expect(view.node.querySelector('.jp-HpcEnvs-updateAll')).toBeNull();
      expect(view.node.querySelector('.jp-HpcEnvs-packages-listing')).toBeNull();
    });
  });
});

describe('sourceBadge', () => {
  it('says which module the interpreter of a base package is, and tolerates an unknown one', () => {
    const trans = nullTranslator.load('jupyterlab_hpc_envs');
    const base = PACKAGES.packages[3];
    expect(sourceBadge(base, trans)).toEqual({
      text: 'base (Python/3.11.7-GCCcore-12.3.0)',
      title: 'Part of the interpreter of the module Python/3.11.7-GCCcore-12.3.0'
    });
    expect(sourceBadge({ ...base, module: null }, trans).text).toBe('base');
  });
});
