"""Placement: where a command of an environment runs, and with which environment variables.

A build, a package change or a smoke test runs on a node of the partition it is
for: here when the partition is this node's (or Slurm is off), else as a Slurm job step. This is
the one place that decides it, so that builds and package operations never decide it themselves.
"""

from __future__ import annotations

import os

from .. import errors, proc
from ..config import HpcEnvs
from ..site import PartitionInfo, Site, slurm


class Placement:
    """Runs commands on a partition's node: the argv (as is, or through ``srun``), its
    environment variables, and the partition's CPU architecture (learned by a probe if unknown)."""

    def __init__(self, config: HpcEnvs, site: Site) -> None:
        self.config = config
        self.site = site

    def on_partition(
        self, part: PartitionInfo, argv: list[str], job_name: str, time_limit: str = "10"
    ) -> list[str]:
        """``argv`` as it runs on a node of ``part``: as is here, or as a Slurm job step there."""
        if part.local or not self.site.slurm_enabled:
            return argv
        return [
            "srun",
            f"--partition={part.name}",
            f"--job-name={job_name}",
            f"--time={time_limit}",
            "--nodes=1",
            "--ntasks=1",
            "--unbuffered",
            *self.config.build_srun_options,
            *argv,
        ]

    def environ_for(self, part: PartitionInfo) -> dict[str, str]:
        """The environment of a command run with :meth:`on_partition`: here, the server's minus
        its own Python; as a Slurm job, also minus the enclosing job's and this node's arch."""
        env = clean_environ()
        if part.local or not self.site.slurm_enabled:
            return env
        return slurm.job_environ(env, drop=(self.config.arch_variable,))

    async def smoke_test(self, launch: str, part: PartitionInfo) -> str | None:
        """Start Python with ipykernel through a launch script; the problem, or ``None``."""
        argv = self.on_partition(
            part, [launch, "python", "-c", "import ipykernel"], f"{slurm.JOB_PREFIX}-check"
        )
        try:
            code, out, err = await proc.run(
                argv, timeout=300, env=self.environ_for(part), cwd=os.path.dirname(launch)
            )
        except proc.CommandError as error:
            return str(error)
        if code == 0:
            return None
        lines = (err.strip() or out.strip()).splitlines()
        return lines[-1] if lines else f"exit status {code}"

    async def resolve_arch(self, part: PartitionInfo) -> str:
        """The partition's arch: from the site description, else learned from one of its nodes
        (a probe job, see site/probe.py; :class:`errors.SlurmError` says why it could not run)."""
        await self.site.learned(part)
        if part.arch:
            return part.arch
        if not self.site.slurm_enabled:
            return self.site.arch
        raise errors.Conflict(
            f"Cannot tell the CPU architecture of partition {part.name}. Ask your admins to "
            "describe it in the site file (HpcEnvs.partitions)."
        )


def clean_environ() -> dict[str, str]:
    """For builds and pip: the server's environment minus what would leak the server's Python."""
    env = dict(os.environ)
    for var in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV", "CONDA_PREFIX", "PYTHONSTARTUP"):
        env.pop(var, None)
    env["PYTHONNOUSERSITE"] = "1"
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    # Logs are read in a browser: no progress bars drawn with carriage returns, no colour codes.
    env["PIP_PROGRESS_BAR"] = "off"
    env["PIP_NO_COLOR"] = "1"
    return env
