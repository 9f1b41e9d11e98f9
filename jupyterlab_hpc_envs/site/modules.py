"""Module systems: Lmod, Environment Modules (Tcl), or none.

The catalog is read from the module system's machine-readable output (Lmod's JSON spider,
Environment Modules' ``avail --json``), never from the prose of ``module avail``. Reading it takes a
fraction of a second to several seconds on a big site, so catalogs are cached per MODULEPATH and
refreshed in the background once stale: a request never waits for a refresh it does not need.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import shutil
import time
from dataclasses import asdict, dataclass, field
from typing import Any

from .. import proc
from ..errors import ModuleSystemError as ModuleSystemError  # re-exported
from . import hierarchy, toolchains

log = logging.getLogger(__name__)

LMOD_CANDIDATES = ("/usr/share/lmod/lmod", "/opt/apps/lmod/lmod", "/usr/local/lmod/lmod")
TCL_CANDIDATES = ("/usr/share/modules", "/usr/local/Modules", "/opt/modules")


@dataclass(frozen=True)
class ModuleInfo:
    """One loadable module version."""

    full: str
    name: str
    version: str
    path: str
    description: str = ""
    toolchain: str | None = None
    generation: str | None = None
    # In a hierarchy: the lists of modules (each in load order) that make this one visible.
    parents: hierarchy.Parents = ()

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def _module_info(
    full: str, path: str, description: str, parents: hierarchy.Parents = ()
) -> ModuleInfo:
    name, _, version = full.rpartition("/") if "/" in full else (full, "", "")
    tc = toolchains.generation_of(full) or hierarchy.generation(parents)
    return ModuleInfo(
        full=full,
        name=name or full,
        version=version,
        path=path,
        description=description.strip(),
        toolchain=tc.label if tc else None,
        generation=tc.generation if tc else None,
        parents=parents,
    )


def _parents(value: object) -> hierarchy.Parents:
    """Lmod spider's ``parent`` of a module: lists of module names (``[["GCCcore/12.3.0"]]``)."""
    if not isinstance(value, list):
        return ()
    found = [tuple(str(m) for m in p) for p in value if isinstance(p, list) and p]
    return tuple(p for p in found if all(m and m != "default" for m in p))


@dataclass
class ModuleSystem:
    """How to ask a module system for its catalog and how a bash script initialises it."""

    kind: str  # "lmod" | "tcl" | "none"
    version: str = ""
    init_bash: str = ""  # file a non-login bash script sources to get the `module` function
    command: list[str] = field(default_factory=list)  # e.g. [".../libexec/lmod"]
    spider: str = ""  # Lmod's spider program

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "version": self.version, "init": self.init_bash}

    async def catalog(self, modulepath: list[str]) -> list[ModuleInfo]:
        """Every module on ``modulepath``, sorted by name then version as the tool sorts them."""
        dirs = [d for d in modulepath if os.path.isdir(d)]
        if self.kind == "none" or not dirs:
            return []
        if self.kind == "lmod":
            return await self._lmod_catalog(dirs)
        return await self._tcl_catalog(dirs)

    async def _lmod_catalog(self, dirs: list[str]) -> list[ModuleInfo]:
        out = await _run([self.spider, "-o", "jsonSoftwarePage", ":".join(dirs)], {})
        try:
            packages = json.loads(out or "[]")
        except ValueError as err:
            raise ModuleSystemError(
                f"Lmod's spider printed something that is not JSON: {err}"
            ) from err
        found: list[ModuleInfo] = []
        for package in packages:
            for version in package.get("versions", []):
                full = version.get("full")
                if not full:
                    continue
                found.append(
                    _module_info(
                        full,
                        version.get("path", ""),
                        version.get("description") or package.get("description") or "",
                        _parents(version.get("parent")),
                    )
                )
        return found

    async def _tcl_catalog(self, dirs: list[str]) -> list[ModuleInfo]:
        env = {"MODULEPATH": ":".join(dirs)}
        # `avail --json` prints its JSON on stderr, like all of modulecmd's reports.
        out = await _run([*self.command, "bash", "avail", "--json"], env, stream="stderr")
        try:
            tree = json.loads(out or "{}")
        except ValueError as err:
            raise ModuleSystemError(f"modulecmd avail --json printed no JSON: {err}") from err
        # Descriptions come from `whatis --json` (it reads every modulefile: the catalog cache
        # runs this in the background); a modulefile that fails there still counts as available.
        try:
            described = json.loads(
                await _run([*self.command, "bash", "whatis", "--json"], env, stream="stderr")
                or "{}"
            )
        except (ModuleSystemError, ValueError):
            described = {}
        found: list[ModuleInfo] = []
        for directory, entries in tree.items():
            whatis = described.get(directory, {})
            for full, entry in entries.items():
                if entry.get("type") not in (None, "modulefile"):
                    continue
                lines = whatis.get(full, {}).get("whatis") or [""]
                path = entry.get("pathname") or os.path.join(directory, full)
                found.append(_module_info(full, path, str(lines[0])))
        return found


async def _run(argv: list[str], extra_env: dict[str, str], stream: str = "stdout") -> str:
    try:
        code, out, err = await proc.run(argv, timeout=120, env={**os.environ, **extra_env})
    except proc.CommandError as error:
        raise ModuleSystemError(str(error)) from None
    if code != 0:
        tail = err.strip().splitlines()[-3:]
        raise ModuleSystemError(
            f"{os.path.basename(argv[0])} failed (exit {code}): {' '.join(tail)}"
        )
    return out if stream == "stdout" else err


def _lmod_root() -> str | None:
    for var in ("LMOD_PKG",):
        if os.environ.get(var) and os.path.isdir(os.environ[var]):
            return os.environ[var]
    if os.environ.get("LMOD_DIR"):
        return os.path.dirname(os.environ["LMOD_DIR"].rstrip("/"))
    if os.environ.get("LMOD_CMD"):
        return os.path.dirname(os.path.dirname(os.environ["LMOD_CMD"]))
    return next((c for c in LMOD_CANDIDATES if os.path.isdir(c)), None)


def _tcl_command() -> tuple[str, str] | None:
    """Environment Modules' ``modulecmd.tcl`` and the bash init beside it, where they are.

    Version 4 and later export ``MODULES_CMD`` (Debian puts the command under /usr/lib, the init
    under /usr/share/modules); otherwise the classic ``$MODULESHOME/libexec`` layout.
    """
    home = os.environ.get("MODULESHOME", "")
    cmd = os.environ.get("MODULES_CMD", "")
    if cmd and os.path.exists(cmd):
        return cmd, os.path.join(home, "init", "bash") if home else ""
    for root in ([home] if home else []) + list(TCL_CANDIDATES):
        candidate = os.path.join(root, "libexec", "modulecmd.tcl")
        if os.path.exists(candidate):
            return candidate, os.path.join(root, "init", "bash")
    return None


def detect(preferred: str = "auto") -> ModuleSystem:
    """The module system of this node: Lmod first (as most EasyBuild sites), then Tcl, else none."""
    if preferred in ("auto", "lmod"):
        root = _lmod_root()
        if root and os.path.exists(os.path.join(root, "libexec", "lmod")):
            version = os.environ.get("LMOD_VERSION", "")
            return ModuleSystem(
                kind="lmod",
                version=version,
                init_bash=os.path.join(root, "init", "bash"),
                command=[os.path.join(root, "libexec", "lmod")],
                spider=os.path.join(root, "libexec", "spider"),
            )
        if preferred == "lmod":
            raise ModuleSystemError("Lmod is configured but was not found (set $LMOD_PKG).")
    if preferred in ("auto", "tcl"):
        found = _tcl_command()
        tclsh = shutil.which("tclsh") or shutil.which("tclsh8.6")
        if found and tclsh:
            return ModuleSystem(
                kind="tcl",
                version=os.environ.get("MODULES_VERSION", ""),
                init_bash=found[1],
                command=[tclsh, found[0]],
            )
        if preferred == "tcl":
            raise ModuleSystemError(
                "Environment Modules is configured but was not found (set $MODULESHOME)."
            )
    return ModuleSystem(kind="none")


def _log_failure(task: asyncio.Task[Any]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.warning("Module catalog refresh failed: %s", task.exception())


def scan_tree(dirs: list[str]) -> list[ModuleInfo]:
    """The modules of a MODULEPATH read straight from its folders (no module system run).

    Milliseconds where the spider takes a second on a big site, so a first request never waits
    for the spider. It knows names, versions and files but not descriptions, and not what a
    ``.modulerc`` hides or aliases; the spider's catalog replaces it as soon as it is read.
    """
    found: dict[str, ModuleInfo] = {}
    for top in dirs:
        for folder, subdirs, files in os.walk(top):
            subdirs[:] = sorted(d for d in subdirs if not d.startswith("."))
            rel = os.path.relpath(folder, top)
            if rel == ".":
                continue
            for filename in sorted(files):
                if filename.startswith("."):
                    continue
                path = os.path.join(folder, filename)
                if filename.endswith(".lua"):
                    filename = filename[:-4]
                elif not _is_tcl_modulefile(path):
                    continue
                full = f"{rel}/{filename}"
                if full not in found:  # the first folder on MODULEPATH wins, as for `module`
                    found[full] = _module_info(full, path, "")
    return list(found.values())


# MPI libraries: in a hierarchy their modules open the MPI level, like compilers the compiler level.
_MPI_NAMES = {"OpenMPI", "impi", "MPICH", "MVAPICH2", "psmpi", "ParaStationMPI"}
_SMALL_TREE = 50  # up to this many modulefiles, every one is read for MODULEPATH changes


def opens_a_hierarchy(modules: list[ModuleInfo]) -> bool:
    """Whether a scanned tree has modules that extend MODULEPATH (a hierarchy, or a stack module
    such as EESSI's), so the scan cannot see all it holds. A small tree is read whole; a big one
    only in its compiler, toolchain and MPI modules, which open the levels of EasyBuild's
    hierarchies."""
    small = len(modules) <= _SMALL_TREE
    for m in modules:
        if not (small or m.name in _MPI_NAMES or toolchains.toolchain_module(m.full)):
            continue
        try:
            with open(m.path, encoding="utf-8", errors="replace") as f:
                text = f.read(65536)
        except OSError:
            continue
        if "MODULEPATH" in text or "module use" in text:
            return True
    return False


def _is_tcl_modulefile(path: str) -> bool:
    try:
        with open(path, "rb") as f:
            return f.read(8) == b"#%Module"
    except OSError:
        return False


def _scan(dirs: list[str]) -> tuple[list[ModuleInfo], bool]:
    modules = scan_tree(dirs)
    return modules, opens_a_hierarchy(modules)


@dataclass
class _Entry:
    modules: list[ModuleInfo]
    stamp: float
    fetched: float
    complete: bool  # from the module system itself, not only from scanning the folders
    checked: float = 0.0


class CatalogCache:
    """Module catalogs per MODULEPATH, served from memory and refreshed in the background.

    The first request for a MODULEPATH is answered from a scan of its folders while the module
    system's own catalog (descriptions, hidden modules) is read in the background; later requests
    get the cached catalog at once. A stale one (older than ``ttl``, or a module folder changed,
    checked at most every few seconds) triggers one background refresh; concurrent refreshes of
    one MODULEPATH share one spider run.
    """

    STAMP_INTERVAL = 5.0  # seconds between two checks of the module folders' mtimes

    def __init__(self, system: ModuleSystem, ttl: float) -> None:
        self.system = system
        self.ttl = ttl
        self._entries: dict[tuple[str, ...], _Entry] = {}
        self._inflight: dict[tuple[str, ...], asyncio.Task[list[ModuleInfo]]] = {}

    @staticmethod
    def _stamp(key: tuple[str, ...]) -> float:
        # A module install or removal changes the mtime of the top folder or a Name/ folder.
        latest = 0.0
        for d in key:
            try:
                latest = max(latest, os.stat(d).st_mtime)
                with os.scandir(d) as it:
                    for entry in it:
                        if entry.is_dir():
                            latest = max(latest, entry.stat().st_mtime)
            except OSError:
                continue
        return latest

    async def get(self, modulepath: list[str], complete: bool = False) -> list[ModuleInfo]:
        """The catalog; with ``complete``, wait for the module system's own (not the scan)."""
        key = tuple(d for d in modulepath if os.path.isdir(d))
        if self.system.kind == "none" or not key:
            return []
        entry = self._entries.get(key)
        if entry is None:
            stamp = self._stamp(key)
            modules, hierarchical = await asyncio.get_running_loop().run_in_executor(
                None, _scan, list(key)
            )
            entry = _Entry(modules, stamp, time.monotonic(), complete=False)
            entry.checked = entry.fetched
            self._entries.setdefault(key, entry)
            refresh = self._refresh(key)
            if complete or hierarchical:
                # Below the top of a hierarchy only the module system sees: wait for it.
                return await refresh
            return self._entries[key].modules
        now = time.monotonic()
        if now - entry.checked > self.STAMP_INTERVAL:
            entry.checked = now
            if now - entry.fetched > self.ttl or self._stamp(key) != entry.stamp:
                self._refresh(key)
        if complete and not entry.complete:
            return await self._refresh(key)
        return entry.modules

    def _refresh(self, key: tuple[str, ...]) -> asyncio.Task[list[ModuleInfo]]:
        task = self._inflight.get(key)
        if task is None:
            task = asyncio.ensure_future(self._load(key))
            # A background refresh that fails keeps the old catalog; the failure is logged.
            task.add_done_callback(_log_failure)
            self._inflight[key] = task
        return task

    async def _load(self, key: tuple[str, ...]) -> list[ModuleInfo]:
        try:
            stamp = self._stamp(key)
            modules = await self.system.catalog(list(key))
            now = time.monotonic()
            self._entries[key] = _Entry(modules, stamp, now, complete=True, checked=now)
            return modules
        finally:
            self._inflight.pop(key, None)

    def invalidate(self) -> None:
        self._entries.clear()

    async def close(self) -> None:
        """Stop background refreshes (a command-line run ends without waiting for them)."""
        tasks = list(self._inflight.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
