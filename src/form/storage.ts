/**
 * The storage part of the creation form's state: the storage root an environment goes to, or
 * the VO's folder when it is shared with the user's VO ("Share with my VO").
 */
import { ICreateRequest, Site, StorageRoot } from '../api';
import { IFormHost } from './types';

/**
 * The storage part of the form; the form composes it.
 */
export class StorageFormPart {
  /**
   * Create the part.
   *
   * @param host - The form composing it.
   */
  constructor(host: IFormHost) {
    this._host = host;
  }

  /**
   * The label of the storage root chosen (`$VSC_DATA`).
   */
  get root(): string {
    return this._root;
  }

  /**
   * The chosen storage root.
   */
  get storageRoot(): StorageRoot | null {
    return this._host.site()?.storage_roots.find(r => r.label === this._root) ?? null;
  }

  /**
   * Whether the environment goes to the VO's shared folder (then no storage root is chosen).
   */
  get shared(): boolean {
    return this._shared;
  }

  /**
   * The VO folder a shared environment would go to, or `null` when the site has none usable.
   */
  get sharedRoot(): StorageRoot | null {
    return this._host.site()?.shared_roots.find(r => r.exists && r.writable) ?? null;
  }

  /**
   * Choose the first storage root: the one the settings name if usable, else the first usable.
   *
   * @param site - The site.
   * @param wanted - The settings' default storage root (a label or a path), if any.
   */
  chooseDefault(site: Site, wanted: string): void {
    const roots = site.storage_roots;
    const usable = roots.filter(r => r.exists && r.writable);
    const root = usable.find(r => r.label === wanted || r.path === wanted) ?? usable[0] ?? roots[0];
    this._root = root?.label ?? '';
  }

  /**
   * Choose the storage root.
   *
   * @param label - The root's label (`$VSC_DATA`).
   */
  setRoot(label: string): void {
    this._root = label;
    this._host.clearError('root');
    this._host.emit();
  }

  /**
   * Share the environment with the VO (its folder) or keep it in a storage root of one's own.
   *
   * @param value - Whether to share it.
   */
  setShared(value: boolean): void {
    this._shared = value;
    this._host.clearError('shared');
    this._host.clearError('root');
    this._host.emit();
  }

  /**
   * Say where the environment goes in a request: shared with the VO, or in the root chosen.
   *
   * @param request - The request of the form.
   */
  addTo(request: ICreateRequest): void {
    if (this._shared) {
      request.shared = true;
    } else if (this._root) {
      request.root = this._root;
    }
  }

  private _host: IFormHost;
  private _root = '';
  private _shared = false;
}
