#!/usr/bin/env node
/*
 * `npx playwright install chromium`, as run by `python -m jupyterlab.browser_check`: nothing to
 * download, Debian's Chromium is used (see index.js). Any other command is refused.
 */
const command = process.argv[2];
if (command === 'install') {
  console.log("playwright stand-in: using Debian's Chromium, nothing to install");
  process.exit(0);
}
console.error(`playwright stand-in: unsupported command ${command}`);
process.exit(1);
