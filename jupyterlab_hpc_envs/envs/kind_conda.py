"""The conda kind: an environment made by a conda engine (conda, mamba, micromamba, rattler) from
channels, without modules; activated by its engine in the launch script."""

from __future__ import annotations

import os
import shutil
from typing import Any

from .. import errors, names, proc
from ..config import ENVS_FOLDER
from ..site import PartitionInfo, StorageRoot
from ..tasks import TaskManager
from . import conda, scripts
from .conda_changes import CondaChanges, cache_folder, requested_specs
from .kind_base import CreateRequest, Draft, Kind, KindTools, adopted_build, adopted_name, listed
from .manifest import Build, Manifest
from .placement import clean_environ


class CondaKind(Kind):
    """A conda environment: the site's policy allows it, its packages come from channels (pip
    only for what none has), and its manifest records the engine that made it."""

    name = "conda"

    def __init__(self, tools: KindTools, tasks: TaskManager) -> None:
        super().__init__(tools)
        self.changes = CondaChanges(
            tools.storage, tools.placement, tasks, tools.engines, self.after_change
        )

    def draft(self, request: CreateRequest) -> Draft:
        """The site's policy first, no modules, specs and channels checked."""
        config = self.tools.config
        conda.require_allowed(config)
        if request.modules not in (None, "", [], ()):
            raise errors.InvalidInput("modules", conda.NO_MODULES)
        opts = _conda_options(request.options)
        if request.python not in (None, ""):
            opts["python"] = conda.python_version(request.python)
        if request.channels not in (None, "", [], ()):
            opts["channels"] = conda.channel_list(request.channels)
        if not opts["channels"]:
            opts["channels"] = conda.channel_list(list(config.conda_channels))
        specs = conda.conda_specs(listed(request.packages))
        if request.requirements not in (None, ""):
            specs += conda.conda_requirements(request.requirements)
        if opts["python"] and any(conda.spec_name(s) == "python" for s in specs):
            raise errors.InvalidInput(
                "python", "Give the Python version once: as 'python' or as a 'python=…' package."
            )
        return Draft([], specs, opts)

    async def complete(self, draft: Draft, part: PartitionInfo, storage: StorageRoot) -> None:
        """An engine found; the specs no channel has go to pip (said in the warnings)."""
        opts = draft.options
        engine = await self.tools.engines.choose()
        cache = cache_folder(self.tools.config, os.path.join(storage.path, ENVS_FOLDER))
        draft.specs, pip_specs = await engine.split_by_channels(
            draft.specs, opts["channels"], cache
        )
        opts["pip_packages"] = pip_specs
        opts["engine"] = engine.to_json()
        opts["warnings"] = self.warnings()
        if pip_specs:
            opts["warnings"].append(
                f"{', '.join(pip_specs)} is in none of the channels: it is installed with pip "
                "after the conda packages (conda first, pip last)."
            )

    def warnings(self) -> list[str]:
        """What a user is told before (and when) making a conda environment here."""
        warnings = []
        site_policy = conda.policy(self.tools.config)
        if site_policy["policy"] == "discouraged":
            warnings.append(site_policy["message"])
        user_lib = conda.user_lib_warning()
        if user_lib:
            warnings.append(user_lib)
        return warnings

    def build_params(self, env: Manifest) -> dict[str, Any]:
        """The creation's warnings, said again in the build's log."""
        return {"warnings": list(env.options.get("warnings") or [])}

    def recorded_engine(self, env: Manifest) -> conda.Engine:
        """The engine a conda environment was made (or adopted) with, as its manifest says."""
        data = env.options.get("engine") or {}
        known = {k: str(v) for k, v in data.items() if k in conda.Engine.__dataclass_fields__}
        if not known.get("kind") or not known.get("executable"):
            raise errors.Conflict(f"{env.name}'s manifest names no conda engine: remove it.")
        return conda.Engine(**known)

    def build_script(self, env: Manifest, build: Build, launch: str) -> str:
        """The engine's create, pip for what no channel has, the activation file, a smoke test."""
        engine = self.recorded_engine(env)
        requested = requested_specs(env)
        create = engine.command(
            "create",
            build.path,
            specs=requested,
            requested=requested,
            channels=list(env.options.get("channels") or []),
            cache=cache_folder(self.tools.config, os.path.dirname(env.home)),
        )
        activation_file = self.tools.storage.activation_path(env, build.arch)
        return scripts.conda_build_script(
            self.tools.context(),
            name=env.name,
            arch=build.arch,
            prefix=build.path,
            launch=launch,
            engine=engine.label,
            create=create,
            activation=engine.activation_command(build.path, activation_file),
            pip_packages=list(env.options.get("pip_packages") or []),
        )

    def launch_script(self, env: Manifest, build: Build, path: str) -> str:
        """Activate the environment with the engine that made it."""
        engine = self.recorded_engine(env)
        return scripts.conda_launch_script(
            self.tools.context(),
            name=env.name,
            arch=build.arch,
            prefix=build.path,
            launch=path,
            engine=engine.label,
            engine_exe=engine.activator or engine.executable,
            activation_file=self.tools.storage.activation_path(env, build.arch),
            activation=engine.activation_bash(),
        )

    async def after_change(self, env: Manifest, build: Build) -> str | None:
        """Write the activation file again (rattler engine) after the environment changed; the
        problem, or ``None``. Other engines activate with their shell hook: nothing to write."""
        engine = self.recorded_engine(env)
        argv = engine.activation_command(
            build.path, self.tools.storage.activation_path(env, build.arch)
        )
        if argv is None:
            return None
        try:
            code, out, err = await proc.run(argv, timeout=120, env=clean_environ())
        except proc.CommandError as error:
            return str(error)
        if code != 0:
            return (err.strip() or out.strip() or f"exit status {code}").splitlines()[-1]
        return None

    def can_adopt(self, path: str) -> bool:
        """A conda environment has ``conda-meta``."""
        return conda.is_conda_prefix(path)

    async def adopt(
        self, path: str, *, name: object, modules: object, partition: object
    ) -> dict[str, Any]:
        """Register a conda environment made by hand (``conda create -n science …``) as a kernel:
        activated with the engine, no modules; never deleted by remove."""
        prefix = path
        conda.require_allowed(self.tools.config)
        if modules:
            raise errors.InvalidInput("modules", conda.NO_MODULES)
        if not any(names.within(prefix, r.path) for r in self.tools.site.storage_roots()):
            raise errors.InvalidInput(
                "path",
                f"{prefix} is outside the storage roots; only environments inside them are adopted.",
            )
        for env in self.tools.storage.all():
            for build in env.builds.values():
                if os.path.realpath(build.path) == os.path.realpath(prefix):
                    raise errors.Conflict(f"{prefix} is the environment {env.name} already.")
        part = await self.tools.site.partition_or_default(partition)
        arch = await self.tools.placement.resolve_arch(part)
        if name in (None, ""):
            name = adopted_name(os.path.basename(prefix.rstrip("/")))
        env_name = names.env_name(name)
        engine = await self.tools.engines.choose()
        opts = {
            "adopted": True,
            "engine": engine.to_json(),
            "channels": list(self.tools.config.conda_channels),
            "python": "",
            "pip_packages": [],
            "warnings": self.warnings(),
        }
        build = adopted_build(arch, prefix, part, conda.python_of(prefix))
        env, problem = await self._register_adopted(
            env_name, [], conda.requested_specs(prefix), opts, build, part
        )
        if problem:
            shutil.rmtree(env.home, ignore_errors=True)
            raise errors.InvalidInput(
                "path",
                f"{prefix} does not work as a kernel: {problem} Install ipykernel into it (with "
                f"the engine: 'conda install --prefix {prefix} ipykernel'), then adopt it again.",
            )
        kernel = self.tools.kernels.register_kernel(env, part)
        return {"name": env_name, "home": env.home, "arch": arch, "modules": [], "kernel": kernel}


def _conda_options(value: object) -> dict[str, Any]:
    """Options of a conda environment: ``python`` and ``channels`` (also accepted top-level)."""
    opts: dict[str, Any] = {"python": "", "channels": []}
    if value in (None, ""):
        return opts
    if not isinstance(value, dict):
        raise errors.InvalidInput("options", "Options must be an object.")
    for key, item in value.items():
        if key == "python":
            opts["python"] = conda.python_version(item) if item not in (None, "") else ""
        elif key == "channels":
            opts["channels"] = conda.channel_list(item) if item not in (None, "") else []
        else:
            raise errors.InvalidInput(
                "options", f"Unknown option {key!r} for a conda environment: python, channels."
            )
    return opts
