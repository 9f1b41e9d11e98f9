/**
 * The state of the migration dialog: the generation and the new name the user picks, and the
 * server's plan for them (fetched again at each change; a late answer to an older choice is
 * dropped).
 */
import { ISignal, Signal } from '@lumino/signaling';

import { errorMessage, IMigrationRequest, MigrationPlan } from './api';

/**
 * How the model asks for a plan (the extension's model, or a stand-in in tests).
 */
export type PlanSource = (name: string, request: IMigrationRequest) => Promise<MigrationPlan>;

/**
 * The migration dialog's model: no DOM, one signal.
 */
export class MigrationModel {
  /**
   * Create the model.
   *
   * @param name - The environment to migrate.
   * @param partition - The partition whose catalog decides the new modules.
   * @param source - Where plans come from.
   */
  constructor(
    readonly name: string,
    readonly partition: string,
    private _source: PlanSource
  ) {}

  /**
   * Emitted when the plan, the choice or the error changes.
   */
  get changed(): ISignal<MigrationModel, void> {
    return this._changed;
  }

  get plan(): MigrationPlan | null {
    return this._plan;
  }

  get error(): string | null {
    return this._error;
  }

  get busy(): boolean {
    return this._busy;
  }

  /**
   * The generation chosen (`null` until the first plan names the newest).
   */
  get generation(): string | null {
    return this._generation;
  }

  /**
   * The new name typed ('' : the plan's default, NAME-GENERATION).
   */
  get newName(): string {
    return this._newName;
  }

  /**
   * Whether the plan shown answers the current choice and can be built.
   */
  get ready(): boolean {
    return !this._busy && this._error === null && this._plan !== null;
  }

  /**
   * What the build asks the server for.
   */
  get request(): IMigrationRequest {
    return { partition: this.partition, to: this._generation, as: this._newName || null };
  }

  /**
   * Choose another generation (the default new name follows it) and fetch its plan.
   *
   * @param generation - The generation.
   */
  setGeneration(generation: string): Promise<void> {
    this._generation = generation;
    return this.load();
  }

  /**
   * Type another new name ('' for the default) and fetch the plan, which checks it.
   *
   * @param name - The new name.
   */
  setNewName(name: string): Promise<void> {
    this._newName = name.trim();
    return this.load();
  }

  /**
   * Fetch the plan of the current choice; the first one (no generation yet) is the newest's.
   */
  async load(): Promise<void> {
    const call = ++this._calls;
    this._busy = true;
    this._changed.emit();
    try {
      const plan = await this._source(this.name, this.request);
      if (call !== this._calls) {
        return;
      }
      this._plan = plan;
      this._generation = plan.to;
      this._error = null;
    } catch (reason) {
      if (call !== this._calls) {
        return;
      }
      this._error = errorMessage(reason);
    } finally {
      if (call === this._calls) {
        this._busy = false;
        this._changed.emit();
      }
    }
  }

  private _plan: MigrationPlan | null = null;
  private _error: string | null = null;
  private _busy = false;
  private _generation: string | null = null;
  private _newName = '';
  private _calls = 0;
  private _changed = new Signal<MigrationModel, void>(this);
}
