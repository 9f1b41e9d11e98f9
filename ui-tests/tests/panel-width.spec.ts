/**
 * The side panel at JupyterLab's default side-panel width (the page is never resized here): every
 * label of a build row readable in full, the main actions in words, the environment list no taller
 * than its rows, and a failed build that says why and offers to edit and retry.
 */
import { expect, IJupyterLabPageFixture, test } from '@jupyterlab/galata';
import { Locator } from '@playwright/test';

import {
  api,
  createEnvironment,
  openPanel,
  removeEnvironment,
  screenshot,
  uniqueName,
  waitForTask,
  PYTHON,
  SCIPY
} from './helpers';

/**
 * Check that an element is inside the panel horizontally and shows all of its text (nothing cut
 * off by an ellipsis or an overflow).
 */
async function expectFullyVisible(panel: Locator, element: Locator): Promise<void> {
  await expect(element).toBeVisible();
  const box = (await element.boundingBox())!;
  const area = (await panel.boundingBox())!;
  expect(box.x, await element.innerText()).toBeGreaterThanOrEqual(area.x - 0.5);
  expect(box.x + box.width, await element.innerText()).toBeLessThanOrEqual(
    area.x + area.width + 0.5
  );
  const clipped = await element.evaluate(
    node =>
      node.scrollWidth > node.clientWidth + 1 || getComputedStyle(node).textOverflow === 'ellipsis'
  );
  expect(clipped, `${await element.innerText()} is cut off`).toBe(false);
}

/**
 * Open the panel and select an environment; its details.
 */
async function select(page: IJupyterLabPageFixture, name: string): Promise<[Locator, Locator]> {
  const panel = await openPanel(page);
  await panel.getByRole('button', { name: /^Refresh/ }).click();
  await panel.locator(`.jp-HpcEnvs-envRow[data-env="${name}"]`).click();
  return [panel, panel.locator(`.jp-HpcEnvs-details[data-env="${name}"]`)];
}

test.describe('The side panel at the default width', () => {
  const ready = uniqueName('panelw');
  const failed = uniqueName('panelf');

  test.beforeAll(async ({ request }) => {
    await createEnvironment(request, ready, 'zen4', [PYTHON, SCIPY]);
    // A misspelled package: pip finds nothing of that name, the build fails
    const reply = await api(request, 'POST', 'envs', {
      name: failed,
      partition: 'zen4',
      modules: [PYTHON],
      packages: ['icecreamm-no-such-package']
    });
    expect(reply.status, JSON.stringify(reply.body)).toBe(202);
    const task = await waitForTask(request, reply.body.task.id);
    expect(task.state).toBe('failed');
  });

  test.afterAll(async ({ request }) => {
    await removeEnvironment(request, ready);
    await removeEnvironment(request, failed);
  });

  test('shows every label of the build rows in full, and the main actions in words', async ({
    page
  }) => {
    // Given an environment ready on zen4 and not built on zen2
    // When the user selects it in the panel, at JupyterLab's default width
    const [panel, details] = await select(page, ready);
    const zen4 = details.locator('.jp-HpcEnvs-build[data-partition="zen4"]');
    const zen2 = details.locator('.jp-HpcEnvs-build[data-partition="zen2"]');
    await expect(zen4).toHaveAttribute('data-status', 'ready');

    // Then the Python version, the partitions and every action read in full, inside the panel
    await expect(zen4.locator('.jp-HpcEnvs-build-detail')).toHaveText('Python 3.11.7');
    await expect(zen2.locator('.jp-HpcEnvs-build-detail')).toHaveText(
      'not built for this partition'
    );
    await expect(zen2.getByRole('button', { name: `Build ${ready} for zen2` })).toHaveText(
      'Build for zen2'
    );
    await expect(zen4.locator('.jp-HpcEnvs-build-actions button')).toHaveText([
      'Terminal',
      'Packages',
      'Resources…',
      'More ▾'
    ]);
    for (const row of [zen4, zen2]) {
      await expectFullyVisible(panel, row.locator('.jp-HpcEnvs-build-partition'));
      await expectFullyVisible(panel, row.locator('.jp-HpcEnvs-chip'));
      await expectFullyVisible(panel, row.locator('.jp-HpcEnvs-build-detail'));
      for (const button of await row.locator('.jp-HpcEnvs-build-actions button').all()) {
        await expectFullyVisible(panel, button);
      }
    }

    // And the list of environments is as tall as its rows: the details follow it
    const list = panel.locator('.jp-HpcEnvs-envList');
    const rows = await panel.locator('.jp-HpcEnvs-envRow').count();
    const listBox = (await list.boundingBox())!;
    expect(listBox.height).toBeLessThanOrEqual(rows * 44 + 2);
    expect((await details.boundingBox())!.y).toBeLessThan(listBox.y + listBox.height + 24);

    await screenshot(page, 'panel-builds-light');

    // And the other actions are in the row's menu, in words
    await zen4.locator('.jp-HpcEnvs-build-more').click();
    const menu = page.locator('.jp-HpcEnvs-buildMenu');
    await expect(menu.getByText('Rebuild for zen4')).toBeVisible();
    await expect(menu.getByText(`Remove the zen4 build of ${ready}…`)).toBeVisible();
    await page.keyboard.press('Escape');
  });

  test('shows why a build failed, its log with the errors marked, and edits the spec', async ({
    page
  }) => {
    // Given an environment whose build failed on a misspelled package
    const [panel, details] = await select(page, failed);
    const zen4 = details.locator('.jp-HpcEnvs-build[data-partition="zen4"]');
    await expect(zen4).toHaveAttribute('data-status', 'failed');

    // Then the row says why, in full, and offers the log and "Edit and retry"
    await expectFullyVisible(panel, zen4.locator('.jp-HpcEnvs-build-failure'));
    await expectFullyVisible(panel, zen4.locator('.jp-HpcEnvs-build-log'));
    await expectFullyVisible(panel, zen4.locator('.jp-HpcEnvs-build-edit'));
    await screenshot(page, 'panel-failed-light');

    // When the user opens the log
    await zen4.locator('.jp-HpcEnvs-build-log').click();

    // Then the error lines are highlighted (uv's, then pip's after the fallback), pip's naming the package
    const log = page.locator('.jp-HpcEnvs-taskLog-output').last();
    await expect(
      log.locator('.jp-HpcEnvs-taskLog-errorLine', { hasText: 'icecreamm-no-such-package' }).first()
    ).toBeVisible();

    // When the user chooses "Edit and retry"
    await zen4.locator('.jp-HpcEnvs-build-edit').click();

    // Then the form is filled with the environment's spec, to replace it
    const form = page.locator('.jp-HpcEnvs-form-body').last();
    await expect(form.locator('.jp-HpcEnvs-form-replacing')).toContainText(failed);
    await expect(form.getByRole('button', { name: `Replace ${failed}` })).toBeVisible();
    await expect(form.locator('textarea').first()).toHaveValue('icecreamm-no-such-package');
  });
});
