"""Kernel registration: the kernelspec of an environment's build, per partition.

A build serves every partition of its arch; each partition gets its own kernelspec (its own
kernel name and the partition its kernel jobs go to), written into the user's kernels folder.
"""

from __future__ import annotations

import os
from collections.abc import Callable

from .. import errors
from ..config import HpcEnvs
from ..site import PartitionInfo, Site
from . import kernelspec, manifest
from .manifest import READY, Build, Manifest
from .storage import Storage


class KernelRegistry:
    """Writes and refreshes the kernelspecs of ready builds. ``write_launch`` (the kinds' launch
    script writer) is given, not imported: the kinds register kernels when they adopt."""

    def __init__(
        self,
        config: HpcEnvs,
        site: Site,
        storage: Storage,
        write_launch: Callable[[Manifest, Build], str],
    ) -> None:
        self.config = config
        self.site = site
        self.storage = storage
        self.write_launch = write_launch

    def _launch(self, env: Manifest, build: Build, part: PartitionInfo) -> str:
        """The launch script the kernel starts: rewritten for one's own environment; of one
        shared by another, theirs, checked by the ownership rule and never written."""
        trust = self.storage.trust(env)
        if trust.mine:
            return self.write_launch(env, build)
        launch = self.storage.checked_script(env, self.storage.launch_path(env, build.arch))
        if not os.path.isfile(launch):
            raise errors.Conflict(
                f"{env.name} (shared by {trust.owner_name}) has no launch script for {build.arch}: "
                f"ask {trust.owner_name} to register it on partition {part.name} once."
            )
        return launch

    def register_kernel(self, env: Manifest, part: PartitionInfo) -> str:
        """(Re)write the launch script and the kernelspec of the build for ``part``'s arch."""
        arch = part.arch or ""
        build = env.builds.get(arch)
        if build is None or build.state != READY:
            raise errors.Conflict(
                f"{env.name} has no ready build for {arch or part.name}: build it for "
                f"partition {part.name} first."
            )
        trust = self.storage.trust(env)
        launch = self._launch(env, build, part)
        name = kernelspec.kernel_name(env.name, part.name)
        existing = kernelspec.read(self.config.kernels_dir, name)
        meta = (existing or {}).get("metadata", {}).get("hpc_envs") or {}
        if existing is not None and (
            meta.get("path") != env.home or meta.get("partition") != part.name
        ):
            # hpcenv-x-gpu-long is both (x-gpu, long) and (x, gpu-long): never overwrite another's.
            raise errors.Conflict(
                f"The kernel name {name} is taken by {meta.get('name', 'another kernel')} on "
                f"{meta.get('partition', '?')}: rename this environment to register it here.",
                field="name",
            )
        # The user's resource choices for this kernel (time, CPUs, …) survive a re-registration.
        chosen = (existing or {}).get("metadata", {}).get("kernel_provisioner", {}).get("config")
        config = {**(chosen if isinstance(chosen, dict) else {}), "partition": part.name}
        kernelspec.write(
            self.config.kernels_dir,
            name,
            kernelspec.spec(
                env=env.name,
                kind=env.kind,
                home=env.home,
                prefix=build.path,
                launch=launch,
                arch=arch,
                partition=part.name,
                modules=env.modules,
                provisioner_config=config,
                owner=trust.owner,
                shared=trust.shared,
            ),
        )
        if trust.mine:
            with manifest.updating(env.home) as m:
                b = m.builds[arch]
                if part.name not in b.partitions:
                    b.partitions.append(part.name)
        return name

    async def register(self, env: Manifest, partition: object = None) -> list[str]:
        """Reactivate: register again the kernels of every ready build (or of one partition)."""
        parts = await self.site.partitions()
        wanted = (
            (await self.site.partition(partition)).name if partition not in (None, "") else None
        )
        registered = []
        for part in parts:
            if wanted and part.name != wanted:
                continue
            build = env.builds.get(part.arch or "")
            if build is None or build.state != READY:
                continue
            if wanted or part.name in build.partitions or part.name == build.built_partition:
                registered.append(self.register_kernel(env, part))
        if wanted and not registered:
            raise errors.Conflict(
                f"{env.name} has no ready build for partition {wanted}: rebuild it there."
            )
        return registered
