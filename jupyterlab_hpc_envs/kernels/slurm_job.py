"""One launch of a kernel as a Slurm job: what was asked for, its phase, and what became of it.

The phase is explicit (:class:`Phase`) and every move between phases goes through
:meth:`SlurmJob.move`, which knows the allowed ones: a reader sees the life of a kernel job in the
table :data:`MOVES` rather than in flags set here and there. The per-user record of kernel jobs
(:mod:`.jobs`, shown in the UI) is written from here too.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import logging
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from tornado.web import HTTPError

from ..site import slurm
from .diagnosis import with_line
from .jobs import JobWatch, KernelJobs
from .resources import KernelResources


class KernelStartError(HTTPError, RuntimeError):
    """The kernel cannot start; the message says why and what to do.

    An HTTPError, because jupyter_server passes only those on to JupyterLab with their message:
    any other exception of a kernel start reaches the user as "Unhandled error".

    ``diagnosis`` (see :mod:`.diagnosis`): the kind of failure and its fixes, which the message
    JupyterLab gets carries as its last line, after the sentence for people (``message``).
    """

    def __init__(
        self, message: str, status: int = 500, diagnosis: dict[str, Any] | None = None
    ) -> None:
        self.message = message
        self.diagnosis = diagnosis
        self.text = with_line(message, diagnosis)
        # tornado formats log_message with %: keep the text free of it.
        super().__init__(status, self.text.replace("%", "\uff05"))

    def __str__(self) -> str:
        return self.text


class Phase(enum.Enum):
    """Where a kernel job is in its life.

    ``SUBMITTING``: srun runs, Slurm has not said yet whether the job waits; ``PENDING``: it waits
    in the queue; ``STARTING``: it has a node, the kernel has not reported its ports yet;
    ``RUNNING``: the kernel reported and is used; ``STOPPING``: a stop was asked for (a shutdown, a
    given-up start): what happens now is not news; ``ENDED``: jupyter_client let go of it.
    """

    SUBMITTING = "submitting"
    PENDING = "pending"
    STARTING = "starting"
    RUNNING = "running"
    STOPPING = "stopping"
    ENDED = "ended"


_STARTS = (Phase.SUBMITTING, Phase.PENDING, Phase.STARTING)
_OUT = frozenset({Phase.STOPPING, Phase.ENDED})
#: The allowed moves (staying where it is is always allowed). A job may be asked to stop, or be let
#: go of, in any phase but the last; a started job may go back to the queue (Slurm requeues) until
#: the kernel reported; nothing comes after ``ENDED``.
MOVES: dict[Phase, frozenset[Phase]] = {
    Phase.SUBMITTING: frozenset({Phase.PENDING, Phase.STARTING, Phase.RUNNING}) | _OUT,
    Phase.PENDING: frozenset({Phase.STARTING, Phase.RUNNING}) | _OUT,
    Phase.STARTING: frozenset({Phase.PENDING, Phase.RUNNING}) | _OUT,
    Phase.RUNNING: _OUT,
    Phase.STOPPING: frozenset({Phase.ENDED}),
    Phase.ENDED: frozenset(),
}


@dataclass
class SlurmJob:
    """One launch of a kernel as a Slurm job: what was asked for and what became of it."""

    kernel_id: str
    env: str
    partition: str
    name: str
    log: logging.Logger | logging.LoggerAdapter[logging.Logger]
    resources: KernelResources | None = None
    key: bytes = b""
    signature_scheme: str = "hmac-sha256"
    curve: tuple[str, str] | None = None  # CurveZMQ (public, secret) keys, Z85; None: plain
    encryption: str = "preferred"  # HpcEnvs.kernel_encryption for this start
    extra_arguments: list[str] = field(default_factory=list)
    queue_timeout: float = 300.0
    connect_timeout: float = 120.0
    arch_variable: str = "VSC_ARCH_LOCAL"
    ip: str = ""
    data_dir: str = ""
    job_id: str = ""
    step_id: str = ""
    host: str = ""
    phase: Phase = Phase.SUBMITTING
    proc: asyncio.subprocess.Process | None = None
    allocated_at: float | None = None  # loop time the job got its node
    reported: tuple[str, str, str] | None = None  # the queue state last logged and recorded
    exited_at: float | None = None  # loop time srun ended
    returncode: int | None = None  # srun's
    final: slurm.JobState | None = None  # what Slurm said about the job's end
    ends: str = ""  # the job's end as squeue said it last (recorded when it changes)
    watch: JobWatch | None = None
    watched: str = ""  # the job id this launch follows in `watch` ('' when it does not)
    launcher_report: asyncio.Future[dict[str, Any]] | None = None  # the launcher's ports line
    errors: deque[str] = field(default_factory=lambda: deque(maxlen=40))
    tasks: list[asyncio.Task[Any]] = field(default_factory=list)

    def move(self, phase: Phase) -> None:
        """Go to ``phase``, which must be allowed from the current one (see :data:`MOVES`)."""
        if phase is not self.phase and phase not in MOVES[self.phase]:
            raise RuntimeError(f"kernel job {self.name}: no move from {self.phase} to {phase}")
        self.phase = phase

    def stop(self) -> None:
        """A stop was asked for: what happens to the job now is not news (a job already let go
        of stays ended)."""
        if self.phase is not Phase.ENDED:
            self.move(Phase.STOPPING)

    def advance(self, phase: Phase) -> None:
        """A step of the start (queued, allocated, reported), taken only while it is starting: a
        stop asked for meanwhile stays the phase."""
        if self.starting:
            self.move(phase)

    @property
    def starting(self) -> bool:
        """Submitted, and the kernel has not reported yet."""
        return self.phase in _STARTS

    @property
    def stopping(self) -> bool:
        """A stop was asked for, or jupyter_client let go: the job's end is not news."""
        return self.phase in (Phase.STOPPING, Phase.ENDED)

    @property
    def label(self) -> str:
        return f"{self.env} ({self.partition})"

    @property
    def step(self) -> str:
        """``JOB.STEP`` of the kernel, as ``scancel`` takes it."""
        return f"{self.job_id}.{self.step_id or 0}" if self.job_id else ""

    def tail(self, lines: int = 6) -> str:
        """Slurm's last words, each on a line of its own: JupyterLab shows a failed start's
        message (``str`` of the error) in a <pre> that does not wrap, where lines joined into
        one were cut off at the dialog's edge."""
        text = [line for line in self.errors if line.strip()][-lines:]
        return ("\nLast output:\n" + "\n".join(text)) if text else ""

    def follow(self, watch: JobWatch) -> None:
        """Follow the job's state in the shared, cached squeue view."""
        self.watch = watch
        watch.watch(self.job_id)
        self.watched = self.job_id

    def unfollow(self) -> None:
        if self.watched and self.watch is not None:
            self.watch.unwatch(self.watched)
        self.watched = ""

    # --- the per-user record ------------------------------------------------------------------

    def record(self, **fields: Any) -> None:
        """Update this kernel's entry in the per-user record of kernel jobs."""
        try:
            KernelJobs(self.data_dir).update(self.kernel_id, **fields)
        except OSError as err:
            self.log.warning("Cannot record kernel job %s: %s", self.name, err)

    def forget(self) -> None:
        with contextlib.suppress(OSError):
            KernelJobs(self.data_dir).remove(self.kernel_id)


def _when(start: str) -> str:
    """squeue's estimated start (``2024-05-02T14:05:00``) as people read it; '' when unknown."""
    try:
        moment = time.strptime(start, "%Y-%m-%dT%H:%M:%S")
    except (TypeError, ValueError):
        return ""
    if time.strftime("%Y-%m-%d", moment) == time.strftime("%Y-%m-%d"):
        return time.strftime("%H:%M", moment)
    return time.strftime("%Y-%m-%d %H:%M", moment)


def seconds(value: float) -> str:
    """``90 s``, ``5 minutes``: a timeout as people read it."""
    if value >= 120:
        return f"{value / 60:.0f} minutes"
    return f"{value:.0f} s"


def queue_message(state: slurm.JobState) -> str:
    """``pending (Resources), estimated start 14:05``: a job's place in the queue in one line."""
    text = state.state.lower()
    if state.reason and state.reason not in ("None", "(null)"):
        text += f" ({state.reason})"
    when = _when(state.start)
    if state.state == "PENDING" and when:
        text += f", estimated start {when}"
    return text
