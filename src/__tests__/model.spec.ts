/**
 * HpcEnvsModel: how replies of the server become state and signals.
 *
 * `fetch` is faked (see fake-server.ts): there is no Jupyter server in jsdom.
 */
import { HpcEnvsModel } from '../model';
import { FakeServer, json } from './fake-server';

const INFO = { name: 'jupyterlab-hpc-envs', version: '1.2.3' };

describe('HpcEnvsModel', () => {
  let model: HpcEnvsModel | null = null;

  afterEach(() => {
    model?.dispose();
    model = null;
  });

  it('holds the server info after a refresh', async () => {
    const server = new FakeServer(json(INFO));
    model = new HpcEnvsModel({ serverSettings: server.settings() });

    await model.refresh();

    expect(model.info).toEqual(INFO);
    expect(model.error).toBeNull();
    expect(model.isLoading).toBe(false);
    expect(server.received.map(r => r.url)).toEqual([
      'http://localhost:8888/lab-base/hpc-envs/api/info'
    ]);
  });

  it("holds the server's message when a refresh fails", async () => {
    const server = new FakeServer(json({ message: 'The site is being scanned' }, 503));
    model = new HpcEnvsModel({ serverSettings: server.settings() });

    await model.refresh();

    expect(model.info).toBeNull();
    expect(model.error).toBe('The site is being scanned');
  });

  it('clears the error when a later refresh succeeds', async () => {
    const server = new FakeServer(json({ message: 'down' }, 500), json(INFO));
    model = new HpcEnvsModel({ serverSettings: server.settings() });
    await model.refresh();

    await model.refresh();

    expect(model.error).toBeNull();
    expect(model.info).toEqual(INFO);
  });

  it('signals the start and the end of a refresh', async () => {
    const server = new FakeServer(json(INFO));
    model = new HpcEnvsModel({ serverSettings: server.settings() });
    const seen: boolean[] = [];
    model.stateChanged.connect(sender => {
      seen.push(sender.isLoading);
    });

    await model.refresh();

    expect(seen).toEqual([true, false]);
  });

  it('refreshes at once when given a refresh interval', async () => {
    const server = new FakeServer(json(INFO));
    model = new HpcEnvsModel({ serverSettings: server.settings() });
    const loaded = new Promise<void>(resolve => {
      model!.stateChanged.connect(sender => {
        if (sender.info) {
          resolve();
        }
      });
    });

    model.refreshInterval = 3600;

    await loaded;
    expect(model.info).toEqual(INFO);
  });

  it('stops signalling once disposed, and can be disposed twice', async () => {
    const server = new FakeServer(json(INFO));
    model = new HpcEnvsModel({ serverSettings: server.settings() });
    let signals = 0;
    model.stateChanged.connect(() => signals++);

    model.dispose();
    model.dispose();
    await model.refresh();

    expect(model.isDisposed).toBe(true);
    expect(signals).toBe(0);
    expect(server.received).toEqual([]);
  });
});
