/**
 * The one function of the frontend that talks to the server extension.
 */
import { URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';
import { z } from 'zod';

import { ErrorBodySchema } from './schemas';

/**
 * The path of the REST API under the server's base URL.
 */
export const API_NAMESPACE = 'hpc-envs/api';

/**
 * An error reply of the REST API: a `ServerConnection.ResponseError` whose message is the
 * server's, with the field of the request it is about (bad input) and close matches (unknown name).
 */
export class ApiError extends ServerConnection.ResponseError {
  /**
   * Create the error of a reply.
   *
   * @param response - The reply.
   * @param message - The server's message.
   * @param field - The field of the request the message is about, if the server said.
   * @param suggestions - Close matches of an unknown name, if any.
   * @param fields - Every refused field's message, when the server refused several at once.
   */
  constructor(
    response: Response,
    message: string,
    readonly field: string | null = null,
    readonly suggestions: string[] = [],
    readonly fields: Readonly<Record<string, string>> = {}
  ) {
    super(response, message);
    this.name = 'ApiError';
  }

  /**
   * The HTTP status of the reply.
   */
  get status(): number {
    return this.response.status;
  }
}

/**
 * The message of anything thrown, for the user.
 *
 * @param reason - What was thrown.
 * @returns The error's message (the server's, for an error reply).
 */
export function errorMessage(reason: unknown): string {
  if (reason instanceof Error) {
    return reason.message;
  }
  return String(reason);
}

/**
 * Call the REST API of the server extension and validate its reply.
 *
 * @param endpoint - The path under `/hpc-envs/api/`, e.g. `info` or `envs/science`.
 * @param schema - The zod schema the JSON body of a successful reply must match.
 * @param init - The fetch options (method, body, …); GET when omitted.
 * @param settings - The server settings; pass the service manager's `serverSettings`.
 * @returns The parsed and validated body of the reply (`null` is parsed for an empty body).
 * @throws {ServerConnection.NetworkError} When the server cannot be reached.
 * @throws {ApiError} When the server answers with an error status: its message is the server's
 *   `message`, with the `field` and `suggestions` of the reply.
 * @throws {ServerConnection.ResponseError} When the server answers with a body that is not JSON
 *   or does not match `schema`.
 */
export async function requestAPI<T>(
  endpoint: string,
  schema: z.ZodType<T>,
  init: RequestInit = {},
  settings: ServerConnection.ISettings = ServerConnection.makeSettings()
): Promise<T> {
  const url = URLExt.join(settings.baseUrl, API_NAMESPACE, endpoint);

  let response: Response;
  try {
    response = await ServerConnection.makeRequest(url, init, settings);
  } catch (error) {
    if (error instanceof ServerConnection.NetworkError) {
      throw error;
    }
    throw new ServerConnection.NetworkError(
      error instanceof TypeError ? error : new TypeError(String(error))
    );
  }

  if (!response.ok) {
    throw await errorOf(response);
  }

  const text = await response.text();
  let data: unknown = null;
  if (text.length > 0) {
    try {
      data = JSON.parse(text);
    } catch {
      throw new ServerConnection.ResponseError(
        response,
        `The reply of ${endpoint} is not JSON: ${text.slice(0, 200)}`
      );
    }
  }

  const parsed = schema.safeParse(data);
  if (!parsed.success) {
    throw new ServerConnection.ResponseError(
      response,
      `Unexpected reply of ${endpoint}: ${z.prettifyError(parsed.error)}`
    );
  }
  return parsed.data;
}

/**
 * The error of an error reply: the server's JSON `{message, field?, suggestions?}`, or (for a
 * reply that is not ours, e.g. a proxy's HTML page) the status and the start of the body.
 *
 * @param response - A reply with an error status.
 * @returns The error to throw.
 */
async function errorOf(response: Response): Promise<ApiError> {
  let text = '';
  try {
    text = await response.text();
  } catch {
    // An unreadable body: the status says enough.
  }
  try {
    const body = ErrorBodySchema.safeParse(JSON.parse(text));
    if (body.success) {
      return new ApiError(
        response,
        body.data.message,
        body.data.field ?? null,
        body.data.suggestions ?? [],
        body.data.fields ?? {}
      );
    }
  } catch {
    // Not JSON: fall through.
  }
  const detail = text.trim().slice(0, 200);
  const status = `${response.status} ${response.statusText}`.trim();
  return new ApiError(response, detail ? `${status}: ${detail}` : status);
}
