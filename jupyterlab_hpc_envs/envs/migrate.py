"""Migration to another toolchain generation: which module each module of an environment becomes.

EasyBuild sites install each year's software in a new toolchain generation (2023a, 2023b, 2024a)
and retire the old ones. An environment moves to a newer generation by loading, for each of its
modules, the newest module of the same name in that generation: ``Python/3.11.3-GCCcore-12.3.0``
-> ``Python/3.12.1-GCCcore-13.2.0``, ``SciPy-bundle/2023.07-gfbf-2023a`` ->
``SciPy-bundle/2023.11-gfbf-2023b``. The same mapping serves a notebook recreated where its
exact modules are missing (``generation=None``: the nearest modules, see :func:`map_modules`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from ..site import toolchains
from ..site.modules import ModuleInfo


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
