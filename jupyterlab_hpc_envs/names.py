"""Validation of everything a user can type, before it reaches a file name, a script or a command.

Every value that ends up in a launch script, a build script, a kernelspec or a command line passes
through one of these functions first. They raise :class:`InvalidInput` with a message that says what
is wrong *and* what to do; the REST layer turns it into a 400, the CLI into exit status 2.
Shell-quoting (``shlex.quote``) is applied on top, where values reach a script: validation is what
keeps the values readable and the names usable as folder and kernel names.
"""

from __future__ import annotations

import os
import re
import unicodedata

from packaging.requirements import InvalidRequirement, Requirement

from .errors import InvalidInput

ENV_NAME_MAX = 48
# Packages an uninstall refuses to remove, per kind of environment: the kernel needs them (the
# frontend gets this from the /site reply's rules).
KEPT_PACKAGES: dict[str, tuple[str, ...]] = {
    "venv": ("ipykernel", "pip"),
    "conda": ("ipykernel", "pip", "python"),
}
ENV_NAME_PATTERN = re.compile(r"^[A-Za-z][A-Za-z0-9_-]*(?:\.[A-Za-z0-9_-]+)*$")
_PARTITION = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
_ARCH = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.+-]{0,63}$")
# Module names as Lmod and Environment Modules write them: Name/version, where the version of an
# EasyBuild module carries its toolchain (Python/3.11.3-GCCcore-12.3.0); hierarchies add segments.
_MODULE_SEGMENT = r"[A-Za-z0-9][A-Za-z0-9_.+-]*"
_MODULE = re.compile(rf"^{_MODULE_SEGMENT}(?:/{_MODULE_SEGMENT})*$")
MODULE_MAX = 200
SPEC_MAX = 300
PATH_MAX = 1024
# pip options a user may add: ones that change how pip resolves, not where code comes from.
SAFE_PIP_OPTIONS = {
    "--pre",
    "--upgrade",
    "--upgrade-strategy=eager",
    "--no-deps",
    "--prefer-binary",
    "--only-binary=:all:",
    "--no-binary=:all:",
    "--ignore-installed",
    "--force-reinstall",
}

# Names pip and conda take as files (a wheel, an sdist, a conda package), never as packages.
ARCHIVE_SUFFIXES = (
    ".whl",
    ".zip",
    ".tar",
    ".tar.gz",
    ".tgz",
    ".tar.bz2",
    ".tbz",
    ".tar.xz",
    ".txz",
    ".tlz",
    ".tar.lz",
    ".tar.lzma",
    ".conda",
)

RESERVED_NAMES = {"adopt"}  # path segments of the REST API under envs/
_TASK_ID = re.compile(r"^[0-9a-f]{32}$")


def _printable(field: str, value: object, what: str) -> str:
    if not isinstance(value, str):
        raise InvalidInput(field, f"{what} must be text, not {type(value).__name__}.")
    if value != value.strip() or not value:
        raise InvalidInput(field, f"{what} is empty or has surrounding spaces: {value!r}.")
    if any(unicodedata.category(ch)[0] in "CZ" for ch in value):
        raise InvalidInput(
            field, f"{what} {value!r} contains a space, a control character or a line break."
        )
    return value


def env_name(value: object) -> str:
    """An environment's name: a folder name, a kernel name and a word users type in a shell.

    ASCII letters, digits, ``-``, ``_`` and inner dots; starts with a letter. Unicode letters are
    refused because look-alikes (a Cyrillic letter for a Latin one) would make two environments that
    read the same.
    """
    name = _printable("name", value, "An environment name")
    if len(name) > ENV_NAME_MAX:
        raise InvalidInput("name", f"An environment name has at most {ENV_NAME_MAX} characters.")
    if not ENV_NAME_PATTERN.match(name):
        raise InvalidInput(
            "name",
            f"{name!r} is not a valid environment name: use ASCII letters, digits, '-', '_' and "
            "inner dots, starting with a letter (for example 'science' or 'torch-2.1').",
        )
    if name.lower() in RESERVED_NAMES:
        raise InvalidInput("name", f"{name!r} is reserved: choose another name.")
    return name


def partition(value: object) -> str:
    """A Slurm partition name (the keys of ``sinfo``); checked against the site separately."""
    name = _printable("partition", value, "A partition name")
    if not _PARTITION.match(name):
        raise InvalidInput(
            "partition",
            f"{name!r} is not a partition name: letters, digits, '-', '_' and '.' only.",
        )
    return name


def arch(value: object) -> str:
    """A CPU microarchitecture name as archspec or ``$VSC_ARCH_LOCAL`` give it (``zen4``)."""
    name = _printable("arch", value, "An architecture name")
    if not _ARCH.match(name):
        raise InvalidInput("arch", f"{name!r} is not an architecture name such as 'zen4'.")
    return name


def module_name(value: object) -> str:
    """A module as ``module load`` takes it: ``Name/version`` (EasyBuild) or just ``Name``."""
    name = _printable("modules", value, "A module name")
    if len(name) > MODULE_MAX:
        raise InvalidInput("modules", f"A module name has at most {MODULE_MAX} characters.")
    if not _MODULE.match(name) or "/../" in f"/{name}/" or "/./" in f"/{name}/":
        raise InvalidInput(
            "modules",
            f"{name!r} is not a module name: write it as 'module avail' shows it, for example "
            "'Python/3.11.3-GCCcore-12.3.0'.",
        )
    return name


def module_list(values: object) -> list[str]:
    """An ordered list of distinct modules."""
    if not isinstance(values, (list, tuple)):
        raise InvalidInput("modules", "Modules must be a list of module names.")
    seen: set[str] = set()
    out: list[str] = []
    for value in values:
        name = module_name(value)
        if name in seen:
            raise InvalidInput("modules", f"Module {name!r} is listed twice.")
        seen.add(name)
        out.append(name)
    return out


def package_spec(value: object) -> str:
    """A pip requirement (``numpy``, ``numpy>=1.26``, ``pandas[parquet]==2.1``).

    Options (``--index-url``, ``-e``, ``-r``), direct URLs and local paths are refused: they
    change where pip fetches code from, which is a decision for a requirements file the user
    reviews, not for a text box.
    """
    spec = _printable("packages", value, "A package spec")
    if len(spec) > SPEC_MAX:
        raise InvalidInput("packages", f"A package spec has at most {SPEC_MAX} characters.")
    if spec.startswith("-"):
        raise InvalidInput(
            "packages",
            f"{spec!r} is a pip option, not a package: options such as --index-url are not "
            "accepted here. Write a requirement such as 'numpy>=1.26'.",
        )
    if spec.startswith((".", "~")) or "/" in spec.split(";")[0].split("@")[0] or "\\" in spec:
        raise InvalidInput(
            "packages",
            f"{spec!r} looks like a file path: local files and folders are not installed from "
            "here. Give the package's name and version, to install it from the package index.",
        )
    try:
        req = Requirement(spec)
    except InvalidRequirement as err:
        raise InvalidInput(
            "packages",
            f"{spec!r} is not a valid requirement ({err}). Write it as pip does, for example "
            "'numpy', 'numpy>=1.26' or 'pandas[parquet]==2.1'.",
        ) from None
    if req.url:
        raise InvalidInput(
            "packages",
            f"{spec!r} names a URL: direct references are not accepted; install from the "
            "package index by name and version.",
        )
    if req.name.lower().endswith(ARCHIVE_SUFFIXES):
        # pip reads a requirement named like an archive as a file in its working directory.
        raise InvalidInput(
            "packages",
            f"{spec!r} names an archive file, not a package: pip would install whatever file of "
            "that name is in its working directory. Give the package's name and version "
            "(for example 'evilpkg==1.0'), to install it from the package index.",
        )
    return str(req)


def package_specs(values: object) -> list[str]:
    if not isinstance(values, (list, tuple)):
        raise InvalidInput("packages", "Packages must be a list of requirements.")
    return [package_spec(v) for v in values]


def requirements_text(text: object) -> list[str]:
    """The requirements of a requirements file, one spec per line; comments and blanks skipped.

    pip options inside the file are refused like options in a text box, with the line number.
    """
    if not isinstance(text, str):
        raise InvalidInput("requirements", "Requirements must be text.")
    if "\x00" in text:
        raise InvalidInput("requirements", "The requirements file contains a NUL byte.")
    specs: list[str] = []
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.split(" #", 1)[0].strip()
        if not line or line.startswith("#"):
            continue
        try:
            specs.append(package_spec(line))
        except InvalidInput as err:
            raise InvalidInput("requirements", f"Line {number}: {err.message}") from None
    return specs


def task_id(value: object) -> str:
    if not isinstance(value, str) or not _TASK_ID.match(value):
        raise InvalidInput("task", f"{value!r} is not a task id.")
    return value


def clean_path(field: str, value: object) -> str:
    """An absolute, normalised path without control characters (symlinks resolved later).

    Nothing is expanded: ``$VARIABLES`` and ``~`` are the server's environment, which a request
    must not read (``$HOME/$JUPYTERHUB_API_TOKEN`` would echo the token). A caller that takes paths
    typed in a shell (the CLI) expands ``~`` itself.
    """
    if not isinstance(value, str) or not value:
        raise InvalidInput(field, "A path is required.")
    if len(value) > PATH_MAX:
        raise InvalidInput(field, f"A path has at most {PATH_MAX} characters.")
    if any(unicodedata.category(ch)[0] == "C" for ch in value):
        raise InvalidInput(field, "The path contains a control character or a line break.")
    if not os.path.isabs(value):
        hint = " ($VARIABLES and ~ are not expanded)" if value[0] in "~$" else ""
        raise InvalidInput(field, f"{value!r} is not an absolute path{hint}: give the full path.")
    return os.path.normpath(value)


def within(path: str, root: str) -> bool:
    """Whether the real path ``path`` lies in (or is) the real path ``root``."""
    real, base = os.path.realpath(path), os.path.realpath(root)
    return real == base or real.startswith(base.rstrip(os.sep) + os.sep)
