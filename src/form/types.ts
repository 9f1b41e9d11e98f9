/**
 * The types the parts of the creation form's state share: the fields the server's errors can be
 * about, what conda's availability is, a channel offered, and what a part needs of the form.
 */
import { TranslationBundle } from '@jupyterlab/translation';

import { Site } from '../api';
import { IHpcEnvsModel } from '../tokens';

/**
 * The fields of the form the server's errors can be about.
 */
export type FormField =
  | 'kind'
  | 'name'
  | 'partition'
  | 'python'
  | 'modules'
  | 'root'
  | 'packages'
  | 'options'
  | 'channels'
  | 'shared';

/**
 * Whether conda environments can be created here, and if not, why.
 */
export interface ICondaStatus {
  /**
   * Whether the kind `conda` can be chosen.
   */
  available: boolean;

  /**
   * Why it cannot (the site's message, how to get an engine, the server's error), or `''`.
   */
  reason: string;

  /**
   * Whether the answer is still awaited.
   */
  loading: boolean;
}

/**
 * A channel the form offers: the site's defaults and the known ones (Intel's…).
 */
export interface IChannelChoice {
  name: string;
  description: string;
  /**
   * One of the site's default channels.
   */
  isDefault: boolean;
}

/**
 * What a part of the form's state needs of the form that composes it.
 */
export interface IFormHost {
  /**
   * The model of the extension (the server's state and calls).
   */
  readonly model: IHpcEnvsModel;

  /**
   * The translation bundle of the messages.
   */
  readonly trans: TranslationBundle;

  /**
   * Whether the form was closed (late replies are then dropped).
   */
  readonly isDisposed: () => boolean;

  /**
   * The site, once known.
   */
  readonly site: () => Site | null;

  /**
   * Forget the server's error about a field the user changed.
   */
  clearError(field: FormField): void;

  /**
   * Tell the view that the state changed.
   */
  emit(): void;
}
