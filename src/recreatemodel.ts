/**
 * Recreating the environment a notebook carries: whether to offer it when the notebook is opened
 * (its kernel missing here, `metadata.hpc_envs` present), and the state of the dialog that does it
 * (the plan from a dry run, the name and partition the user may change, the build followed to its
 * end).
 */
import { ServerConnection } from '@jupyterlab/services';
import { ISignal, Signal } from '@lumino/signaling';
import { z } from 'zod';

import {
  errorMessage,
  getTask,
  isFinal,
  planRecreation,
  RecreationPlan,
  startRecreation,
  Task
} from './api';

/**
 * What a notebook says of its environment (the parts the dialog shows before asking the server).
 */
const CarriedSchema = z.object({
  hpc_envs: z.object({
    name: z.string(),
    partition: z.string().default(''),
    kernel: z.string().default(''),
    modules: z.array(z.string()).default([])
  })
});

export type CarriedEnvironment = z.infer<typeof CarriedSchema>['hpc_envs'];

/**
 * The environment a notebook carries, when its kernel does not exist here.
 *
 * @param metadata - The notebook's metadata.
 * @param kernelSpecs - The names of the kernelspecs this server has.
 * @returns The carried environment, or `null` (nothing carried, or its kernel exists).
 */
export function missingEnvironment(
  metadata: unknown,
  kernelSpecs: readonly string[]
): CarriedEnvironment | null {
  const parsed = CarriedSchema.safeParse(metadata);
  if (!parsed.success) {
    return null;
  }
  const kernel = (metadata as { kernelspec?: { name?: unknown } }).kernelspec?.name;
  if (typeof kernel === 'string' && kernelSpecs.includes(kernel)) {
    return null;
  }
  return parsed.data.hpc_envs;
}

/**
 * The state of the "Recreate environment" dialog of one notebook.
 */
export class RecreateModel {
  /**
   * @param path - The notebook's path (relative to the server's folder).
   * @param carried - The environment the notebook carries.
   * @param settings - The server settings.
   * @param pollInterval - Milliseconds between two looks at the build's task.
   */
  constructor(
    readonly path: string,
    readonly carried: CarriedEnvironment,
    private readonly _settings?: ServerConnection.ISettings,
    private readonly _pollInterval = 1000
  ) {
    this.name = carried.name;
    this.partition = carried.partition;
  }

  /**
   * The name the environment gets here.
   */
  name: string;
  /**
   * The partition it is built on.
   */
  partition: string;
  /**
   * The plan of the last dry run, `null` before the first one or after a refused one.
   */
  plan: RecreationPlan | null = null;
  /**
   * Why the last request was refused ('' when it was not), with the field it names.
   */
  error = '';
  field = '';
  /**
   * The build, once started.
   */
  task: Task | null = null;

  /**
   * Emitted when the plan, the error or the task changes.
   */
  get changed(): ISignal<this, void> {
    return this._changed;
  }

  /**
   * The modules nothing here matches.
   */
  get missing(): string[] {
    return (this.plan?.modules ?? []).filter(m => m.to === null).map(m => m.from);
  }

  /**
   * Whether the plan can be carried out as it is.
   */
  get ready(): boolean {
    return this.plan !== null && !this.error && this.missing.length === 0;
  }

  /**
   * Ask the server for the plan with the current name and partition.
   */
  async refresh(): Promise<void> {
    try {
      this.plan = await planRecreation(this._request(), this._settings);
      this._refused(null);
      this.partition = this.plan.partition;
    } catch (reason) {
      this.plan = null;
      this._refused(reason);
    }
    this._changed.emit();
  }

  /**
   * Create the environment and follow its build to its end.
   *
   * @returns The kernel to switch the notebook to.
   * @throws {Error} When the server refuses the recreation or the build fails.
   */
  async recreate(): Promise<string> {
    const started = await startRecreation(this._request(), this._settings);
    this.plan = started.plan;
    let task = started.task;
    this.task = task;
    this._changed.emit();
    while (!isFinal(task.state)) {
      await new Promise(resolve => setTimeout(resolve, this._pollInterval));
      task = await getTask(task.id, this._settings);
      this.task = task;
      this._changed.emit();
    }
    if (task.state !== 'succeeded') {
      throw new Error(task.message || `The build of ${started.plan.name} ${task.state}.`);
    }
    return started.plan.kernel;
  }

  private _request(): { path: string; name?: string; partition?: string } {
    return {
      path: this.path,
      name: this.name || undefined,
      partition: this.partition || undefined
    };
  }

  private _refused(reason: unknown): void {
    this.error = reason === null ? '' : errorMessage(reason);
    this.field = (reason as { field?: string } | null)?.field ?? '';
  }

  private _changed = new Signal<this, void>(this);
}
