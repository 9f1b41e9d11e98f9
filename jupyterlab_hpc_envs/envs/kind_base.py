"""What an environment kind (a venv, a conda environment) must say, as one interface.

The service, the builder and the package operations ask the environment's kind; none of them tests
which kind it is. A kind knows its checks before creation, its build and launch scripts, how one
made by hand is adopted, and which package operations change it.
"""

from __future__ import annotations

import os
import re
import time
from dataclasses import dataclass, field
from typing import Any

from .. import files
from ..config import HpcEnvs
from ..site import PartitionInfo, Site, StorageRoot
from . import conda, scripts
from .kernels import KernelRegistry
from .manifest import READY, Build, Manifest
from .package_ops import PackageOps
from .placement import Placement
from .storage import Storage


@dataclass
class CreateRequest:
    """A creation request's kind-specific fields, as the handler or CLI received them."""

    modules: object = ()
    packages: object = ()
    requirements: object = None
    options: object = None
    python: object = None
    channels: object = None


@dataclass
class Draft:
    """A new environment's checked modules, package specs and options, before its folder exists."""

    modules: list[str]
    specs: list[str]
    options: dict[str, Any] = field(default_factory=dict)


@dataclass
class KindTools:
    """What every kind works with: the site, storage, placement, kernels and conda engines."""

    config: HpcEnvs
    site: Site
    storage: Storage
    placement: Placement
    engines: conda.Engines
    kernels: KernelRegistry

    def context(self) -> scripts.ScriptContext:
        """How the scripts load modules on this site."""
        return scripts.ScriptContext(
            module_kind=self.site.modules.kind,
            module_init=self.site.modules.init_bash,
            arch_variable=self.config.arch_variable,
            base_modules=list(self.config.base_modules),
        )


class Kind:
    """One kind of environment. Subclasses fill in every method; the defaults are what a kind
    without that feature does."""

    name = ""
    changes: PackageOps

    def __init__(self, tools: KindTools) -> None:
        self.tools = tools

    # --- creation -----------------------------------------------------------------------------

    def draft(self, request: CreateRequest) -> Draft:
        """The request's checks that need no partition: bad input refused before anything."""
        raise NotImplementedError

    async def complete(self, draft: Draft, part: PartitionInfo, storage: StorageRoot) -> None:
        """The checks that need the partition and storage root (modules there, an engine)."""
        raise NotImplementedError

    async def check_rebuild(self, env: Manifest, part: PartitionInfo) -> None:
        """What must hold before ``env`` is built for ``part`` (its modules exist there)."""

    # --- building and launching ---------------------------------------------------------------

    def prefix(self, home: str, arch: str) -> str:
        """The folder of the build of ``arch`` inside the environment's folder."""
        return os.path.join(home, f"{self.name}-{arch}")

    async def module_path(self, env: Manifest, part: PartitionInfo) -> list[str]:
        """The modules a build for ``part`` loads in order, where that is not ``env.modules``
        as they are (a module hierarchy); empty otherwise."""
        return []

    def build_params(self, env: Manifest) -> dict[str, Any]:
        """What the build task records besides home, arch and prefix."""
        return {}

    def build_script(self, env: Manifest, build: Build, launch: str) -> str:
        """The bash script that makes the build and smoke-tests it."""
        raise NotImplementedError

    def launch_script(self, env: Manifest, build: Build, path: str) -> str:
        """The text of the launch script at ``path`` that activates the build."""
        raise NotImplementedError

    async def after_change(self, env: Manifest, build: Build) -> str | None:
        """Refresh what the build's activation needs after a change; the problem, or ``None``."""
        return None

    # --- adoption -----------------------------------------------------------------------------

    def can_adopt(self, path: str) -> bool:
        """Whether ``path`` is an environment of this kind made by hand."""
        raise NotImplementedError

    async def adopt(
        self, path: str, *, name: object, modules: object, partition: object
    ) -> dict[str, Any]:
        """Register the environment at ``path`` made by hand."""
        raise NotImplementedError

    def write_launch(self, env: Manifest, build: Build) -> str:
        """Write the build's launch script (0755); its path."""
        path = self.tools.storage.launch_path(env, build.arch)
        files.write_atomic(path, self.launch_script(env, build, path), 0o755)
        return path

    async def _register_adopted(
        self,
        env_name: str,
        modules: list[str],
        specs: list[str],
        opts: dict[str, Any],
        build: Build,
        part: PartitionInfo,
    ) -> tuple[Manifest, str | None]:
        """The adopted environment's folder, manifest and launch script, and whether it works
        (the problem, or ``None``); the caller removes the folder on a problem."""
        storage = self.tools.site.storage_root(None)
        env = await self.tools.storage.new_home(
            storage.path, env_name, self.name, modules, specs, opts, {build.arch: build}
        )
        launch = self.write_launch(env, env.builds[build.arch])
        problem = await self.after_change(env, env.builds[build.arch])
        return env, problem or await self.tools.placement.smoke_test(launch, part)


def adopted_build(arch: str, path: str, part: PartitionInfo, python: str) -> Build:
    """The ready build of an environment made by hand."""
    return Build(
        arch=arch,
        path=path,
        state=READY,
        built_partition=part.name,
        adopted=True,
        python=python,
        finished=time.time(),
    )


def adopted_name(base: str) -> str:
    """An environment name made of a folder's name."""
    return re.sub(r"[^A-Za-z0-9_-]", "-", base).strip("-") or "adopted"


def listed(value: object) -> object:
    """A list given as a tuple is a list; anything else as given (the validators say what)."""
    return list(value) if isinstance(value, (list, tuple)) else value
