/**
 * The mistakes a new user makes, and what JupyterLab then shows: a Python module changed after
 * other modules were chosen (the form says which no longer fit and why), a notification while the
 * form is open (it does not cover Create), and a kernel whose Slurm job cannot start (the whole
 * reason, readable, in the extension's dialog).
 */
import { expect, test } from '@jupyterlab/galata';
import * as fs from 'fs';
import * as path from 'path';

import {
  api,
  createEnvironment,
  IPYTHON,
  openLauncher,
  PYTHON,
  removeWithKernel,
  SCIPY,
  uniqueName
} from './helpers';

const NEWER_PYTHON = 'Python/3.12.1-GCCcore-13.2.0';

test.describe('The form and its mistakes', () => {
  test('says which modules a new Python module takes out, and keeps Create in sight', async ({
    page
  }) => {
    // Given the creation form
    const launcher = await openLauncher(page);
    await launcher.locator('.jp-LauncherCard', { hasText: 'New HPC Environment' }).click();
    const form = page.locator('.jp-HpcEnvs-form-body');
    await expect(form).toBeVisible();
    await form.getByLabel('Partition').selectOption('zen4');

    // Then no Python module looks chosen before the user chooses one
    await expect(form.locator('.jp-HpcEnvs-python-none')).toBeVisible();
    await expect(form.locator('select.jp-HpcEnvs-python option:checked')).toHaveAttribute(
      'value',
      ''
    );
    await expect(form.locator('select.jp-HpcEnvs-python option:checked')).toBeHidden();

    // When a Python module and the SciPy-bundle of its generation are chosen, then a Python
    // module of another generation
    await form.locator('select.jp-HpcEnvs-python').selectOption(PYTHON);
    await expect(form.locator('.jp-HpcEnvs-python-none')).toHaveCount(0);
    await form.locator(`.jp-HpcEnvs-module input[value="${SCIPY}"]`).check();
    await expect(form.locator('.jp-HpcEnvs-selectedModules')).toContainText(SCIPY);
    await form.locator('select.jp-HpcEnvs-python').selectOption(NEWER_PYTHON);

    // Then the form says the SciPy-bundle was taken out, and why
    const dropped = form.locator('.jp-HpcEnvs-droppedModules');
    await expect(dropped).toBeVisible();
    await expect(dropped.locator(`li[data-module="${SCIPY}"]`)).toContainText(
      'different generations'
    );
    await expect(form.locator('.jp-HpcEnvs-selectedModules')).toHaveCount(0);

    // When a notification shows while the form is open (a build's, a warning…)
    await page.evaluate(async () => {
      await window.jupyterapp.commands.execute('apputils:notify', {
        message: 'A long notification that stays until it is closed, as a failed build does.',
        type: 'error',
        options: { autoClose: false }
      });
    });
    const toast = page.locator('.Toastify__toast').last();
    await expect(toast).toBeVisible();

    // Then it does not cover the Create button
    const create = form.getByRole('button', { name: 'Create' });
    await create.scrollIntoViewIfNeeded();
    const a = (await create.boundingBox())!;
    const b = (await toast.boundingBox())!;
    const overlap =
      a.x < b.x + b.width && b.x < a.x + a.width && a.y < b.y + b.height && b.y < a.y + a.height;
    expect(overlap, JSON.stringify({ create: a, toast: b })).toBe(false);
  });
});

test.describe('A kernel whose Slurm job cannot start', () => {
  const name = uniqueName('form-gpu');
  const kernel = `hpcenv-${name}-zen4`;

  test.afterEach(async ({ request }) => {
    await removeWithKernel(request, name, kernel);
  });

  test('shows Slurm’s whole reason in a readable dialog', async ({ page, request }) => {
    // Given an environment whose zen4 kernel runs as a Slurm job
    await createEnvironment(request, name, 'zen4', [PYTHON, IPYTHON]);
    const put = (body: unknown) =>
      request.fetch(`/hpc-envs/api/kernels/${kernel}/resources`, {
        method: 'PUT',
        data: JSON.stringify(body),
        headers: { 'Content-Type': 'application/json' }
      });
    const slurm = await put({ mode: 'slurm' });
    expect(slurm.status(), await slurm.text()).toBe(200);
    // (a GPU the partition's node lacks is refused beside its field before anything starts)
    const gpu = await put({ gpus: 1 });
    expect(gpu.status()).toBe(400);
    expect((await gpu.json()).field).toBe('gpus');
    // And a kernelspec that names a partition the site has since retired (kept in the
    // kernelspec, where nbconvert and papermill read it too): only Slurm can refuse it
    const file = path.join(
      process.env.HPC_ENVS_DEMO_DIR!,
      'home/.local/share/jupyter/kernels',
      kernel,
      'kernel.json'
    );
    const spec = JSON.parse(fs.readFileSync(file, 'utf-8'));
    spec.metadata.kernel_provisioner.config.partition = 'retired';
    fs.writeFileSync(file, JSON.stringify(spec, null, 1));

    // When a notebook is started on that kernel
    await page.route(/\/hpc-envs\/api\/kernels\//, route => route.continue());
    const launcher = await openLauncher(page);
    await launcher
      .locator('.jp-LauncherCard[data-category="Notebook"]', { hasText: `${name} (zen4)` })
      .click();

    // Then the extension's dialog (the start's diagnosis, src/diagnosis.ts) shows Slurm's own
    // words whole, with nothing cut at its edge
    const dialog = page.locator('.jp-Dialog', { hasText: 'ended before it started' });
    await expect(dialog).toBeVisible({ timeout: 60_000 });
    const message = dialog.locator('.jp-HpcEnvs-diagnosis-text');
    await expect(message).toContainText('Invalid partition name specified');
    await expect(message).toContainText('ended before the kernel started');
    const lines = (await message.textContent())!.split('\n');
    expect(lines).toContain(
      'srun: error: Unable to allocate resources: Invalid partition name specified'
    );
    const cut = await message.evaluate(
      node =>
        node.scrollWidth > node.clientWidth + 1 ||
        node.parentElement!.scrollWidth > node.parentElement!.clientWidth + 1
    );
    expect(cut).toBe(false);
    await expect(dialog.getByRole('button', { name: 'Choose another kernel' })).toBeVisible();
    await dialog.getByRole('button', { name: 'Close' }).click();
  });
});
