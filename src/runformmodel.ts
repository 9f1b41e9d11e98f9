/**
 * The state of the "Run as Slurm job" dialog: the notebook, its kernel (one of ours), partition,
 * resources (the kernel's choices first), parameters and a sweep table, checked as the server
 * checks them, and the server's refusals by field. No DOM here.
 */
import { ServerConnection } from '@jupyterlab/services';
import { nullTranslator, TranslationBundle } from '@jupyterlab/translation';
import { ISignal, Signal } from '@lumino/signaling';

import { ApiError, errorMessage, getKernelResources, IRunRequest, Run } from './api';
import { RESOURCE_FIELDS, ResourceField } from './resourcesmodel';
import { IParameterRow, ISweepTable, parseParameters, parseSweep, RunsModel } from './runsmodel';

/**
 * A field of the dialog the errors can be about (`form`: the dialog as a whole).
 */
export type RunFormField =
  ResourceField | 'notebook' | 'kernel' | 'partition' | 'parameters' | 'sweep' | 'form';

/**
 * One of our kernels, as the dialog offers it.
 */
export interface IRunKernel {
  kernel: string;
  env: string;
  partition: string;
}

/**
 * The dialog's state.
 */
export class RunFormModel {
  /**
   * Create the state for a notebook.
   *
   * @param options - The notebook, our kernels, the notebook's kernel, the runs, the settings.
   */
  constructor(options: RunFormModel.IOptions) {
    this.notebook = options.notebook;
    this.kernels = options.kernels;
    this._runs = options.runs;
    this._settings = options.serverSettings;
    this._trans = options.trans ?? nullTranslator.load('jupyterlab_hpc_envs');
    const own = this.kernels.find(k => k.kernel === options.kernel);
    this.kernel = own?.kernel ?? '';
    this.partition = own?.partition ?? '';
    if (!own) {
      this._errors.set(
        'kernel',
        options.kernel
          ? this._trans.__(
              'The notebook’s kernel %1 is not a kernel of an HPC environment: choose one.',
              options.kernel
            )
          : this._trans.__('The notebook has no kernel: choose one of an HPC environment.')
      );
    }
  }

  /**
   * The notebook, relative to the server's folder.
   */
  readonly notebook: string;

  /**
   * Our kernels.
   */
  readonly kernels: readonly IRunKernel[];

  kernel: string;
  partition: string;
  resources: Record<ResourceField, string> = {
    time: '',
    cpus: '',
    memory: '',
    gpus: '',
    account: ''
  };

  /**
   * The parameters, one row each.
   */
  parameters: IParameterRow[] = [{ name: '', value: '' }];

  /**
   * The sweep: parameter names and sets of values (empty: no sweep).
   */
  sweep: ISweepTable = { names: [''], rows: [] };

  /**
   * The errors by field.
   */
  get errors(): ReadonlyMap<RunFormField, string> {
    return this._errors;
  }

  /**
   * The errors of the parameter rows, by index.
   */
  get rowErrors(): ReadonlyMap<number, string> {
    return this._rowErrors;
  }

  /**
   * Whether the submission is under way.
   */
  get isBusy(): boolean {
    return this._busy;
  }

  /**
   * Emitted when something of the state changed.
   */
  get changed(): ISignal<RunFormModel, void> {
    return this._changed;
  }

  /**
   * Change values and tell the view.
   *
   * @param change - What to change.
   */
  set(change: (model: RunFormModel) => void): void {
    change(this);
    this._changed.emit();
  }

  /**
   * Choose a kernel: its partition and its resource choices (the partition's defaults for the
   * rest) fill the form.
   *
   * @param kernel - The kernel's name.
   */
  async chooseKernel(kernel: string): Promise<void> {
    const known = this.kernels.find(k => k.kernel === kernel);
    this.kernel = kernel;
    this.partition = known?.partition ?? '';
    this._errors.delete('kernel');
    this._changed.emit();
    if (!known) {
      return;
    }
    try {
      const resources = await getKernelResources(kernel, this._settings);
      if (this.kernel !== kernel) {
        return;
      }
      for (const field of RESOURCE_FIELDS) {
        this.resources[field] = String(resources.chosen[field] ?? resources.defaults[field] ?? '');
      }
    } catch (reason) {
      this._errors.set('form', errorMessage(reason));
    }
    this._changed.emit();
  }

  /**
   * The request to submit, checked here first; `null` (with the errors set) when a value is
   * refused.
   *
   * @returns The request, or `null`.
   */
  request(): IRunRequest | null {
    this._errors.clear();
    const trans = this._trans;
    if (!this.kernels.some(k => k.kernel === this.kernel)) {
      this._errors.set('kernel', trans.__('Choose a kernel of an HPC environment.'));
    }
    const { values, errors } = parseParameters(this.parameters, trans);
    this._rowErrors = errors;
    if (errors.size) {
      this._errors.set('parameters', [...errors.values()][0]);
    }
    const sweep = parseSweep(this.sweep, trans);
    if ('error' in sweep) {
      this._errors.set('sweep', sweep.error);
    }
    this._changed.emit();
    if (this._errors.size || 'error' in sweep) {
      return null;
    }
    const resources: Record<string, string> = {};
    for (const field of RESOURCE_FIELDS) {
      if (this.resources[field].trim()) {
        resources[field] = this.resources[field].trim();
      }
    }
    const request: IRunRequest = {
      notebook: this.notebook,
      kernel: this.kernel,
      partition: this.partition,
      resources,
      parameters: values
    };
    if (sweep.sets.length) {
      request.sweep = sweep.sets;
    }
    return request;
  }

  /**
   * Check and submit; the server's refusal is kept on its field.
   *
   * @returns The run, or `null` when a value was refused.
   */
  async submit(): Promise<Run | null> {
    const request = this.request();
    if (!request || this._busy) {
      return null;
    }
    this._busy = true;
    this._changed.emit();
    try {
      return await this._runs.submit(request);
    } catch (reason) {
      const field = reason instanceof ApiError ? reason.field : undefined;
      const known: readonly string[] = [
        ...RESOURCE_FIELDS,
        'kernel',
        'partition',
        'parameters',
        'sweep'
      ];
      this._errors.set(
        field && known.includes(field) ? (field as RunFormField) : 'form',
        errorMessage(reason)
      );
      return null;
    } finally {
      this._busy = false;
      this._changed.emit();
    }
  }

  private _runs: RunsModel;
  private _settings: ServerConnection.ISettings | undefined;
  private _trans: TranslationBundle;
  private _busy = false;
  private _errors = new Map<RunFormField, string>();
  private _rowErrors = new Map<number, string>();
  private _changed = new Signal<RunFormModel, void>(this);
}

/**
 * The namespace of {@link RunFormModel}'s types.
 */
export namespace RunFormModel {
  /**
   * The options of the constructor.
   */
  export interface IOptions {
    notebook: string;
    kernels: readonly IRunKernel[];
    /**
     * The notebook's kernel (its session's, else its metadata's), or `''`.
     */
    kernel: string;
    runs: RunsModel;
    serverSettings?: ServerConnection.ISettings;
    trans?: TranslationBundle;
  }
}
