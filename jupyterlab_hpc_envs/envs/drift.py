"""Drift: a build that no longer matches its lock or its site is *stale*, with the reasons.

Cheap enough for every listing: file stats against the lock's :mod:`stamps <.lock>` (modulefiles,
the interpreter, the environment's own site-packages folders), the site's cached partitions and
module catalogs; no module system and no Python is run. A build's problems are
``{kind, subject, message}`` with ``kind`` one of :data:`KINDS` and ``subject`` the module,
partition, file or package concerned.
"""

from __future__ import annotations

import os
from typing import Any

from packaging.utils import canonicalize_name

from ..site import PartitionInfo, Site
from . import lock as locks
from .manifest import READY, STALE

KINDS = ("module", "interpreter", "arch", "packages")
Problem = dict[str, str]


def _problem(kind: str, subject: str, message: str) -> Problem:
    return {"kind": kind, "subject": subject, "message": message}


def module_problems(
    lock: dict[str, Any], modules: list[str], catalogs: dict[str, set[str]]
) -> list[Problem]:
    """A modulefile of the lock gone from its tree, or a module the environment asks for that
    its partition's catalog no longer shows (hidden)."""
    problems = []
    for module, stamp in (lock.get("stamps", {}).get("modules") or {}).items():
        if not os.path.isfile(stamp.get("path", "")):
            problems.append(
                _problem(
                    "module",
                    module,
                    f"Module {module} is gone from the module tree ({stamp.get('path')} is "
                    "missing): migrate the environment to a newer toolchain, or ask the site "
                    "to restore the module.",
                )
            )
    gone = {p["subject"] for p in problems}
    for partition, catalog in catalogs.items():
        for module in modules:
            if module not in gone and module not in catalog:
                gone.add(module)
                problems.append(
                    _problem(
                        "module",
                        module,
                        f"Module {module} is no longer available on partition {partition}: "
                        "migrate the environment to a newer toolchain.",
                    )
                )
    return problems


def interpreter_problems(lock: dict[str, Any]) -> list[Problem]:
    """The interpreter the build runs missing, or changed since the lock."""
    stamp = lock.get("stamps", {}).get("interpreter") or {}
    path = str(stamp.get("path", ""))
    if not path:
        return []
    now = locks._stamp(path)
    if now["mtime"] is None:
        message = f"The interpreter {path} is missing (an OS or module upgrade?): rebuild."
    elif (now["mtime"], now["size"]) != (stamp.get("mtime"), stamp.get("size")):
        message = f"The interpreter {path} changed since the build: rebuild."
    else:
        return []
    return [_problem("interpreter", path, message)]


def arch_problems(arch: str, partitions: list[str], known: dict[str, str | None]) -> list[Problem]:
    """A partition of the build whose arch is now another."""
    return [
        _problem(
            "arch",
            p,
            f"Partition {p} is now {known[p]}, this build is for {arch}: rebuild it for {p}.",
        )
        for p in partitions
        if known.get(p) and known[p] != arch
    ]


def _dist_infos(folder: str) -> dict[str, str]:
    """Normalised name -> version of the ``*.dist-info`` folders in ``folder``."""
    found: dict[str, str] = {}
    try:
        with os.scandir(folder) as it:
            for entry in it:
                if entry.name.endswith(".dist-info"):
                    stem = entry.name[: -len(".dist-info")]
                    name, _, version = stem.rpartition("-")
                    found[canonicalize_name(name)] = version
    except OSError:
        pass
    return found


def package_problems(lock: dict[str, Any]) -> list[Problem]:
    """Packages changed in the environment's own site-packages outside the tool (pip in a
    terminal): only looked at when a folder's time moved since the lock."""
    moved = [
        s
        for s in lock.get("stamps", {}).get("site") or []
        if locks._stamp(str(s.get("path", "")))["mtime"] != s.get("mtime")
    ]
    if not moved:
        return []
    locked: dict[str, str] = {
        canonicalize_name(d["name"]): d["version"]
        for d in lock.get("distributions", [])
        if d.get("source") in ("venv", "conda")
    }
    now: dict[str, str] = {}
    for stamp in moved:
        now.update(_dist_infos(str(stamp.get("path", ""))))
    problems = []
    for name in sorted(set(now) | set(locked)):
        before, after = locked.get(name), now.get(name)
        if before == after or (after is None and not now):
            continue
        if before is None:
            message = f"{name} {after} was installed outside jupyter hpc-envs (pip in a terminal?)."
        elif after is None:
            message = f"{name} {before} was removed outside jupyter hpc-envs."
        else:
            message = f"{name} changed from {before} to {after} outside jupyter hpc-envs."
        problems.append(_problem("packages", name, message))
    # A folder's time also moves when Python caches a top-level module's bytecode there: only a
    # changed distribution is a problem.
    return problems


class Drift:
    """The problems of every build of the described environments, from cached site facts."""

    def __init__(self, site: Site) -> None:
        self.site = site

    async def _site_facts(self) -> tuple[dict[str, str | None], dict[str, PartitionInfo]]:
        parts = {p.name: p for p in await self.site.partitions()}
        return {n: p.arch for n, p in parts.items()}, parts

    async def annotate(self, described: list[dict[str, Any]]) -> None:
        """Add ``problems`` to every build of ``described`` (as :meth:`Storage.describe` makes
        them); a ready build with problems gets the state ``stale``."""
        archs, parts = await self._site_facts()
        for env in described:
            for build in (env.get("builds") or {}).values():
                # after any problems the description already has (out-of-date ones)
                found = await self._problems(env, build, archs, parts)
                build["problems"] = [*(build.get("problems") or []), *found]
                if build["problems"] and build.get("state") == READY:
                    build["state"] = STALE

    async def _problems(
        self,
        env: dict[str, Any],
        build: dict[str, Any],
        archs: dict[str, str | None],
        parts: dict[str, PartitionInfo],
    ) -> list[Problem]:
        if build.get("state") != READY:
            return []
        lock = locks.read(str(build.get("path", "")))
        if lock is None:
            return []
        partitions = list(build.get("partitions") or []) or [build.get("built_partition", "")]
        catalogs = {}
        for name in partitions:
            part = parts.get(name)
            if part is not None and part.modulepath:
                catalog = {m.full for m in await self.site.catalog(part)}
                if catalog:  # an empty one is a module system that did not answer
                    catalogs[name] = catalog
        return [
            *module_problems(lock, list(env.get("modules") or []), catalogs),
            *interpreter_problems(lock),
            *arch_problems(str(build.get("arch", "")), partitions, archs),
            *package_problems(lock),
        ]
