"""EasyBuild toolchains: which modules can be loaded together.

EasyBuild names modules ``Name/version-toolchain-toolchainversion[-suffix]``
(``SciPy-bundle/2023.07-gfbf-2023a``, ``Python/3.11.3-GCCcore-12.3.0``,
``PyTorch/2.1.2-foss-2023a-CUDA-12.1.1``). Modules of one *toolchain generation* (2023a) are built
against the same compiler and libraries; mixing generations loads two GCCcore runtimes and fails in
odd ways, which is why the site documentation only pairs ``Python/3.11.3-GCCcore-12.3.0`` with ``…-2023a`` modules.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# GCCcore / GCC version -> generation, from EasyBuild's toolchain table (common toolchains doc).
GCC_GENERATIONS: dict[str, str] = {
    "8.2.0": "2019a",
    "8.3.0": "2019b",
    "9.3.0": "2020a",
    "10.2.0": "2020b",
    "10.3.0": "2021a",
    "11.2.0": "2021b",
    "11.3.0": "2022a",
    "12.2.0": "2022b",
    "12.3.0": "2023a",
    "13.2.0": "2023b",
    "13.3.0": "2024a",
    "14.2.0": "2025a",
    "14.3.0": "2025b",
}
# intel-compilers versions of the intel toolchains (the others carry the generation in their name).
INTEL_GENERATIONS: dict[str, str] = {
    "2021.2.0": "2021a",
    "2021.4.0": "2021b",
    "2022.1.0": "2022a",
    "2022.2.1": "2022b",
    "2023.1.0": "2023a",
    "2023.2.1": "2023b",
    "2024.2.0": "2024a",
    "2025.1.1": "2025a",
}
# Toolchains whose version is a generation: foss-2023a, gfbf-2023a, intel-2023a, ...
_GENERATION = re.compile(r"^(?:19|20)\d\d[ab]$")
_COMPILER_TOOLCHAINS = {"GCCcore": GCC_GENERATIONS, "GCC": GCC_GENERATIONS}
_COMPILER_TOOLCHAINS_INTEL = {"intel-compilers": INTEL_GENERATIONS, "iccifort": INTEL_GENERATIONS}
_TOOLCHAIN_IN_VERSION = re.compile(
    r"-(?P<tc>GCCcore|GCC|intel-compilers|iccifort|[a-z][A-Za-z0-9]*)-"
    r"(?P<tcver>(?:19|20)\d\d[ab]|\d+(?:\.\d+)+)(?P<suffix>-.+)?$"
)


@dataclass(frozen=True)
class Toolchain:
    """The toolchain a module was built with, and the generation it belongs to."""

    name: str
    version: str
    generation: str | None

    @property
    def label(self) -> str:
        return f"{self.name}-{self.version}"


def parse(module: str) -> Toolchain | None:
    """The toolchain of an EasyBuild module name, or ``None`` for modules without one.

    >>> parse("SciPy-bundle/2023.07-gfbf-2023a").generation
    '2023a'
    >>> parse("Python/3.11.3-GCCcore-12.3.0").generation
    '2023a'
    >>> parse("Java/17") is None
    True
    """
    if "/" not in module:
        return None
    version = module.rsplit("/", 1)[1]
    match = _TOOLCHAIN_IN_VERSION.search(version)
    if not match:
        return None
    name, tcver = match.group("tc"), match.group("tcver")
    if name in _COMPILER_TOOLCHAINS:
        return Toolchain(name, tcver, _COMPILER_TOOLCHAINS[name].get(tcver))
    if name in _COMPILER_TOOLCHAINS_INTEL:
        return Toolchain(name, tcver, _COMPILER_TOOLCHAINS_INTEL[name].get(tcver))
    if _GENERATION.match(tcver):
        return Toolchain(name, tcver, tcver)
    return None


def toolchain_module(module: str) -> Toolchain | None:
    """For a toolchain module itself (``GCCcore/12.3.0``, ``foss/2023a``): its generation."""
    if "/" not in module:
        return None
    name, version = module.split("/", 1)
    if name in _COMPILER_TOOLCHAINS:
        return Toolchain(name, version, _COMPILER_TOOLCHAINS[name].get(version))
    if _GENERATION.match(version):
        return Toolchain(name, version, version)
    return None


def generation_of(module: str) -> Toolchain | None:
    return parse(module) or toolchain_module(module)


@dataclass(frozen=True)
class Compatibility:
    """Whether a module may be loaded beside a Python module, and the reason shown when not."""

    compatible: bool
    reason: str


def compatibility(module: str, base: str) -> Compatibility:
    """Whether ``module`` can be loaded beside ``base`` (normally the Python module)."""
    mine, theirs = generation_of(module), generation_of(base)
    if mine is None:
        return Compatibility(True, "no toolchain: loads beside any module")
    if theirs is None or theirs.generation is None:
        return Compatibility(True, f"{base} has no known toolchain generation")
    if mine.generation is None:
        return Compatibility(
            True, f"toolchain {mine.label} is not in the known table; check it matches by hand"
        )
    if mine.generation == theirs.generation:
        return Compatibility(
            True, f"{mine.label} is generation {mine.generation}, like {theirs.label}"
        )
    return Compatibility(
        False,
        f"{mine.label} is generation {mine.generation} but {base} is {theirs.generation}: "
        "modules of different generations load conflicting libraries",
    )


def python_version(module: str) -> str | None:
    """The Python version of a Python module name (``Python/3.11.3-GCCcore-12.3.0`` -> 3.11.3)."""
    name, _, version = module.partition("/")
    if name.lower() != "python" or not version:
        return None
    match = re.match(r"^(\d+\.\d+(?:\.\d+)?)", version)
    return match.group(1) if match else None
