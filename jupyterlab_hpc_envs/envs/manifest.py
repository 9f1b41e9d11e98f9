"""The manifest: an environment's spec and builds, stored beside it on the shared file system.

``<storage root>/hpc-envs/<name>/hpc-env.json`` is the source of truth for an environment: every
node sees it, so a kernel started anywhere can check what it is about to launch. It is versioned
(``format``) and rewritten atomically (temporary file + rename) under a lock file, so a reader never
sees half a manifest and two writers never lose each other's change.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field, fields
from typing import Any

from .. import __version__, files, names
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
    job_id: str = ""
    error: str = ""
    adopted: bool = False  # made by hand and registered: never deleted by remove

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Build:
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})


@dataclass
class Manifest:
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
        raise names.Conflict(
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
        raise names.NotFound(f"No environment at {home} (no {MANIFEST}).") from None
    except OSError as err:
        if err.errno != errno.ELOOP:
            raise
        raise names.Conflict(f"{path} is a symbolic link: it is not followed.") from None
    except ValueError as err:
        raise names.Conflict(f"The manifest {path} is damaged: {err}") from None
    try:
        if not isinstance(data, dict):
            raise TypeError("it holds no JSON object")
        return Manifest.from_json(data, home)
    except (TypeError, ValueError, AttributeError) as err:
        raise names.Conflict(f"The manifest {path} is damaged: {err}") from None


def write(manifest: Manifest) -> None:
    text = json.dumps(manifest.to_json(), indent=1, sort_keys=True) + "\n"
    files.write_atomic(manifest.manifest_path, text, 0o644)


@contextlib.contextmanager
def locked(home: str) -> Iterator[None]:
    """Hold the environment's lock (a file beside the manifest) for a read-modify-write."""
    with files.locked(os.path.join(home, ".lock")):
        yield


@contextlib.contextmanager
def updating(home: str) -> Iterator[Manifest]:
    """Read, let the caller change, and write back the manifest, under the lock."""
    with locked(home):
        manifest = read(home)
        yield manifest
        write(manifest)
