/**
 * The walltime left of kernels that run as Slurm jobs: a status bar item for the current
 * notebook's (or console's) kernel, and the countdown of the kernel-jobs section.
 */
import { ISessionContext, ReactWidget } from '@jupyterlab/apputils';
import { TranslationBundle } from '@jupyterlab/translation';
import { ISignal, Signal } from '@lumino/signaling';
import React, { useEffect, useState } from 'react';

import { KernelJob } from '../api';
import { IHpcEnvsModel } from '../tokens';
import {
  DEFAULT_WARN_MINUTES,
  formatLimit,
  formatRemaining,
  isEnding,
  remainingSeconds,
  walltimeText
} from '../walltime';
import { useSignals } from './common';

/**
 * Now, in milliseconds since the epoch, renewed every second while `ticking`.
 *
 * @param ticking - Whether a countdown is shown.
 * @returns Now.
 */
function useNow(ticking: boolean): number {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    if (!ticking) {
      return;
    }
    const timer = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(timer);
  }, [ticking]);
  return ticking ? Date.now() : now;
}

/**
 * The countdown of a running kernel job in the kernel-jobs section (`1:52:10 left`), marked as a
 * warning within `warnMinutes` of the end; nothing for a job without a known end.
 *
 * @param props - The job, the warning's minutes, the translations.
 * @returns The countdown, or `null`.
 */
export function WalltimeLeft(props: {
  job: KernelJob;
  warnMinutes?: number;
  trans: TranslationBundle;
}): React.ReactElement | null {
  const { job, trans } = props;
  const now = useNow(remainingSeconds(job, Date.now()) !== null);
  const left = remainingSeconds(job, now);
  if (left === null) {
    return null;
  }
  const ending = isEnding(job, now, props.warnMinutes ?? DEFAULT_WARN_MINUTES);
  return (
    <span
      className={`jp-HpcEnvs-kernelJob-walltime${ending ? ' jp-mod-warn' : ''}`}
      title={trans.__(
        'Time left of the time limit (%1); Slurm ends the job at %2',
        job.time_limit !== null ? formatLimit(job.time_limit, trans) : '?',
        new Date((job.end_time ?? 0) * 1000).toLocaleTimeString()
      )}
    >
      {trans.__('%1 left', formatRemaining(left))}
    </span>
  );
}

/**
 * The status bar item: the walltime left of the current widget's kernel when it runs as a Slurm
 * job (`zen2 · 1:52:10 left`), a warning within the warning's minutes of the end, and that its
 * time limit was reached after it was.
 */
export class WalltimeStatus extends ReactWidget {
  /**
   * Create the item.
   *
   * @param options - The model, the translations, the warning's minutes.
   */
  constructor(options: { model: IHpcEnvsModel; trans: TranslationBundle; warnMinutes: number }) {
    super();
    this._model = options.model;
    this._trans = options.trans;
    this._warnMinutes = options.warnMinutes;
    this.addClass('jp-HpcEnvs-walltime');
    this._model.kernelJobsChanged.connect(this._changed, this);
  }

  /**
   * Emitted when the item starts or stops having something to show.
   */
  get activeChanged(): ISignal<this, void> {
    return this._activeChanged;
  }

  /**
   * Whether the current widget's kernel is a Slurm job with a known end.
   */
  get isActive(): boolean {
    return this._job() !== null;
  }

  set warnMinutes(value: number) {
    this._warnMinutes = value;
    this.update();
  }

  /**
   * Follow the kernel of another widget's session (or of none).
   *
   * @param context - The session context of the current widget, or `null`.
   */
  follow(context: ISessionContext | null): void {
    this._context?.kernelChanged.disconnect(this._changed, this);
    this._context = context;
    this._context?.kernelChanged.connect(this._changed, this);
    this._changed();
  }

  override dispose(): void {
    this._model.kernelJobsChanged.disconnect(this._changed, this);
    this._context?.kernelChanged.disconnect(this._changed, this);
    super.dispose();
  }

  protected render(): React.ReactElement {
    return (
      <WalltimeStatusText
        job={this._job}
        model={this._model}
        warnMinutes={this._warnMinutes}
        trans={this._trans}
      />
    );
  }

  private _job = (): KernelJob | null => {
    const kernelId = this._context?.session?.kernel?.id;
    const job = kernelId ? this._model.kernelJobs.find(j => j.kernel_id === kernelId) : undefined;
    return job && (job.end_time !== null || job.state === 'TIMEOUT') ? job : null;
  };

  private _changed(): void {
    const active = this.isActive;
    if (active !== this._active) {
      this._active = active;
      this._activeChanged.emit();
    }
    this.update();
  }

  private _model: IHpcEnvsModel;
  private _trans: TranslationBundle;
  private _warnMinutes: number;
  private _context: ISessionContext | null = null;
  private _active = false;
  private _activeChanged = new Signal<this, void>(this);
}

function WalltimeStatusText(props: {
  job: () => KernelJob | null;
  model: IHpcEnvsModel;
  warnMinutes: number;
  trans: TranslationBundle;
}): React.ReactElement | null {
  const { model, trans } = props;
  useSignals(model.kernelJobsChanged);
  const job = props.job();
  const now = useNow(job?.state === 'RUNNING');
  if (!job) {
    return null;
  }
  const text = walltimeText(job, now, trans);
  const ending = job.state !== 'RUNNING' || isEnding(job, now, props.warnMinutes);
  return (
    <span
      className={`jp-HpcEnvs-walltime-text${ending ? ' jp-mod-warn' : ''}`}
      title={trans.__(
        "The walltime left of this kernel's Slurm job %1 (time limit %2)",
        job.job_id,
        job.time_limit !== null ? formatLimit(job.time_limit, trans) : '?'
      )}
    >
      {text}
    </span>
  );
}
