/**
 * The whole life of an environment from JupyterLab, on the demo HPC site: created from the
 * launcher with a Python module and SciPy-bundle, its build streamed live, a notebook on its new
 * kernel, a terminal with it activated, and its removal taking the kernel away.
 */
import { expect, test } from '@jupyterlab/galata';
import * as fs from 'fs';
import * as path from 'path';

import {
  openLauncher,
  openPanel,
  PYTHON,
  removeEnvironment,
  SCIPY,
  screenshot,
  uniqueName
} from './helpers';

test.describe('Creating an environment', () => {
  const name = uniqueName('ui');

  test.afterEach(async ({ request }) => {
    await removeEnvironment(request, name);
  });

  test('from the launcher, with a live log, and a notebook on its kernel', async ({ page }) => {
    // Given the launcher
    const launcher = await openLauncher(page);

    // When the user opens "New HPC Environment" and fills the form: a name, the zen4 partition,
    // a Python module found by filtering, and the SciPy-bundle of the same toolchain generation
    await launcher.locator('.jp-LauncherCard', { hasText: 'New HPC Environment' }).click();
    const panel = await openPanel(page);
    const form = page.locator('.jp-HpcEnvs-form-body');
    await expect(form).toBeVisible();
    await form.getByLabel('Name').fill('1' + name);
    await expect(form.locator('.jp-HpcEnvs-fieldError')).toContainText('starting with a letter');
    await form.getByLabel('Name').fill(name);
    await expect(form.locator('.jp-HpcEnvs-fieldError')).toHaveCount(0);
    await form.getByLabel('Partition').selectOption('zen4');
    await form.getByLabel('Filter Python modules').fill('3.11');
    await form.locator('select.jp-HpcEnvs-python').selectOption(PYTHON);
    await form.getByLabel('Filter the other modules').fill('SciPy');
    const older = form.locator('.jp-HpcEnvs-module', { hasText: 'SciPy-bundle/2022.05' });
    await expect(older.locator('input')).toBeDisabled();
    await expect(older).toContainText('different generations');
    await form.locator(`.jp-HpcEnvs-module input[value="${SCIPY}"]`).check();
    await expect(form.locator('.jp-HpcEnvs-selectedModules')).toContainText(SCIPY);
    await expect(form.getByLabel('$HOME', { exact: false })).not.toBeChecked();
    await screenshot(page, 'form-light');
    await form.getByRole('button', { name: 'Create' }).click();

    // Then the build's log opens and streams while the build runs, with a notification
    const log = page.locator('.jp-HpcEnvs-taskLog');
    const output = log.locator('.jp-HpcEnvs-taskLog-output');
    await expect(log).toHaveAttribute('data-state', 'running');
    await expect(
      page.locator('.jp-toast-message', { hasText: `Create ${name} on zen4` })
    ).toBeVisible();
    await expect(output).toContainText('==> venv');
    const early = (await output.textContent())!.length;
    await expect(
      panel.locator(`.jp-HpcEnvs-envRow[data-env="${name}"] .jp-mod-building`)
    ).toHaveText('zen4');
    // pip's or uv's words (installer=auto uses uv where it is installed)
    await expect(output).toContainText(
      /Collecting|Requirement already satisfied|Resolved \d+ packages/,
      {
        timeout: 60_000
      }
    );
    await screenshot(page, 'build-light');
    await expect
      .poll(async () => (await output.textContent())!.length, { timeout: 60_000 })
      .toBeGreaterThan(early);
    await expect(log).toHaveAttribute('data-state', 'succeeded', { timeout: 120_000 });
    await expect(output).toContainText(`Kernel hpcenv-${name}-zen4 registered.`);
    await expect(
      page.locator('.jp-toast-message', { hasText: `Create ${name} on zen4: done.` })
    ).toBeVisible();

    // And the side panel shows the environment ready on zen4, not built on zen2
    await panel.locator(`.jp-HpcEnvs-envRow[data-env="${name}"]`).click();
    const details = panel.locator(`.jp-HpcEnvs-details[data-env="${name}"]`);
    await expect(details.locator('[data-partition="zen4"]')).toHaveAttribute(
      'data-status',
      'ready'
    );
    await expect(details.locator('[data-partition="zen2"]')).toHaveAttribute('data-status', 'none');
    await screenshot(page, 'panel-light');

    // And its kernel is in the launcher at once; a notebook on it runs in the build
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
      'import sys, numpy\nprint(sys.prefix)\nprint(numpy.__version__, numpy.__file__)'
    );
    await page.notebook.runCell(0);
    const printed = (await page.notebook.getCellTextOutput(0))!.join('');
    expect(printed).toContain(`/hpc-envs/${name}/venv-zen4`);
    expect(printed).toContain('SciPy-bundle/2023.07-gfbf-2023a');
    await page.menu.clickMenuItem('Kernel>Shut Down Kernel');

    // When the user opens a terminal with the environment from the panel, and asks the shell
    // where it is (into a file of the site's $HOME, which the shell and this test both reach)
    await openPanel(page);
    await details
      .getByRole('button', { name: `Open a terminal with ${name} activated on zen4` })
      .click();
    const terminal = page.locator('.jp-Terminal');
    await expect(terminal).toBeVisible();
    const answer = path.join(process.env.HPC_ENVS_DEMO_DIR!, 'home', `terminal-${name}.txt`);
    await terminal.click();
    await page.keyboard.type(
      `echo "$HPC_ENVS_ACTIVE $LOADEDMODULES $(python -c 'import sys; print(sys.prefix)')"` +
        ` > "$HOME/terminal-${name}.txt"\n`
    );

    // Then the shell has the environment active: its name and the arch of its build, its
    // modules, its venv
    try {
      await expect
        .poll(() => (fs.existsSync(answer) ? fs.readFileSync(answer, 'utf-8') : ''), {
          timeout: 30_000
        })
        .toContain(`${name}:zen4 `);
      const shell = fs.readFileSync(answer, 'utf-8');
      expect(shell).toContain(PYTHON);
      expect(shell).toContain(SCIPY);
      expect(shell).toContain(`/hpc-envs/${name}/venv-zen4`);
    } finally {
      fs.rmSync(answer, { force: true });
    }
    await page.keyboard.type('exit\n');

    // When the user removes the environment from the panel, after reading what goes
    await openPanel(page);
    await details.getByRole('button', { name: 'Remove…' }).click();
    const dialog = page.locator('.jp-Dialog');
    await expect(dialog.locator('.jp-HpcEnvs-removal-plan')).toContainText(
      `kernel hpcenv-${name}-zen4`
    );
    await expect(dialog.locator('.jp-HpcEnvs-removal-plan')).toContainText(
      `/hpc-envs/${name}/venv-zen4`
    );
    await dialog.getByRole('button', { name: 'Remove' }).click();

    // Then it is gone from the panel, and its kernel from the launcher
    await expect(panel.locator(`.jp-HpcEnvs-envRow[data-env="${name}"]`)).toHaveCount(0);
    const launcherAfter = await openLauncher(page);
    await expect(
      launcherAfter.locator('.jp-LauncherCard', { hasText: `${name} (zen4)` })
    ).toHaveCount(0);
  });
});
