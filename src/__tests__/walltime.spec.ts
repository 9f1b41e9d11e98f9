/**
 * The walltime of Slurm kernels: the countdown's words, the warning before the end (once, at the
 * setting's minutes), the time-limit message of a job seen running, and the countdown in the
 * kernel-jobs section, on a fake clock (jest's modern timers).
 *
 * The jobs are the real server's `GET kernel-jobs` entries (fixtures.ts) with the walltime fields
 * the server adds from squeue.
 */
import { nullTranslator } from '@jupyterlab/translation';
import { Signal } from '@lumino/signaling';

import { KernelJob, KernelJobSchema } from '../api';
import { IHpcEnvsModel } from '../tokens';
import {
  formatLimit,
  formatRemaining,
  isEnding,
  remainingSeconds,
  walltimeText,
  WalltimeWatcher
} from '../walltime';
import { WalltimeStatus } from '../widgets/walltime';
import { KERNEL_JOB_RUNNING } from './fixtures';

const trans = nullTranslator.load('jupyterlab_hpc_envs');
const START = Date.UTC(2026, 11, 1, 4, 0, 0) / 1000;

/**
 * The running job of the fixtures with a two-minute limit that started at START.
 */
function running(fields: Partial<KernelJob> = {}): KernelJob {
  return KernelJobSchema.parse({
    ...KERNEL_JOB_RUNNING,
    time_limit: 120,
    start_time: START,
    end_time: START + 120,
    ...fields
  });
}

/**
 * The parts of the model the walltime uses: its kernel jobs, their signal, a close watch.
 */
class JobsModel {
  kernelJobs: KernelJob[] = [];
  kernelJobsChanged = new Signal<this, readonly KernelJob[]>(this);
  watched = 0;

  watchKernelJobs(): void {
    this.watched++;
  }

  set(jobs: KernelJob[]): void {
    this.kernelJobs = jobs;
    this.kernelJobsChanged.emit(jobs);
  }
}

beforeEach(() => {
  jest.useFakeTimers({ now: START * 1000 });
});

afterEach(() => {
  jest.useRealTimers();
});

describe('the countdown', () => {
  it('reads as a clock, with days as Slurm writes them', () => {
    expect(formatRemaining(6730)).toBe('1:52:10');
    expect(formatRemaining(245)).toBe('0:04:05');
    expect(formatRemaining(0)).toBe('0:00:00');
    expect(formatRemaining(-3)).toBe('0:00:00');
    expect(formatRemaining(2 * 86400 + 3 * 3600 + 4 * 60 + 5)).toBe('2-03:04:05');
  });

  it('says time limits in words', () => {
    expect(formatLimit(120, trans)).toBe('2 min');
    expect(formatLimit(5400, trans)).toBe('1 h 30 min');
    expect(formatLimit(86400 + 7200, trans)).toBe('1 day 2 h');
    expect(formatLimit(30, trans)).toBe('1 min');
  });

  it('counts down from the end Slurm gave, for running jobs only', () => {
    const job = running();
    expect(remainingSeconds(job, (START + 10.5) * 1000)).toBe(109);
    expect(remainingSeconds(job, (START + 500) * 1000)).toBe(0);
    expect(remainingSeconds(running({ state: 'PENDING' }), START * 1000)).toBeNull();
    expect(remainingSeconds(running({ end_time: null }), START * 1000)).toBeNull();
    expect(walltimeText(job, (START + 8) * 1000, trans)).toBe('zen2 · 0:01:52 left');
    expect(walltimeText(running({ state: 'TIMEOUT' }), START * 1000, trans)).toBe(
      'zen2 · time limit reached'
    );
    expect(isEnding(job, (START + 29) * 1000, 1.5)).toBe(false);
    expect(isEnding(job, (START + 30) * 1000, 1.5)).toBe(true);
    expect(isEnding(job, (START + 119) * 1000, 0)).toBe(false);
  });
});

describe('WalltimeWatcher', () => {
  it('warns once, at the setting’s minutes before the end, and asks again after it', () => {
    const model = new JobsModel();
    const warned: [string, number][] = [];
    const watcher = new WalltimeWatcher({
      model: model as unknown as IHpcEnvsModel,
      warnMinutes: 1.5,
      onWarn: (job, left) => warned.push([job.kernel_id, left]),
      onTimeout: () => undefined
    });
    model.set([running()]);
    jest.advanceTimersByTime(29_000);
    expect(warned).toEqual([]);
    jest.advanceTimersByTime(1_000);
    expect(warned).toEqual([[KERNEL_JOB_RUNNING.kernel_id, 90]]);
    model.set([running({ message: 'running on vm again' })]); // a refresh of the same job: no second warning
    jest.advanceTimersByTime(60_000);
    expect(warned.length).toBe(1);
    expect(model.watched).toBe(0);
    jest.advanceTimersByTime(32_000); // 2 s after the end
    expect(model.watched).toBe(1);
    watcher.dispose();
  });

  it('warns at once when the job is already within the warning, not when it is past the end', () => {
    jest.setSystemTime((START + 100) * 1000);
    const model = new JobsModel();
    const warned: number[] = [];
    const watcher = new WalltimeWatcher({
      model: model as unknown as IHpcEnvsModel,
      onWarn: (_, left) => warned.push(left),
      onTimeout: () => undefined
    });
    model.set([running()]);
    jest.advanceTimersByTime(0);
    expect(warned).toEqual([20]);
    watcher.warnMinutes = 0;
    model.set([running({ job_id: '9', kernel_id: 'other', end_time: START + 50 })]);
    jest.advanceTimersByTime(1000);
    expect(warned).toEqual([20]);
    watcher.dispose();
  });

  it('says a job seen running reached its time limit, once; not an old one', () => {
    const model = new JobsModel();
    const ended: string[] = [];
    model.set([running({ kernel_id: 'old', state: 'TIMEOUT', ended: START })]);
    const watcher = new WalltimeWatcher({
      model: model as unknown as IHpcEnvsModel,
      onWarn: () => undefined,
      onTimeout: job => ended.push(job.kernel_id)
    });
    model.set([running()]);
    const timeout = running({ state: 'TIMEOUT', end_reason: 'timeout', ended: START + 130 });
    model.set([timeout]);
    model.set([timeout]);
    expect(ended).toEqual([KERNEL_JOB_RUNNING.kernel_id]);
    watcher.dispose();
  });
});

describe('WalltimeStatus', () => {
  it('is active for the current kernel’s Slurm job only', () => {
    const model = new JobsModel();
    const status = new WalltimeStatus({
      model: model as unknown as IHpcEnvsModel,
      trans,
      warnMinutes: 10
    });
    let changes = 0;
    status.activeChanged.connect(() => changes++);
    const kernelChanged = new Signal<unknown, unknown>({});
    const context = {
      session: { kernel: { id: KERNEL_JOB_RUNNING.kernel_id } },
      kernelChanged
    };
    status.follow(context as never);
    expect(status.isActive).toBe(false);
    model.set([running()]);
    expect(status.isActive).toBe(true);
    expect(changes).toBe(1);
    status.follow(null);
    expect(status.isActive).toBe(false);
    expect(changes).toBe(2);
    status.dispose();
  });
});
