/**
 * A conda environment made from JupyterLab on the demo HPC site: the site discourages conda (its
 * message is shown before and after), the py-rattler engine builds it from the local channel of
 * scripts/conda-channel (start-jupyter.sh), with no modules; its packages are conda's, with the
 * requested ones marked; a notebook on its kernel runs inside it, with its activate.d hook; then
 * it is removed.
 */
import { expect, test } from '@jupyterlab/galata';

import { openLauncher, openPanel, removeEnvironment, screenshot, uniqueName } from './helpers';

/**
 * The site's message (ui-tests/jupyter_server_test_config.py).
 */
const DISCOURAGED = 'Conda is discouraged at hpcdemo';

test.describe('Creating a conda environment', () => {
  const name = uniqueName('conda');

  test.afterEach(async ({ request }) => {
    await removeEnvironment(request, name);
  });

  test('from the form, with the site policy, a notebook on its kernel, then its removal', async ({
    page
  }) => {
    // Given the creation form
    const launcher = await openLauncher(page);
    await launcher.locator('.jp-LauncherCard', { hasText: 'New HPC Environment' }).click();
    const form = page.locator('.jp-HpcEnvs-form-body');
    await expect(form).toBeVisible();

    // When the user chooses conda
    const conda = form.locator('input[value="conda"]');
    await expect(conda).toBeEnabled();
    await conda.check();

    // Then the site's message comes first, the module pickers give way to a Python version and
    // the channels (the site's default first, Intel's offered)
    await expect(form.locator('.jp-HpcEnvs-condaWarning').first()).toContainText(DISCOURAGED);
    await expect(form.locator('select.jp-HpcEnvs-python')).toHaveCount(0);
    await expect(form.locator('.jp-HpcEnvs-selectedChannels')).toContainText('conda-channel');
    await expect(form.locator('.jp-HpcEnvs-channelChoice', { hasText: 'intel' })).toBeVisible();

    // When the user names it, asks for Python 3.11 and the channel's activate.d hook package
    await form.getByLabel('Name').fill(name);
    await form.getByLabel('Partition').selectOption('zen4');
    await form.getByLabel('Python version').fill('3.11');
    await form.getByLabel('Packages to install with conda').fill('hpc-envs-hook');
    await screenshot(page, 'form-conda-light');
    await form.getByRole('button', { name: 'Create' }).click();

    // Then its build's log shows the site's warning again and the build succeeds
    const log = page.locator('.jp-HpcEnvs-taskLog');
    await expect(log.locator('.jp-HpcEnvs-taskLog-warnings')).toContainText(DISCOURAGED);
    await expect(log).toHaveAttribute('data-state', 'succeeded', { timeout: 120_000 });
    await expect(log.locator('.jp-HpcEnvs-taskLog-output')).toContainText(
      `Kernel hpcenv-${name}-zen4 registered.`
    );

    // And the side panel shows a conda environment, ready on zen4, with no modules
    const panel = await openPanel(page);
    const row = panel.locator(`.jp-HpcEnvs-envRow[data-env="${name}"]`);
    await expect(row.locator('.jp-HpcEnvs-envRow-kind')).toHaveText('conda');
    await row.click();
    const details = panel.locator(`.jp-HpcEnvs-details[data-env="${name}"]`);
    await expect(details.locator('.jp-HpcEnvs-details-modules')).toHaveText('no modules');
    await expect(details.locator('[data-partition="zen4"]')).toHaveAttribute(
      'data-status',
      'ready'
    );

    // When the user opens its packages
    await details.getByRole('button', { name: 'Packages', exact: true }).click();

    // Then they are conda's, the requested ones marked, with "Update all"
    const view = page.locator(`.jp-HpcEnvs-packagesView[data-env="${name}"]`);
    const hook = view.locator('.jp-HpcEnvs-condaPackage[data-package="hpc-envs-hook"]');
    await expect(hook).toHaveAttribute('data-requested', 'true', { timeout: 60_000 });
    await expect(view.locator('.jp-HpcEnvs-condaPackage[data-package="python"]')).toContainText(
      '3.11.'
    );
    await expect(view.locator('.jp-HpcEnvs-condaPackage[data-package="ipython"]')).toHaveAttribute(
      'data-requested',
      'false'
    );
    await expect(view.getByRole('button', { name: 'Update all…' })).toBeEnabled();
    await screenshot(page, 'packages-conda-light');

    // When the user opens a notebook on its kernel and prints where Python runs
    const card = (await openLauncher(page)).locator('.jp-LauncherCard[data-category="Notebook"]', {
      hasText: `${name} (zen4)`
    });
    await card.click();
    await expect(page.locator('.jp-NotebookPanel-toolbar .jp-KernelName')).toHaveText(
      `${name} (zen4)`
    );
    await page.notebook.setCell(
      0,
      'code',
      'import os, sys\nprint(sys.prefix)\nprint(os.environ.get("HPC_ENVS_CONDA_HOOK"))\n' +
        'print(repr(os.environ.get("LOADEDMODULES", "")))'
    );
    await page.notebook.runCell(0);

    // Then it runs in the conda build, activated with its activate.d hook, with no module
    const printed = (await page.notebook.getCellTextOutput(0))!.join('').trim().split('\n');
    expect(printed[0]).toMatch(new RegExp(`/hpc-envs/${name}/conda-zen4$`));
    expect(printed[1]).toBe(`ran for ${printed[0]}`);
    expect(printed[2]).toBe("''");
    await page.menu.clickMenuItem('Kernel>Shut Down Kernel');

    // When the user removes it from the panel
    await openPanel(page);
    await details.getByRole('button', { name: 'Remove…' }).click();
    const dialog = page.locator('.jp-Dialog');
    await expect(dialog.locator('.jp-HpcEnvs-removal-plan')).toContainText(
      `/hpc-envs/${name}/conda-zen4`
    );
    await dialog.getByRole('button', { name: 'Remove' }).click();

    // Then it is gone, with its kernel
    await expect(row).toHaveCount(0);
    await expect(
      (await openLauncher(page)).locator('.jp-LauncherCard', { hasText: `${name} (zen4)` })
    ).toHaveCount(0);
  });
});
