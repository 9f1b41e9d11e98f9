/**
 * The state of the creation form "New HPC environment": what the user chose, the module catalogs
 * it depends on, validation as the user types, and the server's errors by field. No DOM here.
 */
import { nullTranslator, TranslationBundle } from '@jupyterlab/translation';
import { ISignal, Signal } from '@lumino/signaling';

import {
  ApiError,
  CondaEnvironment,
  Environment,
  CondaInfo,
  errorMessage,
  ICreateRequest,
  Module,
  Site,
  StorageRoot
} from './api';
import { CondaFormPart } from './form/conda';
import { fieldOf } from './form/errors';
import { IDroppedModule, ModulesFormPart } from './form/modules';
import { StorageFormPart } from './form/storage';
import { FormField, IChannelChoice, ICondaStatus, IFormHost } from './form/types';
import { IHpcEnvsModel, ITaskLog } from './tokens';

import { splitCondaSpecs, splitSpecs, validateEnvName } from './specs';

export { splitCondaSpecs, splitSpecs, validateEnvName } from './specs';

export { FormField, IChannelChoice, ICondaStatus } from './form/types';

/**
 * The state of the creation form.
 */
export class CreateFormModel {
  /**
   * Create the form's state; it fills in the defaults once the site is known.
   *
   * @param options - The model of the extension and the translator.
   */
  constructor(options: CreateFormModel.IOptions) {
    this._model = options.model;
    this._trans = options.trans ?? nullTranslator.load('jupyterlab_hpc_envs');
    // What the parts of the form (conda, modules) need of it.
    const host: IFormHost = {
      model: this._model,
      trans: this._trans,
      isDisposed: () => this._isDisposed,
      site: () => this._model.site,
      clearError: field => this._clearError(field),
      emit: () => this._emit()
    };
    this._conda = new CondaFormPart(host);
    this._storage = new StorageFormPart(host);
    this._modules = new ModulesFormPart({
      ...host,
      partition: () => this._partition,
      hasModules: () => this.hasModules
    });
    this._model.stateChanged.connect(this._onModelChanged, this);
    this._onModelChanged();
    void this._conda.load();
  }

  get stateChanged(): ISignal<CreateFormModel, void> {
    return this._stateChanged;
  }

  get isDisposed(): boolean {
    return this._isDisposed;
  }

  /**
   * The site, once known.
   */
  get site(): Site | null {
    return this._model.site;
  }

  /**
   * Whether the site has a module system (without one, the server's Python is the base).
   */
  get hasModules(): boolean {
    return (this.site?.module_system.kind ?? 'none') !== 'none';
  }

  get kind(): 'venv' | 'conda' {
    return this._kind;
  }

  get name(): string {
    return this._name;
  }

  /**
   * What is wrong with the name, as the user types (shown once something was typed).
   */
  get nameError(): string | null {
    const site = this._model.site;
    if (!site) {
      return this._name ? null : this._trans.__('Give the environment a name.');
    }
    return validateEnvName(
      this._name,
      site.rules,
      this._model.environments.map(e => e.name).filter(n => n !== this._replacing),
      this._trans
    );
  }

  /**
   * The failed environment this form replaces (its name may be used again), or `null`.
   */
  get replacing(): string | null {
    return this._replacing;
  }

  /**
   * Fill the form with the spec of an environment whose build failed, to correct and create it
   * again under its name (the server replaces an environment whose builds all failed). The
   * entries the failure names are marked on the packages (or modules) field.
   *
   * @param env - The failed environment.
   * @param partition - The partition it failed on.
   * @param entries - The entries of its spec the failure names (`numpyy`).
   */
  editFrom(env: Environment, partition: string, entries: readonly string[] = []): void {
    this._replacing = env.name;
    this._name = env.name;
    this._kind = env.kind === 'conda' ? 'conda' : 'venv';
    this._packagesText = env.packages.join('\n');
    if (typeof env.options.system_site_packages === 'boolean') {
      this._systemSitePackages = env.options.system_site_packages;
    }
    const pipOptions = env.options.pip_options;
    if (Array.isArray(pipOptions)) {
      this._pipOptions = this.allowedPipOptions.filter(o => pipOptions.includes(o));
    }
    this.setPartition(partition);
    if (this._kind === 'venv' && env.modules.length) {
      this.setPython(env.modules[0]);
      env.modules.slice(1).forEach(m => this.toggleExtra(m, true));
    }
    const wrongModules = entries.filter(e => env.modules.includes(e));
    const wrongPackages = entries.filter(e => !env.modules.includes(e));
    const errors: Partial<Record<FormField, string>> = {};
    if (wrongPackages.length) {
      errors.packages = this._trans.__(
        'The build failed on: %1. Correct it, then create the environment again.',
        wrongPackages.join(', ')
      );
    }
    if (wrongModules.length) {
      errors.modules = this._trans.__('The build failed on: %1.', wrongModules.join(', '));
    }
    this._fieldErrors = errors;
    this._emit();
  }

  /**
   * The pip options the site allows a user to add (its `/site` reply's `pip_options`).
   */
  get allowedPipOptions(): readonly string[] {
    return this._model.site?.pip_options ?? [];
  }

  get partition(): string {
    return this._partition;
  }

  get python(): string | null {
    return this._modules.python;
  }

  get extras(): readonly string[] {
    return this._modules.extras;
  }

  /**
   * The partition's module catalog, or `null` while it loads.
   */
  get catalog(): readonly Module[] | null {
    return this._modules.catalog;
  }

  /**
   * Why the catalog could not be loaded, or `null`.
   */
  get catalogError(): string | null {
    return this._modules.catalogError;
  }

  /**
   * What to say while the partition (one the site description leaves out) is probed by a short
   * Slurm job, or `null`.
   */
  get probing(): string | null {
    return this._modules.probing;
  }

  /**
   * Whether the partition's probe failed (`catalogError` says why): "probe again" is offered.
   */
  get probeFailed(): boolean {
    return this._modules.probeFailed;
  }

  /**
   * Probe the partition again (a short Slurm job); its catalog is shown once it has answered.
   */
  probeAgain(): Promise<void> {
    return this._modules.probeAgain();
  }

  /**
   * The Python modules of the catalog.
   */
  get pythonModules(): readonly Module[] {
    return this._modules.pythonModules;
  }

  /**
   * The other modules, the ones compatible with the Python module first.
   */
  get extraModules(): readonly Module[] {
    return this._modules.extraModules;
  }

  /**
   * The chosen modules the last change of the Python module or the partition took out of the
   * choice, each with why.
   */
  get droppedModules(): readonly IDroppedModule[] {
    return this._modules.dropped;
  }

  /**
   * Whether the compatibility with the Python module is being asked.
   */
  get compatLoading(): boolean {
    return this._modules.compatLoading;
  }

  get root(): string {
    return this._storage.root;
  }

  /**
   * The chosen storage root.
   */
  get storageRoot(): StorageRoot | null {
    return this._storage.storageRoot;
  }

  /**
   * Whether the environment goes to the VO's shared folder (then no storage root is chosen).
   */
  get shared(): boolean {
    return this._storage.shared;
  }

  /**
   * The VO folder a shared environment would go to, or `null` when the site has none usable.
   */
  get sharedRoot(): StorageRoot | null {
    return this._storage.sharedRoot;
  }

  get packagesText(): string {
    return this._packagesText;
  }

  /**
   * The requirements file the user chose: its name and text.
   */
  get requirements(): { name: string; text: string } | null {
    return this._requirements;
  }

  get systemSitePackages(): boolean {
    return this._systemSitePackages;
  }

  get pipOptions(): readonly string[] {
    return this._pipOptions;
  }

  /**
   * The server's errors (and the form's own), by field.
   */
  get fieldErrors(): Readonly<Partial<Record<FormField, string>>> {
    return this._fieldErrors;
  }

  /**
   * Close matches the server proposed for an unknown name (a module, a partition).
   */
  get suggestions(): readonly string[] {
    return this._suggestions;
  }

  /**
   * An error not about one field (the server unreachable, …), or `null`.
   */
  get formError(): string | null {
    return this._formError;
  }

  get isSubmitting(): boolean {
    return this._submitting;
  }

  /**
   * What the server said about conda here (policy, engine, channels), or `null` while asked.
   */
  get condaInfo(): CondaInfo | null {
    return this._conda.info;
  }

  /**
   * Whether the kind `conda` can be chosen: the site does not forbid it and an engine exists.
   */
  get condaStatus(): ICondaStatus {
    return this._conda.status;
  }

  /**
   * The Python version of a conda environment as typed (`3.11`), `''` for the channels' newest.
   */
  get condaPython(): string {
    return this._conda.python;
  }

  /**
   * The channels of a conda environment, highest priority first.
   */
  get channels(): readonly string[] {
    return this._conda.channels;
  }

  /**
   * The channels offered: the site's defaults, the known ones, and the ones the user added.
   */
  get channelChoices(): readonly IChannelChoice[] {
    return this._conda.channelChoices;
  }

  /**
   * The conda environments made by hand on the server's node, or `null` before they are listed.
   */
  get condaEnvironments(): readonly CondaEnvironment[] | null {
    return this._conda.environments;
  }

  /**
   * The prefix being adopted, or `null`.
   */
  get adopting(): string | null {
    return this._conda.adopting;
  }

  /**
   * What the last adoption did or why it failed: `{ok, message}`, or `null`.
   */
  get adoptResult(): { ok: boolean; message: string } | null {
    return this._conda.adoptResult;
  }

  /**
   * What the user is told before creating a conda environment (see {@link CondaFormPart}).
   */
  get condaWarnings(): readonly string[] {
    return this._conda.warnings;
  }

  /**
   * Whether the form can be sent: a valid name, a partition, and a Python module (venv on
   * modules) or a usable conda engine (conda).
   */
  get canSubmit(): boolean {
    const base =
      !this._submitting && this.site !== null && this.nameError === null && this._partition !== '';
    if (this._kind === 'conda') {
      return base && this.condaStatus.available;
    }
    return base && (!this.hasModules || this._modules.python !== null);
  }

  /**
   * Choose the kind; `conda` only when the site allows it and an engine exists. Choosing conda
   * lists the conda environments made by hand (they can be adopted instead).
   *
   * @param kind - The kind.
   */
  setKind(kind: 'venv' | 'conda'): void {
    if (kind === this._kind || (kind === 'conda' && !this.condaStatus.available)) {
      return;
    }
    this._kind = kind;
    this._clearError('kind');
    this._clearError('packages');
    this._emit();
    if (kind === 'conda' && this._conda.environments === null) {
      void this.loadCondaEnvironments();
    }
  }

  /**
   * Set the Python version of a conda environment (`3.11`, `3.11.7`, or `''` for the newest).
   */
  setCondaPython(version: string): void {
    this._conda.setPython(version);
  }

  /**
   * Use a channel or not (toggled when `selected` is omitted).
   */
  setChannel(channel: string, selected?: boolean): void {
    this._conda.setChannel(channel, selected);
  }

  /**
   * Move a chosen channel one place up (a higher priority).
   */
  raiseChannel(channel: string): void {
    this._conda.raiseChannel(channel);
  }

  /**
   * List the conda environments made by hand on the server's node again.
   */
  loadCondaEnvironments(): Promise<void> {
    return this._conda.loadEnvironments();
  }

  /**
   * Adopt a conda environment made by hand; whether it was adopted (the outcome is in
   * `adoptResult`).
   */
  adopt(prefix: string): Promise<boolean> {
    return this._conda.adopt(prefix);
  }

  /**
   * Choose the storage root (its label, `$VSC_DATA`).
   */
  setRoot(label: string): void {
    this._storage.setRoot(label);
  }

  /**
   * Share the environment with the VO (its folder) or keep it in a storage root of one's own.
   */
  setShared(value: boolean): void {
    this._storage.setShared(value);
  }

  /**
   * Set the name.
   *
   * @param name - The name as typed.
   */
  setName(name: string): void {
    this._name = name;
    this._clearError('name');
    this._emit();
  }

  /**
   * Choose the partition; its catalog is loaded, and modules it lacks are dropped.
   *
   * @param partition - The partition's name.
   */
  setPartition(partition: string): void {
    if (partition === this._partition) {
      return;
    }
    this._partition = partition;
    this._alsoPartitions = this._alsoPartitions.filter(p => p !== partition);
    this._clearError('partition');
    this._modules.reset();
    this._emit();
    void this._modules.loadCatalog();
  }

  /**
   * The other partitions the environment is also built on, at once (modules are chosen from the
   * first partition's catalog; the server checks them on every partition).
   */
  get alsoPartitions(): string[] {
    return this._alsoPartitions;
  }

  /**
   * Build on another partition too, or not.
   *
   * @param partition - The partition's name (not the first one).
   * @param selected - Whether it is built on.
   */
  setAlsoPartition(partition: string, selected: boolean): void {
    const others = this._alsoPartitions.filter(p => p !== partition);
    this._alsoPartitions =
      selected && partition !== this._partition ? [...others, partition] : others;
    this._clearError('partition');
    this._emit();
  }

  /**
   * The partition, or every partition chosen (the first one first), as the request sends it.
   */
  private get _partitions(): string | string[] {
    return this._alsoPartitions.length
      ? [this._partition, ...this._alsoPartitions]
      : this._partition;
  }

  /**
   * Choose the Python module; the other modules' compatibility with it is loaded.
   *
   * @param python - The module, or `null`.
   */
  setPython(python: string | null): void {
    this._modules.setPython(python);
  }

  /**
   * Add or remove a module after the Python module (modules load in the order they were chosen).
   *
   * @param module - The module's full name.
   * @param selected - Whether it should be loaded; toggles when omitted.
   */
  toggleExtra(module: string, selected?: boolean): void {
    this._modules.toggleExtra(module, selected);
  }

  /**
   * Set the packages to install, as typed.
   *
   * @param text - Requirement specifiers, separated by spaces or lines.
   */
  setPackagesText(text: string): void {
    this._packagesText = text;
    this._clearError('packages');
    this._emit();
  }

  /**
   * Set (or clear) the requirements file to install from.
   *
   * @param file - Its name and text, or `null`.
   */
  setRequirements(file: { name: string; text: string } | null): void {
    this._requirements = file;
    this._clearError('packages');
    this._emit();
  }

  /**
   * Whether the venv sees the modules' packages (`--system-site-packages`, as the site's
   * documentation advises).
   *
   * @param value - The option.
   */
  setSystemSitePackages(value: boolean): void {
    this._systemSitePackages = value;
    this._clearError('options');
    this._emit();
  }

  /**
   * Add or remove a pip option.
   *
   * @param option - One of {@link allowedPipOptions}.
   * @param selected - Whether it is used.
   */
  setPipOption(option: string, selected: boolean): void {
    const has = this._pipOptions.includes(option);
    if (selected === has || !this.allowedPipOptions.includes(option)) {
      return;
    }
    this._pipOptions = selected
      ? this.allowedPipOptions.filter(o => o === option || this._pipOptions.includes(o))
      : this._pipOptions.filter(o => o !== option);
    this._clearError('options');
    this._emit();
  }

  /**
   * The request the form would send.
   *
   * @returns The body of `POST envs`.
   */
  request(): ICreateRequest {
    if (this._kind === 'conda') {
      return this._condaRequest();
    }
    const modules =
      this.hasModules && this._modules.python
        ? [this._modules.python, ...this._modules.extras]
        : [];
    const request: ICreateRequest = {
      name: this._name,
      kind: this._kind,
      modules,
      partition: this._partitions,
      packages: splitSpecs(this._packagesText),
      options: {
        system_site_packages: this._systemSitePackages,
        pip_options: [...this._pipOptions]
      }
    };
    this._storage.addTo(request);
    if (this._requirements) {
      request.requirements = this._requirements.text;
    }
    return request;
  }

  private _condaRequest(): ICreateRequest {
    const request: ICreateRequest = {
      name: this._name,
      kind: 'conda',
      modules: [],
      partition: this._partitions,
      packages: splitCondaSpecs(this._packagesText)
    };
    this._conda.addTo(request);
    this._storage.addTo(request);
    if (this._requirements) {
      request.requirements = this._requirements.text;
    }
    return request;
  }

  /**
   * Send the form: create the environment and start its build.
   *
   * @returns The followed build task, or `null` when the server refused (its message is then in
   *   `fieldErrors` or `formError`).
   */
  async submit(): Promise<ITaskLog | null> {
    if (!this.canSubmit) {
      if (this.nameError) {
        this._fieldErrors = { ...this._fieldErrors, name: this.nameError };
      }
      if (this._kind === 'conda' && !this.condaStatus.available) {
        this._fieldErrors = { ...this._fieldErrors, kind: this.condaStatus.reason };
      }
      if (this._kind === 'venv' && this.hasModules && !this._modules.python) {
        this._fieldErrors = {
          ...this._fieldErrors,
          python: this._trans.__('Choose the Python module the environment is built on.')
        };
      }
      this._emit();
      return null;
    }
    this._submitting = true;
    this._fieldErrors = {};
    this._formError = null;
    this._suggestions = [];
    this._emit();
    try {
      return await this._model.createEnvironment(this.request());
    } catch (reason) {
      this._showError(reason);
      return null;
    } finally {
      this._submitting = false;
      this._emit();
    }
  }

  dispose(): void {
    if (this._isDisposed) {
      return;
    }
    this._isDisposed = true;
    this._model.stateChanged.disconnect(this._onModelChanged, this);
    Signal.clearData(this);
  }

  /**
   * Put a refusal of the server next to the field it is about.
   *
   * @param reason - What `createEnvironment` threw.
   */
  private _showError(reason: unknown): void {
    const message = errorMessage(reason);
    if (!(reason instanceof ApiError)) {
      this._formError = message;
      return;
    }
    this._suggestions = reason.suggestions;
    const field = fieldOf(reason, {
      partitions: (this.site?.partitions ?? []).map(p => p.name),
      python: this._modules.python,
      extras: this._modules.extras
    });
    if (field) {
      this._fieldErrors = { [field]: message };
    } else {
      this._formError = message;
    }
  }

  private _clearError(field: FormField): void {
    if (this._fieldErrors[field] !== undefined) {
      const errors = { ...this._fieldErrors };
      delete errors[field];
      this._fieldErrors = errors;
    }
    this._formError = null;
  }

  private _onModelChanged(): void {
    const site = this._model.site;
    if (!site || this._initialised) {
      this._emit();
      return;
    }
    this._initialised = true;
    const partitions = site.partitions;
    const wanted = this._model.defaultPartition;
    const partition =
      partitions.find(p => p.name === wanted) ??
      partitions.find(p => p.name === site.partition) ??
      partitions[0];
    this._storage.chooseDefault(site, this._model.defaultStorageRoot);
    this._partition = '';
    this.setPartition(partition?.name ?? '');
  }

  private _emit(): void {
    if (!this._isDisposed) {
      this._stateChanged.emit();
    }
  }

  private _model: IHpcEnvsModel;
  private _trans: TranslationBundle;
  private _initialised = false;
  private _kind: 'venv' | 'conda' = 'venv';
  private _name = '';
  private _replacing: string | null = null;
  private _partition = '';
  private _alsoPartitions: string[] = [];
  private _packagesText = '';
  private _requirements: { name: string; text: string } | null = null;
  private _systemSitePackages = true;
  private _pipOptions: string[] = [];
  private _conda: CondaFormPart;
  private _modules: ModulesFormPart;
  private _storage: StorageFormPart;
  private _fieldErrors: Partial<Record<FormField, string>> = {};
  private _suggestions: string[] = [];
  private _formError: string | null = null;
  private _submitting = false;
  private _isDisposed = false;
  private _stateChanged = new Signal<CreateFormModel, void>(this);
}

/**
 * The namespace of {@link CreateFormModel}'s types.
 */
export namespace CreateFormModel {
  /**
   * The options of the constructor.
   */
  export interface IOptions {
    /**
     * The model of the extension (site, environments, catalogs, creation).
     */
    model: IHpcEnvsModel;

    /**
     * The translation bundle of the messages.
     */
    trans?: TranslationBundle;
  }
}
