"""Installed packages with provenance; install, upgrade, uninstall; requirements in and out.

``pip list -v`` only tells the truth with the same modules loaded, and EasyBuild modules put their
packages on ``PYTHONPATH``, where they outrank the venv without a word. So the listing runs *inside
the environment's launch script* (modules loaded, venv active, user site off) on a node of the
partition, with :mod:`.probe` reading package metadata in one Python process; every distribution
gets its source (venv, module, the Python module's base, conda, user site) and duplicates are shown
with the copy Python really imports.

Changes go through pip with the seed's flags, as tasks, and are recorded in the manifest so that a
build for another partition installs the same. A failed install is rolled back to what was there.

In a conda environment the conda packages come from its ``conda-meta`` records (every engine writes
them), and changes go through its engine, as tasks: install, update, update all, remove (the seed's
``conda install``, ``conda update``, ``conda update --all``, ``conda remove``). pip is used only for
a package that none of the environment's channels has (conda first, pip last); such packages are
recorded apart (``options.pip_packages``) and installed after the conda packages by a rebuild.
"""

from __future__ import annotations

import json
import os
from typing import Any

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from .. import names, proc
from ..site import PartitionInfo, slurm
from ..tasks import Task, TaskFailed, TaskRecord
from . import conda, manifest
from .manifest import READY, Build, Manifest
from .service import Environments

PROBE = os.path.join(os.path.dirname(__file__), "probe.py")
PIP_INSTALL = ["python", "-m", "pip", "install", "--no-cache-dir", "--no-build-isolation"]


class Packages:
    """Package operations on the builds of environments."""

    def __init__(self, envs: Environments) -> None:
        self.envs = envs
        self.tasks = envs.tasks

    async def _target(
        self, name: object, partition: object, change: bool = False
    ) -> tuple[Manifest, PartitionInfo, Build]:
        """The environment, partition and ready build of a request; ``change``: only the
        environment's owner may (one shared by another is read-only)."""
        env = self.envs.get(name)
        if change:
            self.envs.require_owner(env)
        site = self.envs.site
        part = await site.partition_or_default(partition)
        build = env.builds.get(part.arch or "")
        if build is None or build.state != READY:
            ready = [
                b.partitions or [b.built_partition] for b in env.builds.values() if b.state == READY
            ]
            where = ", ".join(p for group in ready for p in group) or "none"
            raise names.Conflict(
                f"{env.name} has no ready build for partition {part.name}; ready on: {where}."
            )
        return env, part, build

    def _in_env(
        self, env: Manifest, part: PartitionInfo, build: Build, argv: list[str]
    ) -> list[str]:
        launch = self.envs.checked_script(env, self.envs.launch_path(env, build.arch))
        return self.envs.on_partition(part, [launch, *argv], f"{slurm.JOB_PREFIX}-packages")

    # --- listing ------------------------------------------------------------------------------

    async def list(self, name: object, partition: object = None) -> dict[str, Any]:
        env, part, build = await self._target(name, partition)
        with open(PROBE, "rb") as f:
            probe = f.read()
        argv = self._in_env(env, part, build, ["python", "-"])
        try:
            code, out, err = await proc.run(
                argv, timeout=300, env=self.envs.environ_for(part), cwd=env.home, stdin=probe
            )
        except proc.CommandError as error:
            raise names.Conflict(f"Listing the packages of {env.name} failed: {error}") from None
        if code != 0:
            tail = " ".join(err.strip().splitlines()[-3:])
            raise names.Conflict(f"Listing the packages of {env.name} failed: {tail}")
        try:
            data = json.loads(out.strip().splitlines()[-1])
        except (ValueError, IndexError):
            raise names.Conflict(f"The package probe of {env.name} printed no JSON.") from None
        if "error" in data:
            raise names.Conflict(data["error"])
        data["environment"] = env.name
        data["partition"] = part.name
        data["arch"] = build.arch
        data["requested"] = list(env.packages)
        data["warnings"] = shadow_warnings(data["packages"])
        data["kind"] = env.kind
        if env.kind == "conda":
            rows = conda.installed(build.path)
            data["conda_packages"] = rows
            data["pip_packages"] = list(env.options.get("pip_packages") or [])
            by_name = {canonicalize_name(r["name"]): r["name"] for r in rows}
            for row in data["packages"]:
                row["conda"] = by_name.get(row["key"])
        return data

    async def requirements(self, name: object, partition: object = None) -> str:
        """The venv's own distributions as a requirements file (what a rebuild would need)."""
        data = await self.list(name, partition)
        lines = [
            f"{row['name']}=={row['version']}"
            for row in data["packages"]
            if row["source"] in ("venv", "conda")
            and not row["editable"]
            and canonicalize_name(row["name"]) not in ("pip", "setuptools", "wheel")
        ]
        header = (
            f"# {data['environment']} on {data['partition']} ({data['arch']}), "
            f"Python {data['python']}; modules: {' '.join(data['loaded_modules']) or 'none'}\n"
        )
        return header + "".join(f"{line}\n" for line in sorted(lines, key=str.lower))

    # --- changes ------------------------------------------------------------------------------

    async def install(
        self,
        name: object,
        partition: object = None,
        specs: object = (),
        requirements: object = None,
        upgrade: object = False,
    ) -> TaskRecord:
        env, part, build = await self._target(name, partition, change=True)
        if env.kind == "conda":
            if not isinstance(upgrade, bool):
                raise names.InvalidInput("upgrade", "upgrade must be true or false.")
            action = "update" if upgrade else "install"
            return await self._conda_change(env, part, build, action, specs, requirements)
        wanted = names.package_specs(list(specs) if isinstance(specs, (list, tuple)) else specs)
        if requirements not in (None, ""):
            wanted += names.requirements_text(requirements)
        if not wanted:
            raise names.InvalidInput("packages", "Give at least one package to install.")
        if not isinstance(upgrade, bool):
            raise names.InvalidInput("upgrade", "upgrade must be true or false.")
        self._no_task_running(env)
        argv = [*PIP_INSTALL, *(["--upgrade"] if upgrade else []), *wanted]
        verb = "Upgrade" if upgrade else "Install"

        async def run(task: Task) -> dict[str, Any]:
            before = await self._freeze(env, part, build, task)
            task.set_step("pip install")
            code = await task.run(
                self._in_env(env, part, build, argv), env=self.envs.environ_for(part), cwd=env.home
            )
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

        # Checked again with no await in between: the awaits above let another request in.
        self._no_task_running(env)
        return self.tasks.start(
            "packages",
            f"{verb} {', '.join(wanted)} in {env.name} ({part.name})",
            run,
            env=env.name,
            partition=part.name,
            params={"home": env.home, "arch": build.arch, "specs": wanted},
        )

    async def uninstall(
        self, name: object, partition: object = None, packages: object = ()
    ) -> TaskRecord:
        env, part, build = await self._target(name, partition, change=True)
        if not isinstance(packages, (list, tuple)) or not packages:
            raise names.InvalidInput("packages", "Give the names of the packages to uninstall.")
        if env.kind == "conda":
            return await self._conda_change(env, part, build, "remove", packages, None)
        wanted = []
        for item in packages:
            req = Requirement(names.package_spec(item))
            if req.specifier or req.extras or req.marker:
                raise names.InvalidInput("packages", f"Give a bare package name, not {item!r}.")
            wanted.append(req.name)
        self._no_task_running(env)
        protected = {"pip", "ipykernel"} & {canonicalize_name(w) for w in wanted}
        if protected:
            raise names.InvalidInput(
                "packages", f"{', '.join(sorted(protected))} must stay: the kernel needs it."
            )
        data = await self.list(env.name, part.name)
        in_venv = {canonicalize_name(r["name"]) for r in data["packages"] if r["source"] == "venv"}
        elsewhere = [w for w in wanted if canonicalize_name(w) not in in_venv]
        if elsewhere:
            raise names.InvalidInput(
                "packages",
                f"{', '.join(elsewhere)} is not installed in the venv (it comes from a module or "
                "is not installed): only the venv's own packages can be uninstalled.",
            )
        argv = ["python", "-m", "pip", "uninstall", "--yes", *wanted]

        async def run(task: Task) -> dict[str, Any]:
            task.set_step("pip uninstall")
            code = await task.run(
                self._in_env(env, part, build, argv), env=self.envs.environ_for(part), cwd=env.home
            )
            if code != 0:
                raise TaskFailed(f"pip uninstall failed (exit {code}); see the log.")
            with manifest.updating(env.home) as m:
                gone = {canonicalize_name(w) for w in wanted}
                m.packages = [
                    p for p in m.packages if canonicalize_name(Requirement(p).name) not in gone
                ]
            return {"uninstalled": wanted}

        # Checked again with no await in between: the awaits above let another request in.
        self._no_task_running(env)
        return self.tasks.start(
            "packages",
            f"Uninstall {', '.join(wanted)} from {env.name} ({part.name})",
            run,
            env=env.name,
            partition=part.name,
            params={"home": env.home, "arch": build.arch, "packages": wanted},
        )

    async def update_all(self, name: object, partition: object = None) -> TaskRecord:
        """``conda update --all``: every package of a conda environment to the newest the channels
        allow (Python stays in its minor series, as conda keeps it)."""
        env, part, build = await self._target(name, partition, change=True)
        if env.kind != "conda":
            raise names.InvalidInput(
                "kind",
                f"{env.name} is a venv: pip has no 'update all'. Upgrade packages by name, or "
                "export the requirements, loosen them and rebuild.",
            )
        return await self._conda_change(env, part, build, "update-all", [], None)

    async def _conda_change(
        self,
        env: Manifest,
        part: PartitionInfo,
        build: Build,
        action: str,
        specs: object,
        requirements: object,
    ) -> TaskRecord:
        """One change of a conda environment through its engine, as a task."""
        envs = self.envs
        installed = {canonicalize_name(r["name"]) for r in conda.installed(build.path)}
        pip_installed = {
            canonicalize_name(Requirement(p).name) for p in env.options.get("pip_packages") or []
        }
        pip_specs: list[str] = []
        pip_removed: list[str] = []
        if action in ("install", "update"):
            wanted = conda.conda_specs(list(specs) if isinstance(specs, (list, tuple)) else specs)
            if requirements not in (None, ""):
                wanted += conda.conda_requirements(requirements)
            if not wanted:
                raise names.InvalidInput("packages", "Give at least one package.")
        elif action == "remove":
            if not isinstance(specs, (list, tuple)):
                raise names.InvalidInput("packages", "Give the names of the packages to remove.")
            wanted = [conda.package_name(p) for p in specs]
            protected = {"python", "ipykernel", "pip"} & {canonicalize_name(w) for w in wanted}
            if protected:
                raise names.InvalidInput(
                    "packages", f"{', '.join(sorted(protected))} must stay: the kernel needs it."
                )
            pip_removed = [w for w in wanted if canonicalize_name(w) in pip_installed]
            wanted = [w for w in wanted if w not in pip_removed]
            absent = [w for w in wanted if canonicalize_name(w) not in installed]
            if absent:
                raise names.InvalidInput(
                    "packages",
                    f"{', '.join(absent)} is not a conda package of {env.name}: only installed "
                    "packages can be removed.",
                )
        else:
            wanted = []
        if action == "update":
            absent = [w for w in wanted if canonicalize_name(conda.spec_name(w)) not in installed]
            if absent:
                raise names.InvalidInput(
                    "packages",
                    f"{', '.join(absent)} is not installed in {env.name}: install it instead.",
                )
        self._no_task_running(env)
        engine = await envs.conda.for_environment(env.options.get("engine"))
        channels = list(env.options.get("channels") or envs.config.conda_channels)
        cache = envs.conda_cache(os.path.dirname(env.home))
        if action == "install":
            wanted, pip_specs = await engine.split_by_channels(wanted, channels, cache)
        current = _requested(env, build)
        new_packages = list(env.packages)
        if action == "install":
            requested = _merge_conda(current, wanted)
            new_packages = _merge_conda(new_packages, wanted)
        elif action == "update":
            # conda update NAME: the package may move to any version, unless one is given.
            requested = _merge_conda(current, wanted)
            given = {conda.spec_name(w): w for w in wanted}
            new_packages = [given.get(conda.spec_name(p), p) for p in new_packages]
        elif action == "update-all":
            python = conda.python_of(build.path)
            series = ".".join(python.split(".")[:2])
            requested = [conda.spec_name(s) for s in current if conda.spec_name(s) != "python"]
            requested.append(f"python {series}.*" if series else "python")
            new_packages = [conda.spec_name(p) for p in new_packages]
        else:
            gone = {conda.spec_name(w) for w in wanted}
            requested = [s for s in current if conda.spec_name(s) not in gone]
            new_packages = [p for p in new_packages if conda.spec_name(p) not in gone]
        argv = (
            engine.command(
                action,
                build.path,
                specs=wanted,
                requested=requested,
                channels=channels,
                cache=cache,
            )
            if wanted or action == "update-all"
            else None
        )
        verb = {
            "install": "Install",
            "update": "Update",
            "update-all": "Update all packages",
            "remove": "Remove",
        }[action]
        what = ", ".join([*wanted, *pip_specs, *pip_removed])
        title = f"{verb} {what} in {env.name} ({part.name})".replace("  ", " ")

        async def run(task: Task) -> dict[str, Any]:
            task.log(f"Engine: {engine.label}; channels: {', '.join(channels)}")
            if argv is not None:
                task.set_step(f"conda {action}")
                job = f"{slurm.JOB_PREFIX}-packages"
                code = await task.run(
                    envs.on_partition(part, argv, job),
                    env=self.envs.environ_for(part),
                    cwd=env.home,
                )
                if code != 0:
                    raise TaskFailed(
                        f"The conda engine could not {action.replace('-', ' ')} "
                        f"{', '.join(wanted) or 'the packages'} in {env.name} (exit {code}); a "
                        "solve that fails changes nothing. See the log for the engine's reason."
                    )
            if pip_specs:
                task.log(
                    f"{', '.join(pip_specs)} is in none of the channels: installed with pip, "
                    "after the conda packages."
                )
                task.set_step("pip install")
                code = await task.run(
                    self._in_env(env, part, build, [*PIP_INSTALL, *pip_specs]),
                    env=self.envs.environ_for(part),
                    cwd=env.home,
                )
                if code != 0:
                    raise TaskFailed(f"pip could not install {', '.join(pip_specs)}; see the log.")
            if pip_removed:
                task.set_step("pip uninstall")
                argv_pip = ["python", "-m", "pip", "uninstall", "--yes", *pip_removed]
                code = await task.run(
                    self._in_env(env, part, build, argv_pip),
                    env=self.envs.environ_for(part),
                    cwd=env.home,
                )
                if code != 0:
                    raise TaskFailed(f"pip uninstall failed (exit {code}); see the log.")
            task.set_step("activation")
            problem = await envs.refresh_activation(env, build)
            if problem:
                raise TaskFailed(f"The environment changed, but its activation failed: {problem}")
            gone_pip = {canonicalize_name(p) for p in pip_removed}
            with manifest.updating(env.home) as m:
                m.packages = new_packages
                m.builds[build.arch].encryption = ""  # ipykernel may have changed: check again
                kept = [
                    p
                    for p in m.options.get("pip_packages") or []
                    if canonicalize_name(Requirement(p).name) not in gone_pip
                ]
                m.options["pip_packages"] = merge_specs(kept, pip_specs) if pip_specs else kept
            return {"action": action, "packages": wanted, "pip": pip_specs}

        # Checked again with no await in between: the awaits above let another request in.
        self._no_task_running(env)
        return self.tasks.start(
            "packages",
            title,
            run,
            env=env.name,
            partition=part.name,
            params={"home": env.home, "arch": build.arch, "action": action, "specs": wanted},
        )

    def _no_task_running(self, env: Manifest) -> None:
        busy = self.tasks.running(env.name)
        if busy:
            raise names.Conflict(
                f"{env.name} is busy ({busy[0].title}): wait for it to finish, then try again."
            )

    async def _freeze(
        self, env: Manifest, part: PartitionInfo, build: Build, task: Task
    ) -> dict[str, str]:
        """The venv's own distributions and versions, to roll back to."""
        task.set_step("snapshot")
        argv = self._in_env(
            env,
            part,
            build,
            ["python", "-m", "pip", "list", "--format", "json", "--path", _site_packages(build)],
        )
        code, out, err = await proc.run(
            argv, timeout=300, env=self.envs.environ_for(part), cwd=env.home
        )
        if code != 0:
            raise TaskFailed(f"Cannot read the venv's packages before installing: {err.strip()}")
        return {canonicalize_name(d["name"]): d["version"] for d in json.loads(out or "[]")}

    async def _roll_back(
        self, env: Manifest, part: PartitionInfo, build: Build, task: Task, before: dict[str, str]
    ) -> None:
        after = await self._freeze(env, part, build, task)
        task.set_step("roll back")
        added = [n for n in after if n not in before]
        changed = [f"{n}=={v}" for n, v in before.items() if after.get(n) not in (None, v)]
        removed = [f"{n}=={v}" for n, v in before.items() if n not in after]
        if added:
            await task.run(
                self._in_env(
                    env, part, build, ["python", "-m", "pip", "uninstall", "--yes", *added]
                ),
                env=self.envs.environ_for(part),
                cwd=env.home,
            )
        if changed or removed:
            await task.run(
                self._in_env(env, part, build, [*PIP_INSTALL, "--no-deps", *changed, *removed]),
                env=self.envs.environ_for(part),
                cwd=env.home,
            )
        if not (added or changed or removed):
            task.log("Nothing had changed: nothing to roll back.")


def _requested(env: Manifest, build: Build) -> list[str]:
    """The whole list of requested specs of a conda build, as its build asked for them."""
    python = env.options.get("python")
    specs = [*([f"python={python}"] if python else []), *env.packages]
    if not any(conda.spec_name(s) == "ipykernel" for s in specs):
        specs.append("ipykernel")
    return specs


def _merge_conda(current: list[str], added: list[str]) -> list[str]:
    """Conda specs with ``added`` replacing any spec of the same package."""
    names_added = {conda.spec_name(a) for a in added}
    return [c for c in current if conda.spec_name(c) not in names_added] + added


def _site_packages(build: Build) -> str:
    lib = os.path.join(build.path, "lib")
    for entry in sorted(os.listdir(lib)) if os.path.isdir(lib) else []:
        if entry.startswith("python"):
            return os.path.join(lib, entry, "site-packages")
    raise TaskFailed(f"{build.path} has no lib/pythonX.Y/site-packages: rebuild it.")


def merge_specs(current: list[str], added: list[str]) -> list[str]:
    """The recorded specs with ``added`` replacing any spec of the same distribution."""
    names_added = {canonicalize_name(Requirement(a).name) for a in added}
    kept = [c for c in current if canonicalize_name(Requirement(c).name) not in names_added]
    return kept + added


def shadow_warnings(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Distributions seen twice; a warning when a module's copy outranks the venv's."""
    by_key: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        by_key.setdefault(row["key"], []).append(row)
    warnings = []
    for copies in by_key.values():
        if len(copies) < 2:
            continue
        winner = min(copies, key=lambda r: r["order"])
        losers = [r for r in copies if r is not winner]
        venv_losers = [r for r in losers if r["source"] == "venv"]
        if winner["source"] in ("module", "base") and venv_losers:
            lost = venv_losers[0]
            message = (
                f"{winner['name']} {winner['version']} from {winner['module'] or 'the Python module'} "
                f"outranks {lost['version']} installed in the venv: modules put their packages on "
                "PYTHONPATH, which comes first. Python imports the module's copy."
            )
            level = "warning"
        else:
            message = (
                f"{winner['name']} {winner['version']} ({winner['source']}) hides "
                + ", ".join(f"{r['version']} ({r['source']})" for r in losers)
            )
            level = "info"
        warnings.append(
            {
                "level": level,
                "name": winner["name"],
                "winner": {k: winner[k] for k in ("version", "source", "module", "location")},
                "shadowed": [
                    {k: r[k] for k in ("version", "source", "module", "location")} for r in losers
                ],
                "message": message,
            }
        )
    return warnings
