"""The venv kind: a Python venv on a Python module (Lmod or Tcl), built per partition with pip."""

from __future__ import annotations

import os
import re
import shutil
from typing import Any

from .. import errors, names
from ..site import PartitionInfo, StorageRoot, hierarchy, toolchains
from ..site.modules import ModuleInfo
from ..tasks import TaskManager
from . import scripts, uv_script
from .kind_base import CreateRequest, Draft, Kind, KindTools, adopted_build, adopted_name, listed
from .manifest import Build, Manifest
from .pip_changes import PipChanges


class VenvKind(Kind):
    """A venv: its first module is the Python it is made with; packages come from pip."""

    name = "venv"

    def __init__(self, tools: KindTools, tasks: TaskManager) -> None:
        super().__init__(tools)
        self.changes = PipChanges(tools.storage, tools.placement, tasks)
        self.changes.installer = tools.config.installer

    def draft(self, request: CreateRequest) -> Draft:
        """Modules, pip specs and options; a Python version or channels are conda's."""
        python, channels = request.python, request.channels
        if python not in (None, "") or channels not in (None, "", [], ()):
            raise errors.InvalidInput(
                "python" if python not in (None, "") else "channels",
                "A Python version and channels are for conda environments: a venv takes its "
                "Python from its Python module.",
            )
        module_list = names.module_list(listed(request.modules))
        specs = names.package_specs(listed(request.packages))
        if request.requirements not in (None, ""):
            specs += names.requirements_text(request.requirements)
        return Draft(module_list, specs, _options(request.options))

    async def complete(self, draft: Draft, part: PartitionInfo, storage: StorageRoot) -> None:
        """The modules exist on the partition and go together."""
        await self.check_modules(part, draft.modules, draft.options["allow_incompatible"])

    async def check_rebuild(self, env: Manifest, part: PartitionInfo) -> None:
        """The modules exist on the partition built for."""
        await self.check_modules(part, env.modules, env.options.get("allow_incompatible", False))

    async def check_modules(
        self, partition: PartitionInfo, modules: list[str], allow_incompatible: bool = False
    ) -> None:
        """A venv needs its Python module first, every module found on ``partition``, and (unless
        allowed) the others built with a toolchain compatible with that Python's."""
        site = self.tools.site
        if site.modules.kind == "none":
            if modules:
                raise errors.InvalidInput(
                    "modules",
                    "This site has no module system: create the environment without modules.",
                )
            return
        if not modules:
            raise errors.InvalidInput(
                "modules",
                "Choose a Python module first (for example 'Python/3.11.3-GCCcore-12.3.0'): the "
                "environment is built on it.",
            )
        found = await self._modules_found(partition, modules)
        python = modules[0]
        if toolchains.python_version(python) is None:
            raise errors.InvalidInput(
                "modules",
                f"The first module must be the Python module the venv is built on, not {python!r}.",
            )
        if not allow_incompatible:
            for module, info in zip(modules[1:], found[1:], strict=True):
                compat = hierarchy.compatibility(module, info.parents, python, found[0].parents)
                if not compat.compatible:
                    raise errors.InvalidInput("modules", f"{module}: {compat.reason}.")

    async def module_path(self, env: Manifest, part: PartitionInfo) -> list[str]:
        """In a module hierarchy, the path to each module in order (``GCCcore/12.3.0`` before
        ``Python/3.11.3``); empty on a flat tree, whose modules load as they are."""
        return await self._load_path(part, env.modules)

    async def _load_path(self, part: PartitionInfo, modules: list[str]) -> list[str]:
        if self.tools.site.modules.kind == "none" or not modules:
            return []
        found = await self._modules_found(part, modules)
        if not any(info.parents for info in found):
            return []
        return hierarchy.load_path([(m, i.parents) for m, i in zip(modules, found, strict=True)])

    async def _modules_found(
        self, partition: PartitionInfo, modules: list[str]
    ) -> list[ModuleInfo]:
        """Every module as ``partition``'s catalog has it; else NotFound naming each missing one."""
        missing = []
        found = []
        for module in modules:
            try:
                found.append(await self.tools.site.module_lookup(partition, module))
            except errors.NotFound as err:
                missing.append(err)
        if not missing:
            return found
        if len(missing) == 1:
            raise missing[0]
        raise errors.NotFound(
            f"These modules are not available on partition {partition.name!r}: "
            + "; ".join(e.message for e in missing),
            [s for e in missing for s in e.suggestions],
            field="modules",
        )

    def build_script(self, env: Manifest, build: Build, launch: str) -> str:
        """Load the modules, make the venv, pip install, smoke-test."""
        return scripts.build_script(
            self.tools.context(),
            name=env.name,
            arch=build.arch,
            prefix=build.path,
            launch=launch,
            modules=build.module_path or env.modules,
            packages=env.packages,
            system_site_packages=env.options.get("system_site_packages", True),
            pip_options=env.options.get("pip_options") or [],
            upgrade_pip=self.tools.config.upgrade_pip,
            uv=uv_script.uv_binary(self.tools.config.installer),
            uv_required=self.tools.config.installer == "uv",
        )

    def launch_script(self, env: Manifest, build: Build, path: str) -> str:
        """Load the modules, activate the venv."""
        return scripts.launch_script(
            self.tools.context(),
            name=env.name,
            kind=env.kind,
            arch=build.arch,
            prefix=build.path,
            launch=path,
            modules=build.module_path or env.modules,
            stack_arch=build.stack_arch,
        )

    def can_adopt(self, path: str) -> bool:
        """A venv has a ``pyvenv.cfg``."""
        return os.path.isfile(os.path.join(path, "pyvenv.cfg"))

    async def adopt(
        self, path: str, *, name: object, modules: object, partition: object
    ) -> dict[str, Any]:
        """Register a venv made by hand, inferring its Python module and arch where possible."""
        venv = path
        if not self.can_adopt(venv):
            raise errors.InvalidInput("path", f"{venv} is not a venv (it has no pyvenv.cfg).")
        if not any(names.within(venv, r.path) for r in self.tools.site.storage_roots()):
            raise errors.InvalidInput(
                "path", f"{venv} is outside the storage roots; only venvs inside them are adopted."
            )
        settings = _read_pyvenv(os.path.join(venv, "pyvenv.cfg"))
        part, arch = await self._adopted_partition(venv, partition)
        env_name = names.env_name(_adopted_venv_name(venv, arch) if name in (None, "") else name)
        module_list = await self._adopted_modules(venv, part, settings, modules)
        build = adopted_build(arch, venv, part, settings.get("version", ""))
        build.module_path = await self._load_path(part, module_list)
        env, problem = await self._register_adopted(
            env_name, module_list, [], {"adopted": True}, build, part
        )
        if problem:
            shutil.rmtree(env.home, ignore_errors=True)
            raise errors.InvalidInput(
                "modules",
                f"{venv} does not work as a kernel with modules {' '.join(module_list) or '(none)'}"
                f": {problem} Give the modules it was made with (one that provides ipykernel, or "
                "install ipykernel into it), then adopt it again.",
            )
        kernel = self.tools.kernels.register_kernel(env, part)
        return {
            "name": env_name,
            "home": env.home,
            "arch": arch,
            "modules": module_list,
            "kernel": kernel,
        }

    async def _adopted_partition(self, venv: str, partition: object) -> tuple[PartitionInfo, str]:
        """The partition given, or the one whose arch ends the venv's name, or the default;
        refused when the name says another arch than the partition's."""
        site = self.tools.site
        base = os.path.basename(venv.rstrip("/"))
        parts = await site.partitions()
        arch_guess = next((p.arch for p in parts if p.arch and base.endswith(p.arch)), None)
        if partition not in (None, ""):
            part = await site.partition(partition)
        else:
            part = next((p for p in parts if arch_guess and p.arch == arch_guess), None) or (
                await site.default_partition()
            )
        arch = await self.tools.placement.resolve_arch(part)
        if arch_guess and arch_guess != arch:
            raise errors.InvalidInput(
                "partition",
                f"{venv} looks built for {arch_guess} (its name), but partition {part.name} is "
                f"{arch}: give the partition it was built on.",
            )
        return part, arch

    async def _adopted_modules(
        self, venv: str, part: PartitionInfo, settings: dict[str, str], modules: object
    ) -> list[str]:
        """The modules given, else the Python module inferred from ``pyvenv.cfg``; checked."""
        if modules:
            module_list = names.module_list(modules)
        else:
            python = await self._infer_python_module(part, settings)
            module_list = [python] if python else []
        if self.tools.site.modules.kind != "none" and not module_list:
            raise errors.InvalidInput(
                "modules",
                f"Cannot tell which Python module {venv} was made with (home = "
                f"{settings.get('home', '?')}): give it, and any other module it needs.",
            )
        await self.check_modules(part, module_list, allow_incompatible=True)
        return module_list

    async def _infer_python_module(
        self, part: PartitionInfo, settings: dict[str, str]
    ) -> str | None:
        """The Python module whose folder is the venv's home, or the only one of its version."""
        home = settings.get("home", "")
        version = settings.get("version") or settings.get("version_info", "")
        segments = home.rstrip("/").split("/")
        candidates = []
        for m in await self.tools.site.catalog(part):
            if toolchains.python_version(m.full) is None:
                continue
            if m.version in segments and m.name in segments:
                return m.full
            pv = toolchains.python_version(m.full)
            if version and pv and version.startswith(pv):
                candidates.append(m.full)
        return candidates[0] if len(candidates) == 1 else None


def _adopted_venv_name(venv: str, arch: str) -> str:
    """A name for an adopted venv: its folder's name without the arch (or its parent's, for a
    folder called venv or env)."""
    base = os.path.basename(venv.rstrip("/"))
    stem = re.sub(rf"[-_.]?{re.escape(arch)}$", "", base) if arch else base
    if stem in ("", "venv", ".venv", "env"):
        stem = os.path.basename(os.path.dirname(venv.rstrip("/")))
    return adopted_name(stem)


def _options(value: object) -> dict[str, Any]:
    """A venv's options: system site packages, pip options, incompatible modules allowed."""
    opts: dict[str, Any] = {
        "system_site_packages": True,
        "pip_options": [],
        "allow_incompatible": False,
    }
    if value in (None, ""):
        return opts
    if not isinstance(value, dict):
        raise errors.InvalidInput("options", "Options must be an object.")
    for key, item in value.items():
        if key in ("system_site_packages", "allow_incompatible"):
            if not isinstance(item, bool):
                raise errors.InvalidInput("options", f"Option {key} must be true or false.")
            opts[key] = item
        elif key == "pip_options":
            opts[key] = _pip_options(item)
        else:
            raise errors.InvalidInput("options", f"Unknown option {key!r}.")
    return opts


def _pip_options(value: object) -> list[str]:
    if not isinstance(value, (list, tuple)):
        raise errors.InvalidInput("options", "pip_options must be a list.")
    out = []
    for item in value:
        if not isinstance(item, str) or item not in names.SAFE_PIP_OPTIONS:
            raise errors.InvalidInput(
                "options",
                f"pip option {item!r} is not accepted; allowed: {', '.join(sorted(names.SAFE_PIP_OPTIONS))}.",
            )
        out.append(str(item))
    return out


def _read_pyvenv(path: str) -> dict[str, str]:
    settings = {}
    with open(path, encoding="utf-8", errors="replace") as f:
        for line in f:
            key, sep, value = line.partition("=")
            if sep:
                settings[key.strip().lower()] = value.strip()
    return settings
