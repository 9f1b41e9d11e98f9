/**
 * Typed calls of the REST API: each one is `requestAPI` with the schema of its reply.
 */
import { ServerConnection } from '@jupyterlab/services';

import { requestAPI } from './request';
import { Info, InfoSchema } from './schemas';

export { API_NAMESPACE, requestAPI } from './request';
export * from './schemas';

/**
 * Ask the server extension who it is.
 *
 * @param settings - The server settings of the service manager.
 * @returns The name and version of the server extension.
 * @throws {ServerConnection.NetworkError | ServerConnection.ResponseError} See `requestAPI`.
 */
export function getInfo(settings?: ServerConnection.ISettings): Promise<Info> {
  return requestAPI('info', InfoSchema, {}, settings);
}
