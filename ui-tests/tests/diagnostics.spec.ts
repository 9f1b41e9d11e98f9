/**
 * A kernel that cannot start, where the user looks. An environment built on zen4 whose Python
 * module is then hidden (its modulefile renamed in the server's private copy of the zen4 tree, see
 * start-jupyter.sh; never in the site's own trees): starting its kernel shows the dialog naming the
 * module, with the fixes. A conda environment whose own interpreter is lost: "Rebuild" is offered
 * and starts the rebuild of that build.
 */
import { expect, test } from '@jupyterlab/galata';
import * as fs from 'fs';

import {
  api,
  createEnvironment,
  IPYTHON,
  PYTHON,
  removeWithKernel,
  screenshot,
  startNotebookOn,
  uniqueName,
  waitForTask
} from './helpers';

test.describe('A kernel whose module is gone', () => {
  const name = uniqueName('diag-ui');
  const kernel = `hpcenv-${name}-zen4`;
  let hidden = '';

  test.afterEach(async ({ request }) => {
    if (hidden && fs.existsSync(`${hidden}.retired`)) {
      fs.renameSync(`${hidden}.retired`, hidden);
    }
    await removeWithKernel(request, name, kernel);
  });

  test('shows why, naming the module, with the fixes', async ({ page, request }) => {
    // Given an environment built on zen4, whose Python module is then hidden from the tree
    await createEnvironment(request, name, 'zen4', [PYTHON, IPYTHON]);
    const site = (await api(request, 'GET', 'site')).body;
    const tree: string = site.partitions.find((p: any) => p.name === 'zen4').modulepath[0];
    expect(tree, 'the server works on a private copy of the zen4 tree').toContain('hpc-envs-ui.');
    hidden = `${tree}/${PYTHON}.lua`;
    fs.renameSync(hidden, `${hidden}.retired`);

    // When a notebook is started on its kernel
    await startNotebookOn(page, name);

    // Then the dialog names the module and offers the fixes
    const dialog = page.locator('.jp-Dialog', { hasText: 'a module is gone' });
    await expect(dialog).toBeVisible({ timeout: 60_000 });
    // (JupyterLab's own dialog, made ours: what failed, the reason without the diagnosis line)
    const text = dialog.locator('.jp-HpcEnvs-diagnosis-text');
    await expect(text).toContainText(`Module ${PYTHON} is gone from the module tree`);
    await expect(text).not.toContainText('hpc-envs-diagnosis');
    const migrate = await page.evaluate(() =>
      window.jupyterapp.commands.hasCommand('hpc-envs:migrate-environment')
    );
    // (no Rebuild: the server refuses one while a module is gone; a newer toolchain is the fix)
    await expect(dialog.locator('.jp-Dialog-footer button')).toHaveText([
      'Close',
      ...(migrate ? ['Migrate…'] : []),
      'Choose another kernel'
    ]);
    await screenshot(page, 'kernel-diagnosis-light');
    await dialog.getByRole('button', { name: 'Close' }).click();
    await expect(dialog).toHaveCount(0);
  });
});

test.describe('A kernel whose interpreter is gone', () => {
  const name = uniqueName('diag-py');
  const kernel = `hpcenv-${name}-zen4`;

  test.afterEach(async ({ request }) => {
    await removeWithKernel(request, name, kernel);
  });

  test('offers "Rebuild", which rebuilds', async ({ page, request }) => {
    // Given a conda environment (from the UI tests' local channel) whose own Python is then lost
    const reply = await api(request, 'POST', 'envs', {
      name,
      kind: 'conda',
      python: '3.11',
      partition: 'zen4'
    });
    expect(reply.status, JSON.stringify(reply.body)).toBe(202);
    const task = await waitForTask(request, reply.body.task.id);
    expect(task.state, task.message).toBe('succeeded');
    const lock = (await api(request, 'GET', `envs/${name}/lock?partition=zen4`)).body;
    const python: string = lock.python.path;
    expect(python).toContain(`/${name}/`);
    fs.renameSync(python, `${python}.lost`);

    // When a notebook is started on its kernel
    await startNotebookOn(page, name);

    // Then the dialog says so and offers Rebuild
    const dialog = page.locator('.jp-Dialog', { hasText: 'its Python is gone or changed' });
    await expect(dialog).toBeVisible({ timeout: 60_000 });
    await expect(dialog.locator('.jp-HpcEnvs-diagnosis-text')).toContainText(
      `The interpreter ${python} is missing`
    );

    // When Rebuild is pressed, then the rebuild of the zen4 build starts
    await dialog.getByRole('button', { name: 'Rebuild' }).click();
    await expect(dialog).toHaveCount(0);
    // (a second build task of the environment on zen4, after the one that created it)
    await expect
      .poll(async () => {
        const { tasks } = (await api(request, 'GET', 'tasks')).body;
        return tasks.filter(
          (t: any) => t.env === name && t.kind === 'build' && t.partition === 'zen4'
        ).length;
      })
      .toBe(2);
  });
});
