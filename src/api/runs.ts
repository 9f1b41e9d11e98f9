/**
 * Runs: notebooks run as Slurm batch jobs in their kernel's environment (`/hpc-envs/api/runs`),
 * their zod schemas and typed calls, in step with the `Run` and `RunFile` schemas of
 * `openapi.yaml`.
 */
import { ServerConnection } from '@jupyterlab/services';
import { z } from 'zod';

import { requestAPI } from './request';

type Settings = ServerConnection.ISettings | undefined;

/**
 * Where a notebook failed: the cell (its index), its source and the error.
 */
export const RunFailureSchema = z.object({
  cell: z.number().default(-1),
  source: z.string().default(''),
  error: z.string().default('')
});

/**
 * A failure of a run or of a sweep's task.
 */
export type RunFailure = z.infer<typeof RunFailureSchema>;

/**
 * One task of a sweep (a job array): its parameters, its output notebook and its state.
 */
export const RunTaskSchema = z.object({
  task: z.number(),
  parameters: z.record(z.string(), z.unknown()).default({}),
  output: z.string().default(''),
  output_path: z.string().nullable().default(null),
  state: z.string().default(''),
  reason: z.string().default(''),
  failure: RunFailureSchema.nullable().catch(null).default(null)
});

/**
 * A task of a sweep.
 */
export type RunTask = z.infer<typeof RunTaskSchema>;

/**
 * A run: its job, notebooks (absolute, and relative to the server's folder for opening them),
 * kernel, resources, parameters, state (Slurm's while queued or running, then SUCCEEDED, FAILED
 * or ENDED) and, for a sweep, its tasks.
 */
export const RunSchema = z.object({
  id: z.string(),
  job_id: z.string(),
  notebook: z.string(),
  output: z.string(),
  notebook_path: z.string().nullable().default(null),
  output_path: z.string().nullable().default(null),
  kernel: z.string(),
  env: z.string().default(''),
  resources: z.record(z.string(), z.unknown()).default({}),
  parameters: z.record(z.string(), z.unknown()).default({}),
  script: z.string(),
  log: z.string(),
  state: z.string().default('SUBMITTED'),
  reason: z.string().default(''),
  elapsed: z.number().nullable().optional(),
  submitted: z.number().nullable().optional(),
  failure: RunFailureSchema.nullable().catch(null).default(null),
  tasks: z.array(RunTaskSchema).nullable().default(null)
});

/**
 * A run as the server describes it.
 */
export type Run = z.infer<typeof RunSchema>;

/**
 * `GET /hpc-envs/api/runs`: every run, newest first.
 */
export const RunsSchema = z.object({ runs: z.array(RunSchema) });

/**
 * `GET runs/<id>/script` and `runs/<id>/log`: the file's text (a log's end when long).
 */
export const RunFileSchema = z.object({
  path: z.string(),
  text: z.string(),
  exists: z.boolean(),
  truncated: z.boolean().default(false)
});

/**
 * A run's script or log.
 */
export type RunFile = z.infer<typeof RunFileSchema>;

/**
 * The states of a run that is still in Slurm's hands (queued or running): it is followed.
 */
export const FINAL_RUN_STATES: readonly string[] = ['SUCCEEDED', 'FAILED', 'ENDED'];

/**
 * Whether a run (or a task) has ended, one way or another.
 *
 * @param state - The state of the run.
 * @returns `true` for SUCCEEDED, FAILED and ENDED.
 */
export function isFinalRunState(state: string): boolean {
  return FINAL_RUN_STATES.includes(state);
}

/**
 * The resources of a run request; a value left out or `''` is the kernel's choice.
 */
export interface IRunResources {
  time?: string;
  cpus?: number | string;
  memory?: string;
  gpus?: number | string;
  account?: string;
}

/**
 * What `POST runs` takes: the notebook (relative to the server's folder) and what to change of
 * its kernel's defaults; `sweep` makes a job array of parameter sets.
 */
export interface IRunRequest {
  notebook: string;
  kernel?: string;
  partition?: string;
  resources?: IRunResources;
  parameters?: Record<string, unknown>;
  sweep?: Record<string, unknown>[];
  output_dir?: string;
}

/**
 * The user's runs, newest first, with their states (from Slurm and the runs' own status files).
 *
 * @param settings - The server settings.
 * @returns The runs.
 */
export async function listRuns(settings?: Settings): Promise<Run[]> {
  return (await requestAPI('runs', RunsSchema, {}, settings)).runs;
}

/**
 * Submit a notebook as a Slurm batch job (or a sweep as a job array). Everything is checked
 * before anything is submitted.
 *
 * @param request - The notebook, its kernel, partition, resources, parameters or sweep.
 * @param settings - The server settings.
 * @returns The run, submitted.
 * @throws {ApiError} 400 with the `field` of the value refused.
 */
export function submitRun(request: IRunRequest, settings?: Settings): Promise<Run> {
  const init = {
    method: 'POST',
    body: JSON.stringify(request),
    headers: { 'Content-Type': 'application/json' }
  };
  return requestAPI('runs', RunSchema, init, settings);
}

/**
 * Cancel a run's job (every task of a sweep).
 *
 * @param id - The run's id.
 * @param settings - The server settings.
 * @returns The run's state after.
 */
export function cancelRun(id: string, settings?: Settings): Promise<Run> {
  return requestAPI(`runs/${encodeURIComponent(id)}`, RunSchema, { method: 'DELETE' }, settings);
}

/**
 * Submit a run again as it was asked (a new run, checked against today's limits).
 *
 * @param id - The run's id.
 * @param settings - The server settings.
 * @returns The new run.
 */
export function runAgain(id: string, settings?: Settings): Promise<Run> {
  return requestAPI(
    `runs/${encodeURIComponent(id)}/again`,
    RunSchema,
    { method: 'POST' },
    settings
  );
}

/**
 * A run's generated sbatch script, or its job's log (of a sweep's `task`).
 *
 * @param id - The run's id.
 * @param which - `script` or `log`.
 * @param task - A sweep's task number, for its log.
 * @param settings - The server settings.
 * @returns The file's path and text.
 */
export function readRunFile(
  id: string,
  which: 'script' | 'log',
  task: number | null = null,
  settings?: Settings
): Promise<RunFile> {
  const query = task === null ? '' : `?task=${task}`;
  return requestAPI(`runs/${encodeURIComponent(id)}/${which}${query}`, RunFileSchema, {}, settings);
}
