"""Package changes of a venv: pip, inside the launch script (modules loaded), as tasks.

A failed install is rolled back to what was there (a snapshot of the venv's own distributions
taken first); what was installed is recorded in the manifest, so that a build for another
partition installs the same.
"""

from __future__ import annotations

import json
import os
from typing import Any

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from .. import errors, names, proc
from ..site import PartitionInfo
from ..tasks import Task, TaskFailed, TaskRecord
from . import manifest, uv_script
from .manifest import Build, Manifest
from .package_ops import PIP_INSTALL, PackageOps, merge_specs


class PipChanges(PackageOps):
    """pip install, upgrade and uninstall in a venv; installs and upgrades by uv where the
    ``installer`` setting says so (see :mod:`.uv_script`)."""

    installer = "pip"

    async def install(
        self,
        env: Manifest,
        part: PartitionInfo,
        build: Build,
        specs: object,
        requirements: object,
        upgrade: object,
    ) -> TaskRecord:
        """pip install (``--upgrade``), rolled back if pip fails."""
        wanted = names.package_specs(list(specs) if isinstance(specs, (list, tuple)) else specs)
        if requirements not in (None, ""):
            wanted += names.requirements_text(requirements)
        if not wanted:
            raise errors.InvalidInput("packages", "Give at least one package to install.")
        if not isinstance(upgrade, bool):
            raise errors.InvalidInput("upgrade", "upgrade must be true or false.")
        self.no_task_running(env)
        argv = [*PIP_INSTALL, *(["--upgrade"] if upgrade else []), *wanted]
        uv = uv_script.uv_binary(self.installer)
        if uv:
            argv = uv_script.change_command(uv, self.installer == "uv", wanted, argv, upgrade)
        verb = "Upgrade" if upgrade else "Install"

        async def run(task: Task) -> dict[str, Any]:
            before = await self._freeze(env, part, build, task)
            task.set_step("uv pip install" if uv else "pip install")
            code = await self.run_in_env(task, env, part, build, argv)
            if code != 0:
                await self._roll_back(env, part, build, task, before)
                raise TaskFailed(
                    f"pip could not install {' '.join(wanted)} (exit {code}); the environment was "
                    "put back as it was. See the log for pip's reason."
                )
            with manifest.updating(env.home) as m:
                m.packages = merge_specs(m.packages, wanted)
                m.builds[build.arch].encryption = ""  # ipykernel may have changed: check again
            return {"installed": wanted}

        return self.start(
            env,
            part,
            build,
            f"{verb} {', '.join(wanted)} in {env.name} ({part.name})",
            run,
            specs=wanted,
        )

    async def _uninstallable(
        self,
        env: Manifest,
        part: PartitionInfo,
        build: Build,
        packages: list[object] | tuple[object, ...],
    ) -> list[str]:
        """The bare names to uninstall: only the venv's own, never pip or ipykernel."""
        wanted = []
        for item in packages:
            req = Requirement(names.package_spec(item))
            if req.specifier or req.extras or req.marker:
                raise errors.InvalidInput("packages", f"Give a bare package name, not {item!r}.")
            wanted.append(req.name)
        self.no_task_running(env)
        protected = set(names.KEPT_PACKAGES["venv"]) & {canonicalize_name(w) for w in wanted}
        if protected:
            raise errors.InvalidInput(
                "packages", f"{', '.join(sorted(protected))} must stay: the kernel needs it."
            )
        data = await self.listing(env, part, build)
        in_venv = {canonicalize_name(r["name"]) for r in data["packages"] if r["source"] == "venv"}
        elsewhere = [w for w in wanted if canonicalize_name(w) not in in_venv]
        if elsewhere:
            raise errors.InvalidInput(
                "packages",
                f"{', '.join(elsewhere)} is not installed in the venv (it comes from a module or "
                "is not installed): only the venv's own packages can be uninstalled.",
            )
        return wanted

    async def uninstall(
        self,
        env: Manifest,
        part: PartitionInfo,
        build: Build,
        packages: list[object] | tuple[object, ...],
    ) -> TaskRecord:
        """pip uninstall of the venv's own distributions, forgotten by the manifest."""
        wanted = await self._uninstallable(env, part, build, packages)
        argv = ["python", "-m", "pip", "uninstall", "--yes", *wanted]

        async def run(task: Task) -> dict[str, Any]:
            task.set_step("pip uninstall")
            code = await self.run_in_env(task, env, part, build, argv)
            if code != 0:
                raise TaskFailed(f"pip uninstall failed (exit {code}); see the log.")
            with manifest.updating(env.home) as m:
                gone = {canonicalize_name(w) for w in wanted}
                m.packages = [
                    p for p in m.packages if canonicalize_name(Requirement(p).name) not in gone
                ]
            return {"uninstalled": wanted}

        return self.start(
            env,
            part,
            build,
            f"Uninstall {', '.join(wanted)} from {env.name} ({part.name})",
            run,
            packages=wanted,
        )

    async def update_all(self, env: Manifest, part: PartitionInfo, build: Build) -> TaskRecord:
        """Refused: pip has no 'update all'."""
        raise errors.InvalidInput(
            "kind",
            f"{env.name} is a venv: pip has no 'update all'. Upgrade packages by name, or "
            "export the requirements, loosen them and rebuild.",
        )

    async def _freeze(
        self, env: Manifest, part: PartitionInfo, build: Build, task: Task
    ) -> dict[str, str]:
        """The venv's own distributions and versions, to roll back to."""
        task.set_step("snapshot")
        argv = self.in_env(
            env,
            part,
            build,
            ["python", "-m", "pip", "list", "--format", "json", "--path", _site_packages(build)],
        )
        code, out, err = await proc.run(
            argv, timeout=300, env=self.placement.environ_for(part), cwd=env.home
        )
        if code != 0:
            raise TaskFailed(f"Cannot read the venv's packages before installing: {err.strip()}")
        return {canonicalize_name(d["name"]): d["version"] for d in json.loads(out or "[]")}

    async def _roll_back(
        self, env: Manifest, part: PartitionInfo, build: Build, task: Task, before: dict[str, str]
    ) -> None:
        """Put the venv's own distributions back as :meth:`_freeze` saw them."""
        after = await self._freeze(env, part, build, task)
        task.set_step("roll back")
        added = [n for n in after if n not in before]
        changed = [f"{n}=={v}" for n, v in before.items() if after.get(n) not in (None, v)]
        removed = [f"{n}=={v}" for n, v in before.items() if n not in after]
        if added:
            await self.run_in_env(
                task, env, part, build, ["python", "-m", "pip", "uninstall", "--yes", *added]
            )
        if changed or removed:
            await self.run_in_env(
                task, env, part, build, [*PIP_INSTALL, "--no-deps", *changed, *removed]
            )
        if not (added or changed or removed):
            task.log("Nothing had changed: nothing to roll back.")


def _site_packages(build: Build) -> str:
    lib = os.path.join(build.path, "lib")
    for entry in sorted(os.listdir(lib)) if os.path.isdir(lib) else []:
        if entry.startswith("python"):
            return os.path.join(lib, entry, "site-packages")
    raise TaskFailed(f"{build.path} has no lib/pythonX.Y/site-packages: rebuild it.")
