/**
 * The walltime of a kernel that runs as a Slurm job: on the demo site, a zen2 kernel with a
 * two-minute time limit shows its countdown in the status bar, warns before the end (the warning
 * set to 1.5 minutes here, 10 by default) after saving its notebook, and says when Slurm ended it
 * at its time limit, offering a restart with a longer limit.
 */
import { expect, galata, test } from '@jupyterlab/galata';

import {
  api,
  createEnvironment,
  IPYTHON,
  openLauncher,
  openPanel,
  PYTHON,
  removeEnvironmentAndKernels,
  screenshot,
  uniqueName
} from './helpers';

test.use({
  mockSettings: {
    ...galata.DEFAULT_SETTINGS,
    'jupyterlab-hpc-envs:plugin': { walltimeWarning: 1.5 }
  }
});

test.describe('Walltime of a Slurm kernel', () => {
  const name = uniqueName('walltime');

  test.afterEach(async ({ request }) => {
    await removeEnvironmentAndKernels(request, name);
  });

  test('a two-minute kernel counts down, warns before the end and says it reached its limit', async ({
    page,
    request
  }) => {
    test.setTimeout(600_000);
    // Given an environment built for zen2, its kernel with a two-minute time limit
    await createEnvironment(request, name, 'zen2', [PYTHON, IPYTHON]);
    const chosen = await api(request, 'PUT', `kernels/hpcenv-${name}-zen2/resources`, {
      time: '2'
    });
    expect(chosen.status, JSON.stringify(chosen.body)).toBe(200);
    await page.route(/\/hpc-envs\/api\/kernels\//, route => route.continue());

    // When a notebook starts on that kernel (a Slurm job on zen2)
    const card = (await openLauncher(page)).locator('.jp-LauncherCard[data-category="Notebook"]', {
      hasText: `${name} (zen2)`
    });
    await card.click();
    await expect(page.locator('.jp-NotebookPanel-toolbar .jp-KernelName')).toHaveText(
      `${name} (zen2)`
    );

    // Then the status bar counts its walltime down
    const status = page.locator('.jp-HpcEnvs-walltime-text');
    await expect(status).toHaveText(/^zen2 · 0:0[0-2]:\d\d left$/, { timeout: 120_000 });
    const seconds = async (): Promise<number> => {
      const [, m, s] = /0:0(\d):(\d\d) left/.exec((await status.textContent()) ?? '')!;
      return Number(m) * 60 + Number(s);
    };
    const first = await seconds();
    expect(first).toBeLessThanOrEqual(120);
    await page.waitForTimeout(2500);
    expect(await seconds()).toBeLessThan(first);

    // And 1.5 minutes before the end it warns, after saving the notebook
    await page.notebook.setCell(0, 'code', 'x = 1');
    const warning = page.locator('.jp-Notification-Toast-warning', {
      hasText: "Slurm ends the kernel's job in"
    });
    await expect(warning).toContainText(/in 0:01:[0-3]\d \(its time limit\)/, { timeout: 60_000 });
    await expect(warning).toContainText(/Saved Untitled\d*\.ipynb\./);
    await expect(status).toHaveClass(/jp-mod-warn/);
    await expect(page.locator('.jp-mod-current .jp-mod-dirty')).toHaveCount(0);
    await screenshot(page, 'walltime-warning');

    // When Slurm ends the job at its time limit, it says so and offers a longer limit
    const ended = page.locator('.jp-Notification-Toast-error', {
      hasText: "the kernel's Slurm job reached its time limit (2 min)"
    });
    await expect(ended).toBeVisible({ timeout: 240_000 });
    await expect(ended.getByRole('button', { name: 'Restart with a longer limit' })).toBeVisible();
    await expect(status).toHaveText('zen2 · time limit reached');

    // When the user restarts it with a three-minute limit (the kernel resources dialog)
    await ended.getByRole('button', { name: 'Restart with a longer limit' }).click();
    const dialog = page.locator('.jp-HpcEnvs-resourcesDialog');
    await expect(dialog.getByLabel('Time limit')).toHaveValue('0:02:00');
    await dialog.getByLabel('Time limit').fill('3');
    await dialog.getByRole('button', { name: 'Save' }).click();
    await expect(dialog).toHaveCount(0);

    // Then a new kernel job runs with it, and the status bar counts its walltime down
    await expect(status).toHaveText(/^zen2 · 0:02:\d\d left$/, { timeout: 120_000 });
    // And the panel's kernel jobs section shows it with its countdown
    const panel = await openPanel(page);
    const job = panel.locator('.jp-HpcEnvs-kernelJob[data-state="RUNNING"]', {
      hasText: `${name} (zen2)`
    });
    await expect(job.locator('.jp-HpcEnvs-kernelJob-resources')).toContainText('0:03:00');
    await expect(job.locator('.jp-HpcEnvs-kernelJob-walltime')).toHaveText(/^0:0[0-2]:\d\d left$/);
  });
});
