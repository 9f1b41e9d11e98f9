/**
 * A partition the site description leaves out is learned by a probe (a short Slurm job): while it
 * runs the form says so instead of showing an empty catalog; a failed probe says why and offers
 * "Probe again" (`POST site/probes`).
 *
 * The replies are the real server's shapes (openapi.yaml `Origin`), over a faked `fetch`.
 */
import { ModulesFormPart } from '../form/modules';
import { CommandRegistry } from '@lumino/commands';

import { CreateFormModel } from '../formmodel';
import { HpcEnvsModel } from '../model';
import { Origin, Site } from '../api';
import { CreateEnvironmentForm } from '../widgets/form';
import { HpcEnvsPanel } from '../widgets/panel';
import { json, RoutedServer } from './fake-server';
import { environment, INFO, MODULES, SITE } from './fixtures';
import { click, dispose, find, settle, show } from './render';

const LEARNING = 'Learning what partition zen2 offers (a short Slurm job)…';
const FAILED =
  'Cannot learn what partition zen2 offers: the probe job could not be scheduled within 120 s ' +
  '(its job 12 was pending, reason Resources; cancelled). The partition may be full or down.';

function origin(state: 'running' | 'ok' | 'failed'): Origin {
  return {
    kind: 'probe',
    state,
    text:
      state === 'running'
        ? 'probing…'
        : state === 'ok'
          ? 'learned from node node042 at 2026-12-01 00:55'
          : `probe failed: ${FAILED}`,
    node: state === 'ok' ? 'node042' : '',
    at: '2026-12-01T00:55:00+0000',
    error: state === 'failed' ? FAILED : '',
    message: state === 'running' ? LEARNING : state === 'failed' ? FAILED : ''
  };
}

/**
 * The site with zen2 undescribed (its arch still unknown) and the server's partition zen2.
 */
const UNDESCRIBED: Site = {
  ...SITE,
  partition: 'zen2',
  partitions: SITE.partitions.map(p =>
    p.name === 'zen2' ? { ...p, arch: null, modulepath: [], origin: origin('running') } : p
  )
};

describe('a partition learned by a probe', () => {
  let model: HpcEnvsModel;
  let fake: RoutedServer;
  let state: 'running' | 'ok' | 'failed';
  let poll: number;

  beforeEach(async () => {
    poll = ModulesFormPart.probePollMs;
    ModulesFormPart.probePollMs = 5;
    state = 'running';
    fake = new RoutedServer({
      'GET info': json(INFO),
      'GET site': json(UNDESCRIBED),
      'GET envs': json({ environments: [environment('science')] }),
      'GET tasks': json({ tasks: [] }),
      'GET kernel-jobs': json({ jobs: [] }),
      'GET modules': request =>
        json({
          partition: request.query.get('partition'),
          module_system: 'lmod',
          modules: state === 'ok' ? MODULES : [],
          origin: origin(state)
        }),
      'POST site/probes': () => {
        state = 'running';
        return json(UNDESCRIBED);
      }
    });
    model = new HpcEnvsModel({ serverSettings: fake.settings() });
    await model.refresh();
  });

  afterEach(() => {
    ModulesFormPart.probePollMs = poll;
    model.dispose();
  });

  it('says the partition is being learned, not that it has no module, then shows its catalog', async () => {
    const form = new CreateFormModel({ model });
    await settle();

    expect(form.partition).toBe('zen2');
    expect(form.catalog).toBeNull();
    expect(form.probing).toBe(LEARNING);
    expect(form.catalogError).toBeNull();

    state = 'ok';
    await settle(() => new Promise(resolve => setTimeout(resolve, 30)));

    expect(form.probing).toBeNull();
    expect(form.catalog?.map(m => m.full)).toEqual(MODULES.map(m => m.full));
    expect(fake.calls('GET modules').length).toBeGreaterThan(1);
    form.dispose();
  });

  it('says why a probe failed and probes again when asked', async () => {
    state = 'failed';
    const form = new CreateFormModel({ model });
    await settle();

    expect(form.catalogError).toBe(FAILED);
    expect(form.probeFailed).toBe(true);
    expect(form.probing).toBeNull();

    const again = form.probeAgain();
    expect(form.probing).not.toBeNull();
    await settle(() => again);
    expect(fake.calls('POST site/probes').map(r => JSON.parse(r.body))).toEqual([
      { partition: 'zen2' }
    ]);
    expect(form.probing).toBe(LEARNING);
    expect(form.catalogError).toBeNull();

    state = 'ok';
    await settle(() => new Promise(resolve => setTimeout(resolve, 30)));
    expect(form.catalog?.map(m => m.full)).toEqual(MODULES.map(m => m.full));
    form.dispose();
  });

  it('shows the probe in the form and a "Probe again" button after a failure', async () => {
    const widget = await show(
      new CreateEnvironmentForm({ model: new CreateFormModel({ model }), onCreated: () => {} })
    );
    await settle();
    expect(find(widget.node, '.jp-HpcEnvs-probing').textContent).toBe(LEARNING);
    expect(widget.node.textContent).not.toContain('offers no Python module');

    state = 'failed';
    await settle(() => new Promise(resolve => setTimeout(resolve, 30)));
    expect(widget.node.textContent).toContain(FAILED);
    const buttons = widget.node.querySelectorAll('.jp-HpcEnvs-probeAgain');
    expect(buttons).toHaveLength(1);

    await click(buttons[0]);
    await settle();
    expect(fake.calls('POST site/probes')).toHaveLength(1);
    expect(find(widget.node, '.jp-HpcEnvs-probing').textContent).toBe(LEARNING);
    await dispose(widget);
  });

  it('says in the panel where each probed partition comes from', async () => {
    const panel = await show(new HpcEnvsPanel({ model, commands: new CommandRegistry() }));
    await settle();
    const items = [...panel.node.querySelectorAll('.jp-HpcEnvs-probes li')];
    expect(items.map(li => li.textContent)).toEqual(['zen2: probing…']);
    expect(items[0].getAttribute('data-state')).toBe('running');
    await dispose(panel);
  });
});
