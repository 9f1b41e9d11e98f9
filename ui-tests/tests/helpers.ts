/**
 * Helpers of the UI tests: unique names, the REST API (to prepare and clean up), the side panel,
 * and screenshots for the documentation.
 */
import { expect, IJupyterLabPageFixture } from '@jupyterlab/galata';
import { APIRequestContext, Locator } from '@playwright/test';
import * as path from 'path';

/**
 * The Python module, and the SciPy-bundle and IPython (with ipykernel: nothing to install) of the
 * same toolchain generation on the demo site.
 */
export const PYTHON = 'Python/3.11.7-GCCcore-12.3.0';
export const SCIPY = 'SciPy-bundle/2023.07-gfbf-2023a';
export const IPYTHON = 'IPython/8.14.0-GCCcore-12.3.0';

/**
 * Where the screenshots for the README go.
 */
export const IMAGES = path.resolve(__dirname, '..', '..', 'docs', 'images');

/**
 * A name no other test (or earlier run) used: environments live on the demo site's shared storage.
 *
 * @param prefix - The start of the name (a letter first).
 * @returns The name.
 */
export function uniqueName(prefix: string): string {
  const stamp = Date.now().toString(36);
  const random = Math.floor(Math.random() * 36 ** 4)
    .toString(36)
    .padStart(4, '0');
  return `${prefix}-${stamp}${random}`;
}

const API = '/hpc-envs/api';

/**
 * Call the REST API of the server extension (the test server has no token and no XSRF check).
 *
 * @param request - Playwright's request context.
 * @param method - The HTTP method.
 * @param endpoint - The path under `/hpc-envs/api/`.
 * @param body - The JSON body.
 * @returns The status and the JSON body of the reply.
 */
export async function api(
  request: APIRequestContext,
  method: 'GET' | 'POST' | 'DELETE',
  endpoint: string,
  body?: unknown
): Promise<{ status: number; body: any }> {
  const response = await request.fetch(`${API}/${endpoint}`, {
    method,
    data: body === undefined ? undefined : JSON.stringify(body),
    headers: { 'Content-Type': 'application/json' }
  });
  const text = await response.text();
  return { status: response.status(), body: text ? JSON.parse(text) : null };
}

/**
 * Wait until a task has ended.
 *
 * @param request - Playwright's request context.
 * @param id - The task's id.
 * @returns The final task record.
 */
export async function waitForTask(request: APIRequestContext, id: string): Promise<any> {
  let record: any = null;
  await expect
    .poll(
      async () => {
        record = (await api(request, 'GET', `tasks/${id}`)).body;
        return record.state;
      },
      { timeout: 180_000, intervals: [500] }
    )
    .toMatch(/^(succeeded|failed|cancelled|interrupted)$/);
  return record;
}

/**
 * Create an environment through the REST API and wait for its build.
 *
 * @param request - Playwright's request context.
 * @param name - The environment.
 * @param partition - The partition.
 * @param modules - The Python module first.
 */
export async function createEnvironment(
  request: APIRequestContext,
  name: string,
  partition = 'zen4',
  modules = [PYTHON, SCIPY]
): Promise<void> {
  const reply = await api(request, 'POST', 'envs', { name, partition, modules });
  expect(reply.status, JSON.stringify(reply.body)).toBe(202);
  const task = await waitForTask(request, reply.body.task.id);
  expect(task.state, task.message).toBe('succeeded');
}

/**
 * Shut down the kernels of an environment, then remove it: no kernel of a test is left running
 * (its Slurm job would hold the demo node).
 *
 * @param request - Playwright's request context.
 * @param name - The environment.
 */
export async function removeEnvironmentAndKernels(
  request: APIRequestContext,
  name: string
): Promise<void> {
  const kernels: { id: string; name: string }[] = await (await request.get('/api/kernels')).json();
  for (const kernel of kernels.filter(k => k.name.startsWith(`hpcenv-${name}-`))) {
    await request.delete(`/api/kernels/${kernel.id}`);
  }
  await removeEnvironment(request, name);
}

/**
 * Remove an environment if it exists, once its tasks have ended (the server refuses otherwise).
 *
 * @param request - Playwright's request context.
 * @param name - The environment.
 */
export async function removeEnvironment(request: APIRequestContext, name: string): Promise<void> {
  await expect
    .poll(
      async () => {
        const reply = await api(request, 'GET', `envs/${name}`);
        return reply.status === 404 ? 0 : reply.body.tasks.length;
      },
      { timeout: 180_000, intervals: [500] }
    )
    .toBe(0);
  const reply = await api(request, 'DELETE', `envs/${name}`);
  expect([200, 404]).toContain(reply.status);
}

/**
 * Remove an environment after a test that started its kernel: the kernel is shut down first.
 *
 * @param request - Playwright's request context.
 * @param name - The environment.
 * @param kernel - The name of its kernel that the test started.
 */
export async function removeWithKernel(
  request: APIRequestContext,
  name: string,
  kernel: string
): Promise<void> {
  const kernels: { id: string; name: string }[] = await (await request.get('/api/kernels')).json();
  for (const k of kernels.filter(k => k.name === kernel)) {
    await request.delete(`/api/kernels/${k.id}`);
  }
  await removeEnvironment(request, name);
}

/**
 * Start a new notebook on an environment's kernel from the launcher.
 *
 * @param page - The JupyterLab page.
 * @param name - The environment.
 * @param partition - The partition of its kernel.
 */
export async function startNotebookOn(
  page: IJupyterLabPageFixture,
  name: string,
  partition = 'zen4'
): Promise<void> {
  const launcher = await openLauncher(page);
  await launcher
    .locator('.jp-LauncherCard[data-category="Notebook"]', { hasText: `${name} (${partition})` })
    .click();
}

/**
 * Open the side panel "HPC environments".
 *
 * @param page - The JupyterLab page.
 * @returns The panel.
 */
export async function openPanel(page: IJupyterLabPageFixture): Promise<Locator> {
  const panel = page.locator('#jp-HpcEnvs-panel');
  if (!(await panel.isVisible())) {
    await page
      .locator('.jp-SideBar.jp-mod-left .lm-TabBar-tab[data-id="jp-HpcEnvs-panel"]')
      .click();
  }
  await expect(panel).toBeVisible();
  return panel;
}

/**
 * Open a new launcher.
 *
 * @param page - The JupyterLab page.
 * @returns The launcher.
 */
export async function openLauncher(page: IJupyterLabPageFixture): Promise<Locator> {
  await page.evaluate(async () => {
    await window.jupyterapp.commands.execute('launcher:create');
  });
  const launcher = page.locator('.jp-Launcher').last();
  await expect(launcher).toBeVisible();
  return launcher;
}

/**
 * Save a screenshot of the whole page for the documentation.
 *
 * @param page - The JupyterLab page.
 * @param name - The file name, without `.png`.
 */
export async function screenshot(page: IJupyterLabPageFixture, name: string): Promise<void> {
  // No blinking caret or half-faded toast in the pictures.
  await page.mouse.move(0, 0);
  await page.screenshot({
    path: path.join(IMAGES, `${name}.png`),
    animations: 'disabled',
    caret: 'hide'
  });
}
