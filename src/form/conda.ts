/**
 * The conda part of the creation form's state: what the server said about conda here, whether
 * the kind can be chosen, the Python version and channels of a conda environment, and adopting
 * a conda environment made by hand.
 */
import { CondaEnvironment, CondaInfo, errorMessage, ICreateRequest } from '../api';
import { IChannelChoice, ICondaStatus, IFormHost } from './types';

/**
 * The conda part of the form; the form composes it and asks it for the conda fields of its
 * request.
 */
export class CondaFormPart {
  /**
   * Create the part (it asks the server about conda with {@link load}).
   *
   * @param host - The form composing it.
   */
  constructor(host: IFormHost) {
    this._host = host;
  }

  /**
   * What the server said about conda here (policy, engine, channels), or `null` while asked.
   */
  get info(): CondaInfo | null {
    return this._condaInfo;
  }

  /**
   * Whether the kind `conda` can be chosen: the site does not forbid it and an engine exists.
   */
  get status(): ICondaStatus {
    const info = this._condaInfo;
    const site = this._host.site();
    if (info?.policy === 'forbidden' || (!info && site?.conda.policy === 'forbidden')) {
      const message = info?.message || site?.conda.message;
      return {
        available: false,
        reason: message || this._host.trans.__('Conda environments are not allowed on this site.'),
        loading: false
      };
    }
    if (this._condaError !== null) {
      return {
        available: false,
        reason: this._host.trans.__('Cannot ask the server about conda: %1', this._condaError),
        loading: false
      };
    }
    if (!info) {
      return {
        available: false,
        reason: this._host.trans.__('Asking the server whether conda can be used here…'),
        loading: true
      };
    }
    if (!info.engine) {
      return {
        available: false,
        reason: info.how_to_get || this._host.trans.__('The server found no conda engine.'),
        loading: false
      };
    }
    return { available: true, reason: '', loading: false };
  }

  /**
   * The Python version of a conda environment as typed (`3.11`), `''` for the channels' newest.
   */
  get python(): string {
    return this._condaPython;
  }

  /**
   * The channels of a conda environment, highest priority first.
   */
  get channels(): readonly string[] {
    return this._channels;
  }

  /**
   * The channels offered: the site's defaults, the known ones, and the ones the user added.
   */
  get channelChoices(): readonly IChannelChoice[] {
    const info = this._condaInfo;
    const choices: IChannelChoice[] = [];
    const add = (name: string, description: string, isDefault: boolean): void => {
      if (!choices.some(c => c.name === name)) {
        choices.push({ name, description, isDefault });
      }
    };
    for (const name of info?.channels ?? []) {
      add(name, this._host.trans.__("The site's default channel"), true);
    }
    for (const known of info?.known_channels ?? []) {
      add(known.name, known.description, false);
    }
    for (const name of this._channels) {
      add(name, '', false);
    }
    return choices;
  }

  /**
   * The conda environments made by hand on the server's node, or `null` before they are listed.
   */
  get environments(): readonly CondaEnvironment[] | null {
    return this._envs;
  }

  /**
   * The prefix being adopted, or `null`.
   */
  get adopting(): string | null {
    return this._adopting;
  }

  /**
   * What the last adoption did or why it failed: `{ok, message}`, or `null`.
   */
  get adoptResult(): { ok: boolean; message: string } | null {
    return this._adoptResult;
  }

  /**
   * What the user is told before creating a conda environment: the site's message when conda
   * is discouraged, and the server's other warnings (a stray `~/.local/lib`…).
   */
  get warnings(): readonly string[] {
    const info = this._condaInfo;
    if (!info) {
      return [];
    }
    const warnings = [...info.warnings];
    if (info.policy === 'discouraged' && info.message && !warnings.includes(info.message)) {
      warnings.unshift(info.message);
    }
    return warnings;
  }

  /**
   * Set the Python version of a conda environment.
   *
   * @param version - `3.11`, `3.11.7`, or `''` for the channels' newest.
   */
  setPython(version: string): void {
    this._condaPython = version;
    this._host.clearError('python');
    this._host.emit();
  }

  /**
   * Use a channel or not; a channel added is tried after the ones chosen before.
   *
   * @param channel - A channel name (`intel`), URL or folder.
   * @param selected - Whether it is used; toggles when omitted.
   */
  setChannel(channel: string, selected?: boolean): void {
    const name = channel.trim();
    if (!name) {
      return;
    }
    const has = this._channels.includes(name);
    const want = selected ?? !has;
    if (want === has) {
      return;
    }
    this._channels = want ? [...this._channels, name] : this._channels.filter(c => c !== name);
    this._host.clearError('channels');
    this._host.emit();
  }

  /**
   * Move a chosen channel one place up (a higher priority).
   *
   * @param channel - The channel.
   */
  raiseChannel(channel: string): void {
    const index = this._channels.indexOf(channel);
    if (index <= 0) {
      return;
    }
    const channels = this._channels.slice();
    [channels[index - 1], channels[index]] = [channels[index], channels[index - 1]];
    this._channels = channels;
    this._host.clearError('channels');
    this._host.emit();
  }

  /**
   * List the conda environments made by hand on the server's node again.
   *
   * @returns A promise that never rejects (a failure lands in `adoptResult`).
   */
  async loadEnvironments(): Promise<void> {
    try {
      const found = await this._host.model.condaEnvironments();
      if (!this._host.isDisposed()) {
        this._envs = found;
      }
    } catch (reason) {
      if (!this._host.isDisposed()) {
        this._envs = [];
        this._adoptResult = { ok: false, message: errorMessage(reason) };
      }
    }
    this._host.emit();
  }

  /**
   * Adopt a conda environment made by hand: it gets a kernel and shows in the panel (never
   * deleted by a removal).
   *
   * @param prefix - Its folder.
   * @returns Whether it was adopted (the outcome is in `adoptResult`).
   */
  async adopt(prefix: string): Promise<boolean> {
    if (this._adopting !== null) {
      return false;
    }
    this._adopting = prefix;
    this._adoptResult = null;
    this._host.emit();
    let ok = false;
    try {
      const adopted = await this._host.model.adopt(prefix);
      ok = true;
      this._adoptResult = {
        ok,
        message: this._host.trans.__(
          '%1 was adopted as %2, with the kernel %3.',
          prefix,
          adopted.name,
          adopted.kernel
        )
      };
    } catch (reason) {
      this._adoptResult = { ok, message: errorMessage(reason) };
    } finally {
      this._adopting = null;
    }
    if (!this._host.isDisposed()) {
      await this.loadEnvironments();
    }
    return ok;
  }

  async load(): Promise<void> {
    try {
      const info = await this._host.model.conda();
      if (this._host.isDisposed()) {
        return;
      }
      this._condaInfo = info;
      this._condaError = null;
      this._channels = [...info.channels];
    } catch (reason) {
      if (this._host.isDisposed()) {
        return;
      }
      this._condaError = errorMessage(reason);
    }
    this._host.emit();
  }

  private _condaInfo: CondaInfo | null = null;
  private _condaError: string | null = null;
  private _condaPython = '';
  private _channels: string[] = [];
  private _envs: CondaEnvironment[] | null = null;
  private _adopting: string | null = null;
  private _adoptResult: { ok: boolean; message: string } | null = null;

  /**
   * Add the conda environment's Python version and channels to a request.
   *
   * @param request - The request of the form.
   */
  addTo(request: ICreateRequest): void {
    if (this._condaPython.trim()) {
      request.python = this._condaPython.trim();
    }
    if (this._channels.length) {
      request.channels = [...this._channels];
    }
  }

  private _host: IFormHost;
}
