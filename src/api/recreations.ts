/**
 * `POST /hpc-envs/api/recreations`: the environment a notebook carries (`metadata.hpc_envs`),
 * planned (`dry_run`) or made here (see envs/recreate.py and openapi.yaml).
 */
import { ServerConnection } from '@jupyterlab/services';
import { z } from 'zod';

import { requestAPI } from './request';
import { TaskSchema } from './schemas';

/**
 * One module of the notebook's environment and the module it becomes here (`to` null: none).
 */
export const ModuleMoveSchema = z.object({
  from: z.string(),
  to: z.string().nullable(),
  reason: z.string().default('')
});

/**
 * What recreating the notebook's environment here makes.
 */
export const RecreationPlanSchema = z.object({
  name: z.string(),
  partition: z.string(),
  arch: z.string().nullable().default(null),
  kind: z.string(),
  kernel: z.string(),
  modules: z.array(ModuleMoveSchema),
  packages: z.array(z.string()).default([]),
  notebook: z.record(z.string(), z.unknown()).default({})
});

export const RecreationStartedSchema = z.object({
  plan: RecreationPlanSchema,
  task: TaskSchema
});

export type ModuleMove = z.infer<typeof ModuleMoveSchema>;
export type RecreationPlan = z.infer<typeof RecreationPlanSchema>;
export type RecreationStarted = z.infer<typeof RecreationStartedSchema>;

/**
 * Which notebook, and the name and partition the environment gets here (default: the
 * notebook's).
 */
export interface IRecreationRequest {
  path: string;
  name?: string;
  partition?: string;
}

/**
 * A POST of `body` to `recreations`.
 *
 * @param body - The request.
 * @returns The fetch options.
 */
function post(body: unknown): RequestInit {
  return {
    method: 'POST',
    body: JSON.stringify(body),
    headers: { 'Content-Type': 'application/json' }
  };
}

/**
 * The plan of a recreation (nothing is created).
 *
 * @param request - The notebook, name and partition.
 * @param settings - The server settings.
 * @returns The plan.
 */
export function planRecreation(
  request: IRecreationRequest,
  settings?: ServerConnection.ISettings
): Promise<RecreationPlan> {
  return requestAPI(
    'recreations',
    RecreationPlanSchema,
    post({ ...request, dry_run: true }),
    settings
  );
}

/**
 * Start the recreation: the environment is created and its build started.
 *
 * @param request - The notebook, name and partition.
 * @param settings - The server settings.
 * @returns The plan and the build's task.
 */
export function startRecreation(
  request: IRecreationRequest,
  settings?: ServerConnection.ISettings
): Promise<RecreationStarted> {
  return requestAPI('recreations', RecreationStartedSchema, post(request), settings);
}
