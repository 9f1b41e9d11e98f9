/**
 * The commands on environments: the panel, refreshing, the creation form, building and removal.
 */
import { Dialog, MainAreaWidget, Notification, showDialog } from '@jupyterlab/apputils';

import { CreateFormModel } from '../formmodel';
import { hpcEnvsIcon } from '../icons';
import { MigrationModel } from '../migrationmodel';
import { CommandIDs, PANEL_ID } from '../tokens';
import { RemovalBody } from '../widgets/dialogs';
import { CreateEnvironmentForm } from '../widgets/form';
import { MigrationBody } from '../widgets/migration';
import { ICommandContext, optionalArg, showInMainArea, stringArg } from './context';
import { openLog } from './tasks';

/**
 * Add the commands on environments.
 *
 * @param ctx - The application, the model, the translator, the trackers and the error report.
 */
export function addEnvironmentsCommands(ctx: ICommandContext): void {
  const { commands, shell, model, trans, trackers, report } = ctx;

  commands.addCommand(CommandIDs.openPanel, {
    label: trans.__('Open HPC Environments Panel'),
    caption: trans.__('Show the HPC environments side panel'),
    icon: hpcEnvsIcon,
    execute: () => {
      shell.activateById(PANEL_ID);
    }
  });

  commands.addCommand(CommandIDs.refresh, {
    label: trans.__('Refresh HPC Environments'),
    caption: trans.__('Ask the server for the current state of HPC environments'),
    execute: args => model.refresh(args.rescan === true)
  });

  commands.addCommand(CommandIDs.createEnvironment, {
    label: trans.__('New HPC Environment'),
    caption: trans.__(
      'Create a Python environment on the modules of an HPC partition, as a kernel'
    ),
    icon: hpcEnvsIcon,
    execute: () =>
      showInMainArea(
        shell,
        trackers.forms,
        trackers.forms.currentWidget ?? trackers.forms.find(() => true),
        () => newForm(ctx)
      )
  });

  commands.addCommand(CommandIDs.editEnvironment, {
    label: trans.__('Edit and Retry'),
    caption: trans.__('Correct the spec of a failed environment in the form and build it again'),
    execute: args => {
      const name = stringArg(args, 'name');
      const env = model.environments.find(e => e.name === name);
      if (!env) {
        report(new Error(trans.__('There is no environment %1 any more.', name)));
        return null;
      }
      const partition = optionalArg(args, 'partition') ?? model.site?.partition ?? '';
      const arch = model.site?.partitions.find(p => p.name === partition)?.arch ?? '';
      const entries = Object.values(env.builds)
        .filter(b => b.state === 'failed' && (!arch || b.arch === arch))
        .flatMap(b => b.failure?.entries ?? []);
      return showInMainArea(shell, trackers.forms, undefined, () =>
        newForm(ctx, form => form.editFrom(env, partition, entries))
      );
    }
  });

  commands.addCommand(CommandIDs.rebuildEnvironment, {
    label: args =>
      typeof args.partition === 'string'
        ? args.force
          ? trans.__('Rebuild for %1', args.partition)
          : trans.__('Build for %1', args.partition)
        : args.force
          ? trans.__('Rebuild Environment')
          : trans.__('Build Environment for Partition'),
    execute: async args => {
      try {
        const outcome = await model.rebuild(
          stringArg(args, 'name'),
          stringArg(args, 'partition'),
          args.force === true
        );
        if (typeof outcome === 'string') {
          Notification.success(outcome, { autoClose: 5000 });
        }
        return outcome;
      } catch (reason) {
        report(reason);
        return null;
      }
    }
  });

  commands.addCommand(CommandIDs.migrateEnvironment, {
    label: args =>
      typeof args.name === 'string'
        ? trans.__('Migrate %1 to Another Toolchain…', args.name)
        : trans.__('Migrate Environment…'),
    caption: trans.__(
      'Build the modules of an environment in another toolchain generation as a new environment'
    ),
    execute: async args => {
      const name = stringArg(args, 'name');
      const partition = stringArg(args, 'partition');
      const migration = new MigrationModel(name, partition, (n, r) => model.migrationPlan(n, r));
      void migration.load();
      const result = await showDialog({
        title: trans.__('Migrate %1 to another toolchain generation', name),
        body: new MigrationBody(migration, trans),
        buttons: [
          Dialog.cancelButton({ label: trans.__('Cancel') }),
          Dialog.okButton({ label: trans.__('Build') })
        ]
      });
      if (!result.button.accept) {
        return null;
      }
      if (!result.value) {
        report(
          new Error(migration.error ?? trans.__('The plan was not ready: nothing was built.'))
        );
        return null;
      }
      try {
        const log = await model.migrate(name, result.value);
        openLog(ctx, log);
        return log;
      } catch (reason) {
        report(reason);
        return null;
      }
    }
  });

  commands.addCommand(CommandIDs.removeEnvironment, {
    label: args =>
      typeof args.partition === 'string' && typeof args.name === 'string'
        ? trans.__('Remove the %1 build of %2…', args.partition, args.name)
        : typeof args.name === 'string'
          ? trans.__('Remove %1…', args.name)
          : trans.__('Remove Environment'),
    caption: args =>
      typeof args.partition === 'string' && typeof args.name === 'string'
        ? removalCaption(ctx, args.name, args.partition)
        : trans.__('Remove the environment: every build, its kernels and its folder'),
    execute: async args => {
      const name = stringArg(args, 'name');
      const partition = optionalArg(args, 'partition');
      try {
        const plan = await model.removalPlan(name, partition);
        const result = await showDialog({
          title: partition
            ? removalCaption(ctx, name, partition) + '?'
            : trans.__('Remove the environment %1: every build, its kernels and its folder?', name),
          body: new RemovalBody(plan, trans),
          buttons: [
            Dialog.cancelButton({ label: trans.__('Cancel') }),
            Dialog.warnButton({ label: trans.__('Remove') })
          ],
          defaultButton: 0
        });
        if (!result.button.accept) {
          return null;
        }
        const removed = await model.remove(name, partition, result.value?.stop === true);
        if (!partition) {
          trackers.packages.forEach(w => {
            if (w.content.model.name === name) {
              w.dispose();
            }
          });
        }
        Notification.success(
          partition
            ? trans.__('%1 removed from %2.', name, partition)
            : trans.__('%1 removed.', name),
          { autoClose: 5000 }
        );
        return removed;
      } catch (reason) {
        report(reason);
        return null;
      }
    }
  });
}

/**
 * A new creation form in a main area widget; the build it starts is shown in its log.
 *
 * @param ctx - The commands' context.
 * @param fill - What to put in the form first (the spec of a failed environment).
 * @returns The form's widget.
 */
function newForm(
  ctx: ICommandContext,
  fill?: (form: CreateFormModel) => void
): MainAreaWidget<CreateEnvironmentForm> {
  const { model, trans, translator } = ctx;
  const formModel = new CreateFormModel({ model, trans });
  let widget: MainAreaWidget<CreateEnvironmentForm> | null = null;
  const content = new CreateEnvironmentForm({
    model: formModel,
    translator,
    onCreated: log => {
      widget?.dispose();
      openLog(ctx, log);
    },
    onCancel: () => widget?.dispose()
  });
  widget = new MainAreaWidget({ content });
  widget.id = `jp-HpcEnvs-form-${Date.now()}`;
  widget.title.closable = true;
  if (!model.site) {
    void model.refresh().then(() => fill?.(formModel));
  } else {
    fill?.(formModel);
  }
  return widget;
}

/**
 * What removing one partition's build deletes, in words (`Remove the zen2 build of science (its
 * venv and kernel)`).
 *
 * @param ctx - The commands' context.
 * @param name - The environment.
 * @param partition - The partition.
 * @returns The words.
 */
export function removalCaption(ctx: ICommandContext, name: string, partition: string): string {
  const { model, trans } = ctx;
  const env = model.environments.find(e => e.name === name);
  if (env && !env.mine) {
    return trans.__('Remove your kernel of %1 on %2', name, partition);
  }
  return env?.kind === 'conda'
    ? trans.__('Remove the %1 build of %2 (its conda environment and kernel)', partition, name)
    : trans.__('Remove the %1 build of %2 (its venv and kernel)', partition, name);
}
