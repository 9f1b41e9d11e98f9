/**
 * HpcEnvsPanel: what the side panel shows for each state of the model.
 */
import { Signal } from '@lumino/signaling';

import { Info } from '../api';
import { IHpcEnvsModel } from '../tokens';
import { HpcEnvsPanel, PANEL_ID } from '../widgets/panel';

/**
 * A model whose state the test sets by hand (the panel only reads the model).
 */
class StaticModel implements IHpcEnvsModel {
  info: Info | null = null;
  error: string | null = null;
  isLoading = false;
  refreshInterval = 0;
  isDisposed = false;
  readonly stateChanged: Signal<IHpcEnvsModel, void> = new Signal(this);

  set(state: Partial<Pick<StaticModel, 'info' | 'error' | 'isLoading'>>): void {
    Object.assign(this, state);
    this.stateChanged.emit();
  }

  refresh(): Promise<void> {
    return Promise.resolve();
  }

  dispose(): void {
    this.isDisposed = true;
  }
}

describe('HpcEnvsPanel', () => {
  it('has the id and class the shell and the UI tests look for', () => {
    const panel = new HpcEnvsPanel({ model: new StaticModel() });

    expect(panel.id).toBe(PANEL_ID);
    expect(panel.hasClass('jp-HpcEnvs-panel')).toBe(true);
    panel.dispose();
  });

  it("shows the extension's name and version", () => {
    const model = new StaticModel();
    const panel = new HpcEnvsPanel({ model });

    model.set({ info: { name: 'jupyterlab-hpc-envs', version: '1.2.3' } });

    expect(panel.node.querySelector('.jp-HpcEnvs-version')?.textContent).toBe(
      'jupyterlab-hpc-envs 1.2.3'
    );
    expect(panel.node.querySelector<HTMLElement>('.jp-HpcEnvs-error')?.hidden).toBe(true);
    panel.dispose();
  });

  it("shows the server's message when the model has an error", () => {
    const model = new StaticModel();
    const panel = new HpcEnvsPanel({ model });

    model.set({ error: 'Forbidden' });

    const error = panel.node.querySelector<HTMLElement>('.jp-HpcEnvs-error');
    expect(error?.hidden).toBe(false);
    expect(error?.textContent).toContain('Forbidden');
    expect(panel.hasClass('jp-mod-error')).toBe(true);
    panel.dispose();
  });
});
