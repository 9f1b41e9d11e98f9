"""Package changes of a conda environment: through its engine, as tasks.

``install``, ``update``, ``update-all`` and ``remove`` are the engine's (the site documentation's
``conda install``, ``conda update``, ``conda update --all``, ``conda remove``). pip is used only
for a package that none of the environment's channels has (conda first, pip last); such packages
are recorded apart (``options.pip_packages``) and installed after the conda packages by a rebuild.
"""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from typing import Any

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from .. import errors, names
from ..config import HpcEnvs
from ..site import PartitionInfo, slurm
from ..tasks import Task, TaskFailed, TaskManager, TaskRecord
from . import conda, manifest
from .manifest import Build, Manifest
from .package_ops import PIP_INSTALL, PackageOps, merge_specs
from .placement import Placement
from .storage import Storage

VERBS = {
    "install": "Install",
    "update": "Update",
    "update-all": "Update all packages",
    "remove": "Remove",
}


@dataclass
class CondaChange:
    """One checked change: the conda specs it names, what goes to pip, and the manifest after."""

    action: str
    wanted: list[str]
    pip_specs: list[str] = field(default_factory=list)
    pip_removed: list[str] = field(default_factory=list)
    requested: list[str] = field(default_factory=list)
    new_packages: list[str] = field(default_factory=list)
    argv: list[str] | None = None
    channels: list[str] = field(default_factory=list)
    engine_label: str = ""


def cache_folder(config: HpcEnvs, envs_folder: str) -> str:
    """The rattler engine's package cache: in the storage root, never in the home folder."""
    return config.conda_pkgs_dir or os.path.join(envs_folder, conda.PKGS_FOLDER)


def requested_specs(env: Manifest) -> list[str]:
    """The whole list of requested specs of a conda build, as its build asks for them."""
    python = env.options.get("python")
    specs = [*([f"python={python}"] if python else []), *env.packages]
    if not any(conda.spec_name(s) == "ipykernel" for s in specs):
        specs.append("ipykernel")  # the kernel's own package, as a conda package
    return specs


def _merge_conda(current: list[str], added: list[str]) -> list[str]:
    """Conda specs with ``added`` replacing any spec of the same package."""
    names_added = {conda.spec_name(a) for a in added}
    return [c for c in current if conda.spec_name(c) not in names_added] + added


class CondaChanges(PackageOps):
    """install, update, update all and remove in a conda environment; ``after_change`` is its
    kind's activation refresh (the rattler engine's activation file)."""

    def __init__(
        self,
        storage: Storage,
        placement: Placement,
        tasks: TaskManager,
        engines: conda.Engines,
        after_change: Callable[[Manifest, Build], Awaitable[str | None]],
    ) -> None:
        super().__init__(storage, placement, tasks)
        self.config = storage.config
        self.engines = engines
        self.after_change = after_change

    def annotate(self, data: dict[str, Any], env: Manifest, build: Build) -> None:
        """The conda packages of ``conda-meta``, and which pip distribution is a conda one."""
        rows = conda.installed(build.path)
        data["conda_packages"] = rows
        data["pip_packages"] = list(env.options.get("pip_packages") or [])
        by_name = {canonicalize_name(r["name"]): r["name"] for r in rows}
        for row in data["packages"]:
            row["conda"] = by_name.get(row["key"])

    async def install(
        self,
        env: Manifest,
        part: PartitionInfo,
        build: Build,
        specs: object,
        requirements: object,
        upgrade: object,
    ) -> TaskRecord:
        """``conda install`` (``conda update`` with ``upgrade``)."""
        if not isinstance(upgrade, bool):
            raise errors.InvalidInput("upgrade", "upgrade must be true or false.")
        action = "update" if upgrade else "install"
        return await self._change(env, part, build, action, specs, requirements)

    async def uninstall(
        self,
        env: Manifest,
        part: PartitionInfo,
        build: Build,
        packages: list[object] | tuple[object, ...],
    ) -> TaskRecord:
        """``conda remove`` (or pip uninstall of what pip installed)."""
        return await self._change(env, part, build, "remove", packages, None)

    async def update_all(self, env: Manifest, part: PartitionInfo, build: Build) -> TaskRecord:
        """``conda update --all``: every package of a conda environment to the newest the channels
        allow (Python stays in its minor series, as conda keeps it)."""
        return await self._change(env, part, build, "update-all", [], None)

    def _checked(
        self, env: Manifest, build: Build, action: str, specs: object, requirements: object
    ) -> CondaChange:
        """The change's specs, refused before anything runs if they cannot be done."""
        installed = {canonicalize_name(r["name"]) for r in conda.installed(build.path)}
        if action in ("install", "update"):
            wanted = conda.conda_specs(list(specs) if isinstance(specs, (list, tuple)) else specs)
            if requirements not in (None, ""):
                wanted += conda.conda_requirements(requirements)
            if not wanted:
                raise errors.InvalidInput("packages", "Give at least one package.")
        elif action == "remove":
            return self._checked_removal(env, installed, specs)
        else:
            wanted = []
        if action == "update":
            absent = [w for w in wanted if canonicalize_name(conda.spec_name(w)) not in installed]
            if absent:
                raise errors.InvalidInput(
                    "packages",
                    f"{', '.join(absent)} is not installed in {env.name}: install it instead.",
                )
        return CondaChange(action, wanted)

    def _checked_removal(
        self, env: Manifest, installed: AbstractSet[str], specs: object
    ) -> CondaChange:
        """A removal: bare names of installed packages (pip's apart), never the kernel's own."""
        pip_installed = {
            canonicalize_name(Requirement(p).name) for p in env.options.get("pip_packages") or []
        }
        if not isinstance(specs, (list, tuple)):
            raise errors.InvalidInput("packages", "Give the names of the packages to remove.")
        wanted = [conda.package_name(p) for p in specs]
        protected = set(names.KEPT_PACKAGES["conda"]) & {canonicalize_name(w) for w in wanted}
        if protected:
            raise errors.InvalidInput(
                "packages", f"{', '.join(sorted(protected))} must stay: the kernel needs it."
            )
        pip_removed = [w for w in wanted if canonicalize_name(w) in pip_installed]
        wanted = [w for w in wanted if w not in pip_removed]
        absent = [w for w in wanted if canonicalize_name(w) not in installed]
        if absent:
            raise errors.InvalidInput(
                "packages",
                f"{', '.join(absent)} is not a conda package of {env.name}: only installed "
                "packages can be removed.",
            )
        return CondaChange("remove", wanted, pip_removed=pip_removed)

    @staticmethod
    def _plan(change: CondaChange, env: Manifest, build: Build) -> None:
        """What the engine is asked for as a whole, and the manifest's packages after."""
        current = requested_specs(env)
        new_packages = list(env.packages)
        wanted = change.wanted
        if change.action == "install":
            requested = _merge_conda(current, wanted)
            new_packages = _merge_conda(new_packages, wanted)
        elif change.action == "update":
            # conda update NAME: the package may move to any version, unless one is given.
            requested = _merge_conda(current, wanted)
            given = {conda.spec_name(w): w for w in wanted}
            new_packages = [given.get(conda.spec_name(p), p) for p in new_packages]
        elif change.action == "update-all":
            python = conda.python_of(build.path)
            series = ".".join(python.split(".")[:2])
            requested = [conda.spec_name(s) for s in current if conda.spec_name(s) != "python"]
            requested.append(f"python {series}.*" if series else "python")
            new_packages = [conda.spec_name(p) for p in new_packages]
        else:
            gone = {conda.spec_name(w) for w in wanted}
            requested = [s for s in current if conda.spec_name(s) not in gone]
            new_packages = [p for p in new_packages if conda.spec_name(p) not in gone]
        change.requested = requested
        change.new_packages = new_packages

    async def _change(
        self,
        env: Manifest,
        part: PartitionInfo,
        build: Build,
        action: str,
        specs: object,
        requirements: object,
    ) -> TaskRecord:
        """One change of a conda environment through its engine, as a task."""
        change = self._checked(env, build, action, specs, requirements)
        self.no_task_running(env)
        engine = await self.engines.for_environment(env.options.get("engine"))
        change.channels = list(env.options.get("channels") or self.config.conda_channels)
        change.engine_label = engine.label
        cache = cache_folder(self.config, os.path.dirname(env.home))
        if action == "install":
            change.wanted, change.pip_specs = await engine.split_by_channels(
                change.wanted, change.channels, cache
            )
        self._plan(change, env, build)
        what = ", ".join([*change.wanted, *change.pip_specs, *change.pip_removed])
        title = f"{VERBS[action]} {what} in {env.name} ({part.name})".replace("  ", " ")

        async def run(task: Task, part: PartitionInfo, build: Build) -> dict[str, Any]:
            if change.wanted or action == "update-all":  # the build's own prefix
                change.argv = engine.command(
                    action,
                    build.path,
                    specs=change.wanted,
                    requested=change.requested,
                    channels=change.channels,
                    cache=cache,
                )
            return await self._run(task, change, env, part, build)

        return self.start(env, part, build, title, run, action=action, specs=change.wanted)

    async def _run(
        self, task: Task, change: CondaChange, env: Manifest, part: PartitionInfo, build: Build
    ) -> dict[str, Any]:
        """The task: the engine, then pip for what no channel has, then the activation."""
        action = change.action
        task.log(f"Engine: {change.engine_label}; channels: {', '.join(change.channels)}")
        if change.argv is not None:
            task.set_step(f"conda {action}")
            code = await task.run(
                self.placement.on_partition(part, change.argv, f"{slurm.JOB_PREFIX}-packages"),
                env=self.placement.environ_for(part),
                cwd=env.home,
            )
            if code != 0:
                raise TaskFailed(
                    f"The conda engine could not {action.replace('-', ' ')} "
                    f"{', '.join(change.wanted) or 'the packages'} in {env.name} (exit {code}); a "
                    "solve that fails changes nothing. See the log for the engine's reason."
                )
        await self._pip_steps(task, change, env, part, build)
        task.set_step("activation")
        problem = await self.after_change(env, build)
        if problem:
            raise TaskFailed(f"The environment changed, but its activation failed: {problem}")
        gone_pip = {canonicalize_name(p) for p in change.pip_removed}
        with manifest.updating(env.home) as m:
            m.packages = change.new_packages
            m.builds[build.arch].encryption = ""  # ipykernel may have changed: check again
            kept = [
                p
                for p in m.options.get("pip_packages") or []
                if canonicalize_name(Requirement(p).name) not in gone_pip
            ]
            pip_specs = change.pip_specs
            m.options["pip_packages"] = merge_specs(kept, pip_specs) if pip_specs else kept
        return {"action": action, "packages": change.wanted, "pip": change.pip_specs}

    async def _pip_steps(
        self, task: Task, change: CondaChange, env: Manifest, part: PartitionInfo, build: Build
    ) -> None:
        """pip install what no channel has, pip uninstall what pip installed."""
        if change.pip_specs:
            task.log(
                f"{', '.join(change.pip_specs)} is in none of the channels: installed with pip, "
                "after the conda packages."
            )
            task.set_step("pip install")
            code = await self.run_in_env(task, env, part, build, [*PIP_INSTALL, *change.pip_specs])
            if code != 0:
                raise TaskFailed(
                    f"pip could not install {', '.join(change.pip_specs)}; see the log."
                )
        if change.pip_removed:
            task.set_step("pip uninstall")
            argv_pip = ["python", "-m", "pip", "uninstall", "--yes", *change.pip_removed]
            code = await self.run_in_env(task, env, part, build, argv_pip)
            if code != 0:
                raise TaskFailed(f"pip uninstall failed (exit {code}); see the log.")
