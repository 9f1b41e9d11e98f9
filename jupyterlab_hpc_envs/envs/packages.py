"""Installed packages with provenance; install, upgrade, uninstall; requirements in and out.

``pip list -v`` only tells the truth with the same modules loaded, and EasyBuild modules put their
packages on ``PYTHONPATH``, where they outrank the venv without a word. So the listing runs *inside
the environment's launch script* (modules loaded, venv active, user site off) on a node of the
partition, with :mod:`.probe` reading package metadata in one Python process; every distribution
gets its source (venv, module, the Python module's base, conda, user site) and duplicates are shown
with the copy Python really imports.

Changes go through pip with the site's flags, as tasks, and are recorded in the manifest so that a
build for another partition installs the same. A failed install is rolled back to what was there.

In a conda environment the conda packages come from its ``conda-meta`` records (every engine writes
them), and changes go through its engine, as tasks: install, update, update all, remove (the site documentation's
``conda install``, ``conda update``, ``conda update --all``, ``conda remove``). pip is used only for
a package that none of the environment's channels has (conda first, pip last); such packages are
recorded apart (``options.pip_packages``) and installed after the conda packages by a rebuild.
"""

from __future__ import annotations

from typing import Any

from packaging.utils import canonicalize_name

from .. import errors
from ..site import PartitionInfo, Site
from ..tasks import TaskRecord
from .kinds import Kinds
from .manifest import READY, Build, Manifest
from .package_ops import PIP_INSTALL, PROBE, merge_specs
from .storage import Storage

__all__ = ["PIP_INSTALL", "PROBE", "Packages", "merge_specs", "shadow_warnings"]


class Packages:
    """Package operations on the builds of environments: the request's environment, partition
    and ready build found here; the listing and the changes done by the environment's kind
    (:mod:`.pip_changes`, :mod:`.conda_changes`), which run them where the placement says."""

    def __init__(self, storage: Storage, site: Site, kinds: Kinds) -> None:
        self.storage = storage
        self.site = site
        self.kinds = kinds

    async def _target(
        self, name: object, partition: object, change: bool = False
    ) -> tuple[Manifest, PartitionInfo, Build]:
        """The environment, partition and ready build of a request; ``change``: only the
        environment's owner may (one shared by another is read-only)."""
        env = self.storage.get(name)
        if change:
            self.storage.require_owner(env)
        part = await self.site.partition_or_default(partition)
        build = env.builds.get(part.arch or "")
        if build is None or build.state != READY:
            ready = [
                b.partitions or [b.built_partition] for b in env.builds.values() if b.state == READY
            ]
            on = ", ".join(p for group in ready for p in group) or "none"
            raise errors.Conflict(
                f"{env.name} has no ready build for partition {part.name}; ready on: {on}."
            )
        return env, part, build

    # --- listing ------------------------------------------------------------------------------

    async def list(self, name: object, partition: object = None) -> dict[str, Any]:
        """Every distribution Python sees in the build, with its source and shadowing."""
        env, part, build = await self._target(name, partition)
        changes = self.kinds.of(env).changes
        data = await changes.listing(env, part, build)
        data["environment"] = env.name
        data["partition"] = part.name
        data["arch"] = build.arch
        data["requested"] = list(env.packages)
        _name_base_module(data["packages"], env.modules[0] if env.modules else None)
        data["warnings"] = shadow_warnings(data["packages"])
        data["kind"] = env.kind
        changes.annotate(data, env, build)
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
        """Install (or upgrade) packages in the build, as the environment's kind does it."""
        env, part, build = await self._target(name, partition, change=True)
        changes = self.kinds.of(env).changes
        return await changes.install(env, part, build, specs, requirements, upgrade)

    async def uninstall(
        self, name: object, partition: object = None, packages: object = ()
    ) -> TaskRecord:
        """Remove packages from the build, as the environment's kind does it."""
        env, part, build = await self._target(name, partition, change=True)
        if not isinstance(packages, (list, tuple)) or not packages:
            raise errors.InvalidInput("packages", "Give the names of the packages to uninstall.")
        return await self.kinds.of(env).changes.uninstall(env, part, build, packages)

    async def update_all(self, name: object, partition: object = None) -> TaskRecord:
        """``conda update --all``: every package of a conda environment to the newest the channels
        allow (Python stays in its minor series, as conda keeps it); a venv's is refused."""
        env, part, build = await self._target(name, partition, change=True)
        return await self.kinds.of(env).changes.update_all(env, part, build)


def _name_base_module(rows: list[dict[str, Any]], python_module: str | None) -> None:
    """Say which module's interpreter a ``base`` distribution belongs to: the probe finds it
    from the module's ``$EBROOT…``; a module without one is the environment's Python module
    (loaded first)."""
    for row in rows:
        if row["source"] == "base" and not row.get("module") and python_module:
            row["module"] = python_module


def shadow_warnings(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Distributions seen twice; a warning when a module's copy outranks the venv's. A copy of
    the same version as the one Python imports (the same files reached twice, or installed again
    as they were) changes nothing and is no conflict: it is not reported."""
    by_key: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        by_key.setdefault(row["key"], []).append(row)
    warnings = []
    for copies in by_key.values():
        if len(copies) < 2:
            continue
        winner = min(copies, key=lambda r: r["order"])
        losers = [r for r in copies if r is not winner and r["version"] != winner["version"]]
        if not losers:
            continue
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
                f"{winner['name']} {winner['version']} ({_source(winner)}) hides "
                + ", ".join(f"{r['version']} ({_source(r)})" for r in losers)
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


def _source(row: dict[str, Any]) -> str:
    """Where a copy comes from, as the listing says it: ``base: Python/3.11.7-GCCcore-12.3.0``."""
    return f"{row['source']}: {row['module']}" if row.get("module") else str(row["source"])
