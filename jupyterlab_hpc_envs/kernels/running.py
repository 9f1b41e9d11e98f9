"""The running kernels of an environment: named in a removal's confirmation, stopped with it.

A kernel runs here (a local kernel of this server) or in a Slurm job (started by this server or
by another process of the user: the per-user record of :mod:`.jobs` lists those). A removal that
deleted the environment under them would leave jobs holding nodes, and kernels whose interpreter
is gone; with the user's consent, the removal stops them first: through the server's kernel
manager for its own kernels (their provisioner cancels their jobs), by cancelling the job for the
others.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterable
from typing import Any

from .. import errors
from ..config import HpcEnvs
from ..site import slurm
from .jobs import KernelJobs, cancel_kernel_job

log = logging.getLogger(__name__)


async def running_kernels(
    kernel_manager: Any,
    session_manager: Any,
    config: HpcEnvs,
    env: str,
    kernels: Iterable[str],
    partition: str | None = None,
) -> list[dict[str, Any]]:
    """The kernels running on the kernelspecs ``kernels`` of ``env`` (of ``partition`` only when
    given): ``{kernel_id, kernel, partition, job_id, notebook}`` each, the notebook from the
    server's sessions (``''`` for a kernel without one)."""
    names = set(kernels)
    found: dict[str, dict[str, Any]] = {}
    if kernel_manager is not None:
        for model in kernel_manager.list_kernels():
            if model.get("name") in names:
                found[model["id"]] = {
                    "kernel_id": model["id"],
                    "kernel": model["name"],
                    "partition": "",
                    "job_id": "",
                    "notebook": "",
                }
    with contextlib.suppress(OSError):
        for entry in KernelJobs(config.data_dir).list():
            if entry.get("ended") or entry.get("env") != env:
                continue
            if partition and entry.get("partition") != partition:
                continue
            kernel_id = str(entry.get("kernel_id") or "")
            item = found.setdefault(
                kernel_id,
                {"kernel_id": kernel_id, "kernel": "", "notebook": ""},
            )
            item.update(
                job_id=str(entry.get("job_id") or ""), partition=str(entry.get("partition") or "")
            )
    if session_manager is not None and found:
        for session in await session_manager.list_sessions():
            session_kernel = str((session.get("kernel") or {}).get("id") or "")
            if session_kernel in found:
                found[session_kernel]["notebook"] = session.get("path") or ""
    return sorted(found.values(), key=lambda k: (k["notebook"], k["kernel_id"]))


async def stop_kernels(
    kernel_manager: Any, config: HpcEnvs, running: Iterable[dict[str, Any]]
) -> list[str]:
    """Stop the kernels of :func:`running_kernels`: shut down the server's own (their provisioner
    cancels their Slurm job), cancel the job of the others; what was stopped, for the reply."""
    stopped: list[str] = []
    for kernel in running:
        kernel_id = kernel["kernel_id"]
        if kernel_manager is not None and kernel_id in kernel_manager:
            await kernel_manager.shutdown_kernel(kernel_id, now=True)
            stopped.append(f"kernel {kernel_id}")
        elif kernel.get("job_id"):
            try:
                await cancel_kernel_job(config, kernel_id)
            except (errors.NotFound, slurm.SlurmError) as err:
                log.warning("Cannot cancel the kernel job %s: %s", kernel["job_id"], err)
                continue
            stopped.append(f"job {kernel['job_id']}")
    return stopped


async def kernel_jobs(
    config: HpcEnvs, env: str, kernels: Iterable[str], partition: str | None = None
) -> list[dict[str, Any]]:
    """The Slurm kernel jobs of ``env`` (of ``partition`` only when given) that still wait or
    run, for a process without a kernel manager (the command line): the user's record, checked
    against ``squeue`` (a record whose job is gone runs nothing)."""
    recorded = [
        k for k in await running_kernels(None, None, config, env, kernels, partition) if k["job_id"]
    ]
    if not recorded or not await slurm.used(config.use_slurm):
        return []
    states = await slurm.jobs([k["job_id"] for k in recorded])
    return [
        {**k, "state": states[k["job_id"]].state}
        for k in recorded
        if k["job_id"] in states and states[k["job_id"]].active
    ]
