"""The manifest: an environment's spec and builds, stored beside it on the shared file system.

``<storage root>/hpc-envs/<name>/hpc-env.json`` is the source of truth for an environment: every
node sees it, so a kernel started anywhere can check what it is about to launch. It is versioned
(``format``) and rewritten atomically (temporary file + rename) under a lock file, so a reader never
sees half a manifest and two writers never lose each other's change.

A manifest is also input: it may have been edited by hand or planted. :func:`read` checks every
field's type and shape with the validators user input goes through (:mod:`..names`, conda's specs and
channels) and refuses a manifest with a bad value, naming the field, before any of it reaches a
launch script, a build script or a command line.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import time
import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field, fields
from typing import Any

from .. import __version__, errors, files, names
from ..config import MANIFEST

FORMAT = 1
BUILDING, READY, FAILED, STALE = "building", "ready", "failed", "stale"


@dataclass
class Build:
    """One realisation of the spec for one CPU microarchitecture."""

    arch: str
    path: str  # the venv (or conda env) folder
    state: str = BUILDING
    partitions: list[str] = field(default_factory=list)  # partitions with a kernel on this build
    built_on: str = ""  # host name
    built_partition: str = ""
    started: float = 0.0
    finished: float = 0.0
    task: str = ""
    log: str = ""  # path of the build log kept beside the environment
    python: str = ""  # Python version inside the build
    loaded_modules: list[str] = field(default_factory=list)  # LOADEDMODULES after the load
    # In a module hierarchy: the modules loaded in order (those above each requested one too);
    # empty on a flat tree, where the requested modules are loaded as they are.
    module_path: list[str] = field(default_factory=list)
    stack_arch: str = ""  # the arch an EESSI-like stack module chose on the build node
    job_id: str = ""
    error: str = ""
    adopted: bool = False  # made by hand and registered: never deleted by remove
    ipykernel: str = ""  # the version the kernel imports, and its folder (see envs.encryption)
    ipykernel_path: str = ""
    encryption: str = ""  # "curve" (it can encrypt kernel traffic), "none", "" (not known)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Build:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})


@dataclass
class Manifest:
    """An environment as stored in ``hpc-env.json``: what the user asked for (kind, modules,
    packages, options) and its builds per CPU architecture. Every field is checked on read
    (:func:`read`), since the file may have been edited or planted."""

    name: str
    kind: str  # "venv" | "conda"
    modules: list[str] = field(default_factory=list)  # requested, in load order (Python first)
    packages: list[str] = field(default_factory=list)  # requested pip (or conda) specs
    options: dict[str, Any] = field(default_factory=dict)
    builds: dict[str, Build] = field(default_factory=dict)  # by arch
    created: float = field(default_factory=time.time)
    created_by: str = f"jupyterlab-hpc-envs {__version__}"
    format: int = FORMAT
    home: str = ""  # the environment's folder (not stored: where the manifest was read from)

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data.pop("home")
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any], home: str) -> Manifest:
        data = migrate(dict(data))
        builds = {a: Build.from_json(b) for a, b in (data.pop("builds", {}) or {}).items()}
        known = {f.name for f in fields(cls)} - {"builds", "home"}
        return cls(**{k: v for k, v in data.items() if k in known}, builds=builds, home=home)

    @property
    def manifest_path(self) -> str:
        return os.path.join(self.home, MANIFEST)


def migrate(data: dict[str, Any]) -> dict[str, Any]:
    """Bring a manifest written by an older version to the current format."""
    version = data.get("format", 0)
    if version > FORMAT:
        raise errors.Conflict(
            f"This environment was written by a newer jupyterlab-hpc-envs (manifest format "
            f"{version}); upgrade the extension to manage it."
        )
    if version == 0:
        # Format 0 (pre-release) kept one build per environment under "build".
        build = data.pop("build", None)
        if build:
            data["builds"] = {build.get("arch", "unknown"): build}
        data["format"] = 1
    return data


def read(home: str) -> Manifest:
    """The manifest in ``home``, never through a symbolic link (callers check ownership first:
    see ownership.py)."""
    path = os.path.join(home, MANIFEST)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
        with open(fd, encoding="utf-8") as f:
            data = json.load(f)
    except FileNotFoundError:
        raise errors.NotFound(f"No environment at {home} (no {MANIFEST}).") from None
    except OSError as err:
        if err.errno != errno.ELOOP:
            raise
        raise errors.Conflict(f"{path} is a symbolic link: it is not followed.") from None
    except ValueError as err:
        raise errors.Conflict(f"The manifest {path} is damaged: {err}") from None
    try:
        if not isinstance(data, dict):
            raise TypeError("it holds no JSON object")
        env = Manifest.from_json(data, home)
    except (TypeError, ValueError, AttributeError) as err:
        raise errors.Conflict(f"The manifest {path} is damaged: {err}") from None
    validate(env, path)
    return env


# --- validation of what was read ----------------------------------------------------------------

TEXT_MAX = 4096
STATES = (BUILDING, READY, FAILED, STALE)


def _text(field: str, value: object) -> str:
    """Free text of a manifest (a host, an error): a string without control characters."""
    if not isinstance(value, str):
        raise errors.InvalidInput(field, f"must be text, not {type(value).__name__}.")
    if len(value) > TEXT_MAX or any(unicodedata.category(ch) == "Cc" for ch in value):
        raise errors.InvalidInput(field, "holds a line break or a control character.")
    return value


def _string(field: str, value: object) -> str:
    """Text that never reaches a script (a warning, an error): a string, of any content."""
    if not isinstance(value, str):
        raise errors.InvalidInput(field, f"must be text, not {type(value).__name__}.")
    return value


def _path(field: str, value: object) -> str:
    """An absolute path without control characters (``""``: none)."""
    return "" if value == "" else names.clean_path(field, value)


def _kind(value: object) -> str:
    if value not in ("venv", "conda"):
        raise errors.InvalidInput("kind", f"{value!r} is neither 'venv' nor 'conda'.")
    return str(value)


def _flag(field: str, value: object) -> bool:
    if not isinstance(value, bool):
        raise errors.InvalidInput(field, "must be true or false.")
    return value


def _number(field: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise errors.InvalidInput(field, "must be a number.")
    return float(value)


def _list_of(check: Callable[[str, object], object]) -> Callable[[str, object], object]:
    """A check of a list whose every item passes ``check`` (named ``field[i]`` when refused)."""

    def checked(field: str, values: object) -> object:
        if not isinstance(values, list):
            raise errors.InvalidInput(field, "must be a list.")
        return [check(f"{field}[{i}]", v) for i, v in enumerate(values)]

    return checked


def _plain(check: Callable[[object], object]) -> Callable[[str, object], object]:
    """A validator of :mod:`..names` (which knows its own field) as a manifest check."""
    return lambda _field, value: check(value)


def _optional(check: Callable[[object], object]) -> Callable[[str, object], object]:
    """A names validator that also lets the empty string through (a value never set)."""
    return lambda _field, value: value if value == "" else check(value)


def _pip_option(field: str, value: object) -> str:
    if value not in names.SAFE_PIP_OPTIONS:
        raise errors.InvalidInput(field, f"{value!r} is not an accepted pip option.")
    return str(value)


def _engine(field: str, value: object) -> object:
    from . import conda  # conda imports nothing of the manifest; imported late to stay light

    if not isinstance(value, dict):
        raise errors.InvalidInput(field, "must be an object.")
    if value.get("kind") not in conda.KINDS:
        raise errors.InvalidInput(f"{field}.kind", f"{value.get('kind')!r} is no conda engine.")
    for key in ("executable", "activator"):
        _path(f"{field}.{key}", value.get(key, ""))
    for key in ("version", "source"):
        _printable_or_empty(f"{field}.{key}", value.get(key, ""))
    return value


def _printable_or_empty(field: str, value: object) -> object:
    if value == "":
        return value
    text = _text(field, value)
    if any(unicodedata.category(ch)[0] == "Z" and ch != " " for ch in text) or len(text) > 200:
        raise errors.InvalidInput(field, "holds an unusual space or is too long.")
    return text


def validate(env: Manifest, path: str) -> None:
    """Refuse a manifest with a value of the wrong type or shape, naming the field."""
    from . import conda

    package = conda.conda_spec if env.kind == "conda" else names.package_spec
    checks: list[tuple[str, Callable[[str, object], object], object]] = [
        ("name", _plain(names.env_name), env.name),
        ("kind", _plain(_kind), env.kind),
        ("modules", _plain(names.module_list), env.modules),
        ("packages", _list_of(_plain(package)), env.packages),
        ("created", _number, env.created),
        ("created_by", _text, env.created_by),
    ]
    if not isinstance(env.options, dict):
        raise _refused(path, "options", "must be an object.")
    option_checks: dict[str, Callable[[str, object], object]] = {
        "system_site_packages": _flag,
        "allow_incompatible": _flag,
        "adopted": _flag,
        "pip_options": _list_of(_pip_option),
        "python": _optional(conda.python_version),
        "channels": _list_of(_plain(conda.channel)),
        "pip_packages": _list_of(_plain(names.package_spec)),
        "engine": _engine,
        "warnings": _list_of(_string),
    }
    for key, value in env.options.items():
        check = option_checks.get(key)
        if check is not None:
            checks.append((f"options.{key}", check, value))
    for arch, build in env.builds.items():
        where = f"builds.{arch}"
        checks += [
            (f"{where} (its key)", _plain(names.arch), arch),
            (f"{where}.arch", _plain(names.arch), build.arch),
            (f"{where}.path", _path, build.path),
            (f"{where}.state", _build_state, build.state),
            (f"{where}.partitions", _list_of(_plain(names.partition)), build.partitions),
            (f"{where}.built_on", _printable_or_empty, build.built_on),
            (f"{where}.built_partition", _optional(names.partition), build.built_partition),
            (f"{where}.started", _number, build.started),
            (f"{where}.finished", _number, build.finished),
            (f"{where}.task", _optional(names.task_id), build.task),
            (f"{where}.log", _path, build.log),
            (f"{where}.python", _printable_or_empty, build.python),
            (f"{where}.loaded_modules", _list_of(_printable_or_empty), build.loaded_modules),
            (f"{where}.module_path", _plain(names.module_list), build.module_path),
            (f"{where}.stack_arch", _printable_or_empty, build.stack_arch),
            (f"{where}.job_id", _printable_or_empty, build.job_id),
            (f"{where}.error", _string, build.error),
            (f"{where}.adopted", _flag, build.adopted),
        ]
        if arch != build.arch:
            raise _refused(path, where, f"holds the build of {build.arch!r}.")
    for field_name, check, value in checks:
        try:
            check(field_name, value)
        except errors.InvalidInput as err:
            raise _refused(path, field_name, err.message) from None


def _unknown_value(field: str, value: object) -> object:
    raise errors.InvalidInput(field, f"{value!r} is not a known value.")


def _build_state(field: str, value: object) -> object:
    """One of the build states (:data:`STATES`)."""
    return value if value in STATES else _unknown_value(field, value)


def _refused(path: str, field_name: str, message: str) -> errors.Conflict:
    return errors.Conflict(
        f"The manifest {path} is refused, field {field_name}: {message} It was edited by hand or "
        "written by someone else: restore it (or remove the environment's folder and create it "
        "again).",
        field=field_name,
    )


def write(manifest: Manifest) -> None:
    text = json.dumps(manifest.to_json(), indent=1, sort_keys=True) + "\n"
    files.write_atomic(manifest.manifest_path, text, 0o644)


@contextlib.contextmanager
def locked(home: str) -> Iterator[None]:
    """Hold the environment's lock (a file beside the manifest) for a read-modify-write."""
    with files.locked(os.path.join(home, ".lock"), f"the environment {os.path.basename(home)}"):
        yield


@contextlib.contextmanager
def updating(home: str) -> Iterator[Manifest]:
    """Read, let the caller change, and write back the manifest, under the lock."""
    with locked(home):
        manifest = read(home)
        yield manifest
        write(manifest)
