/**
 * The browser half of bench/ui.py: drives Debian's Chromium (Playwright) against a running
 * JupyterLab and times, in the page, with performance marks:
 *
 * - the side panel "HPC environments" with 300 environments: from the pointer going down on its
 *   tab to its list being shown and painted (the first show after a page load, and again later),
 *   and a refresh (the REST calls included);
 * - the packages view of an environment with 3,000+ distributions: from the filter's input event
 *   to the filtered rows being shown and painted;
 * - JupyterLab's own file browser on a folder of 300 files, the baseline: its tab, and a refresh.
 *
 * "Painted" is the first task after the next animation frame in which the condition holds.
 * Candidates run once per round in a new random order each round; the first round is a warm-up.
 *
 *   node bench/ui_driver.js '{"url": …, "rounds": 7, "envs": 300, "packagesEnv": "…",
 *                             "folder": "files300", "files": 300}'
 *
 * prints one JSON line: {"times": {candidate: [seconds…]}, "facts": {…}}.
 */
const path = require('path');

const { chromium } = require(
  path.join(__dirname, '..', 'ui-tests', 'node_modules', 'playwright-core')
);

const options = JSON.parse(process.argv[2]);
const ROUNDS = options.rounds ?? 7;
const WARMUP = options.warmup ?? 1;
const PANEL_TAB = '.jp-SideBar.jp-mod-left .lm-TabBar-tab[data-id="jp-HpcEnvs-panel"]';
const FILES_TAB = '.jp-SideBar.jp-mod-left .lm-TabBar-tab[data-id="filebrowser"]';
// Two filters that keep different rows (1,111 of the 3,000 synthetic ones each), so that every
// round changes the list; and back to none.
const QUERIES = ['dist_1', 'dist_2'];

/**
 * In the page: helpers shared by the measurements (installed once per page load).
 */
function install() {
  const frame = () => new Promise(resolve => requestAnimationFrame(() => resolve()));
  const painted = async () => {
    await frame();
    await new Promise(resolve => setTimeout(resolve, 0));
  };
  const visible = node => !!node && node.offsetParent !== null && node.offsetHeight > 0;
  const waitFor = async (what, condition, timeout = 60000) => {
    const started = performance.now();
    while (!condition()) {
      if (performance.now() - started > timeout) {
        throw new Error(`${what}: not shown after ${timeout} ms`);
      }
      await frame();
    }
  };
  window.__bench = {
    frame,
    painted,
    visible,
    waitFor,
    /**
     * Resolve with the duration of measure `name` once `condition` holds (checked every frame),
     * from the mark `${name}:start` set by whoever starts the action.
     */
    until: async (name, condition) => {
      await waitFor(name, condition);
      await painted();
      performance.mark(`${name}:end`);
      return performance.measure(name, `${name}:start`, `${name}:end`).duration;
    },
    /**
     * Start measure `name` when the pointer goes down on `selector`, and end it once
     * `condition` holds: the promise is kept in `window.__bench.pending`.
     */
    armClick: (name, selector, condition) => {
      const target = document.querySelector(selector);
      window.__bench.pending = new Promise((resolve, reject) => {
        target.addEventListener(
          'pointerdown',
          () => {
            performance.mark(`${name}:start`);
            window.__bench.until(name, condition).then(resolve, reject);
          },
          { once: true, capture: true }
        );
      });
    },
    panelShown: envs => () => {
      const panel = document.getElementById('jp-HpcEnvs-panel');
      const spacer = panel?.querySelector('.jp-HpcEnvs-envList .jp-HpcEnvs-virtualSpacer');
      const first = panel?.querySelector('.jp-HpcEnvs-envList .jp-HpcEnvs-envRow');
      return (
        visible(panel) &&
        visible(first) &&
        // 44: ENV_ROW_HEIGHT of src/widgets/panel.tsx
        spacer?.style.height === `${envs * 44}px`
      );
    },
    filesShown: (folder, files) => () => {
      const browser = document.getElementById('filebrowser');
      const items = browser?.querySelectorAll('.jp-DirListing-content .jp-DirListing-item');
      const crumbs = browser?.querySelector('.jp-BreadCrumbs')?.textContent ?? '';
      return visible(browser) && items?.length === files && crumbs.includes(folder);
    }
  };
}

async function load(page) {
  const envs = page.waitForResponse(r => /\/hpc-envs\/api\/envs(\?|$)/.test(r.url()), {
    timeout: 120000
  });
  await page.goto(`${options.url}lab?reset&token=${options.token}`);
  await page.waitForFunction(() => window.jupyterapp && window.jupyterapp.started, null, {
    timeout: 120000
  });
  await page.evaluate(() => window.jupyterapp.restored);
  await envs;
  await page.evaluate(install);
  // The panel's first refresh has landed; let the page settle before anything is timed.
  await page.waitForLoadState('networkidle');
}

async function showFileBrowser(page) {
  await page.evaluate(async ({ folder, files }) => {
    const app = window.jupyterapp;
    app.shell.activateById('filebrowser');
    await app.commands.execute('filebrowser:go-to-path', { path: `/${folder}` });
    app.shell.activateById('filebrowser');
    await window.__bench.waitFor('file browser', window.__bench.filesShown(folder, files));
  }, options);
}

async function showPanel(page) {
  await page.evaluate(async envs => {
    window.jupyterapp.shell.activateById('jp-HpcEnvs-panel');
    await window.__bench.waitFor('panel', window.__bench.panelShown(envs));
  }, options.envs);
}

/**
 * The packages view of the big environment, open and listed (opened once per page load).
 */
async function packagesView(page) {
  return page.evaluate(async name => {
    const app = window.jupyterapp;
    const selector = `.jp-HpcEnvs-packagesView[data-env="${name}"]`;
    if (!document.querySelector(selector)) {
      await app.commands.execute('hpc-envs:show-packages', { name, partition: 'zen4' });
    }
    const view = document.querySelector(selector);
    app.shell.activateById(view.closest('.lm-Widget.jp-MainAreaWidget')?.id ?? view.id);
    const count = () => view.querySelector('.jp-HpcEnvs-packages-count')?.textContent ?? '';
    await window.__bench.waitFor('packages', () => /^\d+ of \d+$/.test(count()), 120000);
    return Number(count().split(' of ')[1]);
  }, options.packagesEnv);
}

let queryIndex = 0;
const firstShowRowsBefore = [];

const candidates = {
  /**
   * The side panel's first show after a page load: its tab clicked while the file browser is
   * shown (the default layout), the environments already fetched.
   */
  'ours: side panel, first show after load (300 envs)': async page => {
    await load(page);
    // Whether the rows were made while the panel was hidden (then showing it only lays them out).
    firstShowRowsBefore.push(
      await page.evaluate(
        () => document.querySelectorAll('#jp-HpcEnvs-panel .jp-HpcEnvs-envRow').length
      )
    );
    await page.evaluate(
      ({ tab, envs }) =>
        window.__bench.armClick('panel-first', tab, window.__bench.panelShown(envs)),
      { tab: PANEL_TAB, envs: options.envs }
    );
    await page.click(PANEL_TAB);
    return page.evaluate(() => window.__bench.pending);
  },

  /**
   * The side panel shown again: its tab clicked while the file browser is shown.
   */
  'ours: side panel, tab click (300 envs)': async page => {
    await showPanel(page);
    await showFileBrowser(page);
    await page.evaluate(
      ({ tab, envs }) => window.__bench.armClick('panel-tab', tab, window.__bench.panelShown(envs)),
      { tab: PANEL_TAB, envs: options.envs }
    );
    await page.click(PANEL_TAB);
    return page.evaluate(() => window.__bench.pending);
  },

  /**
   * A refresh of the shown panel (GET info, site, envs, tasks; 300 manifests read) until the
   * new state is painted.
   */
  'ours: side panel refresh, REST included (300 envs)': async page => {
    await showPanel(page);
    return page.evaluate(async envs => {
      performance.mark('panel-refresh:start');
      await window.jupyterapp.commands.execute('hpc-envs:refresh');
      return window.__bench.until('panel-refresh', window.__bench.panelShown(envs));
    }, options.envs);
  },

  /**
   * A filter typed into the packages view of 3,000+ distributions (one input event carrying the
   * whole query, as a paste or the last key stroke does), until the filtered rows are painted.
   */
  'ours: packages filter (3,000+ rows)': async page => {
    const total = await packagesView(page);
    const query = QUERIES[queryIndex++ % QUERIES.length];
    return page.evaluate(
      async ({ name, query, total }) => {
        const view = document.querySelector(`.jp-HpcEnvs-packagesView[data-env="${name}"]`);
        const input = view.querySelector('.jp-HpcEnvs-packages-filter');
        const setter = Object.getOwnPropertyDescriptor(HTMLInputElement.prototype, 'value').set;
        // Start from the whole list, shown.
        setter.call(input, '');
        input.dispatchEvent(new Event('input', { bubbles: true }));
        const count = () => view.querySelector('.jp-HpcEnvs-packages-count')?.textContent ?? '';
        await window.__bench.waitFor('all packages', () => count() === `${total} of ${total}`);
        await window.__bench.painted();
        performance.mark('packages-filter:start');
        setter.call(input, query);
        input.dispatchEvent(new Event('input', { bubbles: true }));
        return window.__bench.until('packages-filter', () => {
          const rows = [...view.querySelectorAll('.jp-HpcEnvs-package-name')];
          return (
            /^\d+ of /.test(count()) &&
            !count().startsWith(`${total} of`) &&
            rows.length > 0 &&
            rows.every(r => r.textContent.toLowerCase().includes(query))
          );
        });
      },
      { name: options.packagesEnv, query, total }
    );
  },

  /**
   * Baseline: JupyterLab's file browser shown again on a folder of 300 files, its tab clicked
   * while the HPC panel is shown.
   */
  'JupyterLab: file browser, tab click (300 files)': async page => {
    await showFileBrowser(page);
    await showPanel(page);
    await page.evaluate(
      ({ tab, folder, files }) =>
        window.__bench.armClick('files-tab', tab, window.__bench.filesShown(folder, files)),
      { tab: FILES_TAB, folder: options.folder, files: options.files }
    );
    await page.click(FILES_TAB);
    return page.evaluate(() => window.__bench.pending);
  },

  /**
   * Baseline: a refresh of the file browser on a folder of 300 files (GET contents), until the
   * new listing is painted.
   */
  'JupyterLab: file browser refresh, REST included (300 files)': async page => {
    await showFileBrowser(page);
    return page.evaluate(async ({ folder, files }) => {
      performance.mark('files-refresh:start');
      await window.jupyterapp.commands.execute('filebrowser:refresh');
      return window.__bench.until('files-refresh', window.__bench.filesShown(folder, files));
    }, options);
  }
};

function shuffle(items) {
  const out = items.slice();
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}

async function main() {
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM_PATH || '/usr/bin/chromium',
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync'
    ]
  });
  const facts = {};
  try {
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    page.on('pageerror', error => process.stderr.write(`page error: ${error}\n`));
    await load(page);
    await showPanel(page);
    facts.environments_in_panel = await page.evaluate(
      () =>
        parseInt(
          document.querySelector('#jp-HpcEnvs-panel .jp-HpcEnvs-virtualSpacer').style.height,
          10
        ) / 44
    );
    facts.package_rows = await packagesView(page);
    facts.env_rows_in_dom = await page.evaluate(
      () => document.querySelectorAll('#jp-HpcEnvs-panel .jp-HpcEnvs-envRow').length
    );
    const times = Object.fromEntries(Object.keys(candidates).map(name => [name, []]));
    for (let round = 0; round < WARMUP + ROUNDS; round++) {
      for (const name of shuffle(Object.keys(candidates))) {
        const ms = await candidates[name](page);
        if (round >= WARMUP) {
          times[name].push(ms / 1000);
        }
        process.stderr.write(`round ${round} ${name}: ${ms.toFixed(1)} ms\n`);
      }
    }
    facts.env_rows_in_dom_before_first_show = [...new Set(firstShowRowsBefore)];
    process.stdout.write(JSON.stringify({ times, facts }) + '\n');
  } finally {
    await browser.close();
  }
}

main().catch(error => {
  process.stderr.write(`${error.stack ?? error}\n`);
  process.exit(1);
});
