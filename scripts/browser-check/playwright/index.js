/*
 * What `python -m jupyterlab.browser_check` needs of the `playwright` package: `chromium.launch`.
 *
 * The check would download Playwright's own Chromium, which cannot be fetched here; this stand-in
 * launches Debian's Chromium through playwright-core instead (the flags are the UI tests' ones).
 */
const { chromium } = require('playwright-core');

const ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync'
];

module.exports = {
  chromium: {
    launch: options =>
      chromium.launch({
        ...options,
        executablePath: process.env.CHROMIUM_PATH || '/usr/bin/chromium',
        args: [...((options && options.args) || []), ...ARGS]
      })
  }
};
