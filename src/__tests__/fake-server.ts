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
