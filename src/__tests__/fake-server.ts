/**
 * A stand-in for the server, at the level of `fetch`.
 *
 * The frontend's tests run in jsdom without a Jupyter server, so the server's replies are faked
 * here; the real server extension is exercised by pytest and by the Galata UI tests. What these
 * tests check is how requests are built and how replies are validated and turned into state.
 */
import { ServerConnection } from '@jupyterlab/services';

/**
 * A request the fake server received.
 */
export interface IReceived {
  /**
   * The URL without its query: ServerConnection adds a cache-busting query to requests.
   */
  url: string;
  /**
   * The path under `hpc-envs/api/` (routed server only).
   */
  path?: string;
  method: string;
  body: string;
}

/**
 * How the fake server answers one request: a reply, or a thrown error (a network failure).
 */
export type Answer = { status: number; body: string } | { error: Error };

/**
 * A fake server answering in order with the given answers, recording what it received.
 */
export class FakeServer {
  readonly received: IReceived[] = [];

  /**
   * @param answers - The answers, in order; the last one is repeated.
   */
  constructor(...answers: Answer[]) {
    this._answers = answers;
  }

  /**
   * Server settings whose `fetch` is this fake server.
   *
   * @param baseUrl - The base URL of the fake server.
   * @returns Settings to give to the code under test.
   */
  settings(baseUrl = 'http://localhost:8888/lab-base/'): ServerConnection.ISettings {
    return ServerConnection.makeSettings({
      baseUrl,
      token: 'secret-token',
      fetch: (input: RequestInfo | URL, init?: RequestInit) => this._fetch(input, init)
    });
  }

  private async _fetch(input: RequestInfo | URL, init?: RequestInit): Promise<Response> {
    const request = new Request(input, init);
    const url = new URL(request.url);
    this.received.push({
      url: `${url.origin}${url.pathname}`,
      method: request.method,
      body: await request.text()
    });
    const answer = this._answers[Math.min(this.received.length - 1, this._answers.length - 1)];
    if ('error' in answer) {
      throw answer.error;
    }
    return new Response(answer.body, {
      status: answer.status,
      headers: { 'Content-Type': 'application/json' }
    });
  }

  private _answers: Answer[];
}

/**
 * A JSON reply.
 *
 * @param body - The value to send as JSON.
 * @param status - The HTTP status.
 * @returns The answer.
 */
export function json(body: unknown, status = 200): Answer {
  return { status, body: JSON.stringify(body) };
}

/**
 * How the routed fake server answers a request: a fixed answer, or a function of the request.
 */
export type Route = Answer | ((request: IReceived & { query: URLSearchParams }) => Answer);

/**
 * A fake server answering by route: `'GET envs'`, `'POST envs/science/builds'`… (the path under
 * `hpc-envs/api/`, without the query). A request without a route is answered 404, like the
 * real server; routes can be changed between calls of the code under test.
 */
export class RoutedServer {
  readonly received: (IReceived & { query: URLSearchParams })[] = [];

  /**
   * @param routes - The answers by `'METHOD path'`.
   */
  constructor(routes: Record<string, Route> = {}) {
    this.routes = { ...routes };
  }

  /**
   * The answers by `'METHOD path'`; change them at will.
   */
  routes: Record<string, Route>;

  /**
   * Server settings whose `fetch` is this fake server.
   *
   * @returns Settings to give to the code under test.
   */
  settings(): ServerConnection.ISettings {
    return ServerConnection.makeSettings({
      baseUrl: 'http://localhost:8888/',
      token: 'secret-token',
      fetch: (input: RequestInfo | URL, init?: RequestInit) => this._fetch(input, init)
    });
  }

  /**
   * The requests received for a route.
   *
   * @param route - `'METHOD path'`.
   * @returns The requests, in order.
   */
  calls(route: string): (IReceived & { query: URLSearchParams })[] {
    return this.received.filter(r => `${r.method} ${r.path}` === route);
  }

  private async _fetch(input: RequestInfo | URL, init?: RequestInit): Promise<Response> {
    const request = new Request(input, init);
    const url = new URL(request.url);
    const path = decodeURIComponent(url.pathname.replace(/^\/hpc-envs\/api\//, ''));
    // ServerConnection adds a cache-busting timestamp as a bare key: leave it out.
    const query = new URLSearchParams(
      [...new URLSearchParams(url.search)].filter(([key]) => !/^\d+$/.test(key))
    );
    const received = {
      url: `${url.origin}${url.pathname}`,
      path,
      method: request.method,
      body: await request.text(),
      query
    };
    this.received.push(received);
    const route = this.routes[`${request.method} ${path}`];
    const answer =
      route === undefined
        ? json({ message: `No route ${request.method} ${path}` }, 404)
        : typeof route === 'function'
          ? route(received)
          : route;
    if ('error' in answer) {
      throw answer.error;
    }
    return new Response(answer.body, {
      status: answer.status,
      headers: { 'Content-Type': 'application/json' }
    });
  }
}
