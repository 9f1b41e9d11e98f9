/**
 * Tokens and public interfaces of jupyterlab-hpc-envs, for other extensions to depend on.
 */
import { Token } from '@lumino/coreutils';
import { IDisposable } from '@lumino/disposable';
import { ISignal } from '@lumino/signaling';

import { Info } from './api';

/**
 * The id of the extension's settings plugin (its schema is `schema/plugin.json`).
 */
export const PLUGIN_ID = 'jupyterlab-hpc-envs:plugin';

/**
 * The state of the frontend's view of the server extension.
 */
export interface IHpcEnvsModel extends IDisposable {
  /**
   * What the server extension said about itself, or `null` before its first answer.
   */
  readonly info: Info | null;

  /**
   * The message of the last failed call, or `null` when the last call succeeded.
   */
  readonly error: string | null;

  /**
   * Whether a call to the server is in flight.
   */
  readonly isLoading: boolean;

  /**
   * Seconds between two refreshes in the background; `0` turns them off.
   */
  refreshInterval: number;

  /**
   * Emitted whenever `info`, `error` or `isLoading` change.
   */
  readonly stateChanged: ISignal<IHpcEnvsModel, void>;

  /**
   * Ask the server again now.
   *
   * @returns A promise that resolves when the state is up to date; it never rejects (failures
   *   land in `error`).
   */
  refresh(): Promise<void>;
}

/**
 * The model of jupyterlab-hpc-envs, provided by the `jupyterlab-hpc-envs:plugin` plugin.
 */
export const IHpcEnvsModel = new Token<IHpcEnvsModel>(
  'jupyterlab-hpc-envs:IHpcEnvsModel',
  'The state of HPC environments as seen by the frontend.'
);
