/**
 * Playwright configuration of the Galata UI tests.
 *
 * Debian's Chromium is used (Playwright cannot download its own browsers here), and video and
 * traces are off (they need Playwright's own ffmpeg). The server is started fresh for the run.
 */
const baseConfig = require('@jupyterlab/galata/lib/playwright-config');

const port = process.env.HPC_ENVS_UI_PORT || '8888';

module.exports = {
  ...baseConfig,
  // Never 'on-failure': the HTML reporter would then serve the report and wait for Ctrl+C.
  reporter: [['list'], ['html', { open: 'never' }]],
  retries: process.env.CI ? 1 : 0,
  workers: 1,
  use: {
    ...baseConfig.use,
    baseURL: `http://127.0.0.1:${port}`,
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
