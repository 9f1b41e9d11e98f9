/**
 * requestAPI: how requests are built and how replies are validated.
 *
 * `fetch` is faked (see fake-server.ts): there is no Jupyter server in jsdom. The real server is
 * exercised by pytest and by the Galata UI tests.
 */
import { ServerConnection } from '@jupyterlab/services';
import { z } from 'zod';

import { ApiError, EnvironmentSchema, InfoSchema, PackageSchema, query, requestAPI } from '../api';
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

  it('keeps the field of a refusal and the suggestions for an unknown name', async () => {
    const server = new FakeServer(
      json({ message: "There is no partition 'zen9'.", suggestions: ['zen2', 'zen4'] }, 404),
      json({ message: 'Bad name', field: 'name' }, 400)
    );

    const unknown = requestAPI('envs', z.unknown(), { method: 'POST' }, server.settings());
    await expect(unknown).rejects.toBeInstanceOf(ApiError);
    await expect(unknown).rejects.toMatchObject({
      status: 404,
      field: null,
      suggestions: ['zen2', 'zen4']
    });
    await expect(
      requestAPI('envs', z.unknown(), { method: 'POST' }, server.settings())
    ).rejects.toMatchObject({ status: 400, field: 'name', message: 'Bad name' });
  });

  it('says the status of an error reply that is not JSON', async () => {
    const server = new FakeServer({ status: 502, body: '<html>Bad Gateway</html>' });

    const call = requestAPI('info', InfoSchema, {}, server.settings());

    await expect(call).rejects.toThrow(/^502.*Bad Gateway/);
  });
});

describe('query', () => {
  it('leaves out empty values and repeats arrays', () => {
    expect(query({ partition: 'zen4', python: null, q: '', package: ['a', 'b'] })).toBe(
      '?partition=zen4&package=a&package=b'
    );
    expect(query({ partition: undefined })).toBe('');
  });
});

describe('the schemas', () => {
  it('show a build state or a package source of a newer server without failing the reply', () => {
    const env = EnvironmentSchema.parse({
      name: 'science',
      kind: 'venv',
      home: '/site/data/hpc-envs/science',
      builds: { zen4: { arch: 'zen4', path: '/x', state: 'verifying' } }
    });
    const row = PackageSchema.parse({
      name: 'numpy',
      key: 'numpy',
      version: '1.25.1',
      location: '/x',
      source: 'pixi',
      order: 1
    });

    expect(env.builds.zen4.state).toBe('stale');
    expect(row.source).toBe('path');
  });
});
