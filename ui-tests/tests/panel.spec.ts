/**
 * The side panel in a real JupyterLab with the real server extension on the demo HPC site, in
 * Debian's Chromium.
 */
import { expect, test } from '@jupyterlab/galata';
import { execFileSync } from 'child_process';

import { openPanel } from './helpers';

// The version of the installed Python package: the panel shows what the server extension says,
// so this test fails if the server extension or the labextension is missing or broken.
const pythonVersion = execFileSync('python', [
  '-c',
  'import jupyterlab_hpc_envs; print(jupyterlab_hpc_envs.__version__)'
])
  .toString()
  .trim();

test.describe('HPC environments side panel', () => {
  test('shows the version of the server extension and where JupyterLab runs', async ({ page }) => {
    // Given JupyterLab is loaded (galata's page fixture waits for it)
    // When the user clicks the panel's tab in the left sidebar
    const panel = await openPanel(page);

    // Then the panel shows the name and version the server extension reports, and the demo
    // site: this server on its zen4 node, Lmod, Slurm
    await expect(panel.locator('.jp-HpcEnvs-version')).toHaveText(
      `jupyterlab-hpc-envs ${pythonVersion}`
    );
    await expect(panel.locator('.jp-HpcEnvs-error')).toBeHidden();
    await expect(panel.locator('.jp-HpcEnvs-site')).toContainText('Partition zen4');
    await expect(panel.locator('.jp-HpcEnvs-site')).toContainText('Lmod');
    await expect(panel.locator('.jp-HpcEnvs-site')).toContainText('Slurm');
  });

  test("shows the server's message when the API fails", async ({ page }) => {
    // Given the REST API answers with an error (faked in the browser: a real server extension
    // that fails on purpose does not exist; the message must reach the user unchanged)
    await page.route('**/hpc-envs/api/info**', route =>
      route.fulfill({
        status: 503,
        contentType: 'application/json',
        body: JSON.stringify({ message: 'The site is being scanned' })
      })
    );
    await page.reload({ waitForIsReady: true });

    // When the user opens the panel
    const panel = await openPanel(page);

    // Then the panel shows the server's message
    const error = panel.locator('.jp-HpcEnvs-error');
    await expect(error).toBeVisible();
    await expect(error).toContainText('The site is being scanned');
  });

  test('is reachable from the command palette, and opens the creation form', async ({ page }) => {
    // When the user runs "New HPC Environment" from the command palette
    await page.keyboard.press('Control+Shift+C');
    await page.locator('.lm-CommandPalette-input').fill('New HPC Environment');
    await page.keyboard.press('Enter');

    // Then the creation form opens with the site's choices
    const form = page.locator('.jp-HpcEnvs-form-body');
    await expect(form).toBeVisible();
    await expect(form.getByLabel('Partition')).toHaveValue('zen4');
    await expect(form.locator('.jp-HpcEnvs-roots')).toContainText('$VSC_DATA');
    // (conda is offered: the test server has an engine, py-rattler on the local channel)
    await expect(form.locator('input[value="conda"]')).toBeEnabled();
  });
});
