/**
 * The side panel in a real JupyterLab with the real server extension, in Debian's Chromium.
 */
import { expect, test } from '@jupyterlab/galata';
import { execFileSync } from 'child_process';

// The version of the installed Python package: the panel shows what the server extension says,
// so this test fails if the server extension or the labextension is missing or broken.
const pythonVersion = execFileSync('python', [
  '-c',
  'import jupyterlab_hpc_envs; print(jupyterlab_hpc_envs.__version__)'
])
  .toString()
  .trim();

const panelTab = '.jp-SideBar.jp-mod-left .lm-TabBar-tab[data-id="jp-HpcEnvs-panel"]';

test.describe('HPC environments side panel', () => {
  test('shows the version of the server extension', async ({ page }) => {
    // Given JupyterLab is loaded (galata's page fixture waits for it)
    // When the user clicks the panel's tab in the left sidebar
    await page.locator(panelTab).click();

    // Then the panel shows the name and version the server extension reports
    const panel = page.locator('#jp-HpcEnvs-panel');
    await expect(panel).toBeVisible();
    await expect(panel.locator('.jp-HpcEnvs-version')).toHaveText(
      `jupyterlab-hpc-envs ${pythonVersion}`
    );
    await expect(panel.locator('.jp-HpcEnvs-error')).toBeHidden();
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
    await page.locator(panelTab).click();

    // Then the panel shows the server's message
    const error = page.locator('#jp-HpcEnvs-panel .jp-HpcEnvs-error');
    await expect(error).toBeVisible();
    await expect(error).toContainText('The site is being scanned');
  });
});
