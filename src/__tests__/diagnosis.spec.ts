/**
 * A kernel that cannot start: the server's diagnosis line parsed (the message as the real
 * provisioner writes it, see kernels/diagnosis.py), JupyterLab's "Error Starting Kernel" dialog
 * made ours, with the fixes whose commands exist, and the chosen fix run.
 */
import { Dialog } from '@jupyterlab/apputils';
import { nullTranslator } from '@jupyterlab/translation';
import { CommandRegistry } from '@lumino/commands';
import { Widget } from '@lumino/widgets';

import {
  CHANGE_KERNEL_COMMAND,
  DIAGNOSIS_MARKER,
  diagnosisFixes,
  KernelDiagnosisWatcher,
  parseDiagnosis
} from '../diagnosis';
import { CommandIDs } from '../tokens';
import { settle } from './render';

const trans = nullTranslator.load('jupyterlab_hpc_envs');

const PYTHON = '/site/data/hpc-envs/science/conda-zen4/bin/python3.11';
const TEXT =
  `The kernel of science cannot start: The interpreter ${PYTHON} is missing (an OS or module ` +
  'upgrade?): rebuild. Or start an environment built on another partition whose modules still ' +
  'exist.';
// As json.dumps(..., sort_keys=True) writes it.
const LINE =
  DIAGNOSIS_MARKER +
  '{"env": "science", "fixes": ["rebuild", "migrate", "choose"], "kind": "interpreter", ' +
  `"partition": "zen4", "subjects": ["${PYTHON}"]}`;
const MESSAGE = `${TEXT}\n${LINE}`;

/**
 * The commands a JupyterLab with our extension has; `ran` records what was executed.
 */
function commands(ids: string[]): { registry: CommandRegistry; ran: [string, unknown][] } {
  const registry = new CommandRegistry();
  const ran: [string, unknown][] = [];
  for (const id of ids) {
    registry.addCommand(id, { execute: args => void ran.push([id, args]) });
  }
  return { registry, ran };
}

describe('parseDiagnosis', () => {
  it('splits the text for people from the diagnosis', () => {
    expect(parseDiagnosis(MESSAGE)).toEqual({
      text: TEXT,
      diagnosis: {
        kind: 'interpreter',
        env: 'science',
        partition: 'zen4',
        subjects: [PYTHON],
        fixes: ['rebuild', 'migrate', 'choose']
      }
    });
  });

  it('finds nothing in another message, a broken line or an unknown kind', () => {
    expect(parseDiagnosis('srun: error: Invalid generic resource (gres) specification')).toBe(null);
    expect(parseDiagnosis(`${TEXT}\n${DIAGNOSIS_MARKER}{"kind": "module"`)).toBe(null);
    expect(parseDiagnosis(MESSAGE.replace('"interpreter"', '"weather"'))).toBe(null);
    expect(parseDiagnosis(`${DIAGNOSIS_MARKER}{}`)).toBe(null);
  });
});

describe('diagnosisFixes', () => {
  it('offers "Migrate…" only where the migrate command exists', () => {
    const { diagnosis } = parseDiagnosis(MESSAGE)!;
    const without = commands([CommandIDs.rebuildEnvironment, CHANGE_KERNEL_COMMAND]);
    expect(diagnosisFixes(diagnosis, without.registry, trans).map(f => f.label)).toEqual([
      'Rebuild',
      'Choose another kernel'
    ]);
    const all = commands([
      CommandIDs.rebuildEnvironment,
      CommandIDs.migrateEnvironment,
      CHANGE_KERNEL_COMMAND
    ]);
    expect(diagnosisFixes(diagnosis, all.registry, trans)).toEqual([
      {
        label: 'Rebuild',
        command: CommandIDs.rebuildEnvironment,
        args: { name: 'science', partition: 'zen4', force: true }
      },
      {
        label: 'Migrate…',
        command: CommandIDs.migrateEnvironment,
        args: { name: 'science', partition: 'zen4' }
      },
      { label: 'Choose another kernel', command: CHANGE_KERNEL_COMMAND, args: {} }
    ]);
  });
});

describe('KernelDiagnosisWatcher', () => {
  let watcher: KernelDiagnosisWatcher | undefined;

  afterEach(() => {
    watcher?.dispose();
    Dialog.flush();
  });

  /**
   * Launch a dialog showing `message` in a <pre>, as JupyterLab's `_displayKernelError` does.
   */
  async function launchKernelError(message: string): Promise<Dialog<unknown>> {
    const pre = document.createElement('pre');
    pre.textContent = message;
    const body = new Widget();
    body.node.append(pre);
    const dialog = new Dialog({
      title: 'Error Starting Kernel',
      body,
      buttons: [Dialog.okButton()]
    });
    void dialog.launch();
    await settle();
    return dialog;
  }

  it('makes JupyterLab’s dialog ours in place, and "Rebuild" rebuilds that build', async () => {
    const { registry, ran } = commands([CommandIDs.rebuildEnvironment, CHANGE_KERNEL_COMMAND]);
    watcher = new KernelDiagnosisWatcher(registry, trans);

    const theirs = await launchKernelError(MESSAGE);
    for (let i = 0; i < 50 && !theirs.node.querySelector('.jp-HpcEnvs-diagnosis-text'); i++) {
      await settle(() => new Promise(resolve => setTimeout(resolve, 20)));
    }

    // Still the one dialog at the front (a new one would wait behind JupyterLab's next), ours now
    expect(Dialog.tracker.currentWidget).toBe(theirs);
    expect(theirs.node.querySelector('.jp-HpcEnvs-diagnosis-title')?.textContent).toBe(
      'The kernel of science (zen4) cannot start: its Python is gone or changed'
    );
    const text = theirs.node.querySelector('.jp-HpcEnvs-diagnosis-text');
    expect(text?.textContent).toBe(TEXT);
    expect(theirs.node.querySelector<HTMLElement>('.jp-Dialog-body > pre')?.style.display).toBe(
      'none'
    );
    const buttons = [...theirs.node.querySelectorAll<HTMLElement>('.jp-Dialog-button')];
    expect(buttons.map(b => b.textContent)).toEqual(['Close', 'Rebuild', 'Choose another kernel']);

    await settle(() => buttons[1].click());

    expect(theirs.isDisposed).toBe(true);
    expect(ran).toEqual([
      [CommandIDs.rebuildEnvironment, { name: 'science', partition: 'zen4', force: true }]
    ]);
  });

  it('leaves another kernel error alone', async () => {
    const { registry, ran } = commands([CommandIDs.rebuildEnvironment]);
    watcher = new KernelDiagnosisWatcher(registry, trans);

    const theirs = await launchKernelError('No such kernel named python7');
    await settle();

    expect(theirs.isAttached).toBe(true);
    expect(Dialog.tracker.currentWidget).toBe(theirs);
    await settle(() => theirs.resolve());
    expect(ran).toEqual([]);
  });
});
