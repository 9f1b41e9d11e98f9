"""The Slurm jobs that run kernels: a per-user record, a shared view of their states, and the sweep.

No job may outlive its kernel. Three things see to it:

- **names and owners**: every kernel job is named ``hpc-envs-kernel:<env>:<kernel id prefix>`` and
  carries its owner (host, pid and start time of the process that started it: a server, nbconvert,
  …) in its Slurm comment, so any later process can tell whether the job still has a live kernel;
- **a record**: ``<data_dir>/kernel-jobs.json`` (mode 0600, written atomically under a lock) lists
  every job a process started, with its state while it waits in the queue (the UI shows it) and why
  it ended (a walltime, a cancellation);
- **the sweep** at server start (:func:`sweep_orphans`): a recorded job whose owner is gone, or a
  job named like ours that nobody owns, is cancelled. Jobs of a process on another host are left to
  that process.

Most jobs never need the sweep: a kernel ends when the process that manages it ends, even by
``kill -9`` (:mod:`.launcher` watches the step's standard input, whose end of file srun
passes on), as a local kernel ends with its server through ``JPY_PARENT_PID``.

The states of running kernel jobs come from one ``squeue`` call for all of them every
``HpcEnvs.kernel_poll_interval`` seconds (:class:`JobWatch`), never from a query per poll: a poll of
a kernel must not wait for the controller, and a briefly unreachable controller must not read as a
dead kernel.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import json
import logging
import os
import socket
import subprocess
import time
import weakref
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from .. import errors, files
from ..config import HpcEnvs
from ..proc import process_start as _process_start
from ..site import slurm

log = logging.getLogger(__name__)

JOB_NAME_PREFIX = f"{slurm.JOB_PREFIX}-kernel:"
COMMENT_PREFIX = "hpc-envs-owner="
STATE_FILE = "kernel-jobs.json"
KEEP_ENDED = 24 * 3600  # seconds an ended job stays in the record (the UI says why it ended)


def job_name(env: str, kernel_id: str) -> str:
    """``hpc-envs-kernel:<env>:<first 8 characters of the kernel id>``: recognisable in ``squeue``."""
    return f"{JOB_NAME_PREFIX}{env}:{kernel_id[:8]}"


# --- owners ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Owner:
    """The process that started a job and answers for it."""

    host: str
    pid: int
    started: str

    @classmethod
    def current(cls) -> Owner:
        return cls(socket.gethostname(), os.getpid(), _process_start(os.getpid()))

    def encode(self) -> str:
        return f"{self.host}:{self.pid}:{self.started}"

    @classmethod
    def decode(cls, value: object) -> Owner | None:
        if not isinstance(value, str):
            return None
        value = value.removeprefix(COMMENT_PREFIX)
        host, _, rest = value.rpartition(":")
        host, _, pid = host.rpartition(":")
        if not host or not pid.isdigit():
            return None
        return cls(host, int(pid), rest)

    def comment(self) -> str:
        return COMMENT_PREFIX + self.encode()

    def alive(self) -> bool | None:
        """Whether the owner still runs; ``None`` when it runs on another host (cannot tell)."""
        if self.host != socket.gethostname():
            return None
        try:
            os.kill(self.pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            pass  # a process of someone else: alive, but not ours unless the start time matches
        started = _process_start(self.pid)
        return not (self.started and started and started != self.started)


# --- the record -----------------------------------------------------------------------------------


class KernelJobs:
    """``<data_dir>/kernel-jobs.json``: kernel id -> what its job is and was (one per user)."""

    def __init__(self, data_dir: str) -> None:
        self.data_dir = data_dir
        self.path = os.path.join(data_dir, STATE_FILE)

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        os.makedirs(self.data_dir, mode=0o700, exist_ok=True)
        with files.locked(self.path + ".lock", "your kernel jobs"):
            yield

    def _read(self) -> dict[str, dict[str, Any]]:
        try:
            with open(self.path, encoding="utf-8") as f:
                data = json.load(f)
        except (OSError, ValueError):
            return {}
        jobs = data.get("jobs") if isinstance(data, dict) else None
        return (
            {k: v for k, v in jobs.items() if isinstance(v, dict)} if isinstance(jobs, dict) else {}
        )

    def _write(self, jobs: dict[str, dict[str, Any]]) -> None:
        text = json.dumps({"version": 1, "jobs": jobs}, indent=1, sort_keys=True)
        files.write_atomic(self.path, text, 0o600)

    def read(self) -> dict[str, dict[str, Any]]:
        with self._locked():
            return self._read()

    def update(self, kernel_id: str, **fields: Any) -> dict[str, Any]:
        """Merge ``fields`` into the kernel's entry (created if needed); returns the entry."""
        with self._locked():
            jobs = self._read()
            entry = jobs.setdefault(kernel_id, {"kernel_id": kernel_id})
            entry.update(fields, updated=time.time())
            self._write(jobs)
            return dict(entry)

    def remove(self, kernel_id: str) -> None:
        with self._locked():
            jobs = self._read()
            if jobs.pop(kernel_id, None) is not None:
                self._write(jobs)

    def list(self) -> list[dict[str, Any]]:
        """The entries, newest first: what the UI shows."""
        return sorted(self.read().values(), key=lambda e: -float(e.get("submitted") or 0))


# --- the shared view of job states -----------------------------------------------------------------


class JobWatch:
    """The states of the kernel jobs of this process, from one ``squeue`` every ``interval`` s.

    ``get`` never waits. When the controller does not answer, the last known states stay and
    ``reachable`` turns false: a kernel is not declared dead because Slurm is busy or restarting.
    Cancellations that failed (controller away) are retried here until they succeed.
    """

    def __init__(self, interval: float) -> None:
        self.interval = max(1.0, interval)
        self.states: dict[str, slurm.JobState] = {}
        self.reachable = True
        self.error = ""
        self._watched: dict[str, int] = {}
        self._cancels: set[str] = set()
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def watch(self, job_id: str) -> None:
        self._watched[job_id] = self._watched.get(job_id, 0) + 1
        self._ensure_running()

    def unwatch(self, job_id: str) -> None:
        count = self._watched.get(job_id, 0) - 1
        if count <= 0:
            self._watched.pop(job_id, None)
            self.states.pop(job_id, None)
        else:
            self._watched[job_id] = count

    def get(self, job_id: str) -> slurm.JobState | None:
        return self.states.get(job_id)

    def refresh_soon(self) -> None:
        self._wake.set()
        self._ensure_running()

    def cancel_later(self, job_id: str) -> None:
        """Cancel a job as soon as the controller answers again."""
        self._cancels.add(job_id)
        self.refresh_soon()

    def _ensure_running(self) -> None:
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self._run())

    async def _run(self) -> None:
        while self._watched or self._cancels:
            await self.refresh()
            self._wake.clear()
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.interval)

    async def refresh(self) -> None:
        for job_id in sorted(self._cancels):
            try:
                await slurm.cancel(job_id)
            except slurm.SlurmError as err:
                log.debug("Cancelling job %s again failed: %s", job_id, err)
                break
            self._cancels.discard(job_id)
            log.info("Kernel job %s cancelled (the controller answers again).", job_id)
        ids = list(self._watched)
        if not ids:
            return
        try:
            found = await slurm.jobs(ids)
        except slurm.SlurmError as err:
            if self.reachable:
                log.warning(
                    "Slurm does not answer (%s): kernels are taken as alive meanwhile.", err
                )
            self.reachable, self.error = False, str(err)
            return
        if not self.reachable:
            log.info("Slurm answers again.")
        self.reachable, self.error = True, ""
        for job_id in ids:
            if job_id in self._watched:
                self.states[job_id] = found.get(job_id) or slurm.JobState(job_id, "GONE", "", "")


_watches: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, JobWatch] = (
    weakref.WeakKeyDictionary()
)


def job_watch(interval: float) -> JobWatch:
    """The :class:`JobWatch` of the running event loop (one per server)."""
    loop = asyncio.get_running_loop()
    watch = _watches.get(loop)
    if watch is None:
        watch = _watches[loop] = JobWatch(interval)
    watch.interval = min(watch.interval, max(1.0, interval))
    return watch


# --- last resort at interpreter exit ---------------------------------------------------------------

# Jobs this process started and has not released yet: job id (or job name while the id is unknown).
_live: dict[str, str] = {}


def hold(key: str, job: str) -> None:
    _live[key] = job


def release(key: str) -> None:
    _live.pop(key, None)


@atexit.register
def _cancel_at_exit() -> None:
    """A process that exits without shutting its kernels down (an exception in a script, a
    server stopped half-way) still cancels their jobs. Only SIGKILL escapes this: the sweep
    at the next server start takes care of those."""
    for job in list(_live.values()):
        argv = (
            ["scancel", job]
            if job.isdigit()
            else ["scancel", f"--name={job}", f"--user={slurm.user_name()}"]
        )
        with contextlib.suppress(OSError, subprocess.SubprocessError):
            subprocess.run(argv, timeout=10, check=False, capture_output=True)
    _live.clear()


# --- the sweep ------------------------------------------------------------------------------------


async def sweep_orphans(config: HpcEnvs, logger: logging.Logger | None = None) -> list[str]:
    """Cancel this user's kernel jobs that have no live kernel; returns their job ids.

    The record (``<data_dir>/kernel-jobs.json``, one per user) says which jobs are ours to judge.
    A recorded job is an orphan when its cancellation was asked for earlier, or when its owner
    is a process of this host that is gone (owners on other hosts are left to themselves). A job
    that is named like ours but recorded nowhere is an orphan only if it has no owner at all: one
    whose comment names an owner was started by a process that keeps its record elsewhere (another
    Jupyter data folder), and is that record's business. Records of owners that are gone are
    dropped, and those of ended jobs after a day.
    """
    logger = logger or log
    if not await slurm.used(config.use_slurm):
        return []  # no Slurm here (not installed, or installed without a cluster): nothing to sweep
    try:
        live = await slurm.jobs_with_prefix(JOB_NAME_PREFIX)
    except slurm.SlurmError as err:
        logger.warning("Cannot look for orphaned kernel jobs: %s", err)
        return []
    record = KernelJobs(config.data_dir)
    try:
        entries = record.read()
    except OSError as err:
        logger.warning("Cannot read the kernel job record %s: %s", record.path, err)
        entries = {}
    by_job = {str(e.get("job_id")): e for e in entries.values() if e.get("job_id")}
    by_name = {str(e.get("job_name")): e for e in entries.values() if e.get("job_name")}
    cancelled: list[str] = []
    for job in live:
        entry = by_job.get(job.job_id) or by_name.get(job.name)
        owner = Owner.decode(job.comment)
        if entry is not None:
            owner = Owner.decode(entry.get("owner")) or owner
        elif owner is not None:
            continue  # recorded in another data folder
        if entry is not None and entry.get("cancel"):
            why = "its cancellation was asked for earlier"
        elif owner is None:
            why = "it has no owner"
        elif owner.alive() is False:
            why = f"its owner (process {owner.pid} on {owner.host}) is gone"
        else:
            continue
        try:
            await slurm.cancel(job.job_id)
        except slurm.SlurmError as err:
            logger.warning(
                "Cannot cancel the orphaned kernel job %s (%s): %s", job.job_id, job.name, err
            )
            continue
        cancelled.append(job.job_id)
        logger.warning(
            "Cancelled kernel job %s (%s, %s): %s.", job.job_id, job.name, job.state, why
        )
    live_ids = {j.job_id for j in live if j.job_id not in cancelled}
    now = time.time()
    for kernel_id, entry in entries.items():
        if str(entry.get("job_id") or "") in live_ids:
            continue
        owner = Owner.decode(entry.get("owner"))
        gone = owner is None or owner.alive() is False
        if gone or now - float(entry.get("updated") or 0) > KEEP_ENDED:
            with contextlib.suppress(OSError):
                record.remove(kernel_id)
    return cancelled


async def cancel_kernel_job(config: HpcEnvs, kernel_id: str) -> dict[str, Any]:
    """Cancel the job of one of the user's kernels (e.g. a start waiting in the queue: the start
    then fails with a message saying so). Only jobs in the user's record can be cancelled here."""
    record = KernelJobs(config.data_dir)
    entry = record.read().get(kernel_id)
    if entry is None:
        raise errors.NotFound(f"No kernel job is recorded for kernel {kernel_id!r}.")
    job_id, name = str(entry.get("job_id") or ""), str(entry.get("job_name") or "")
    if entry.get("ended"):
        # Nothing to cancel any more: the user is clearing an ended job from the list.
        record.remove(kernel_id)
        return {"kernel_id": kernel_id, "job_id": job_id, "job_name": name, "cancelled": False}
    # Said before scancel, so that the kernel's end is reported as the user's doing.
    record.update(kernel_id, cancelled_by="user")
    if job_id:
        await slurm.cancel(job_id)
    elif name.startswith(JOB_NAME_PREFIX):
        await slurm.cancel_named(name)
    else:
        raise errors.NotFound(f"The kernel {kernel_id!r} has no job to cancel.")
    return {"kernel_id": kernel_id, "job_id": job_id, "job_name": name, "cancelled": True}
