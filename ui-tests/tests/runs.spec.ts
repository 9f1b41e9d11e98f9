/**
 * A notebook run as a Slurm batch job from its toolbar: the dialog takes the notebook's kernel
 * (of an environment built for zen2) and a parameter, the "Runs" section of the side panel
 * follows the job until it has finished, and the output notebook shows the injected value and
 * the partition the job ran on.
 */
import { expect, test } from '@jupyterlab/galata';
import { APIRequestContext } from '@playwright/test';
import * as path from 'path';

import {
  createEnvironment,
  IPYTHON,
  openPanel,
  PYTHON,
  IMAGES,
  removeEnvironment,
  uniqueName
} from './helpers';

/**
 * Shut down the kernels of an environment: their Slurm jobs would hold the demo node's CPUs.
 */
async function stopKernels(request: APIRequestContext, name: string): Promise<void> {
  const kernels: { id: string; name: string }[] = await (await request.get('/api/kernels')).json();
  for (const kernel of kernels.filter(k => k.name.startsWith(`hpcenv-${name}-`))) {
    await request.delete(`/api/kernels/${kernel.id}`);
  }
}

test.describe('Runs', () => {
  const name = uniqueName('runsui');

  test.afterEach(async ({ request }) => {
    await stopKernels(request, name);
    await removeEnvironment(request, name);
  });

  test('submitted from the notebook toolbar with a parameter, followed to its end', async ({
    page,
    request,
    tmpPath
  }) => {
    test.setTimeout(480_000);
    // Given an environment built for zen2 and a notebook on its kernel with a parameters cell
    await createEnvironment(request, name, 'zen2', [PYTHON, IPYTHON]);
    const kernel = `hpcenv-${name}-zen2`;
    const cell = (source: string, tags: string[] = []) => ({
      cell_type: 'code',
      metadata: { tags },
      source,
      outputs: [],
      execution_count: null
    });
    const notebook = {
      cells: [
        cell('alpha = 1.0', ['parameters']),
        cell('import os\nprint(f"alpha={alpha} on {os.environ[\'SLURM_JOB_PARTITION\']}")')
      ],
      metadata: {
        kernelspec: { name: kernel, display_name: `${name} (zen2)`, language: 'python' }
      },
      nbformat: 4,
      nbformat_minor: 5
    };
    const notebookPath = `${tmpPath}/${name}.ipynb`; // its runs told apart from earlier ones
    await page.contents.uploadContent(JSON.stringify(notebook), 'text', notebookPath);
    const panel = await openPanel(page);
    await panel.locator('.jp-HpcEnvs-refresh').click();
    await expect(panel.locator(`.jp-HpcEnvs-envRow[data-env="${name}"]`)).toBeVisible();

    // When the user opens it (JupyterLab knowing the new kernel) and clicks the toolbar button
    await page.evaluate(async (p: string) => {
      await window.jupyterapp.serviceManager.kernelspecs.refreshSpecs();
      await window.jupyterapp.commands.execute('docmanager:open', { path: p });
    }, notebookPath);
    await expect(page.locator('.jp-NotebookPanel-toolbar .jp-KernelName')).toHaveText(
      `${name} (zen2)`
    );
    await page.locator('.jp-NotebookPanel-toolbar [data-command="hpc-envs:submit-run"]').click();

    // Then the dialog proposes the notebook's kernel and its partition
    const dialog = page.locator('.jp-HpcEnvs-runDialog');
    await expect(dialog.locator('select[name="kernel"]')).toHaveValue(kernel);
    await expect(dialog.locator('input[name="partition"]')).toHaveValue('zen2');

    // When a parameter that is code, not a value, is given, the dialog says so and stays open
    await dialog.getByLabel('Name of parameter 1').fill('import os');
    await dialog.getByLabel('Value of parameter 1').fill('0.25');
    await dialog.getByRole('button', { name: 'Submit' }).click();
    await expect(dialog.locator('.jp-HpcEnvs-fieldError')).toContainText('Python identifier');

    // When the parameter is alpha = 0.25 and the run submitted
    await dialog.getByLabel('Name of parameter 1').fill('alpha');
    await dialog.getByRole('button', { name: 'Submit' }).click();
    await expect(dialog).toHaveCount(0);

    // Then the Runs section follows it until it has finished
    const row = panel.locator('.jp-HpcEnvs-run', { hasText: `${name}.ipynb` });
    await expect(row).toBeVisible();
    await expect(row.locator('.jp-HpcEnvs-run-parameters')).toHaveText('alpha=0.25');
    await expect(row).toHaveAttribute('data-state', 'SUCCEEDED', { timeout: 300_000 });
    await expect(row.locator('.jp-HpcEnvs-run-facts')).toContainText('zen2');
    // And a notification says it finished
    await expect(
      page.locator('.Toastify__toast', { hasText: `The run of ${name}.ipynb finished.` })
    ).toBeVisible();
    // (the section alone: the rest of the panel shows this machine's paths in the site's warning)
    await page.mouse.move(0, 0);
    await panel
      .locator('.jp-HpcEnvs-runs')
      .screenshot({ path: path.join(IMAGES, 'runs-light.png'), animations: 'disabled' });

    // And its output notebook shows the injected value, on zen2
    await row.locator('.jp-HpcEnvs-run-output').click();
    await expect(
      page.locator('.jp-OutputArea-output', { hasText: 'alpha=0.25 on zen2' })
    ).toBeVisible();
    await stopKernels(request, name);

    // And the generated script can be read
    await row.locator('.jp-HpcEnvs-run-script').click();
    await expect(page.locator('.jp-HpcEnvs-runFile-text')).toContainText('--partition=zen2');

    // And the file browser's context menu offers the same for the notebook it was opened on
    await page.sidebar.openTab('filebrowser');
    await page.filebrowser.openDirectory(tmpPath);
    const item = page.locator('.jp-DirListing-item', {
      has: page.locator('.jp-DirListing-itemText', { hasText: new RegExp(`^${name}\\.ipynb$`) })
    });
    await item.click({ button: 'right' });
    await page.locator('.lm-Menu-item', { hasText: 'Run as Slurm Job…' }).click();
    await expect(page.locator('.jp-Dialog-header')).toContainText(`${name}.ipynb as a Slurm job`);
    await expect(dialog.locator('select[name="kernel"]')).toHaveValue(kernel);
    await dialog.getByRole('button', { name: 'Cancel' }).click();
    await expect(dialog).toHaveCount(0);
  });
});
