/**
 * A kernel's Slurm resources chosen from the side panel within the site's limits (start-jupyter.sh
 * sets them), and the job of a notebook's kernel followed in the panel's "Kernel jobs" section: on
 * the demo site, a zen2 kernel started from this zen4 server runs as a Slurm job on zen2.
 */
import { expect, test } from '@jupyterlab/galata';
import { Locator } from '@playwright/test';

import {
  api,
  createEnvironment,
  IPYTHON,
  openLauncher,
  openPanel,
  PYTHON,
  removeEnvironmentAndKernels,
  uniqueName,
  waitForTask
} from './helpers';

test.describe('Kernel resources and kernel jobs', () => {
  const name = uniqueName('jobs');

  test.afterEach(async ({ request }) => {
    await removeEnvironmentAndKernels(request, name);
  });

  test('chosen within the limits, and the job of a zen2 kernel followed in the panel', async ({
    page,
    request
  }) => {
    // Given an environment built for zen4 (this node) and zen2 (a partition of another arch)
    await createEnvironment(request, name, 'zen4', [PYTHON, IPYTHON]);
    const rebuild = await api(request, 'POST', `envs/${name}/builds`, { partition: 'zen2' });
    expect(rebuild.status, JSON.stringify(rebuild.body)).toBe(202);
    const built = await waitForTask(request, rebuild.body.task.id);
    expect(built.state, built.message).toBe('succeeded');

    // (Galata's mock of Jupyter's kernels API matches any URL with /api/kernels/ in it, ours too:
    // let ours through to the server)
    await page.route(/\/hpc-envs\/api\/kernels\//, route => route.continue());

    // When the user opens the kernel resources of its zen2 build from the side panel
    const panel = await openPanel(page);
    await panel.locator('.jp-HpcEnvs-refresh').click();
    await panel.locator(`.jp-HpcEnvs-envRow[data-env="${name}"]`).click();
    const zen2 = panel.locator(`.jp-HpcEnvs-details[data-env="${name}"] [data-partition="zen2"]`);
    const openDialog = async (): Promise<Locator> => {
      await zen2.getByRole('button', { name: /^Kernel resources/ }).click();
      const dialog = page.locator('.jp-HpcEnvs-resourcesDialog');
      await expect(dialog.getByLabel('Time limit')).toBeVisible();
      return dialog;
    };
    let dialog = await openDialog();

    // Then the site's defaults are the placeholders and its limits the hints
    await expect(dialog.getByLabel('CPUs')).toHaveAttribute('placeholder', '1');
    await expect(dialog.locator('[data-field="cpus"] .jp-HpcEnvs-resources-hint')).toHaveText(
      'At most 2.'
    );

    // When more CPUs than the limit are saved
    await dialog.getByLabel('CPUs').fill('64');
    await dialog.getByRole('button', { name: 'Save' }).click();

    // Then the server's refusal shows beside the field, and the dialog stays open
    await expect(dialog.locator('[data-field="cpus"] .jp-HpcEnvs-fieldError')).toHaveText(
      'A kernel may use at most 2 CPUs on partition zen2.'
    );
    await expect(dialog.getByLabel('CPUs')).toHaveAttribute('aria-invalid', 'true');

    // When a valid time limit (in minutes) is saved instead
    await dialog.getByLabel('CPUs').fill('');
    await dialog.getByLabel('Time limit').fill('90');
    await dialog.getByRole('button', { name: 'Save' }).click();

    // Then the dialog closes, and opened again it shows the time limit as Slurm writes it
    await expect(dialog).toHaveCount(0);
    dialog = await openDialog();
    await expect(dialog.getByLabel('Time limit')).toHaveValue('1:30:00');
    await expect(dialog.getByLabel('CPUs')).toHaveValue('');
    // (the footer's: the header's close button is named Cancel too)
    await dialog.locator('.jp-Dialog-footer').getByRole('button', { name: 'Cancel' }).click();
    await expect(dialog).toHaveCount(0);

    // When a notebook starts on the zen2 kernel
    const card = (await openLauncher(page)).locator('.jp-LauncherCard[data-category="Notebook"]', {
      hasText: `${name} (zen2)`
    });
    await card.click();
    await expect(page.locator('.jp-NotebookPanel-toolbar .jp-KernelName')).toHaveText(
      `${name} (zen2)`
    );

    // Then the kernel jobs section shows its job running, with the time limit chosen
    const job = panel.locator('.jp-HpcEnvs-kernelJob', { hasText: `${name} (zen2)` });
    await expect(job).toHaveAttribute('data-state', 'RUNNING', { timeout: 60_000 });
    await expect(job.locator('.jp-HpcEnvs-kernelJob-message')).toContainText('running on');
    await expect(job.locator('.jp-HpcEnvs-kernelJob-resources')).toContainText('1:30:00');

    // And the kernel runs in that Slurm job, on zen2
    await page.notebook.setCell(
      0,
      'code',
      'import os\nprint(os.environ.get("SLURM_JOB_PARTITION"), os.environ.get("SLURM_JOB_ID"))'
    );
    await page.notebook.runCell(0);
    const printed = (await page.notebook.getCellTextOutput(0))!.join('');
    expect(printed).toMatch(/^zen2 \d+/);

    // When the kernel is shut down, the section is gone with its job
    await page.menu.clickMenuItem('Kernel>Shut Down Kernel');
    await expect(panel.locator('.jp-HpcEnvs-kernelJobs')).toHaveCount(0, { timeout: 30_000 });
  });
});
