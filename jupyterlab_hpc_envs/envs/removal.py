"""Removal of environments, of one partition's kernel and build, and what a removal would do.

A removal never follows a link out of an environment's folder (see :mod:`..ownership`), keeps what
was made outside the extension (adopted builds), and removes the manifest last, so that a removal
stopped half-way (a file held on NFS) is an environment that can be removed again.
"""

from __future__ import annotations

import contextlib
import os
from typing import Any

from .. import errors, names, ownership
from ..config import MANIFEST
from . import kernelspec, manifest
from .manifest import Build, Manifest
from .storage import Storage


class Removal:
    """Removes environments, kernels and builds; of an environment shared by another user only
    that user's own kernels."""

    def __init__(self, storage: Storage) -> None:
        self.storage = storage
        self.config = storage.config
        self.tasks = storage.tasks

    def remove(self, name: object, partition: object = None) -> dict[str, Any]:
        """Remove one partition's kernel (and its build when no kernel uses it), or everything.
        Of an environment shared by another: only this user's own kernel of one partition."""
        env = self.storage.get(name)
        mine = self.storage.trust(env).mine
        if not mine and partition in (None, ""):
            self.storage.require_owner(env)
        if self.tasks.running(env.name):
            raise errors.Conflict(
                f"{env.name} has a task running: wait for it or cancel it, then remove."
            )
        removed: list[str] = []
        kernels = kernelspec.ours(self.config.kernels_dir)
        wanted = names.partition(partition) if partition not in (None, "") else None
        for kname, meta in kernels.items():
            if meta.get("path") != env.home:
                continue
            if wanted and meta.get("partition") != wanted:
                continue
            kernelspec.remove(self.config.kernels_dir, kname)
            removed.append(f"kernel {kname}")
        if not mine:
            return {"removed": removed}
        try:
            if wanted:
                with manifest.updating(env.home) as m:
                    for arch, build in list(m.builds.items()):
                        goes = _removed_with_kernel(build, wanted)
                        if wanted in build.partitions:
                            build.partitions.remove(wanted)
                        if goes:
                            removed += self._delete_build(m, arch)
                return {"removed": removed}
            with manifest.locked(env.home):
                for arch in list(env.builds):
                    removed += self._delete_build(env, arch)
                # The manifest goes last: until then, a half-done removal is still an environment
                # that can be removed again. Nothing is followed out of the folder (a link is
                # removed itself, never its target).
                self.storage.check(env.home, self.storage.in_shared_root(env.home))
                ownership.remove_folder(env.home, keep_last=MANIFEST)
        except OSError as err:
            raise errors.Conflict(
                f"Removing {env.name} stopped at {err.filename or env.home}: {err.strerror or err}. "
                "A running kernel may hold files there (on NFS): stop its kernels and remove again."
            ) from None
        removed.append(f"folder {env.home}")
        return {"removed": removed}

    def remove_build(self, env: Manifest, arch: str) -> None:
        """Remove the build of ``arch`` (before building it again)."""
        with manifest.updating(env.home) as m:
            self._delete_build(m, arch)

    def _delete_build(self, env: Manifest, arch: str) -> list[str]:
        """Forget the build in ``env`` (the caller writes it); delete its folder unless made
        outside the extension, and its launch and activation files; what was deleted."""
        build = env.builds.pop(arch, None)
        if build is None:
            return []
        removed = []
        if not build.adopted and os.path.dirname(build.path) == env.home:
            with contextlib.suppress(FileNotFoundError):
                ownership.remove_entry(env.home, os.path.basename(build.path))
            removed.append(f"build {build.path}")
        for path in (self.storage.launch_path(env, arch), self.storage.activation_path(env, arch)):
            with contextlib.suppress(FileNotFoundError):
                ownership.remove_entry(env.home, os.path.basename(path))
        return removed

    def removal_plan(self, name: object, partition: object = None) -> list[str]:
        """What :meth:`remove` would delete, for the confirmation dialog."""
        env = self.storage.get(name)
        if partition in (None, ""):
            self.storage.require_owner(env)
        wanted = names.partition(partition) if partition not in (None, "") else None
        plan = [f"kernel {k}" for k in self.kernels_of(env, wanted)]
        if not self.storage.trust(env).mine:
            return plan  # another's environment: only this user's kernel
        for build in env.builds.values():
            if wanted and not _removed_with_kernel(build, wanted):
                continue
            if build.adopted or not names.within(build.path, env.home):
                plan.append(f"(kept: {build.path}, made outside this extension)")
            else:
                plan.append(f"build {build.path}")
        if not wanted:
            plan.append(f"folder {env.home}")
        return plan

    def kernels_of(self, env: Manifest, partition: str | None = None) -> list[str]:
        """The kernelspecs a removal of ``env`` (or of its ``partition``) deletes: the kernels
        whose running instances it stops when the user agrees."""
        return [
            k
            for k, meta in kernelspec.ours(self.config.kernels_dir).items()
            if meta.get("path") == env.home
            and (not partition or meta.get("partition") == partition)
        ]


def _removed_with_kernel(build: Build, partition: str) -> bool:
    """Whether removing ``partition``'s kernel removes the build too: when no other partition
    uses it any more (partitions of one arch share a build)."""
    others = [p for p in build.partitions if p != partition]
    return not others and (partition in build.partitions or build.built_partition == partition)
