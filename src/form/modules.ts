/**
 * The modules part of the creation form's state: the partition's module catalog, the Python
 * module and the other modules chosen (in load order), and their compatibility with it.
 */
import { errorMessage, Module, Origin } from '../api';
import { IFormHost } from './types';

/**
 * What the modules part needs of the form besides {@link IFormHost}.
 */
export interface IModulesHost extends IFormHost {
  /**
   * The partition chosen (whose catalog is shown).
   */
  partition: () => string;

  /**
   * Whether the site has a module system.
   */
  hasModules: () => boolean;
}

/**
 * The modules part of the form; the form composes it.
 */
export class ModulesFormPart {
  /**
   * Milliseconds between two looks at a partition being probed (a short Slurm job).
   */
  static probePollMs = 2000;

  /**
   * Create the part.
   *
   * @param host - The form composing it.
   */
  constructor(host: IModulesHost) {
    this._host = host;
  }

  /**
   * The Python module chosen, or `null`.
   */
  get python(): string | null {
    return this._python;
  }

  /**
   * The other modules chosen, in load order.
   */
  get extras(): readonly string[] {
    return this._extras;
  }

  /**
   * The chosen modules taken out of the choice by the last change of the Python module or of
   * the partition, each with why (they cannot be loaded with it, or the partition lacks them):
   * the form says so rather than dropping them silently.
   */
  get dropped(): readonly IDroppedModule[] {
    return this._dropped;
  }

  /**
   * The partition changed: its catalog is loaded (modules it lacks are dropped then).
   */
  reset(): void {
    this._catalog = null;
    this._catalogError = null;
    this._compat = null;
    this._probe = null;
  }

  /**
   * While the partition (one the site description leaves out) is probed: what to say instead of
   * an empty catalog ("Learning what partition P offers (a short Slurm job)…"); else `null`.
   */
  get probing(): string | null {
    const probe = this._probe;
    return probe?.state === 'running' ? probe.message || probe.text : null;
  }

  /**
   * Whether the partition's probe failed (`catalogError` says why): it can be probed again.
   */
  get probeFailed(): boolean {
    return this._probe?.state === 'failed';
  }

  /**
   * Probe the partition again (a short Slurm job), then show its catalog once it has answered.
   */
  async probeAgain(): Promise<void> {
    const partition = this._host.partition();
    if (!partition) {
      return;
    }
    this.reset();
    this._probe = {
      kind: 'probe',
      text: '',
      state: 'running',
      node: '',
      at: '',
      error: '',
      message: ''
    };
    this._host.emit();
    try {
      await this._host.model.probePartition(partition);
    } catch (reason) {
      if (!this._host.isDisposed() && partition === this._host.partition()) {
        this._probe = null;
        this._catalog = [];
        this._catalogError = errorMessage(reason);
        this._host.emit();
      }
      return;
    }
    await this.loadCatalog();
  }

  /**
   * The chosen partition's module catalog, or `null` while it loads.
   */
  get catalog(): readonly Module[] | null {
    return this._catalog;
  }

  /**
   * Why the catalog could not be loaded, or `null`.
   */
  get catalogError(): string | null {
    return this._catalogError;
  }

  /**
   * The Python modules of the partition (modules with a Python version).
   */
  get pythonModules(): readonly Module[] {
    return (this._catalog ?? []).filter(m => m.python !== null);
  }

  /**
   * The other modules, compatible ones first; with `compatible` and `reason` once the Python
   * module is chosen.
   */
  get extraModules(): readonly Module[] {
    const source = this._python ? (this._compat ?? []) : (this._catalog ?? []);
    const others = source.filter(m => m.python === null);
    return others
      .map((m, index) => ({ m, index }))
      .sort((a, b) => {
        const ca = a.m.compatible === false ? 1 : 0;
        const cb = b.m.compatible === false ? 1 : 0;
        return ca - cb || a.index - b.index;
      })
      .map(({ m }) => m);
  }

  /**
   * Whether the compatibility of the other modules is being asked.
   */
  get compatLoading(): boolean {
    return this._python !== null && this._compat === null && this._compatError === null;
  }
  /**
   * Choose the Python module; the other modules' compatibility with it is loaded.
   *
   * @param python - The module, or `null`.
   */
  setPython(python: string | null): void {
    if (python === this._python) {
      return;
    }
    this._python = python;
    this._compat = null;
    this._compatError = null;
    this._dropped = [];
    this._host.clearError('python');
    this._host.clearError('modules');
    this._host.emit();
    void this.loadCompat();
  }

  /**
   * Add or remove a module after the Python module (modules load in the order they were chosen).
   *
   * @param module - The module's full name.
   * @param selected - Whether it should be loaded; toggles when omitted.
   */
  toggleExtra(module: string, selected?: boolean): void {
    const has = this._extras.includes(module);
    const want = selected ?? !has;
    if (want === has) {
      return;
    }
    const entry = this.extraModules.find(m => m.full === module);
    if (want && entry?.compatible === false) {
      return;
    }
    this._extras = want ? [...this._extras, module] : this._extras.filter(m => m !== module);
    this._dropped = this._dropped.filter(d => d.module !== module);
    this._host.clearError('modules');
    this._host.emit();
  }

  async loadCatalog(): Promise<void> {
    const partition = this._host.partition();
    if (!partition || !this._host.hasModules()) {
      this._catalog = [];
      this._host.emit();
      return;
    }
    try {
      const reply = await this._host.model.modules(partition, null);
      if (this._host.isDisposed() || partition !== this._host.partition()) {
        return;
      }
      if (this._probing(partition, reply.origin, reply.modules.length)) {
        return;
      }
      this._catalog = reply.modules;
      const names = new Set(reply.modules.map(m => m.full));
      const lacking = [this._python ?? '', ...this._extras].filter(m => m && !names.has(m));
      this._dropped = lacking.map(module => ({
        module,
        reason: `partition ${partition} does not have it`
      }));
      if (this._python && !names.has(this._python)) {
        this._python = null;
      }
      this._extras = this._extras.filter(m => names.has(m));
    } catch (reason) {
      if (this._host.isDisposed() || partition !== this._host.partition()) {
        return;
      }
      this._catalog = [];
      this._catalogError = errorMessage(reason);
    }
    this._host.emit();
    await this.loadCompat();
  }

  /**
   * A partition being probed, or whose probe failed: say so (and look again soon while it runs)
   * instead of showing an empty catalog. Whether it was.
   */
  private _probing(partition: string, origin: Origin | undefined, found: number): boolean {
    const probe = origin?.kind === 'probe' ? origin : null;
    this._probe = probe;
    if (probe?.state === 'running' && !found) {
      this._catalog = null;
      this._host.emit();
      setTimeout(() => {
        if (!this._host.isDisposed() && partition === this._host.partition() && this._probe) {
          void this.loadCatalog();
        }
      }, ModulesFormPart.probePollMs);
      return true;
    }
    if (probe?.state === 'failed' && !found) {
      this._catalog = [];
      this._catalogError = probe.message || probe.text;
      this._host.emit();
      return true;
    }
    return false;
  }

  async loadCompat(): Promise<void> {
    const partition = this._host.partition();
    const python = this._python;
    if (!partition || !python || this._catalog === null) {
      return;
    }
    try {
      const reply = await this._host.model.modules(partition, python);
      if (
        this._host.isDisposed() ||
        partition !== this._host.partition() ||
        python !== this._python
      ) {
        return;
      }
      this._compat = reply.modules;
      const incompatible = new Map(
        reply.modules
          .filter(m => m.compatible === false)
          .map(m => [m.full, m.reason || `it cannot be loaded with ${python}`])
      );
      this._dropped = [
        ...this._dropped,
        ...this._extras
          .filter(m => incompatible.has(m))
          .map(module => ({ module, reason: incompatible.get(module) ?? '' }))
      ];
      this._extras = this._extras.filter(m => !incompatible.has(m));
    } catch (reason) {
      if (this._host.isDisposed() || python !== this._python) {
        return;
      }
      this._compatError = errorMessage(reason);
      this._compat = null;
    }
    this._host.emit();
  }
  private _host: IModulesHost;
  private _python: string | null = null;
  private _extras: string[] = [];
  private _catalog: Module[] | null = null;
  private _catalogError: string | null = null;
  private _compat: Module[] | null = null;
  private _compatError: string | null = null;
  private _dropped: IDroppedModule[] = [];
  private _probe: Origin | null = null;
}

/**
 * A chosen module a change of the Python module or of the partition took out of the choice.
 */
export interface IDroppedModule {
  /**
   * The module's full name.
   */
  module: string;

  /**
   * Why it no longer fits.
   */
  reason: string;
}

/**
 * Where a module of a hierarchy becomes visible (`after GCCcore/12.3.0`), or `''` at the top.
 *
 * @param module - A module of the catalog.
 */
export function visibleAfter(module: Module): string {
  const path = module.parents[0];
  return path?.length ? path.join(' + ') : '';
}
