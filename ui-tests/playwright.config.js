/**
 * Playwright configuration of the Galata UI tests.
 *
 * The tests run against a real JupyterLab started inside the demo HPC site (`scripts/demo-site`:
 * Lmod module trees per arch, a one-node Slurm with partitions zen2 and zen4): `make test-ui`
 * builds and starts the site and sets HPC_ENVS_DEMO_DIR; the server is started fresh for the run
 * by start-jupyter.sh, which sources the site's env.sh.
 *
 * Debian's Chromium is used (Playwright cannot download its own browsers here), and video and
 * traces are off (they need Playwright's own ffmpeg).
 */
const baseConfig = require('@jupyterlab/galata/lib/playwright-config');

if (!process.env.HPC_ENVS_DEMO_DIR) {
  throw new Error(
    'HPC_ENVS_DEMO_DIR is not set: the UI tests run on the demo HPC site. Run `make test-ui` ' +
      '(it builds and starts one in .demo/), or `scripts/demo-site build DIR && ' +
      'scripts/demo-site start DIR` and HPC_ENVS_DEMO_DIR=DIR npx playwright test.'
  );
}

const port = process.env.HPC_ENVS_UI_PORT || '8888';

module.exports = {
  ...baseConfig,
  // Never 'on-failure': the HTML reporter would then serve the report and wait for Ctrl+C.
  reporter: [['list'], ['html', { open: 'never' }]],
  retries: process.env.CI ? 1 : 0,
  // One server, one demo site: tests run one after the other.
  workers: 1,
  // Environment builds are real (modules, venv, pip): a test may take a few minutes.
  timeout: 240 * 1000,
  expect: { timeout: 15 * 1000 },
  use: {
    ...baseConfig.use,
    baseURL: `http://127.0.0.1:${port}`,
    viewport: { width: 1280, height: 800 },
    launchOptions: {
      executablePath: process.env.CHROMIUM_PATH || '/usr/bin/chromium',
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync'
      ]
    },
    trace: 'off',
    video: 'off'
  },
  webServer: {
    command: 'npm start',
    url: `http://127.0.0.1:${port}/lab`,
    timeout: 120 * 1000,
    // Always a server of this checkout: another one on the port makes the run fail, not pass.
    reuseExistingServer: false,
    stdout: 'pipe',
    stderr: 'pipe'
  }
};
