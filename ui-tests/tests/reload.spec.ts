/**
 * A build outlives a page reload: the frontend finds the running task again and follows its log.
 * In the dark theme, with the build running as a Slurm job on the zen2 partition (another CPU
 * architecture than the server's node).
 */
import { expect, test } from '@jupyterlab/galata';

import { api, openPanel, PYTHON, removeEnvironment, screenshot, uniqueName } from './helpers';

test.describe('A build in progress', () => {
  const name = uniqueName('reload');

  test.afterEach(async ({ request }) => {
    await removeEnvironment(request, name);
  });

  test('goes on, and is followed again, after the page is reloaded', async ({ page, request }) => {
    await page.theme.setDarkTheme();

    // Given a build started from the form, on zen2 (a Slurm job)
    const panel = await openPanel(page);
    await panel
      .locator('.jp-HpcEnvs-toolbar')
      .getByRole('button', { name: 'New HPC environment' })
      .click();
    const form = page.locator('.jp-HpcEnvs-form-body');
    await form.getByLabel('Name').fill(name);
    await form.getByLabel('Partition').selectOption('zen2');
    await expect(form).toContainText('Built as a Slurm job on a node of zen2.');
    await form.locator('select.jp-HpcEnvs-python').selectOption(PYTHON);
    await form.getByLabel('Packages to install with pip').fill('icecream');
    await screenshot(page, 'form-dark');
    await form.getByRole('button', { name: 'Create' }).click();
    const log = page.locator('.jp-HpcEnvs-taskLog');
    const output = log.locator('.jp-HpcEnvs-taskLog-output');
    await expect(output).toContainText('Running as a Slurm job on partition zen2');
    // (the job may wait in the queue while the node is busy: as on a real cluster)
    await expect(output).toContainText('==> venv', { timeout: 120_000 });
    await screenshot(page, 'build-dark');
    const before = (await output.textContent())!;
    const id = await log.getAttribute('data-task');
    expect((await api(request, 'GET', `tasks/${id}`)).body.state).toBe('running');

    // When the page is reloaded during the build (galata's readiness check waits for a launcher,
    // which the restored layout does not show: the log view is awaited instead)
    await page.reload({ waitForIsReady: false });

    // Then the build is found running again: its notification is back, and "Show log" opens its
    // log (the one the layout restorer reopened, if it had saved the layout in time) with what
    // was already written, and follows it to the end
    const toast = page.locator('.Toastify__toast', { hasText: `Create ${name} on zen2` });
    await toast.getByRole('button', { name: 'Show log' }).click();
    const again = page.locator(`.jp-HpcEnvs-taskLog[data-task="${id}"]`);
    await expect(again.locator('.jp-HpcEnvs-taskLog-output')).toContainText(before.slice(0, 200));
    expect((await api(request, 'GET', `tasks/${id}`)).body.state).toBe('running');
    await expect(again).toHaveAttribute('data-state', 'running');
    // And the side panel shows it building on zen2
    const panelAgain = await openPanel(page);
    await panelAgain.locator(`.jp-HpcEnvs-envRow[data-env="${name}"]`).click();
    const zen2 = panelAgain.locator(`.jp-HpcEnvs-details [data-partition="zen2"]`);
    await expect(zen2).toHaveAttribute('data-status', 'building');
    await expect(again).toHaveAttribute('data-state', 'succeeded', { timeout: 150_000 });
    await expect(again.locator('.jp-HpcEnvs-taskLog-output')).toContainText(
      `Kernel hpcenv-${name}-zen2 registered.`
    );
    await expect(zen2).toHaveAttribute('data-status', 'ready');
    await screenshot(page, 'panel-dark');
  });
});
