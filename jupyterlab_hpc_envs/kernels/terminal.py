"""Terminals on another partition: an interactive shell in a Slurm job with the kernel's resources.

A terminal opened for a partition this server does not run on needs a node of that partition:
``srun --pty bash -l`` there. Without a time limit such a shell would hold its allocation as long
as the partition allows, so it asks for what the environment's kernel on that partition asks for
(its time limit, CPUs, memory, GPUs, account: the choice made in the kernel resources dialog, or
the partition's defaults). Its job is named ``hpc-envs-terminal:<env>:<partition>``: the kernel
jobs list shows it, and it can be cancelled from there like a kernel's.
"""

from __future__ import annotations

import shlex
from typing import Any

from .. import errors
from ..config import HpcEnvs
from ..site import slurm
from . import resources, walltime

TERMINAL_PREFIX = f"{slurm.JOB_PREFIX}-terminal:"
ID_PREFIX = "terminal:"  # the kernel_id of a terminal's entry in the kernel jobs list


def srun_argv(config: HpcEnvs, kernel: str) -> list[str]:
    """``srun`` with the resources of ``kernel`` (a kernelspec of an environment) and a job name
    the jobs list recognises, running a login shell with a pseudo-terminal."""
    view = resources.describe(config, kernel)
    effective = view.get("effective")
    if not effective:
        problem = view.get("problem") or {}
        raise errors.InvalidInput(
            str(problem.get("field") or "resources"),
            f"The kernel's resources cannot be used for a terminal: {problem.get('message', '')} "
            "Choose them again (Kernel resources…).",
        )
    chosen = resources.KernelResources(**effective)
    name = f"{TERMINAL_PREFIX}{view.get('env') or ''}:{chosen.partition}"
    return ["srun", *chosen.srun_options(), f"--job-name={name}", "--pty", "bash", "-l"]


def srun_line(config: HpcEnvs, kernel: str) -> str:
    """:func:`srun_argv` as one shell line, every word quoted."""
    return shlex.join(srun_argv(config, kernel))


async def terminal_jobs() -> list[dict[str, Any]]:
    """The user's terminal jobs in the queue, shaped as entries of the kernel jobs list."""
    found = await slurm.jobs_with_prefix(TERMINAL_PREFIX)
    entries = []
    for job in found:
        env, _, partition = job.name.removeprefix(TERMINAL_PREFIX).rpartition(":")
        entries.append(
            {
                "kernel_id": f"{ID_PREFIX}{job.job_id}",
                "kind": "terminal",
                "env": env,
                "partition": partition,
                "job_name": job.name,
                "job_id": job.job_id,
                "state": job.state,
                "reason": "" if job.reason in ("None", "(null)") else job.reason,
                "start": job.start,
                "message": "",
                **walltime.times(job),
            }
        )
    return entries


async def cancel_terminal(kernel_id: str) -> dict[str, Any]:
    """Cancel a terminal's job (``terminal:<job id>``): only a terminal job of this user."""
    job_id = kernel_id.removeprefix(ID_PREFIX)
    job = next((j for j in await terminal_jobs() if j["job_id"] == job_id), None)
    if job is None:
        raise errors.NotFound(f"No terminal job {job_id!r} of yours is in the queue.")
    await slurm.cancel(job_id)
    return {
        "kernel_id": kernel_id,
        "job_id": job_id,
        "job_name": job["job_name"],
        "cancelled": True,
    }
