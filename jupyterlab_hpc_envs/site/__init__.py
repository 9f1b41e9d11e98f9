"""The site: what the cluster offers and where this server runs.

Module system, partitions (``sinfo`` enriched by the site description), storage roots in the site documentation's
order, the node's CPU microarchitecture, and the warnings the site documentation implies (a stray user site, a home
folder used for environments).
"""

from __future__ import annotations

import asyncio
import glob
import os
import socket
import time
from dataclasses import asdict, dataclass, field
from typing import Any

from .. import errors, names
from ..config import HpcEnvs
from . import hierarchy, slurm, toolchains
from .modules import CatalogCache, ModuleInfo, ModuleSystem, detect
from .probe import RUNNING, Probe, Probes, learning_message

LOCAL_PARTITION = "local"


def host_arch(config: HpcEnvs) -> tuple[str, str]:
    """This node's microarchitecture and how it was found (the site's variable, else archspec)."""
    value = os.environ.get(config.arch_variable, "").strip()
    if value:
        return value, config.arch_variable
    import archspec.cpu

    return archspec.cpu.host().name, "archspec"


@dataclass
class PartitionInfo:
    """A partition as the panel and the builds see it: sinfo's facts joined with the site
    description (architecture, module tree, kernel defaults and limits)."""

    name: str
    arch: str | None
    modulepath: list[str]
    available: bool = True
    default: bool = False
    local: bool = False  # this server's node has the partition's arch: builds and kernels run here
    gpu: str = ""
    description: str = ""
    kernel: dict[str, Any] = field(default_factory=dict)
    limits: dict[str, Any] = field(default_factory=dict)
    slurm: bool = False
    # What one node's job can get (slurm.Partition.capacity): checked before a kernel asks for it.
    capacity: dict[str, Any] = field(default_factory=dict)
    # Where arch and modulepath come from: {"kind": "site" | "probe" | "node" | "none", "text": …},
    # and for a probe its state (ok, running, failed), node, date and error.
    origin: dict[str, Any] = field(default_factory=dict)
    described: bool = False  # by the site description: never probed

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class StorageRoot:
    """A folder environments may be created in (``$VSC_DATA``, …), with why it may be a poor
    choice (``warning``: the home folder's small quota)."""

    path: str
    label: str
    exists: bool
    writable: bool
    home: bool
    warning: str = ""
    shared: bool = False  # a VO's folder: only for environments made --shared

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class SiteWarning:
    """A problem of the site the user should know of (a stray user site, no module system, Slurm
    not answering); ``code`` names it for the frontend and the doctor."""

    code: str
    message: str
    path: str = ""

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


HOME_WARNING = (
    "Your home folder has a very small quota and fills up quickly with installation files: "
    "prefer $VSC_DATA or $VSC_SCRATCH (or your VO's folder)."
)


def user_site_dirs() -> list[str]:
    """Non-empty ``~/.local/lib/python*/site-packages`` folders: the site documentation's conflicting user site."""
    home = os.path.expanduser("~")
    found = []
    for path in sorted(glob.glob(os.path.join(home, ".local", "lib", "python*", "site-packages"))):
        try:
            if any(True for _ in os.scandir(path)):
                found.append(path)
        except OSError:
            continue
    return found


def home_relative(path: str) -> str:
    """``path`` as the user knows it: ``~/.local/...`` for a path in the home folder (a shell
    expands it when the advice is copied; the user's home is not spelled out)."""
    home = os.path.expanduser("~").rstrip("/")
    return "~" + path[len(home) :] if home and path.startswith(home + "/") else path


def user_site_advice(paths: list[str]) -> str:
    """What to do about stray user-site folders: the same advice wherever they are reported (the
    site panel, the doctor, a conda environment's creation)."""
    moves = "; ".join(f"'mv {home_relative(p)} {home_relative(p)}.disabled'" for p in paths)
    return (
        "Kernels of this extension run with PYTHONNOUSERSITE=1, but your own scripts, pip and "
        f"conda used by hand do not: move it aside, as the site's documentation advises: {moves}."
    )


class Site:
    """What the cluster offers, cached; one instance per server (or CLI run)."""

    def __init__(self, config: HpcEnvs) -> None:
        self.config = config
        self.modules: ModuleSystem = detect(config.module_system)
        self.catalogs = CatalogCache(self.modules, config.catalog_ttl)
        self.probes = Probes(config)
        self.arch, self.arch_source = host_arch(config)
        self.hostname = socket.gethostname()
        self.server_partition = os.environ.get("SLURM_JOB_PARTITION") or None
        self._partitions: list[PartitionInfo] | None = None
        self._partitions_at = 0.0
        self._partitions_lock = asyncio.Lock()
        self._slurm_error: str | None = None
        self._annotated: dict[tuple[Any, ...], tuple[list[ModuleInfo], list[dict[str, Any]]]] = {}

    # --- Slurm and partitions ---------------------------------------------------------------

    @property
    def slurm_enabled(self) -> bool:
        """Whether Slurm is used: configured so, or (auto) its commands answer as a cluster's
        (installed without a reachable cluster is no Slurm, found by :meth:`partitions`)."""
        if self.config.use_slurm == "no":
            return False
        if self.config.use_slurm == "yes":
            return True
        return slurm.available() and not slurm.not_configured()

    async def partitions(self, refresh: bool = False) -> list[PartitionInfo]:
        """Partitions from sinfo (cached for a minute), or the single ``local`` partition."""
        async with self._partitions_lock:
            fresh = time.monotonic() - self._partitions_at < 60
            if self._partitions is not None and fresh and not refresh:
                return self._partitions
            self._partitions = await self._read_partitions()
            self._partitions_at = time.monotonic()
            return self._partitions

    async def _read_partitions(self) -> list[PartitionInfo]:
        """sinfo's partitions (or the site description's, if Slurm does not answer; or ``local``
        without Slurm), each completed from the site description: its architecture (else the one
        learned from one of its nodes), its module tree and kernel limits."""
        described: dict[str, dict[str, Any]] = dict(self.config.partitions)
        server_modulepath = [p for p in os.environ.get("MODULEPATH", "").split(":") if p]
        self._slurm_error = None
        found = await self._slurm_partitions(described) if self.slurm_enabled else []
        if not found:
            found = [PartitionInfo(name=LOCAL_PARTITION, arch=self.arch, modulepath=[])]
        for part in found:
            entry = described.get(part.name, {})
            part.described = bool(entry.get("arch") or entry.get("modulepath"))
            part.arch = entry.get("arch") or part.arch
            if part.arch is None and part.name == self.server_partition:
                part.arch = self.arch
            part.modulepath = list(entry.get("modulepath") or [])
            if not part.modulepath and (
                part.name == self.server_partition
                or (part.described and part.arch == self.arch)
                or part.name == LOCAL_PARTITION
            ):
                part.modulepath = server_modulepath
            part.gpu = entry.get("gpu", part.gpu)
            part.description = entry.get("description", "")
            part.kernel = dict(entry.get("kernel") or {})
            part.limits = dict(entry.get("limits") or {})
            part.local = part.arch == self.arch or part.name == LOCAL_PARTITION
            await self._apply_origin(part)
        return found

    async def _slurm_partitions(self, described: dict[str, Any]) -> list[PartitionInfo]:
        """The partitions sinfo lists; the described ones (unavailable) when Slurm does not
        answer; none when it is installed without a cluster (no Slurm, said once as a warning)."""
        try:
            seen_parts = await slurm.partitions()
            caps = await slurm.partition_caps()
            return [
                PartitionInfo(
                    name=seen.name,
                    arch=None,
                    modulepath=[],
                    available=seen.available,
                    default=seen.default,
                    gpu=seen.gres,
                    slurm=True,
                    capacity=seen.capacity(caps.get(seen.name)),
                )
                for seen in seen_parts
            ]
        except slurm.SlurmError as err:
            if self.config.use_slurm == "auto" and slurm.note_failure(str(err)):
                return []
            # A controller that is down must not take the whole panel with it: report it, and
            # fall back on what the site description knows.
            self._slurm_error = str(err)
            return [
                PartitionInfo(name=n, arch=None, modulepath=[], available=False, slurm=True)
                for n in described
            ]

    # --- what partitions the site description leaves out offer (site/probe.py) ----------------

    def _probed(self, part: PartitionInfo) -> bool:
        """Whether the partition's arch and modules are to be learned from one of its nodes."""
        return (
            not part.described
            and part.slurm
            and self.slurm_enabled
            and part.name != self.server_partition
        )

    async def _apply_origin(self, part: PartitionInfo, probe: Probe | None = None) -> None:
        """Say where the partition's arch and modules come from; take a probe's answer."""
        if not self._probed(part):
            kind = "site" if part.described else "node" if part.arch else "none"
            text = {"site": "site description", "node": "this node", "none": "unknown"}[kind]
            part.origin = {"kind": kind, "text": text}
            return
        probe = probe or await self.probes.state(part.name)
        if probe is None:
            part.origin = {"kind": "none", "text": "not probed yet", "state": ""}
            return
        if probe.arch:  # an answer (perhaps being refreshed): the node's facts
            part.arch, part.modulepath = probe.arch, list(probe.modulepath)
            part.local = part.arch == self.arch
        part.origin = {
            "kind": "probe",
            "text": probe.describe(),
            "state": probe.state,
            "node": probe.node,
            "at": time.strftime("%Y-%m-%dT%H:%M:%S%z", time.localtime(probe.at)),
            "error": probe.error,
            "visible": probe.visible(),
            "module_system": probe.module_system,
            "message": learning_message(part.name) if probe.state == RUNNING else probe.error,
        }

    async def learned(
        self, part: PartitionInfo, wait: bool = True, fresh: bool = False, start: bool = True
    ) -> None:
        """Make sure a partition the site description leaves out has been probed: wait for its
        probe (:class:`errors.SlurmError` says why it could not run), or with ``wait`` false only
        start it (``part.origin`` then says "probing…"); with ``start`` false, only say what is
        known (a reader not allowed to submit jobs)."""
        if not self._probed(part):
            return
        if not start:
            await self._apply_origin(part)
            return
        probe = await self.probes.learn(part.name, wait=wait, fresh=fresh)
        await self._apply_origin(part, probe)

    async def learn_all(self, wait: bool, fresh: bool = False, only: str = "") -> None:
        """Probe the partitions not described and not learned yet (all with ``fresh``; only one
        with ``only``): concurrently, each failure recorded in its ``origin``."""
        parts = [p for p in await self.partitions() if self._probed(p) and only in ("", p.name)]
        if only and not parts:
            part = await self.partition(only)
            raise errors.Conflict(
                f"Partition {part.name} is not probed: its arch and modules come from "
                f"{'the site description' if part.described else 'this node'}.",
                field="partition",
            )
        todo = [p for p in parts if fresh or await self.probes.wanted(p.name)]
        if not wait:
            for p in todo:
                await self.learned(p, wait=False, fresh=fresh)
            return
        done = await asyncio.gather(
            *(self.learned(p, fresh=fresh) for p in todo), return_exceptions=True
        )
        for p, outcome in zip(todo, done, strict=True):
            if isinstance(outcome, BaseException):
                await self._apply_origin(p)

    async def partition(self, name: object) -> PartitionInfo:
        """A partition by name, or :class:`errors.NotFound` listing the ones that exist."""
        wanted = names.partition(name)
        parts = await self.partitions()
        for p in parts:
            if p.name == wanted:
                return p
        raise errors.NotFound(
            f"There is no partition {wanted!r}. Partitions: {', '.join(p.name for p in parts)}.",
            [p.name for p in parts],
            field="partition",
        )

    async def capacities(self) -> dict[str, dict[str, Any]]:
        """What one node's job can get, by partition (cached with the partitions; empty for a
        partition Slurm did not describe)."""
        return {p.name: p.capacity for p in await self.partitions()}

    async def partition_or_default(self, name: object) -> PartitionInfo:
        """The partition named, or (no name) the one a request means by default."""
        if name in (None, ""):
            return await self.default_partition()
        return await self.partition(name)

    async def default_partition(self) -> PartitionInfo:
        parts = await self.partitions()
        for p in parts:
            if p.name == self.server_partition:
                return p
        local = [p for p in parts if p.local]
        defaults = [p for p in parts if p.default]
        return (local or defaults or parts)[0]

    # --- modules ------------------------------------------------------------------------------

    async def catalog(self, partition: PartitionInfo) -> list[ModuleInfo]:
        """The partition's modules (probing it first if the site description leaves it out)."""
        await self.learned(partition)
        return await self.catalogs.get(partition.modulepath)

    async def module_lookup(self, partition: PartitionInfo, module: str) -> ModuleInfo:
        """The module as the partition's catalog has it; NotFound with close matches otherwise."""
        catalog = await self.catalog(partition)
        found = _find_module(catalog, module)
        if found is None:
            # The first answer may be a scan of the folders, which does not see below the top
            # of a hierarchy: the module system's own catalog decides.
            catalog = await self.catalogs.get(partition.modulepath, complete=True)
            found = _find_module(catalog, module)
        if found is not None:
            return found
        import difflib

        close = difflib.get_close_matches(module, [m.full for m in catalog], n=5, cutoff=0.5)
        prefix = module.split("/", 1)[0].lower()
        close += [m.full for m in catalog if m.name.lower() == prefix and m.full not in close][:5]
        hint = f" Did you mean: {', '.join(close)}?" if close else ""
        if not catalog and partition.origin.get("kind") == "probe":
            raise errors.Conflict(
                f"Cannot check module {module!r} on partition {partition.name!r}: its node "
                f"{partition.origin.get('node')} reported the module folders "
                f"{':'.join(partition.modulepath) or '(none)'}, and none holds a module visible "
                "from here. Ask your admins to describe the partition in the site file.",
                field="modules",
            )
        raise errors.NotFound(
            f"Module {module!r} is not available on partition {partition.name!r}.{hint}",
            close,
            field="modules",
        )

    async def catalog_with_compatibility(
        self, partition: PartitionInfo, python_module: str | None
    ) -> list[dict[str, Any]]:
        """The catalog as the API serves it; computed once per catalog and Python module."""
        modules = await self.catalog(partition)
        key = (tuple(partition.modulepath), python_module)
        cached = self._annotated.get(key)
        if cached is not None and cached[0] is modules:
            return cached[1]
        entries = []
        python = _find_module(modules, python_module) if python_module else None
        base_parents = python.parents if python else ()
        for m in modules:
            item = m.to_json()
            if python_module:
                compat = hierarchy.compatibility(m.full, m.parents, python_module, base_parents)
                item["compatible"], item["reason"] = compat.compatible, compat.reason
            item["python"] = toolchains.python_version(m.full)
            entries.append(item)
        self._annotated[key] = (modules, entries)
        return entries

    # --- storage ------------------------------------------------------------------------------

    def storage_roots(self) -> list[StorageRoot]:
        """The roots of the user's own environments, best first (``$HOME`` last if allowed)."""
        home = os.path.realpath(os.path.expanduser("~"))
        paths = list(self.config.storage_roots)
        if self.config.allow_home and home not in {os.path.realpath(p) for p in paths}:
            paths.append(home)
        return [_storage_root(p, home=os.path.realpath(p) == home) for p in paths]

    def shared_roots(self) -> list[StorageRoot]:
        """The VO folders where ``create --shared`` puts environments (see ownership.py)."""
        own = {os.path.realpath(p) for p in self.config.storage_roots}
        return [
            _storage_root(p, shared=True)
            for p in self.config.shared_roots
            if os.path.realpath(p) not in own
        ]

    def shared_root(self) -> StorageRoot:
        """The first usable shared root, or why there is none."""
        roots = self.shared_roots()
        usable = [r for r in roots if r.exists and r.writable]
        if not usable:
            where = ", ".join(r.path for r in roots) or "none is configured ($VSC_DATA_VO unset)"
            raise errors.InvalidInput(
                "shared",
                f"No VO folder to share an environment in ({where}): ask your admins to set "
                "HpcEnvs.shared_roots, or create the environment for yourself only.",
            )
        return usable[0]

    def storage_root(self, value: object) -> StorageRoot:
        """The storage root a user chose (by path or by label such as ``$VSC_DATA``)."""
        roots = self.storage_roots()
        if value in (None, ""):
            usable = [r for r in roots if r.exists and r.writable]
            if not usable:
                raise errors.InvalidInput("root", "No storage root is usable: set one in HpcEnvs.")
            return usable[0]
        if isinstance(value, str):
            for r in roots:
                if value == r.label:
                    return r
        path = names.clean_path("root", value)
        for r in roots:
            if os.path.realpath(path) == os.path.realpath(r.path):
                if not r.exists:
                    raise errors.InvalidInput("root", f"The storage root {r.path} does not exist.")
                return r
        raise errors.InvalidInput(
            "root",
            f"{value!r} is not one of the storage roots: "
            f"{', '.join(f'{r.label} ({r.path})' for r in roots)}. Environments are created in a "
            "storage root so that every node sees them.",
        )

    # --- the whole picture ----------------------------------------------------------------------

    def warnings(self) -> list[SiteWarning]:
        found = []
        for path in user_site_dirs():
            found.append(
                SiteWarning(
                    "user-site",
                    f"{home_relative(path)} holds packages that Python loads before any "
                    "environment's. " + user_site_advice([path]),
                    path,
                )
            )
        if self.modules.kind == "none":
            found.append(
                SiteWarning(
                    "no-modules",
                    "No module system (Lmod or Environment Modules) was found: environments use "
                    "the server's own Python.",
                )
            )
        if self._slurm_error:
            found.append(SiteWarning("slurm", f"Slurm is not answering: {self._slurm_error}"))
        unconfigured = slurm.not_configured() if self.config.use_slurm == "auto" else ""
        if unconfigured:
            found.append(
                SiteWarning(
                    "no-slurm",
                    f"No Slurm: its commands are installed but this machine is not part of a "
                    f"cluster ({unconfigured}). Builds and kernels run on this node.",
                )
            )
        return found

    async def describe(self, learn: bool = True) -> dict[str, Any]:
        """Everything the panel shows; with ``learn``, partitions not described and not learned
        yet are probed (awaited in a command-line run, in the background by a server: "probing…")."""
        if learn:
            await self.learn_all(wait=not self.probes.background)
        parts = await self.partitions()
        for part in parts:
            await self._apply_origin(part)
        here = await self.default_partition()
        return {
            "host": self.hostname,
            "arch": self.arch,
            "arch_source": self.arch_source,
            "partition": here.name,
            "in_job": self.server_partition is not None,
            "module_system": self.modules.to_json(),
            "slurm": self.slurm_enabled,
            "partitions": [p.to_json() for p in parts],
            "storage_roots": [r.to_json() for r in self.storage_roots()],
            "shared_roots": [r.to_json() for r in self.shared_roots()],
            "conda": {
                "policy": self.config.conda_policy,
                "message": self.config.conda_message(),
            },
            "warnings": [w.to_json() for w in self.warnings()],
            "pip_options": sorted(names.SAFE_PIP_OPTIONS),
            # The rules the frontend checks as the user types, from here rather than copied.
            "rules": {
                "name_pattern": names.ENV_NAME_PATTERN.pattern,
                "name_max": names.ENV_NAME_MAX,
                "reserved_names": sorted(names.RESERVED_NAMES),
                "kept_packages": {k: list(v) for k, v in names.KEPT_PACKAGES.items()},
            },
        }


def _find_module(catalog: list[ModuleInfo], module: str) -> ModuleInfo | None:
    """``module`` in ``catalog``: its full name, or (as `module load Python` loads the default
    version) a bare name that exists."""
    for m in catalog:
        if m.full == module:
            return m
    same = [m for m in catalog if m.name == module]
    return same[-1] if same else None


def _storage_root(path: str, home: bool = False, shared: bool = False) -> StorageRoot:
    """A storage root as offered, labelled by the variable that names it (``$VSC_DATA``)."""
    labels = {os.environ.get(v): v for v in reversed(("HOME", *_root_vars()))}
    return StorageRoot(
        path=path,
        label="$" + labels[path] if path in labels else path,
        exists=os.path.isdir(path),
        writable=os.access(path, os.W_OK),
        home=home,
        warning=HOME_WARNING if home else "",
        shared=shared,
    )


def _root_vars() -> tuple[str, ...]:
    from ..config import DEFAULT_ROOT_VARIABLES, SHARED_ROOT_VARIABLES

    return DEFAULT_ROOT_VARIABLES + SHARED_ROOT_VARIABLES
