/**
 * Which field of the creation form an error reply of the server is about, so that it is shown
 * under that field (the server's `field`, else what the reply names).
 */
import { ApiError } from '../api';
import { FormField } from './types';

/**
 * What the form offers and holds that an error reply may name.
 */
export interface IChosen {
  /**
   * The names of the site's partitions.
   */
  partitions: readonly string[];

  /**
   * The Python module chosen, or `null`.
   */
  python: string | null;

  /**
   * The other modules chosen.
   */
  extras: readonly string[];
}

/**
 * The form field an error reply is about: the server's `field`, else (404 and 409 replies carry
 * none) what the reply names.
 *
 * @param error - The error reply.
 * @param form - The partitions offered and the modules chosen.
 * @returns The field, or `null` for the form as a whole.
 */
export function fieldOf(error: ApiError, form: IChosen): FormField | null {
  switch (error.field) {
    case 'name':
    case 'kind':
    case 'partition':
    case 'root':
    case 'options':
    case 'channels':
    case 'shared':
      return error.field;
    case 'python':
      return 'python';
    case 'modules':
      return moduleField(error.message, form);
    case 'packages':
    case 'requirements':
      return 'packages';
    case null:
      break;
    default:
      return null;
  }
  if (error.status === 404) {
    const partitions = form.partitions;
    const aboutPartition =
      /partition/i.test(error.message) &&
      (error.suggestions.length === 0 || error.suggestions.every(s => partitions.includes(s)));
    if (aboutPartition) {
      return 'partition';
    }
    if (/module/i.test(error.message)) {
      return moduleField(error.message, form);
    }
  }
  if (error.status === 409 && /exists already/i.test(error.message)) {
    return 'name';
  }
  return null;
}

/**
 * Whether a message about modules is about the Python module or about the others.
 *
 * @param message - The server's message.
 * @param form - The modules chosen.
 * @returns `modules` when it names one of the other modules, else `python` when it names the
 *   Python module (or the Python module in general), else `modules`.
 */
function moduleField(message: string, form: IChosen): FormField {
  if (form.extras.some(m => message.includes(m))) {
    return 'modules';
  }
  if ((form.python && message.includes(form.python)) || /python module/i.test(message)) {
    return 'python';
  }
  return 'modules';
}
