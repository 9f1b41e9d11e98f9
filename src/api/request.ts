/**
 * The one function of the frontend that talks to the server extension.
 */
import { URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';
import { z } from 'zod';

/**
 * The path of the REST API under the server's base URL.
 */
export const API_NAMESPACE = 'hpc-envs/api';

/**
 * Call the REST API of the server extension and validate its reply.
 *
 * @param endpoint - The path under `/hpc-envs/api/`, e.g. `info` or `envs/science`.
 * @param schema - The zod schema the JSON body of a successful reply must match.
 * @param init - The fetch options (method, body, …); GET when omitted.
 * @param settings - The server settings; pass the service manager's `serverSettings`.
 * @returns The parsed and validated body of the reply (`null` is parsed for an empty body).
 * @throws {ServerConnection.NetworkError} When the server cannot be reached.
 * @throws {ServerConnection.ResponseError} When the server answers with an error status (its
 *   message is the server's `message`), or with a body that is not JSON or does not match `schema`.
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
    throw await ServerConnection.ResponseError.create(response);
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
