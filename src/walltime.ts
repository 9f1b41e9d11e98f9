/**
 * The walltime of kernels that run as Slurm jobs: what is left of it, in words, and a watcher
 * that says when a job is about to reach its time limit and when it reached it. No DOM here.
 */
import { TranslationBundle } from '@jupyterlab/translation';
import { IDisposable } from '@lumino/disposable';

import { KernelJob } from './api';
import { IHpcEnvsModel } from './tokens';

/**
 * Minutes before the end of a kernel's job that the warning comes (the `walltimeWarning` setting).
 */
export const DEFAULT_WARN_MINUTES = 10;

/**
 * Seconds after the end of a job's time limit that the kernel jobs are asked for again (Slurm
 * checks time limits about every 30 seconds, then the server needs a moment to say why).
 */
const AFTER_END = [2, 35, 70];

/**
 * The seconds left of a running kernel job's walltime.
 *
 * @param job - A kernel job.
 * @param now - Now, in milliseconds since the epoch.
 * @returns The whole seconds left (0 once past the end), or `null` when the job does not run or
 *   its end is not known.
 */
export function remainingSeconds(job: KernelJob, now: number): number | null {
  if (job.state !== 'RUNNING' || job.end_time === null) {
    return null;
  }
  return Math.max(0, Math.floor(job.end_time - now / 1000));
}

/**
 * A countdown as a clock reads: `1:52:10`, `0:04:05`, or `2-03:04:05` from a day on (like Slurm).
 *
 * @param seconds - Seconds left.
 * @returns The words.
 */
export function formatRemaining(seconds: number): string {
  const total = Math.max(0, Math.floor(seconds));
  const days = Math.floor(total / 86400);
  const hours = Math.floor((total % 86400) / 3600);
  const minutes = Math.floor((total % 3600) / 60);
  const secs = total % 60;
  const two = (n: number): string => String(n).padStart(2, '0');
  const clock = `${days ? two(hours) : hours}:${two(minutes)}:${two(secs)}`;
  return days ? `${days}-${clock}` : clock;
}

/**
 * A time limit as people say it: `2 min`, `1 h 30 min`, `1 day 2 h`.
 *
 * @param seconds - The limit in seconds.
 * @param trans - The translation bundle.
 * @returns The words.
 */
export function formatLimit(seconds: number, trans: TranslationBundle): string {
  const minutes = Math.round(seconds / 60);
  const days = Math.floor(minutes / 1440);
  const hours = Math.floor((minutes % 1440) / 60);
  const mins = minutes % 60;
  const parts: string[] = [];
  if (days) {
    parts.push(trans._n('%1 day', '%1 days', days));
  }
  if (hours) {
    parts.push(trans.__('%1 h', hours));
  }
  if (mins || !parts.length) {
    parts.push(trans.__('%1 min', mins));
  }
  return parts.join(' ');
}

/**
 * What the status bar says of a kernel's job: `zen2 · 1:52:10 left`, or that its time is up.
 *
 * @param job - The kernel's job.
 * @param now - Now, in milliseconds since the epoch.
 * @param trans - The translation bundle.
 * @returns The words, or `''` when there is nothing to say (not running, no known end).
 */
export function walltimeText(job: KernelJob, now: number, trans: TranslationBundle): string {
  if (job.state === 'TIMEOUT' || job.end_reason === 'timeout') {
    return trans.__('%1 · time limit reached', job.partition);
  }
  const left = remainingSeconds(job, now);
  if (left === null) {
    return '';
  }
  return trans.__('%1 · %2 left', job.partition, formatRemaining(left));
}

/**
 * Whether a running job is within the warning's time of its end.
 *
 * @param job - A kernel job.
 * @param now - Now, in milliseconds since the epoch.
 * @param warnMinutes - Minutes before the end that the warning comes (0: never).
 * @returns `true` from `warnMinutes` before the end.
 */
export function isEnding(job: KernelJob, now: number, warnMinutes: number): boolean {
  const left = remainingSeconds(job, now);
  return warnMinutes > 0 && left !== null && left <= warnMinutes * 60;
}

/**
 * Says, once per job, when a running kernel job comes within `warnMinutes` of its time limit
 * (`onWarn`) and when a job seen running ended at its time limit (`onTimeout`). Its timers run on
 * the page's clock; after a job's end it asks the model for the kernel jobs again, so that the
 * end is known without waiting for the next refresh.
 */
export class WalltimeWatcher implements IDisposable {
  /**
   * Start watching the model's kernel jobs.
   *
   * @param options - The model, the warning's minutes, what to do.
   */
  constructor(options: WalltimeWatcher.IOptions) {
    this._model = options.model;
    this._warnMinutes = options.warnMinutes ?? DEFAULT_WARN_MINUTES;
    this._onWarn = options.onWarn;
    this._onTimeout = options.onTimeout;
    this._model.kernelJobsChanged.connect(this._update, this);
    this._update();
  }

  get isDisposed(): boolean {
    return this._isDisposed;
  }

  /**
   * Minutes before the end that the warning comes (0: no warning); a change reschedules it.
   */
  get warnMinutes(): number {
    return this._warnMinutes;
  }

  set warnMinutes(value: number) {
    this._warnMinutes = Math.max(0, value);
    this._update();
  }

  dispose(): void {
    if (this._isDisposed) {
      return;
    }
    this._isDisposed = true;
    this._model.kernelJobsChanged.disconnect(this._update, this);
    this._clearTimers();
  }

  private _update(): void {
    if (this._isDisposed) {
      return;
    }
    this._clearTimers();
    const now = Date.now();
    for (const job of this._model.kernelJobs) {
      const key = `${job.kernel_id}@${job.job_id}`;
      if (job.state === 'RUNNING') {
        this._running.add(key);
        this._schedule(job, key, now);
      } else if (job.state === 'TIMEOUT' && this._running.delete(key)) {
        this._onTimeout(job);
      } else if (job.ended !== null) {
        this._running.delete(key);
      }
    }
  }

  private _schedule(job: KernelJob, key: string, now: number): void {
    if (job.end_time === null) {
      return;
    }
    const end = job.end_time * 1000;
    if (this._warnMinutes > 0 && !this._warned.has(key)) {
      const at = end - this._warnMinutes * 60000;
      this._later(at - now, () => {
        if (!this._warned.has(key) && end > Date.now()) {
          this._warned.add(key);
          this._onWarn(job, remainingSeconds(job, Date.now()) ?? 0);
        }
      });
    }
    for (const after of AFTER_END) {
      const delay = end + after * 1000 - now;
      if (delay >= 0) {
        this._later(delay, () => this._model.watchKernelJobs());
      }
    }
  }

  private _later(delay: number, what: () => void): void {
    // setTimeout takes at most 2^31 - 1 ms (about 24 days): longer limits wait for a new update.
    if (delay < 2 ** 31) {
      this._timers.push(setTimeout(what, Math.max(0, delay)));
    }
  }

  private _clearTimers(): void {
    for (const timer of this._timers) {
      clearTimeout(timer);
    }
    this._timers = [];
  }

  private _model: IHpcEnvsModel;
  private _warnMinutes: number;
  private _onWarn: (job: KernelJob, secondsLeft: number) => void;
  private _onTimeout: (job: KernelJob) => void;
  private _running = new Set<string>();
  private _warned = new Set<string>();
  private _timers: ReturnType<typeof setTimeout>[] = [];
  private _isDisposed = false;
}

/**
 * The namespace of {@link WalltimeWatcher}'s types.
 */
export namespace WalltimeWatcher {
  /**
   * The options of the constructor.
   */
  export interface IOptions {
    /**
     * The model whose kernel jobs are watched.
     */
    model: IHpcEnvsModel;

    /**
     * Minutes before the end that the warning comes (0: none); default 10.
     */
    warnMinutes?: number;

    /**
     * A running job came within `warnMinutes` of its end (once per job).
     */
    onWarn: (job: KernelJob, secondsLeft: number) => void;

    /**
     * A job seen running ended at its time limit (once per job).
     */
    onTimeout: (job: KernelJob) => void;
  }
}
