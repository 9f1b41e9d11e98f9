/**
 * The packages view of an environment on the demo HPC site: where each package comes from, the
 * filter, install and uninstall as tasks with notifications, and the requirements export.
 */
import { expect, test } from '@jupyterlab/galata';

import { createEnvironment, openPanel, removeEnvironment, screenshot, uniqueName } from './helpers';

test.describe('The packages view', () => {
  const name = uniqueName('pkgs');

  test.beforeAll(async ({ request }) => {
    await createEnvironment(request, name);
  });

  test.afterAll(async ({ request }) => {
    await removeEnvironment(request, name);
  });

  test('lists packages with their source, installs and uninstalls', async ({ page }) => {
    // Given an environment on Python and SciPy-bundle, made before the page was loaded
    const panel = await openPanel(page);
    await panel.getByRole('button', { name: /^Refresh/ }).click();
    await panel.locator(`.jp-HpcEnvs-envRow[data-env="${name}"]`).click();

    // When the user opens its packages
    await panel
      .locator(`.jp-HpcEnvs-details[data-env="${name}"]`)
      .getByRole('button', { name: 'Packages', exact: true })
      .click();

    // Then numpy comes from the SciPy-bundle module, ipykernel from the venv
    const view = page.locator(`.jp-HpcEnvs-packagesView[data-env="${name}"]`);
    const numpy = view.locator('.jp-HpcEnvs-package[data-package="numpy"]');
    await expect(numpy.locator('.jp-HpcEnvs-badge')).toHaveText('SciPy-bundle/2023.07-gfbf-2023a', {
      timeout: 60_000
    });
    await expect(
      view.locator('.jp-HpcEnvs-package[data-package="ipykernel"] .jp-HpcEnvs-badge')
    ).toHaveText('venv');
    await expect(view.locator('.jp-HpcEnvs-packages-summary')).toContainText('Python 3.11.7');
    await screenshot(page, 'packages-light');

    // And the filter keeps only what matches
    await view.getByLabel('Filter packages by name, version or module').fill('numpy');
    await expect(view.locator('.jp-HpcEnvs-package')).toHaveCount(1);
    await view.getByLabel('Filter packages by name, version or module').fill('');

    // When the user installs a package
    await view.getByLabel('Install', { exact: true }).fill('icecream');
    await view.getByRole('button', { name: 'Install', exact: true }).click();

    // Then the install runs as a task that ends well, and the list shows it in the venv
    await expect(
      page.locator('.jp-toast-message', { hasText: `Install icecream in ${name} (zen4): done.` })
    ).toBeVisible({ timeout: 120_000 });
    const icecream = view.locator('.jp-HpcEnvs-package[data-package="icecream"]');
    await expect(icecream.locator('.jp-HpcEnvs-badge')).toHaveText('venv', { timeout: 60_000 });

    // And the exported requirements name it
    await view.getByRole('button', { name: 'Export requirements…' }).click();
    const dialog = page.locator('.jp-Dialog');
    await expect(dialog.locator('.jp-HpcEnvs-requirementsText')).toContainText('icecream==');
    await dialog.getByRole('button', { name: 'Close' }).click();

    // When the user uninstalls it, after confirming
    await icecream.getByRole('button', { name: 'Uninstall icecream' }).click();
    await page.locator('.jp-Dialog').getByRole('button', { name: 'Uninstall' }).click();

    // Then it is gone from the list
    await expect(
      page.locator('.jp-toast-message', {
        hasText: `Uninstall icecream from ${name} (zen4): done.`
      })
    ).toBeVisible({ timeout: 120_000 });
    await expect(icecream).toHaveCount(0, { timeout: 60_000 });
  });
});
