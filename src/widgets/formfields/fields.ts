/**
 * What every part of the creation form is rendered with: the form's state, the translation, the
 * ids of its controls and the ids that describe a field (its error and hint).
 */
import { TranslationBundle } from '@jupyterlab/translation';

import { CreateFormModel, FormField } from '../../formmodel';

/**
 * The props of a part of the form.
 */
export interface IFieldProps {
  /**
   * The form's state.
   */
  model: CreateFormModel;

  /**
   * The translation bundle.
   */
  trans: TranslationBundle;

  /**
   * The id of a control of the form (unique in the page).
   */
  ids: (field: string) => string;

  /**
   * The ids that describe a field: its error (when it has one) and a hint.
   */
  describe: (field: FormField, hint?: string) => string | undefined;
}
