/**
 * The state of the "Kernel resources" dialog: one kernel's resource choice as the user edits it,
 * its partition's defaults and limits, and the server's verdict by field. No DOM here.
 */
import { nullTranslator, TranslationBundle } from '@jupyterlab/translation';
import { ISignal, Signal } from '@lumino/signaling';

import {
  ApiError,
  errorMessage,
  IKernelResourcesRequest,
  KernelMode,
  KernelResources,
  Partition
} from './api';
import { IHpcEnvsModel } from './tokens';

/**
 * The resources a kernel's Slurm job asks for, in the order the dialog shows them.
 */
export const RESOURCE_FIELDS = ['time', 'cpus', 'memory', 'gpus', 'account'] as const;

/**
 * A resource of a kernel's Slurm job.
 */
export type ResourceField = (typeof RESOURCE_FIELDS)[number];

/**
 * A field of the dialog the server's errors can be about.
 */
export type ResourcesFormField = ResourceField | 'mode';

/**
 * Where a kernel starts, as the dialog offers it.
 */
export const KERNEL_MODES: readonly KernelMode[] = ['auto', 'local', 'slurm'];

/**
 * The state of the dialog of one kernel's resources.
 */
export class KernelResourcesModel {
  /**
   * Create the state of the dialog; nothing is asked until `load()`.
   *
   * @param options - The extension's model, the kernel, the translations.
   */
  constructor(options: KernelResourcesModel.IOptions) {
    this._model = options.model;
    this._kernel = options.kernel;
    this._trans = options.trans ?? nullTranslator.load('jupyterlab_hpc_envs');
  }

  /**
   * The kernel's name.
   */
  get kernel(): string {
    return this._kernel;
  }

  /**
   * The server's last answer (the stored choice, the defaults and limits), or `null` before it.
   */
  get resources(): KernelResources | null {
    return this._resources;
  }

  /**
   * The kernel's partition as the site describes it, or `null` when it is not known.
   */
  get partition(): Partition | null {
    const name = this._resources?.partition;
    return this._model.site?.partitions.find(p => p.name === name) ?? null;
  }

  /**
   * The values as typed (`''`: the site's default).
   */
  get values(): Readonly<Record<ResourceField, string>> {
    return this._values;
  }

  /**
   * Where the kernel starts, as chosen in the dialog.
   */
  get mode(): KernelMode {
    return this._mode;
  }

  /**
   * Where `auto` starts the kernel: `local` when this server's node has the partition's arch,
   * else `slurm`; `null` while the site is not known.
   */
  get autoRunsOn(): 'local' | 'slurm' | null {
    const partition = this.partition;
    if (!partition) {
      return null;
    }
    return partition.local ? 'local' : 'slurm';
  }

  /**
   * Why a mode cannot work for this kernel (`local` on a partition of another arch, `slurm`
   * without Slurm), or `''` when it can.
   *
   * @param mode - A mode.
   * @returns The reason, for people.
   */
  modeProblem(mode: KernelMode): string {
    const partition = this.partition;
    if (!partition) {
      return '';
    }
    if (mode === 'local' && !partition.local) {
      return this._trans.__(
        'This node is not a %1 node: the kernel can only run in a job on %2.',
        partition.arch ?? partition.name,
        partition.name
      );
    }
    if (mode === 'slurm' && this._model.site?.slurm === false) {
      return this._trans.__('Slurm is not available from this server.');
    }
    return '';
  }

  /**
   * The server's errors (a value it refused, a stored value a lowered limit now breaks), by
   * field.
   */
  get fieldErrors(): Readonly<Partial<Record<ResourcesFormField, string>>> {
    return this._fieldErrors;
  }

  /**
   * An error not about one field (the server unreachable, the kernel gone…), or `null`.
   */
  get formError(): string | null {
    return this._formError;
  }

  get isLoading(): boolean {
    return this._loading;
  }

  get isSaving(): boolean {
    return this._saving;
  }

  /**
   * Emitted whenever anything above changes.
   */
  get stateChanged(): ISignal<KernelResourcesModel, void> {
    return this._stateChanged;
  }

  get isDisposed(): boolean {
    return this._isDisposed;
  }

  /**
   * Ask the server for the kernel's resources; the values become the stored choice.
   *
   * @returns Whether the server answered (if not, `formError` says why).
   */
  async load(): Promise<boolean> {
    this._loading = true;
    this._formError = null;
    this._emit();
    try {
      this._take(await this._model.kernelResources(this._kernel));
      return true;
    } catch (reason) {
      this._formError = errorMessage(reason);
      return false;
    } finally {
      this._loading = false;
      this._emit();
    }
  }

  /**
   * Change a value as typed (the server checks it on save).
   *
   * @param field - The resource.
   * @param value - The text; `''` for the site's default.
   */
  setValue(field: ResourceField, value: string): void {
    if (this._values[field] === value) {
      return;
    }
    this._values = { ...this._values, [field]: value };
    this._clearError(field);
    this._emit();
  }

  /**
   * Choose where the kernel starts.
   *
   * @param mode - The mode.
   */
  setMode(mode: KernelMode): void {
    if (this._mode === mode) {
      return;
    }
    this._mode = mode;
    this._clearError('mode');
    this._emit();
  }

  /**
   * What saving sends: every value (`null` where it is empty: the site's default), and the mode
   * unless it is the site's and was never chosen (so that the kernel follows the site's).
   *
   * @returns The request.
   */
  request(): IKernelResourcesRequest {
    const text = (field: ResourceField): string | null => this._values[field].trim() || null;
    const count = (field: 'cpus' | 'gpus'): number | string | null => {
      const value = text(field);
      return value !== null && /^\d+$/.test(value) ? Number(value) : value;
    };
    const stored = this._resources;
    const keepSiteMode = stored !== null && stored.chosen.mode === undefined;
    return {
      time: text('time'),
      cpus: count('cpus'),
      memory: text('memory'),
      gpus: count('gpus'),
      account: text('account'),
      mode: keepSiteMode && this._mode === stored.mode ? null : this._mode
    };
  }

  /**
   * Send the values to the server, which checks them against the limits and stores them.
   *
   * @returns Whether they were stored (if not, the server's message is in `fieldErrors` or
   *   `formError`).
   */
  save(): Promise<boolean> {
    return this._send(this.request());
  }

  /**
   * Forget the kernel's choice: every value and the mode go back to the site's.
   *
   * @returns Whether the server did so.
   */
  reset(): Promise<boolean> {
    return this._send({
      time: null,
      cpus: null,
      memory: null,
      gpus: null,
      account: null,
      mode: null
    });
  }

  dispose(): void {
    if (this._isDisposed) {
      return;
    }
    this._isDisposed = true;
    Signal.clearData(this);
  }

  private async _send(request: IKernelResourcesRequest): Promise<boolean> {
    if (this._saving) {
      return false;
    }
    this._saving = true;
    this._fieldErrors = {};
    this._formError = null;
    this._emit();
    try {
      this._take(await this._model.setKernelResources(this._kernel, request));
      return true;
    } catch (reason) {
      this._showError(reason);
      return false;
    } finally {
      this._saving = false;
      this._emit();
    }
  }

  /**
   * Take in an answer of the server: its stored choice becomes the values (in the server's
   * normalised form), and a problem of the stored choice is shown by its field.
   */
  private _take(resources: KernelResources): void {
    this._resources = resources;
    this._values = valuesOf(resources);
    this._mode = resources.mode;
    this._fieldErrors = {};
    const problem = resources.problem;
    if (problem) {
      const problems = Object.keys(resources.problems).length
        ? resources.problems
        : { [problem.field]: problem.message };
      this._showProblems(problems, problem.message);
    }
  }

  /**
   * Show the server's refusal: every refused field's message beside its field at once (a reply
   * naming several), else the one field's, else the message above the form.
   */
  private _showError(reason: unknown): void {
    const message = errorMessage(reason);
    if (!(reason instanceof ApiError)) {
      this._formError = message;
      return;
    }
    const fields = Object.keys(reason.fields).length
      ? reason.fields
      : reason.field
        ? { [reason.field]: message }
        : {};
    this._showProblems(fields, message);
  }

  /**
   * Messages by field: beside their fields; what is about no field of the dialog above it.
   */
  private _showProblems(problems: Readonly<Record<string, string>>, message: string): void {
    const errors: Partial<Record<ResourcesFormField, string>> = {};
    const elsewhere: string[] = [];
    for (const [name, text] of Object.entries(problems)) {
      const field = asField(name);
      if (field) {
        errors[field] = text;
      } else {
        elsewhere.push(text);
      }
    }
    this._fieldErrors = errors;
    if (elsewhere.length || !Object.keys(errors).length) {
      this._formError = elsewhere.length ? elsewhere.join(' ') : message;
    }
  }

  private _clearError(field: ResourcesFormField): void {
    if (this._fieldErrors[field] !== undefined) {
      const errors = { ...this._fieldErrors };
      delete errors[field];
      this._fieldErrors = errors;
    }
  }

  private _emit(): void {
    if (!this._isDisposed) {
      this._stateChanged.emit();
    }
  }

  private _model: IHpcEnvsModel;
  private _kernel: string;
  private _trans: TranslationBundle;
  private _resources: KernelResources | null = null;
  private _values: Record<ResourceField, string> = {
    time: '',
    cpus: '',
    memory: '',
    gpus: '',
    account: ''
  };
  private _mode: KernelMode = 'auto';
  private _fieldErrors: Partial<Record<ResourcesFormField, string>> = {};
  private _formError: string | null = null;
  private _loading = false;
  private _saving = false;
  private _isDisposed = false;
  private _stateChanged = new Signal<KernelResourcesModel, void>(this);
}

/**
 * The namespace of {@link KernelResourcesModel}'s types.
 */
export namespace KernelResourcesModel {
  /**
   * The options of the constructor.
   */
  export interface IOptions {
    /**
     * The extension's model (it talks to the server).
     */
    model: IHpcEnvsModel;

    /**
     * The kernel's name.
     */
    kernel: string;

    /**
     * The translation bundle.
     */
    trans?: TranslationBundle;
  }
}

/**
 * The dialog's values of a stored choice: what was chosen, `''` for the rest.
 *
 * @param resources - The server's answer.
 * @returns The values, by field.
 */
function valuesOf(resources: KernelResources): Record<ResourceField, string> {
  const chosen = resources.chosen;
  return {
    time: chosen.time ?? '',
    cpus: chosen.cpus ?? '',
    memory: chosen.memory ?? '',
    gpus: chosen.gpus ?? '',
    account: chosen.account ?? ''
  };
}

/**
 * The dialog's field a field named by the server is.
 *
 * @param field - The server's `field`.
 * @returns The field, or `null` when the dialog has no such field.
 */
function asField(field: string | null | undefined): ResourcesFormField | null {
  return field === 'mode' || (RESOURCE_FIELDS as readonly string[]).includes(field ?? '')
    ? (field as ResourcesFormField)
    : null;
}
