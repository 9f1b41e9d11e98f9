/**
 * The frontend's state: what the server extension says, refreshed in the background. No DOM here.
 */
import { ServerConnection } from '@jupyterlab/services';
import { Poll } from '@lumino/polling';
import { ISignal, Signal } from '@lumino/signaling';

import { getInfo, Info } from './api';
import { IHpcEnvsModel } from './tokens';

/**
 * The default number of seconds between two background refreshes.
 */
export const DEFAULT_REFRESH_INTERVAL = 60;

/**
 * The implementation of {@link IHpcEnvsModel} over the REST API.
 */
export class HpcEnvsModel implements IHpcEnvsModel {
  /**
   * Create a model. It does not call the server until `refresh()` is called or
   * `refreshInterval` is set to a positive number.
   *
   * @param options - The server settings (from the service manager) and the refresh interval.
   */
  constructor(options: HpcEnvsModel.IOptions) {
    this._serverSettings = options.serverSettings;
    this._refreshInterval = 0;
    if (options.refreshInterval !== undefined) {
      this.refreshInterval = options.refreshInterval;
    }
  }

  get info(): Info | null {
    return this._info;
  }

  get error(): string | null {
    return this._error;
  }

  get isLoading(): boolean {
    return this._pending > 0;
  }

  get stateChanged(): ISignal<IHpcEnvsModel, void> {
    return this._stateChanged;
  }

  get isDisposed(): boolean {
    return this._isDisposed;
  }

  get refreshInterval(): number {
    return this._refreshInterval;
  }

  set refreshInterval(seconds: number) {
    const value = Number.isFinite(seconds) && seconds > 0 ? seconds : 0;
    if (this._isDisposed || (value === this._refreshInterval && this._poll)) {
      return;
    }
    this._refreshInterval = value;
    this._poll?.dispose();
    this._poll = null;
    if (value > 0) {
      // The poll's first tick is immediate: it also does the first refresh.
      this._poll = new Poll({
        auto: true,
        factory: () => this.refresh(),
        frequency: { interval: value * 1000, backoff: false },
        name: 'jupyterlab-hpc-envs:model',
        standby: 'when-hidden'
      });
    }
  }

  async refresh(): Promise<void> {
    if (this._isDisposed) {
      return;
    }
    // Only the answer to the latest call is kept: an older answer arriving late is dropped.
    const call = ++this._calls;
    this._pending++;
    this._emit();
    try {
      const info = await getInfo(this._serverSettings);
      if (call === this._calls) {
        this._info = info;
        this._error = null;
      }
    } catch (reason) {
      if (call === this._calls) {
        this._error = reason instanceof Error ? reason.message : String(reason);
      }
    } finally {
      this._pending--;
      this._emit();
    }
  }

  dispose(): void {
    if (this._isDisposed) {
      return;
    }
    this._isDisposed = true;
    this._poll?.dispose();
    this._poll = null;
    Signal.clearData(this);
  }

  private _emit(): void {
    if (!this._isDisposed) {
      this._stateChanged.emit();
    }
  }

  private _serverSettings: ServerConnection.ISettings;
  private _info: Info | null = null;
  private _error: string | null = null;
  private _calls = 0;
  private _pending = 0;
  private _refreshInterval: number;
  private _poll: Poll | null = null;
  private _isDisposed = false;
  private _stateChanged = new Signal<IHpcEnvsModel, void>(this);
}

/**
 * The namespace of {@link HpcEnvsModel}'s types.
 */
export namespace HpcEnvsModel {
  /**
   * The options of the model's constructor.
   */
  export interface IOptions {
    /**
     * The server settings: pass `app.serviceManager.serverSettings`.
     */
    serverSettings: ServerConnection.ISettings;

    /**
     * Seconds between two refreshes in the background; `0` (the default) turns them off.
     */
    refreshInterval?: number;
  }
}
