"""What package operations of every kind share: running in the environment, one task at a time,
and the package listing (read inside the launch script, see :mod:`.packages`)."""

from __future__ import annotations

import json
import os
from collections.abc import Awaitable, Callable
from typing import Any

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from .. import errors, proc
from ..site import PartitionInfo, slurm
from ..tasks import Task, TaskManager, TaskRecord
from . import lock
from .manifest import Build, Manifest
from .placement import Placement
from .storage import Storage

PROBE = os.path.join(os.path.dirname(__file__), "probe.py")
PIP_INSTALL = ["python", "-m", "pip", "install", "--no-cache-dir", "--no-build-isolation"]


class PackageOps:
    """The package changes of one kind of environment (subclasses: pip, conda); what they share
    is here: where a command runs (the placement) and the listing of what is installed."""

    def __init__(self, storage: Storage, placement: Placement, tasks: TaskManager) -> None:
        self.storage = storage
        self.placement = placement
        self.tasks = tasks

    def in_env(
        self, env: Manifest, part: PartitionInfo, build: Build, argv: list[str]
    ) -> list[str]:
        """``argv`` run through the build's (checked) launch script on a node of ``part``."""
        launch = self.storage.checked_script(env, self.storage.launch_path(env, build.arch))
        return self.placement.on_partition(part, [launch, *argv], f"{slurm.JOB_PREFIX}-packages")

    def no_task_running(self, env: Manifest) -> None:
        """Refuse a change while another task works on the environment."""
        busy = self.tasks.running(env.name)
        if busy:
            raise errors.Conflict(
                f"{env.name} is busy ({busy[0].title}): wait for it to finish, then try again."
            )

    async def run_in_env(
        self, task: Task, env: Manifest, part: PartitionInfo, build: Build, argv: list[str]
    ) -> int:
        """Run ``argv`` in the build (see :meth:`in_env`) as a step of ``task``; its exit code."""
        return await task.run(
            self.in_env(env, part, build, argv),
            env=self.placement.environ_for(part),
            cwd=env.home,
        )

    def start(
        self,
        env: Manifest,
        part: PartitionInfo,
        build: Build,
        title: str,
        run: Callable[[Task], Awaitable[dict[str, Any]]],
        **params: object,
    ) -> TaskRecord:
        """Start a change as a task, after checking again that no other task works on the
        environment (with no await in between: the awaits before let another request in)."""
        self.no_task_running(env)

        async def run_and_lock(task: Task) -> dict[str, Any]:
            try:
                return await run(task)
            finally:  # the lock follows what is installed now, whether the change worked or not
                try:
                    await lock.refresh(self.listing, env.home, part, build.arch)
                except Exception as err:  # noqa: BLE001 - the change itself is done
                    task.log(f"Note: the lock could not be taken again: {err}")

        return self.tasks.start(
            "packages",
            title,
            run_and_lock,
            env=env.name,
            partition=part.name,
            params={"home": env.home, "arch": build.arch, **params},
        )

    async def listing(self, env: Manifest, part: PartitionInfo, build: Build) -> dict[str, Any]:
        """The probe's listing of every distribution Python sees in the build."""
        with open(PROBE, "rb") as f:
            probe = f.read()
        argv = self.in_env(env, part, build, ["python", "-"])
        try:
            code, out, err = await proc.run(
                argv, timeout=300, env=self.placement.environ_for(part), cwd=env.home, stdin=probe
            )
        except proc.CommandError as error:
            raise errors.Conflict(f"Listing the packages of {env.name} failed: {error}") from None
        if code != 0:
            tail = " ".join(err.strip().splitlines()[-3:])
            raise errors.Conflict(f"Listing the packages of {env.name} failed: {tail}")
        try:
            data: dict[str, Any] = json.loads(out.strip().splitlines()[-1])
        except (ValueError, IndexError):
            raise errors.Conflict(f"The package probe of {env.name} printed no JSON.") from None
        if "error" in data:
            raise errors.Conflict(data["error"])
        return data

    def annotate(self, data: dict[str, Any], env: Manifest, build: Build) -> None:
        """Add what this kind knows to a listing (a conda environment: its conda packages)."""

    async def install(
        self,
        env: Manifest,
        part: PartitionInfo,
        build: Build,
        specs: object,
        requirements: object,
        upgrade: object,
    ) -> TaskRecord:
        """Install (or upgrade) packages, as a task."""
        raise NotImplementedError

    async def uninstall(
        self,
        env: Manifest,
        part: PartitionInfo,
        build: Build,
        packages: list[object] | tuple[object, ...],
    ) -> TaskRecord:
        """Remove packages, as a task."""
        raise NotImplementedError

    async def update_all(self, env: Manifest, part: PartitionInfo, build: Build) -> TaskRecord:
        """Every package to the newest allowed, as a task."""
        raise NotImplementedError


def merge_specs(current: list[str], added: list[str]) -> list[str]:
    """The recorded specs with ``added`` replacing any spec of the same distribution."""
    names_added = {canonicalize_name(Requirement(a).name) for a in added}
    kept = [c for c in current if canonicalize_name(Requirement(c).name) not in names_added]
    return kept + added
