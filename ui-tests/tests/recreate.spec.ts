/**
 * A notebook that carries its environment, opened where its kernel does not exist: instead of
 * JupyterLab's kernel picker, "Recreate environment NAME" shows the plan (the modules here, the
 * pinned packages), builds it, and the notebook runs on the new kernel.
 */
import { expect, test } from '@jupyterlab/galata';

import { createEnvironment, PYTHON, removeEnvironmentAndKernels, uniqueName } from './helpers';

test.describe('Recreate environment', () => {
  const name = uniqueName('nbenv-ui');
  const kernel = `hpcenv-${name}-zen4`;

  test.afterAll(async ({ request }) => {
    await removeEnvironmentAndKernels(request, name);
  });

  test('is offered for a notebook whose environment was removed, and runs it again', async ({
    page,
    request,
    tmpPath
  }) => {
    test.setTimeout(420_000);
    // Given a notebook saved through the server with an environment's kernel...
    await createEnvironment(request, name, 'zen4', [PYTHON]);
    const notebook = {
      cells: [
        {
          cell_type: 'code',
          id: 'c1',
          metadata: {},
          source: 'import sys\nprint("prefix", sys.prefix)',
          outputs: [],
          execution_count: null
        }
      ],
      metadata: { kernelspec: { name: kernel, display_name: kernel, language: 'python' } },
      nbformat: 4,
      nbformat_minor: 5
    };
    const path = `${tmpPath}/${name}.ipynb`;
    const saved = await request.put(`/api/contents/${path}`, {
      data: { type: 'notebook', format: 'json', content: notebook }
    });
    expect(saved.status()).toBe(201);
    const stored = await (await request.get(`/api/contents/${path}`)).json();
    expect(stored.content.metadata.hpc_envs.name).toBe(name);
    // ...and that environment removed since
    await removeEnvironmentAndKernels(request, name);

    // When the user opens the notebook (JupyterLab knowing the kernels as they are now)
    await page.evaluate(async (p: string) => {
      await window.jupyterapp.serviceManager.kernelspecs.refreshSpecs();
      await window.jupyterapp.commands.execute('docmanager:open', { path: p });
    }, path);

    // Then the dialog offers to recreate it, with its module present here, instead of the picker
    const dialog = page.locator('.jp-Dialog');
    await expect(dialog.locator('.jp-Dialog-header')).toHaveText(`Recreate environment ${name}`);
    const body = dialog.locator('.jp-HpcEnvs-recreate');
    await expect(body.locator('.jp-HpcEnvs-recreate-modules li')).toHaveText([PYTHON]);
    await expect(body.locator('.jp-HpcEnvs-recreate-name')).toHaveValue(name);
    await expect(body.locator('.jp-HpcEnvs-recreate-partition')).toHaveValue('zen4');
    await expect(body.locator('.jp-HpcEnvs-recreate-error')).toHaveText('');
    await expect(page.getByText('Select Kernel')).toHaveCount(0);

    // When the user recreates it
    await dialog.getByRole('button', { name: 'Recreate' }).click();

    // Then, once built, the notebook is on its kernel and runs in the new environment
    await expect(page.locator('.jp-NotebookPanel-toolbar .jp-KernelName')).toHaveText(
      `${name} (zen4)`,
      { timeout: 240_000 }
    );
    await page.notebook.runCell(0);
    await expect(page.locator('.jp-OutputArea-output').first()).toContainText(
      `hpc-envs/${name}/venv-zen4`,
      { timeout: 120_000 }
    );
  });
});
