"""The start of a Slurm kernel: srun's output read, the queue followed, the launcher's report awaited.

Until the kernel reports its ports, a start can end in many ways that each deserve their own
sentence: a queue timeout (with the job's place in the queue), a connect timeout (with srun's last
words), a job cancelled or ended while starting, srun ending early. Everything that finds these out
lives here; :mod:`.slurm_kernel` then runs or tears down the job.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import re
from collections.abc import AsyncIterator
from typing import Any

from ..site import slurm
from . import diagnosis, jobs, launcher
from .slurm_job import KernelStartError, Phase, SlurmJob, queue_message, seconds

# srun's own lines on stderr (informational, printed at its default verbosity).
_QUEUED = re.compile(r"job (\d+) queued and waiting for resources")
_ALLOCATED = re.compile(r"job (\d+) has been allocated resources")
STATUS_INTERVAL = 2.0  # seconds between two squeue queries while a start waits in the queue


@functools.cache
def _launcher_source() -> str:
    with open(launcher.__file__, encoding="utf-8") as f:
        return f.read()


async def send_header(job: SlurmJob, kernel_name: str) -> None:
    """The launcher's one input line: key, CurveZMQ keys and its own text, never argv."""
    header = {
        "key": job.key.decode(),
        "signature_scheme": job.signature_scheme,
        "ip": job.ip,
        "kernel_name": kernel_name,
        "extra_arguments": job.extra_arguments,
        "arch_variable": job.arch_variable,
        "launcher": _launcher_source(),
    }
    if job.curve is not None:
        # The kernel's CurveZMQ keys go the way of its key: never on a command line.
        header.update(
            curve_publickey=job.curve[0],
            curve_secretkey=job.curve[1],
            encryption=job.encryption,
        )
    assert job.proc is not None
    assert job.proc.stdin is not None
    job.proc.stdin.write((json.dumps(header) + "\n").encode())
    with contextlib.suppress(ConnectionError):
        await job.proc.stdin.drain()


async def _lines(stream: asyncio.StreamReader | None) -> AsyncIterator[str]:
    """srun's output line by line, until it ends (or a line is longer than the limit)."""
    assert stream is not None
    with contextlib.suppress(ValueError, ConnectionError):
        async for raw in stream:
            yield raw.decode(errors="replace").rstrip("\r\n")


async def read_stdout(job: SlurmJob) -> None:
    """Take the launcher's report (its marker line) from srun's stdout; keep the rest to tell."""
    assert job.proc is not None
    async for line in _lines(job.proc.stdout):
        if line.startswith(launcher.MARKER):
            report = job.launcher_report
            if report is not None and not report.done():
                try:
                    report.set_result(json.loads(line[len(launcher.MARKER) :]))
                except ValueError:
                    job.errors.append(line)
            continue
        job.errors.append(line)
        job.log.debug("Kernel %s: %s", job.kernel_id, line)


async def read_stderr(job: SlurmJob) -> None:
    """Learn the job id and its queueing from srun's informational lines; keep the rest."""
    assert job.proc is not None
    async for line in _lines(job.proc.stderr):
        queued, allocated = _QUEUED.search(line), _ALLOCATED.search(line)
        if queued:
            job.job_id = job.job_id or queued.group(1)
            job.advance(Phase.PENDING)
            jobs.hold(job.kernel_id, job.job_id)
        elif allocated:
            job.job_id = job.job_id or allocated.group(1)
            job.advance(Phase.STARTING)
            job.allocated_at = asyncio.get_running_loop().time()
        else:
            job.errors.append(line)
        job.log.debug("Kernel %s: %s", job.kernel_id, line)


async def wait_for_kernel(job: SlurmJob) -> dict[str, Any]:
    """Wait for the launcher's report, following the job through the queue; timeouts raise.

    A report saying ``error: encryption`` is returned as it is: the caller words it.
    """
    assert job.proc is not None
    assert job.launcher_report is not None
    loop = asyncio.get_running_loop()
    submitted = last_query = loop.time()
    exited = loop.create_task(job.proc.wait())
    try:
        while True:
            report = job.launcher_report
            waiting: set[asyncio.Future[Any]] = {report, exited}
            await asyncio.wait(waiting, timeout=0.5, return_when="FIRST_COMPLETED")
            if report.done():
                found = report.result()
                if found.get("error") and found.get("error") != "encryption":
                    raise KernelStartError(f"{job.label}: {found['error']}")
                return found
            if exited.done():
                # Let the readers take in srun's last words before saying what went wrong.
                await asyncio.wait(job.tasks, timeout=2)
                if report.done():
                    continue
                raise await _early_end(job)
            now = loop.time()
            if now - last_query >= STATUS_INTERVAL:
                last_query = now
                state = await queue_state(job)
                if state is not None:
                    _follow(job, state)
            _check_timeouts(job, now, submitted)
            if job.phase is Phase.PENDING and now - submitted > job.queue_timeout:
                raise KernelStartError(
                    await _queue_timeout_message(job), diagnosis=_diagnosis(job, "queue-timeout")
                )
    finally:
        exited.cancel()


def _check_timeouts(job: SlurmJob, now: float, submitted: float) -> None:
    """The connect timeout: a job out of the queue whose kernel does not report."""
    if job.phase is Phase.PENDING:
        return  # the queue timeout, said with the job's place in the queue
    since = job.allocated_at if job.allocated_at is not None else submitted
    if now - since > job.connect_timeout:
        raise KernelStartError(
            f"{job.label}: job {job.job_id or job.name} got a node of partition "
            f"{job.partition}, but the kernel did not report its ports within "
            f"{seconds(job.connect_timeout)} (loading modules and starting "
            f"Python took too long, or the node is unwell). The job was "
            f"cancelled.{job.tail()}",
            diagnosis=_diagnosis(job, "connect-timeout"),
        )


async def queue_state(job: SlurmJob) -> slurm.JobState | None:
    """The job's state now (None: not known yet, or the controller does not answer)."""
    try:
        if job.job_id:
            found = await slurm.jobs([job.job_id])
            return found.get(job.job_id) or slurm.JobState(job.job_id, "GONE", "", "")
        for candidate in await slurm.jobs_with_prefix(job.name):
            if candidate.name == job.name:
                job.job_id = candidate.job_id
                jobs.hold(job.kernel_id, job.job_id)
                return candidate
    except slurm.SlurmError as err:
        job.log.debug("Kernel %s: no job state (%s)", job.kernel_id, err)
    return None


def _follow(job: SlurmJob, state: slurm.JobState) -> None:
    """Take in a state of a starting job; log and record it when it changed."""
    if state.state == "PENDING":
        job.advance(Phase.PENDING)
    elif state.active:
        if job.phase is Phase.PENDING or job.allocated_at is None:
            job.allocated_at = asyncio.get_running_loop().time()
        job.advance(Phase.STARTING)
    else:
        raise KernelStartError(
            ended_while_starting(job, state), diagnosis=_diagnosis(job, _end_kind(state))
        )
    seen = (state.state, state.reason, state.start)
    if seen == job.reported:
        return
    job.reported = seen
    message = queue_message(state)
    job.log.info("Kernel %s %s: job %s %s", job.kernel_id, job.label, state.job_id, message)
    job.record(
        job_id=state.job_id,
        state=state.state,
        reason=state.reason,
        start=state.start,
        message=message,
    )


async def _queue_timeout_message(job: SlurmJob) -> str:
    state = await queue_state(job)
    where = f"job {job.job_id}" if job.job_id else f"job {job.name}"
    why = queue_message(state) if state is not None else "pending"
    return (
        f"{job.label}: no node of partition {job.partition} became free within "
        f"{seconds(job.queue_timeout)}: {where} was still waiting in the queue ({why}). The "
        "job was cancelled. Ask for fewer resources or a shorter time, choose another "
        "partition, or try again later."
    )


def ended_while_starting(job: SlurmJob, state: slurm.JobState) -> str:
    """A job that was cancelled or ended before its kernel reported, in one sentence."""
    during = "waiting in the queue" if job.phase is Phase.PENDING else "starting"
    if state.state.startswith("CANCELLED"):
        return f"{job.label}: job {state.job_id} was cancelled while the kernel was {during}."
    return (
        f"{job.label}: job {state.job_id} ended ({state.state.lower()}) while the kernel was "
        f"{during}.{job.tail()}"
    )


async def _early_end(job: SlurmJob) -> KernelStartError:
    """srun ended before the kernel reported: the error saying how (cancelled, or its end)."""
    assert job.proc is not None
    state = await queue_state(job) if job.job_id else None
    if state is not None and state.state.startswith("CANCELLED"):
        return KernelStartError(
            ended_while_starting(job, state), diagnosis=_diagnosis(job, "cancelled")
        )
    ended = f", job {job.job_id} {state.state}" if state is not None else ""
    return KernelStartError(
        f"{job.label}: the kernel's job ended before the kernel started (srun exit status "
        f"{job.proc.returncode}{ended}).{job.tail() or ' srun said nothing.'}",
        diagnosis=_diagnosis(job, "ended"),
    )


def _end_kind(state: slurm.JobState) -> str:
    return "cancelled" if state.state.startswith("CANCELLED") else "ended"


def _diagnosis(job: SlurmJob, kind: str) -> dict[str, Any]:
    """A failed Slurm start's diagnosis: another kernel (partition, resources) is the fix."""
    return diagnosis.of(kind, job.env, job.partition, [job.job_id] if job.job_id else [])
