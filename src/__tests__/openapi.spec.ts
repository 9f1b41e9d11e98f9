/**
 * The fixtures (the real server's replies the other tests use) against the replies described in
 * `jupyterlab_hpc_envs/openapi.yaml`, and the zod schemas the frontend parses them with against
 * the same file: neither can drift from the description without this test failing.
 */
import Ajv, { ValidateFunction } from 'ajv';
import * as fs from 'fs';
import * as path from 'path';

import {
  CondaInfoSchema,
  EnvironmentSchema,
  KernelJobSchema,
  KernelResourcesSchema,
  ModuleSchema,
  PackagesSchema,
  PartitionSchema,
  RecreationPlanSchema,
  RunFileSchema,
  RunSchema,
  SiteSchema
} from '../api';
import {
  CONDA_INFO,
  CONDA_PACKAGES,
  condaEnvironment,
  CPUS_OVER_LIMIT,
  environment,
  INFO,
  KERNEL_JOB_CANCELLED,
  KERNEL_JOB_PENDING,
  KERNEL_JOB_RUNNING,
  KERNEL_JOB_SUBMITTING,
  KERNEL_JOB_TERMINAL,
  KERNEL_RESOURCES,
  KERNEL_RESOURCES_PROBLEM,
  KERNEL_RESOURCES_TIME,
  mendableEnvironment,
  MODULES,
  OVER_CAPACITY,
  PACKAGES,
  RECREATION_PLAN,
  SITE,
  SITE_WITH_VO
} from './fixtures';
import { RUN_FAILED, RUN_PENDING, RUN_SCRIPT, RUN_SUCCEEDED, RUN_SWEEP } from './runfixtures';

// js-yaml ships no types here; only its `load` is used.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const yaml = require('js-yaml') as { load: (text: string) => unknown };

type Json = { [key: string]: Json } | Json[] | string | number | boolean | null;

const SPEC = yaml.load(
  fs.readFileSync(path.join(__dirname, '..', '..', 'jupyterlab_hpc_envs', 'openapi.yaml'), 'utf8')
) as { [key: string]: Json };

/**
 * An OpenAPI 3.0 schema as JSON Schema: `nullable: true` becomes a `null` alternative.
 */
function jsonSchema(schema: Json): Json {
  if (Array.isArray(schema)) {
    return schema.map(jsonSchema);
  }
  if (schema === null || typeof schema !== 'object') {
    return schema;
  }
  const out: { [key: string]: Json } = {};
  for (const [key, value] of Object.entries(schema)) {
    if (key !== 'nullable') {
      out[key] = jsonSchema(value);
    }
  }
  if (schema.nullable === true) {
    return { anyOf: [out, { type: 'null' }] };
  }
  return out;
}

const ajv = new Ajv({ strict: false, allErrors: true });
ajv.addSchema({ ...(jsonSchema(SPEC) as object), $id: 'openapi.json' });

/**
 * The validator of the 200 reply of an operation.
 */
function reply(route: string, method: string): ValidateFunction {
  const pointer = [
    'paths',
    route,
    method,
    'responses',
    '200',
    'content',
    'application/json',
    'schema'
  ]
    .map(part => encodeURIComponent(part.replace(/~/g, '~0').replace(/\//g, '~1')))
    .join('/');
  return ajv.compile({ $ref: `openapi.json#/${pointer}` });
}

/**
 * The properties an OpenAPI object schema (or a component's) lists.
 */
function properties(schema: Json): string[] {
  const resolved =
    schema !== null && typeof schema === 'object' && !Array.isArray(schema) && '$ref' in schema
      ? (SPEC.components as { schemas: { [key: string]: Json } }).schemas[
          String(schema.$ref).split('/').pop() as string
        ]
      : schema;
  return Object.keys((resolved as { properties: { [key: string]: Json } }).properties).sort();
}

describe('the fixtures against openapi.yaml', () => {
  const cases: [string, string, string, unknown][] = [
    ['INFO', '/info', 'get', INFO],
    ['SITE', '/site', 'get', SITE],
    ['SITE_WITH_VO', '/site', 'get', SITE_WITH_VO],
    ['MODULES', '/modules', 'get', { partition: 'zen4', module_system: 'lmod', modules: MODULES }],
    [
      'environments',
      '/envs',
      'get',
      { environments: [environment(), condaEnvironment(), mendableEnvironment()] }
    ],
    ['PACKAGES', '/envs/{name}/packages/listing', 'post', PACKAGES],
    ['CONDA_PACKAGES', '/envs/{name}/packages/listing', 'post', CONDA_PACKAGES],
    ['CONDA_INFO', '/conda', 'get', CONDA_INFO],
    ['KERNEL_RESOURCES', '/kernels/{kernel}/resources', 'get', KERNEL_RESOURCES],
    ['KERNEL_RESOURCES_TIME', '/kernels/{kernel}/resources', 'get', KERNEL_RESOURCES_TIME],
    ['KERNEL_RESOURCES_PROBLEM', '/kernels/{kernel}/resources', 'get', KERNEL_RESOURCES_PROBLEM],
    [
      'KERNEL_JOB_*',
      '/kernel-jobs',
      'get',
      {
        jobs: [
          KERNEL_JOB_SUBMITTING,
          KERNEL_JOB_PENDING,
          KERNEL_JOB_RUNNING,
          KERNEL_JOB_CANCELLED,
          KERNEL_JOB_TERMINAL
        ]
      }
    ],
    ['RUN_*', '/runs', 'get', { runs: [RUN_PENDING, RUN_SUCCEEDED, RUN_FAILED, RUN_SWEEP] }],
    ['RUN_SCRIPT', '/runs/{run_id}/script', 'get', RUN_SCRIPT],
    ['RECREATION_PLAN', '/recreations', 'post', RECREATION_PLAN]
  ];

  it.each(cases)('%s is a valid reply of %s %s', (_name, route, method, fixture) => {
    const validate = reply(route, method);
    validate(fixture);
    expect(validate.errors ?? []).toEqual([]);
  });

  it.each([
    ['CPUS_OVER_LIMIT', CPUS_OVER_LIMIT],
    ['OVER_CAPACITY', OVER_CAPACITY]
  ])('%s is a valid error reply', (_name, fixture) => {
    const validate = ajv.compile({ $ref: 'openapi.json#/components/schemas/Error' });
    validate(fixture);
    expect(validate.errors ?? []).toEqual([]);
  });
});

describe('the zod schemas against openapi.yaml', () => {
  const schemas = SPEC.components as { schemas: { [key: string]: Json } };
  const cases: [string, { shape: object }, Json][] = [
    ['Site', SiteSchema, schemas.schemas.Site],
    ['Module', ModuleSchema, schemas.schemas.Module],
    ['Partition', PartitionSchema, schemas.schemas.Partition],
    ['Environment', EnvironmentSchema, schemas.schemas.Environment],
    ['KernelResources', KernelResourcesSchema, schemas.schemas.KernelResources],
    ['Run', RunSchema, schemas.schemas.Run],
    ['RunFile', RunFileSchema, schemas.schemas.RunFile],
    ['RecreationPlan', RecreationPlanSchema, schemas.schemas.RecreationPlan]
  ];

  it.each(cases)('%s has the properties the OpenAPI file lists', (_name, zod, openapi) => {
    const known = properties(openapi);
    expect(Object.keys(zod.shape).filter(key => !known.includes(key))).toEqual([]);
  });

  it('parses every reply the OpenAPI file lists for packages, conda and kernel jobs', () => {
    // The replies themselves are checked above; zod must accept each of them as well.
    expect(() => PackagesSchema.parse(CONDA_PACKAGES)).not.toThrow();
    expect(() => CondaInfoSchema.parse(CONDA_INFO)).not.toThrow();
    expect(() => KernelJobSchema.parse(KERNEL_JOB_PENDING)).not.toThrow();
    expect(() => SiteSchema.parse(SITE_WITH_VO)).not.toThrow();
    expect(() => RunSchema.parse(RUN_SWEEP)).not.toThrow();
    expect(() => RunFileSchema.parse(RUN_SCRIPT)).not.toThrow();
  });
});
