"""Hierarchical module trees (Lmod hierarchies, EasyBuild's ``HierarchicalMNS``, EESSI-like stacks).

In a hierarchy a module is visible only once the modules above it are loaded: ``Python/3.11.3``
after ``GCCcore/12.3.0`` (or ``GCC/12.3.0``, which opens the GCCcore level too), ``mpi4py`` after a
compiler and an MPI, every module of an EESSI-like stack after the stack module. Lmod's spider
knows, for each module, the lists of modules that make it visible (its *parents*: each list in load
order). From them follow which modules go together (one branch of the hierarchy) and the path to
load a selection in order.
"""

from __future__ import annotations

from collections.abc import Sequence

from . import toolchains

Parents = tuple[tuple[str, ...], ...]


def _within(a: Sequence[str], b: Sequence[str]) -> bool:
    return set(a) <= set(b) or set(b) <= set(a)


def compatibility(
    module: str, module_parents: Parents, base: str, base_parents: Parents
) -> toolchains.Compatibility:
    """Whether ``module`` goes with ``base`` (normally the Python module).

    Modules of one branch of a hierarchy (the parents of one within those of the other) fit;
    otherwise the compiler or toolchain above each tells its generation (``GCC/12.3.0`` and
    ``GCCcore/12.3.0`` are both 2023a), and names with a toolchain are checked as on a flat tree.
    """
    by_name = toolchains.compatibility(module, base)
    if not by_name.compatible or not (module_parents or base_parents):
        return by_name
    for mine in module_parents:
        for theirs in base_parents:
            if _within(mine, theirs):
                where = " + ".join(mine)
                return toolchains.Compatibility(True, f"on the branch of {where}, like {base}")
    tc_mine = toolchains.generation_of(module) or generation(module_parents)
    tc_theirs = toolchains.generation_of(base) or generation(base_parents)
    if tc_mine is None or tc_theirs is None or None in (tc_mine.generation, tc_theirs.generation):
        return toolchains.Compatibility(
            True, f"not on the branch of {base} in the module hierarchy; check it matches by hand"
        )
    if tc_mine.generation == tc_theirs.generation:
        return toolchains.Compatibility(
            True,
            f"of {tc_mine.label}, generation {tc_mine.generation} like {base} "
            f"(of {tc_theirs.label})",
        )
    return toolchains.Compatibility(
        False,
        f"it is of {tc_mine.label} (generation {tc_mine.generation}) but {base} is of "
        f"{tc_theirs.label} ({tc_theirs.generation}): modules of different generations load "
        "conflicting libraries",
    )


def generation(parents: Parents) -> toolchains.Toolchain | None:
    """The toolchain generation of a module without a toolchain in its name, from the compiler
    (or toolchain) module above it (``GCCcore/12.3.0`` -> 2023a)."""
    for path in parents:
        for module in reversed(path):
            found = toolchains.toolchain_module(module)
            if found is not None and found.generation is not None:
                return found
    return None


def load_path(selected: Sequence[tuple[str, Parents]]) -> list[str]:
    """The modules to load, in order, so that each selected one is visible when its turn comes.

    For each selected module (in the order given) the parent list chosen is the one that also
    opens the most of the other selected modules (``GCC/12.3.0`` for a Python beside a
    SciPy-bundle of GCC's level), then the one with fewest modules not loaded yet.
    """
    loaded: list[str] = []
    for full, parents in selected:
        if parents:
            best = max(parents, key=lambda p: _rank(p, loaded, selected))
            loaded += [m for m in best if m not in loaded]
        if full not in loaded:
            loaded.append(full)
    return loaded


def _rank(
    path: tuple[str, ...], loaded: list[str], selected: Sequence[tuple[str, Parents]]
) -> tuple[int, int]:
    opened = set(loaded) | set(path)
    serves = sum(1 for _, parents in selected if any(set(p) <= opened for p in parents))
    return serves, -len([m for m in path if m not in loaded])
