/**
 * requestAPI: how requests are built and how replies are validated.
 *
 * `fetch` is faked (see fake-server.ts): there is no Jupyter server in jsdom. The real server is
 * exercised by pytest and by the Galata UI tests.
 */
import { ServerConnection } from '@jupyterlab/services';
import { z } from 'zod';

import { InfoSchema, requestAPI } from '../api';
import { FakeServer, json } from './fake-server';

describe('requestAPI', () => {
  it('sends the request under the base URL and the hpc-envs/api namespace', async () => {
    // Given a server under a non-root base URL
    const server = new FakeServer(json({ name: 'jupyterlab-hpc-envs', version: '1.2.3' }));

    // When an endpoint is requested with a method and a body
    await requestAPI(
      'envs/science',
      z.unknown(),
      { method: 'POST', body: '{"a":1}' },
      server.settings('http://localhost:8888/lab-base/')
    );

    // Then the URL joins base URL, namespace and endpoint, and method and body pass through
    expect(server.received).toEqual([
      {
        url: 'http://localhost:8888/lab-base/hpc-envs/api/envs/science',
        method: 'POST',
        body: '{"a":1}'
      }
    ]);
  });

  it('returns the body parsed by the schema', async () => {
    const server = new FakeServer(
      json({ name: 'jupyterlab-hpc-envs', version: '1.2.3', extra: 'dropped' })
    );

    const info = await requestAPI('info', InfoSchema, {}, server.settings());

    expect(info).toEqual({ name: 'jupyterlab-hpc-envs', version: '1.2.3' });
  });

  it("turns an error status into a ResponseError carrying the server's message", async () => {
    const server = new FakeServer(json({ message: 'No environment named "nope"' }, 404));

    const call = requestAPI('envs/nope', z.unknown(), {}, server.settings());

    await expect(call).rejects.toBeInstanceOf(ServerConnection.ResponseError);
    await expect(requestAPI('envs/nope', z.unknown(), {}, server.settings())).rejects.toMatchObject(
      {
        message: 'No environment named "nope"',
        response: expect.objectContaining({ status: 404 })
      }
    );
  });

  it('turns a failed fetch into a NetworkError', async () => {
    const server = new FakeServer({ error: new TypeError('Failed to fetch') });

    const call = requestAPI('info', InfoSchema, {}, server.settings());

    await expect(call).rejects.toBeInstanceOf(ServerConnection.NetworkError);
  });

  it('rejects a reply that does not match the schema', async () => {
    const server = new FakeServer(json({ name: 'jupyterlab-hpc-envs', version: 3 }));

    const call = requestAPI('info', InfoSchema, {}, server.settings());

    await expect(call).rejects.toBeInstanceOf(ServerConnection.ResponseError);
    await expect(requestAPI('info', InfoSchema, {}, server.settings())).rejects.toThrow(
      /Unexpected reply of info.*version/s
    );
  });

  it('rejects a reply that is not JSON', async () => {
    const server = new FakeServer({ status: 200, body: '<html>login</html>' });

    const call = requestAPI('info', InfoSchema, {}, server.settings());

    await expect(call).rejects.toThrow(/not JSON/);
  });
});
