/**
 * The rules of what a user types, shared by the creation form and the packages view: environment
 * names, and how a box of requirements or conda specs is split into specs.
 */
import { nullTranslator, TranslationBundle } from '@jupyterlab/translation';

import { SiteRules } from './api';

/**
 * Check an environment name as the server's `names.env_name` does (with the rules of its `/site`
 * reply), and against the names taken.
 *
 * @param value - The name as typed.
 * @param rules - The site's rules: the name's pattern, length and reserved names.
 * @param taken - The names of the existing environments (compared case-insensitively).
 * @param trans - The translation bundle of the messages.
 * @returns What is wrong with it, or `null` when it is a valid, free name.
 */
export function validateEnvName(
  value: string,
  rules: SiteRules,
  taken: readonly string[] = [],
  trans: TranslationBundle = nullTranslator.load('jupyterlab_hpc_envs')
): string | null {
  if (!value) {
    return trans.__('Give the environment a name.');
  }
  if (value !== value.trim() || /[\s\p{C}]/u.test(value)) {
    return trans.__('A name cannot contain spaces, control characters or line breaks.');
  }
  if (value.length > rules.name_max) {
    return trans.__('An environment name has at most %1 characters.', rules.name_max);
  }
  if (!new RegExp(rules.name_pattern).test(value)) {
    return trans.__(
      "Use ASCII letters, digits, '-', '_' and inner dots, starting with a letter (for example 'science' or 'torch-2.1')."
    );
  }
  if (rules.reserved_names.includes(value.toLowerCase())) {
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
