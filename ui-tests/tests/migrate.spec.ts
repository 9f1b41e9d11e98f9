/**
 * Migration to a newer toolchain generation from the side panel: the "Migrate…" item of a build
 * row's menu shows the server's plan (each module before and after) and builds the new
 * environment like the creation form does, leaving the old one ready.
 */
import { expect, IJupyterLabPageFixture, test } from '@jupyterlab/galata';
import { Locator } from '@playwright/test';

import {
  createEnvironment,
  openPanel,
  PYTHON,
  removeEnvironment,
  SCIPY,
  uniqueName
} from './helpers';

const NEW_PYTHON = 'Python/3.12.1-GCCcore-13.2.0';
const NEW_SCIPY = 'SciPy-bundle/2023.11-gfbf-2023b';

async function details(page: IJupyterLabPageFixture, name: string): Promise<Locator> {
  const panel = await openPanel(page);
  await panel.getByRole('button', { name: /^Refresh/ }).click();
  await panel.locator(`.jp-HpcEnvs-envRow[data-env="${name}"]`).click();
  return panel.locator(`.jp-HpcEnvs-details[data-env="${name}"]`);
}

test.describe('Migrate… in the panel', () => {
  const old = uniqueName('migrate-ui');
  const renamed = `${old}-next`;

  test.beforeAll(async ({ request }) => {
    await createEnvironment(request, old, 'zen4', [PYTHON, SCIPY]);
  });

  test.afterAll(async ({ request }) => {
    await removeEnvironment(request, renamed);
    await removeEnvironment(request, old);
  });

  test('shows the plan, builds the new environment and leaves the old one ready', async ({
    page
  }) => {
    // Given a 2023a environment ready on zen4
    const row = (await details(page, old)).locator('.jp-HpcEnvs-build[data-partition="zen4"]');
    await expect(row).toHaveAttribute('data-status', 'ready');

    // When the user chooses "Migrate…" in the row's menu
    await row.locator('.jp-HpcEnvs-build-more').click();
    await page
      .locator('.jp-HpcEnvs-buildMenu')
      .getByText(`Migrate ${old} to Another Toolchain…`)
      .click();

    // Then the dialog shows the newest generation and each module's successor in it
    const dialog = page.locator('.jp-Dialog');
    const body = dialog.locator('.jp-HpcEnvs-migration');
    await expect(body.locator('.jp-HpcEnvs-migration-generation')).toHaveValue('2023b');
    await expect(body.locator(`tr[data-module="${PYTHON}"] td`).last()).toHaveText(NEW_PYTHON);
    await expect(body.locator(`tr[data-module="${SCIPY}"] td`).last()).toHaveText(NEW_SCIPY);
    await expect(body.locator('.jp-HpcEnvs-migration-plan')).toContainText(`${old}-2023b`);

    // When the user names the new environment and builds it
    const name = body.locator('.jp-HpcEnvs-migration-name');
    await name.fill(renamed);
    await name.blur();
    await expect(body.locator('.jp-HpcEnvs-migration-plan')).toContainText(renamed);
    await dialog.getByRole('button', { name: 'Build' }).click();

    // Then its log opens and the new environment becomes ready on zen4, with the new modules
    await expect(page.locator('.jp-HpcEnvs-taskLog').last()).toBeVisible();
    const fresh = (await details(page, renamed)).locator(
      '.jp-HpcEnvs-build[data-partition="zen4"]'
    );
    await expect(fresh).toHaveAttribute('data-status', 'ready', { timeout: 180_000 });
    await expect(fresh.locator('.jp-HpcEnvs-build-detail')).toHaveText(/^Python 3\.12\./);

    // And the old one is still ready, on its own Python
    const before = (await details(page, old)).locator('.jp-HpcEnvs-build[data-partition="zen4"]');
    await expect(before).toHaveAttribute('data-status', 'ready');
    await expect(before.locator('.jp-HpcEnvs-build-detail')).toHaveText(/^Python 3\.11\./);
  });
});
