"""Slurm: partitions from ``sinfo``, job state from ``squeue``, cancellation with ``scancel``.

Output is always requested in a fixed, separated format (``-o '%R|%a|...'``) and parsed by field,
never read as prose. ``sacct`` is not used: it fails on clusters without slurmdbd.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import asdict, dataclass
from typing import Any

from .. import proc

JOB_PREFIX = "hpc-envs"  # job names: hpc-envs-build:<env>, hpc-envs-kernel:<env>


class SlurmError(RuntimeError):
    """A Slurm command failed; the message carries what Slurm said."""


@dataclass
class Partition:
    name: str
    available: bool
    default: bool
    nodes: int
    cpus: str
    memory: str
    gres: str
    time_limit: str
    state: str

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def available() -> bool:
    return shutil.which("sinfo") is not None and shutil.which("srun") is not None


async def run(argv: list[str], timeout: float = 20.0) -> tuple[int, str, str]:
    """Run a Slurm client command without blocking the event loop."""
    try:
        return await proc.run(argv, timeout)
    except proc.CommandError as err:
        raise SlurmError(str(err)) from None


async def partitions() -> list[Partition]:
    """The partitions of the cluster, one entry each (sinfo prints one line per node state)."""
    code, out, err = await run(["sinfo", "-h", "-o", "%P|%a|%D|%c|%m|%G|%l|%T"])
    if code != 0:
        raise SlurmError(f"sinfo failed: {err.strip() or out.strip()}")
    found: dict[str, Partition] = {}
    for line in out.splitlines():
        fields = line.split("|")
        if len(fields) != 8:
            continue
        raw, avail, nodes, cpus, mem, gres, limit, state = fields
        name = raw.rstrip("*")
        if name in found:
            found[name].nodes += int(nodes) if nodes.isdigit() else 0
            continue
        found[name] = Partition(
            name=name,
            available=avail == "up",
            default=raw.endswith("*"),
            nodes=int(nodes) if nodes.isdigit() else 0,
            cpus=cpus,
            memory=mem,
            gres="" if gres == "(null)" else gres,
            time_limit=limit,
            state=state,
        )
    return list(found.values())


@dataclass
class JobState:
    job_id: str
    state: str  # PENDING, RUNNING, COMPLETED, CANCELLED, TIMEOUT, FAILED, ... or "GONE"
    reason: str
    start: str
    name: str = ""

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


async def job_state(job_id: str) -> JobState:
    """A job's state; ``GONE`` once Slurm no longer knows it (finished and purged)."""
    code, out, err = await run(["squeue", "-h", "--states=all", "-j", job_id, "-o", "%i|%T|%r|%S|%j"])
    if code != 0:
        if "Invalid job id" in err:
            return JobState(job_id, "GONE", "", "")
        raise SlurmError(f"squeue failed: {err.strip()}")
    for line in out.splitlines():
        fields = line.split("|")
        if len(fields) == 5 and fields[0].split("_")[0] == job_id:
            return JobState(fields[0], fields[1], fields[2], fields[3], fields[4])
    return JobState(job_id, "GONE", "", "")


async def jobs_named(prefix: str) -> list[JobState]:
    """The user's live jobs whose name starts with ``prefix``."""
    user = os.environ.get("USER") or os.environ.get("LOGNAME") or ""
    argv = ["squeue", "-h", "-o", "%i|%T|%r|%S|%j"]
    if user:
        argv += ["-u", user]
    code, out, err = await run(argv)
    if code != 0:
        raise SlurmError(f"squeue failed: {err.strip()}")
    jobs = []
    for line in out.splitlines():
        fields = line.split("|", 4)
        if len(fields) == 5 and fields[4].startswith(prefix):
            jobs.append(JobState(*fields))
    return jobs


async def cancel(job_id: str, signal: str | None = None) -> None:
    argv = ["scancel"]
    if signal:
        argv.append(f"--signal={signal}")
    argv.append(job_id)
    code, _, err = await run(argv)
    if code != 0 and "Invalid job id" not in err and "already completing" not in err:
        raise SlurmError(f"scancel {job_id} failed: {err.strip()}")
