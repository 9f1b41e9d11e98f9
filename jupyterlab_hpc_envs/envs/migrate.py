"""Migration to another toolchain generation: which module each module of an environment becomes.

EasyBuild sites install each year's software in a new toolchain generation (2023a, 2023b, 2024a)
and retire the old ones. An environment moves to a newer generation by loading, for each of its
modules, the newest module of the same name in that generation: ``Python/3.11.3-GCCcore-12.3.0``
-> ``Python/3.12.1-GCCcore-13.2.0``, ``SciPy-bundle/2023.07-gfbf-2023a`` ->
``SciPy-bundle/2023.11-gfbf-2023b``. The same mapping serves a notebook recreated where its
exact modules are missing (``generation=None``: the nearest modules, see :func:`map_modules`).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name

from .. import errors, names, proc
from ..site import PartitionInfo, toolchains
from ..site.modules import ModuleInfo
from .manifest import Manifest


@dataclass(frozen=True)
class ModuleMove:
    """One module of an environment and the module it becomes (``to`` None: nothing matches)."""

    from_: str
    to: str | None
    reason: str

    def to_json(self) -> dict[str, str | None]:
        return {"from": self.from_, "to": self.to, "reason": self.reason}


def _name(module: str) -> str:
    return module.rsplit("/", 1)[0] if "/" in module else module


def _version_key(module: ModuleInfo) -> tuple[tuple[int, int | str], ...]:
    """Natural order of the version before its toolchain (``3.12.10`` after ``3.12.9``)."""
    version = module.version
    if module.toolchain and f"-{module.toolchain}" in version:
        version = version.split(f"-{module.toolchain}", 1)[0]
    parts = re.findall(r"\d+|[A-Za-z]+", version)
    return tuple((1, int(p)) if p.isdigit() else (0, p) for p in parts)


def _generation(module: str, catalog: Sequence[ModuleInfo]) -> str | None:
    """The module's generation: from the catalog (which knows a hierarchy's parents), else its
    name."""
    for m in catalog:
        if m.full == module:
            return m.generation
    found = toolchains.generation_of(module)
    return found.generation if found else None


def _is_python(module: str) -> bool:
    return _name(module).lower() == "python"


def generations(catalog: Sequence[ModuleInfo]) -> list[str]:
    """The toolchain generations that have a Python module in ``catalog``, oldest first."""
    return sorted({m.generation for m in catalog if m.generation and _is_python(m.full)})


def nearest_generation(modules: Sequence[str], catalog: Sequence[ModuleInfo]) -> str | None:
    """The generation a set of modules is best mapped to on this catalog: their own (that of the
    Python module, else of the first module with one) while the catalog has a Python module of
    it, else the newest generation with a Python module; ``None`` when no module has one."""
    ordered = sorted(modules, key=lambda m: not _is_python(m))
    own = next((g for g in (_generation(m, catalog) for m in ordered) if g), None)
    if own is None:
        return None
    offered = generations(catalog)
    return own if own in offered or not offered else offered[-1]


def map_modules(
    modules: Sequence[str], catalog: Sequence[ModuleInfo], generation: str | None
) -> list[ModuleMove]:
    """Where each of ``modules`` goes on the partition whose module catalog is ``catalog``.

    With a ``generation``, each module with a toolchain generation (in its name, or from the
    compiler above it in a hierarchy) becomes the newest module of the same name in that
    generation. With ``None`` (recreating an environment where its exact modules may be missing)
    the target generation is :func:`nearest_generation`, and a module present here as it is stays
    as it is when that is the module's own generation. A module without a generation (``Java/17``)
    stays if present, else becomes the newest of its name. ``to`` is None where nothing matches.
    """
    keep = generation is None
    target = nearest_generation(modules, catalog) if generation is None else generation
    present = {m.full for m in catalog}
    return [_move(module, catalog, target, keep, present) for module in modules]


def _move(
    module: str,
    catalog: Sequence[ModuleInfo],
    target: str | None,
    keep: bool,
    present: set[str],
) -> ModuleMove:
    own = _generation(module, catalog)
    name = _name(module)
    same_name = [m for m in catalog if m.name == name]
    if own is None or target is None:
        if module in present:
            return ModuleMove(module, module, "present here; it has no toolchain generation")
        if not same_name:
            return ModuleMove(module, None, f"no {name} module here")
        newest = max(same_name, key=_version_key)
        return ModuleMove(module, newest.full, f"the newest {name} here ({module} is not)")
    if keep and own == target and module in present:
        return ModuleMove(module, module, f"present here, generation {own}")
    candidates = [m for m in same_name if m.generation == target]
    if not candidates:
        others = sorted({m.generation for m in same_name if m.generation})
        offered = f" (it has {name} of {', '.join(others)})" if others else ""
        return ModuleMove(module, None, f"no {name} of generation {target} here{offered}")
    newest = max(candidates, key=_version_key)
    return ModuleMove(module, newest.full, f"the newest {name} of generation {target}")


# --- the plan of a migration ---------------------------------------------------------------------

_GENERATION = re.compile(r"^(?:19|20)\d\d[ab]$")
# EasyBuild's list of a module's Python packages: setenv("EBEXTSLISTSCIPYMINBUNDLE", "numpy-1.26.2,…")
_EXTS_LIST = re.compile(r"EBEXTSLIST[A-Z0-9]*[\"']?\s*,?\s*[\"'{]([^\"'}\n]*)")
_EXT = re.compile(r"^(?P<name>.+?)-(?P<version>\d[^-]*)$")
PIP_CHECK_TIMEOUT = 60.0
KEPT_OPTIONS = ("system_site_packages", "pip_options")  # a venv's options the new one keeps


def extensions(modulefile: str) -> dict[str, str]:
    """The Python packages a module provides (normalised name -> version), from the list
    EasyBuild writes into its modulefile (``EBEXTSLIST…``); empty when it has none."""
    try:
        with open(modulefile, encoding="utf-8", errors="replace") as f:
            text = f.read(262144)
    except OSError:
        return {}
    found: dict[str, str] = {}
    for listed in _EXTS_LIST.findall(text):
        for item in listed.split(","):
            match = _EXT.match(item.strip())
            if match:
                found[canonicalize_name(match.group("name"))] = match.group("version")
    return found


def check_generation(value: object, catalog: Sequence[ModuleInfo], partition: str) -> str:
    """The generation asked for (none: the newest), refused (naming those there are) unless the
    partition has a Python module of it."""
    offered = generations(catalog)
    listed = ", ".join(offered) or "none"
    if value in (None, "") and offered:
        return offered[-1]
    if not isinstance(value, str) or not _GENERATION.match(value):
        raise errors.InvalidInput(
            "to",
            f"Give a toolchain generation such as 2023b; generations on {partition}: {listed}.",
        )
    if value not in offered:
        present = any(m.generation == value for m in catalog)
        why = "has no Python module" if present else "does not exist"
        raise errors.InvalidInput(
            "to",
            f"Toolchain generation {value} {why} on partition {partition}. Generations "
            f"with a Python module there: {listed}.",
        )
    return value


def _provided(
    specs: Sequence[str], moves: Sequence[ModuleMove], catalog: Sequence[ModuleInfo]
) -> tuple[list[dict[str, str]], list[str]]:
    """The requested specs the new modules provide (each with the module and its version), and
    the specs left to install into the new venv."""
    paths = {m.full: m.path for m in catalog}
    offered: dict[str, tuple[str, str]] = {}
    for move in moves:
        if move.to:
            for name, version in extensions(paths.get(move.to, "")).items():
                offered.setdefault(name, (move.to, version))
    provided: list[dict[str, str]] = []
    kept: list[str] = []
    for spec in specs:
        key: str = ""
        with contextlib.suppress(InvalidRequirement):
            key = canonicalize_name(Requirement(spec).name)
        if key in offered:
            module, version = offered[key]
            provided.append({"package": spec, "module": module, "version": version})
        else:
            kept.append(spec)
    return provided, kept


def _pinned(spec: str) -> bool:
    try:
        found = list(Requirement(spec).specifier)
    except InvalidRequirement:
        return False
    return len(found) == 1 and found[0].operator in ("==", "===") and "*" not in found[0].version


async def unavailable(
    specs: Sequence[str], python: str, pip_options: Sequence[str] = ()
) -> list[dict[str, str]]:
    """The pinned specs of which the package index has no wheel for Python ``python``, each with
    pip's reason: pip's resolver in a dry run (``pip install --dry-run --python-version X
    --only-binary=:all: --no-deps``, this server's pip and its configuration, the venv's pip
    options), one spec at a time so that each failure names its package."""
    pinned = [s for s in specs if _pinned(s)]
    results = await asyncio.gather(*(_pip_finds(s, python, pip_options) for s in pinned))
    return [{"package": s, "reason": r} for s, r in zip(pinned, results, strict=True) if r]


async def _pip_finds(spec: str, python: str, pip_options: Sequence[str]) -> str:
    """'' when pip finds a wheel of ``spec`` for ``python``; else pip's last error line."""
    with tempfile.TemporaryDirectory(prefix="hpc-envs-migrate-") as target:
        argv = [
            sys.executable, "-m", "pip", "install", "--dry-run", "--quiet", "--no-deps",
            "--ignore-installed", "--only-binary=:all:", "--python-version", python,
            "--target", target, "--disable-pip-version-check", *pip_options, spec,
        ]  # fmt: skip
        try:
            code, _out, err = await proc.run(argv, timeout=PIP_CHECK_TIMEOUT)
        except proc.CommandError as error:
            return f"pip could not check it: {error}"
    if code == 0:
        return ""
    lines = [line for line in err.splitlines() if line.startswith("ERROR:")]
    return lines[-1].removeprefix("ERROR: ") if lines else f"pip failed (exit {code})"


@dataclass(frozen=True)
class Plan:
    """What a migration does: the new modules and packages, what it leaves out, and why."""

    env: Manifest
    partition: PartitionInfo
    generation: str
    new_name: str
    moves: list[ModuleMove]
    generations: list[str]
    provided: list[dict[str, str]]
    packages: list[str]
    unavailable: list[dict[str, str]]

    @property
    def modules(self) -> list[str]:
        """The new environment's modules, in the old one's order."""
        return [m.to for m in self.moves if m.to]

    def to_json(self) -> dict[str, Any]:
        python = next((m for m in self.env.modules if _is_python(m)), "")
        return {
            "name": self.env.name,
            "new_name": self.new_name,
            "partition": self.partition.name,
            "from": _generation(python, []) if python else None,
            "to": self.generation,
            "generations": self.generations,
            "modules": [m.to_json() for m in self.moves],
            "unmatched": [m.from_ for m in self.moves if m.to is None],
            "provided": self.provided,
            "packages": self.packages,
            "unavailable": self.unavailable,
        }


async def plan(
    env: Manifest,
    part: PartitionInfo,
    catalog: Sequence[ModuleInfo],
    generation: object,
    new_name: object,
) -> Plan:
    """The plan of moving ``env`` to ``generation`` on ``part`` as a new environment
    ``new_name`` (default ``NAME-GENERATION``, a generation ending the old name replaced). The
    venv's requested packages that the new modules provide are left out; those pinned to a
    version without a wheel for the new Python are installed unpinned. Refused: a conda environment (it has no modules),
    an unknown generation or one without Python (the message lists those there are)."""
    if env.kind != "venv":
        raise errors.InvalidInput(
            "name",
            f"{env.name} is a {env.kind} environment: only module-based venvs migrate to "
            "another toolchain generation.",
        )
    target = check_generation(generation, catalog, part.name)
    default = re.sub(r"-(?:19|20)\d\d[ab]$", "", env.name) + f"-{target}"
    new = names.env_name(default if new_name in (None, "") else new_name)
    moves = map_modules(env.modules, catalog, target)
    python = next((m.to for m in moves if _is_python(m.from_) and m.to), None)
    if python is None:
        raise errors.InvalidInput(
            "name", f"{env.name} loads no Python module: there is nothing to migrate it by."
        )
    provided, kept = _provided(env.packages, moves, catalog)
    version = toolchains.python_version(python) or ""
    pip_options = [str(o) for o in env.options.get("pip_options") or []]
    missing = await unavailable(kept, version, pip_options) if version else []
    for row in missing:
        row["instead"] = relaxed(row["package"])
    instead = {row["package"]: row["instead"] for row in missing}
    packages = [instead.get(spec, spec) for spec in kept]
    offered = generations(catalog)
    return Plan(env, part, target, new, moves, offered, provided, packages, missing)


def relaxed(spec: str) -> str:
    """``spec`` without its version pin (its extras and markers kept): what the new environment
    installs where the pinned version has no wheel for the new Python."""
    req = Requirement(spec)
    req.specifier = SpecifierSet()
    return str(req)


def root_of(env: Manifest) -> str:
    """The storage root an environment's folder is in (``ROOT/<envs folder>/NAME``)."""
    return os.path.dirname(os.path.dirname(env.home))
