/**
 * The rules of what a user types, shared by the creation form and the packages view: environment
 * names, and how a box of requirements or conda specs is split into specs.
 */
import { nullTranslator, TranslationBundle } from '@jupyterlab/translation';
/**
 * The most characters an environment name may have (the server's `names.ENV_NAME_MAX`).
 */
export const ENV_NAME_MAX = 48;

/**
 * Names the server refuses because they are path segments of its API.
 */
const RESERVED_NAMES = new Set(['adopt']);

const ENV_NAME = /^[A-Za-z][A-Za-z0-9_-]*(?:\.[A-Za-z0-9_-]+)*$/;

/**
 * The pip options the server accepts in `options.pip_options` (its `SAFE_PIP_OPTIONS`): ones that
 * change how pip resolves, not where code comes from.
 */
export const PIP_OPTIONS: readonly string[] = [
  '--upgrade',
  '--upgrade-strategy=eager',
  '--pre',
  '--prefer-binary',
  '--only-binary=:all:',
  '--no-binary=:all:',
  '--no-deps',
  '--ignore-installed',
  '--force-reinstall'
];

/**
 * Check an environment name as the server's `names.env_name` does, and against the names taken.
 *
 * @param value - The name as typed.
 * @param taken - The names of the existing environments (compared case-insensitively).
 * @param trans - The translation bundle of the messages.
 * @returns What is wrong with it, or `null` when it is a valid, free name.
 */
export function validateEnvName(
  value: string,
  taken: readonly string[] = [],
  trans: TranslationBundle = nullTranslator.load('jupyterlab_hpc_envs')
): string | null {
  if (!value) {
    return trans.__('Give the environment a name.');
  }
  if (value !== value.trim() || /[\s\p{C}]/u.test(value)) {
    return trans.__('A name cannot contain spaces, control characters or line breaks.');
  }
  if (value.length > ENV_NAME_MAX) {
    return trans.__('An environment name has at most %1 characters.', ENV_NAME_MAX);
  }
  if (!ENV_NAME.test(value)) {
    return trans.__(
      "Use ASCII letters, digits, '-', '_' and inner dots, starting with a letter (for example 'science' or 'torch-2.1')."
    );
  }
  if (RESERVED_NAMES.has(value.toLowerCase())) {
    return trans.__('"%1" is reserved: choose another name.', value);
  }
  const lower = value.toLowerCase();
  const clash = taken.find(name => name.toLowerCase() === lower);
  if (clash !== undefined) {
    return trans.__('An environment named "%1" exists already.', clash);
  }
  return null;
}

/**
 * Requirement specifiers from what a user typed: one or more per line, separated by spaces;
 * `numpy >= 1.25` stays one specifier; `#` starts a comment.
 *
 * @param text - The text of a box or of a requirements file.
 * @returns The specifiers.
 */
export function splitSpecs(text: string): string[] {
  const specs: string[] = [];
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.replace(/(^|\s)#.*$/, '').trim();
    const parts = line.split(/\s+/).filter(Boolean);
    const merged: string[] = [];
    for (const part of parts) {
      const last = merged.length - 1;
      if (last >= 0 && (/^[<>=!~,;]/.test(part) || /[<>=!~,;]$/.test(merged[last]))) {
        merged[last] += part;
      } else {
        merged.push(part);
      }
    }
    specs.push(...merged);
  }
  return specs;
}

/**
 * Conda match specs from what a user typed: separated by spaces or lines, `#` starts a comment;
 * a version written apart stays with its package, as conda reads a quoted spec: `numpy 1.26.*`,
 * `numpy >=1.26` and `python = 3.11` are one spec each.
 *
 * @param text - The text of a box or of a requirements file.
 * @returns The specs.
 */
export function splitCondaSpecs(text: string): string[] {
  const specs: string[] = [];
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.replace(/(^|\s)#.*$/, '').trim();
    const merged: string[] = [];
    for (const part of line.split(/\s+/).filter(Boolean)) {
      const last = merged.length - 1;
      if (last >= 0 && /^[<>=!~,|]/.test(part)) {
        merged[last] += part;
      } else if (last >= 0 && /[<>=!~,|]$/.test(merged[last])) {
        merged[last] += part;
      } else if (last >= 0 && /^[0-9*][0-9A-Za-z.*+_]*$/.test(part) && !/\s/.test(merged[last])) {
        // `numpy 1.26.*`: conda's "name version" form (a package name never starts with one).
        merged[last] += ` ${part}`;
      } else {
        merged.push(part);
      }
    }
    specs.push(...merged);
  }
  return specs;
}
