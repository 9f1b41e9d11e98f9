"""Locks: what a build really is, recorded in its folder, and rebuilt from.

A build's lock (``<build folder>/hpc-envs-lock.json``) is taken when the build is ready and again
after every package change (:mod:`.package_ops`), from the package probe run inside the launch
script (:mod:`.probe`): the modules as loaded (LOADEDMODULES order, the dependencies that modules
load included) and their modulefiles, the interpreter's version and real path, the arch, every
distribution Python imports with its version and provenance (venv, which module, base), and for a
conda environment its explicit package list (the URLs of its ``conda-meta`` records, as ``conda
list --explicit`` prints them).

``stamps`` (file times and sizes) and ``created`` are the only parts that differ between two
builds of the same lock; they are what :mod:`.drift` compares the files against.

A lock is also input (``create --from-lock``): :func:`parse` checks every field it uses with the
validators user input goes through and names the field it refuses.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Awaitable, Callable
from typing import Any

from packaging.utils import canonicalize_name

from .. import errors, files, names
from ..site import PartitionInfo
from . import conda, manifest
from .manifest import Build, Manifest

LOCK_FILE = "hpc-envs-lock.json"
TAG = "jupyterlab-hpc-envs lock"
FORMAT = 1
VARYING = ("created", "stamps")  # what differs between two builds of one lock
NOT_PINNED = frozenset({"pip", "setuptools", "wheel"})  # the venv's tools: made by venv itself

Listing = Callable[[Manifest, PartitionInfo, Build], Awaitable[dict[str, Any]]]


def path_of(build_path: str) -> str:
    """Where the lock of the build in ``build_path`` is."""
    return os.path.join(build_path, LOCK_FILE)


def _stamp(path: str) -> dict[str, Any]:
    """A file's modification time and size (``None`` when it is gone)."""
    try:
        st = os.stat(path)
    except OSError:
        return {"path": path, "mtime": None, "size": None}
    return {"path": path, "mtime": st.st_mtime, "size": st.st_size}


def make(
    env: Manifest, part: PartitionInfo, build: Build, listing: dict[str, Any]
) -> dict[str, Any]:
    """The lock of ``build`` from the probe's ``listing`` (see :mod:`.probe`)."""
    loaded = [str(m) for m in listing.get("loaded_modules", [])]
    module_files = [str(f) for f in listing.get("module_files", [])]
    by_module = (
        dict(zip(loaded, module_files, strict=True)) if len(loaded) == len(module_files) else {}
    )
    distributions = sorted(
        (
            {
                "name": row["name"],
                "version": row["version"],
                "source": row["source"],
                "module": row["module"],
            }
            for row in listing.get("packages", [])
            if not row.get("shadowed_by")
        ),
        key=lambda d: (canonicalize_name(d["name"]), d["version"]),
    )
    executable = str(listing.get("executable", ""))
    own_site = [str(p) for p in listing.get("own_site", [])]
    lock: dict[str, Any] = {
        "lock": TAG,
        "format": FORMAT,
        "kind": env.kind,
        "name": env.name,
        "partition": part.name,
        "arch": build.arch,
        "modules": list(env.modules),
        "loaded_modules": loaded,
        "module_files": by_module,
        "python": {"version": str(listing.get("python", "")), "path": executable},
        "options": {k: v for k, v in env.options.items() if k in ("system_site_packages",)},
        "distributions": distributions,
        "created": time.time(),
        "stamps": {
            "interpreter": _stamp(executable),
            "modules": {m: _stamp(f) for m, f in by_module.items()},
            "site": [_stamp(p) for p in own_site],
        },
    }
    if env.kind == "conda":
        lock["conda"] = {
            "channels": list(env.options.get("channels") or []),
            "python": env.options.get("python", ""),
            "explicit": explicit(build.path),
        }
        lock["stamps"]["site"].append(_stamp(os.path.join(build.path, "conda-meta")))
    return lock


def explicit(prefix: str) -> list[str]:
    """The conda environment's explicit package list: ``@EXPLICIT`` and one URL a package, from
    its ``conda-meta`` records (what ``conda list --explicit`` prints)."""
    urls = []
    for name in sorted(os.listdir(os.path.join(prefix, "conda-meta"))):
        if not name.endswith(".json"):
            continue
        try:
            with open(os.path.join(prefix, "conda-meta", name), encoding="utf-8") as f:
                data = json.load(f)
        except (OSError, ValueError):
            continue
        if isinstance(data, dict) and isinstance(data.get("url"), str):
            urls.append(data["url"])
    return ["@EXPLICIT", *urls]


def write(build_path: str, lock: dict[str, Any]) -> str:
    """Write ``lock`` into the build's folder (atomically, no link followed); its path."""
    path = path_of(build_path)
    files.write_atomic(path, json.dumps(lock, indent=1, sort_keys=True) + "\n", 0o644)
    return path


def read(build_path: str) -> dict[str, Any] | None:
    """The lock of the build in ``build_path``; ``None`` when it has none (built before locks)."""
    try:
        fd = os.open(path_of(build_path), os.O_RDONLY | os.O_NOFOLLOW)
        with open(fd, encoding="utf-8") as f:
            data = json.load(f)
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


async def refresh(listing: Listing, home: str, part: PartitionInfo, arch: str) -> str:
    """Take the lock of ``home``'s build for ``arch`` again (after a build or a package change)."""
    env = manifest.read(home)
    build = env.builds[arch]
    data = await listing(env, part, build)
    return write(build.path, make(env, part, build, data))


def comparable(lock: dict[str, Any]) -> dict[str, Any]:
    """The lock without what must differ between two builds of it (:data:`VARYING`)."""
    return {k: v for k, v in lock.items() if k not in VARYING}


# --- a lock as input ----------------------------------------------------------------------------


def _field(data: dict[str, Any], key: str, kind: type) -> Any:
    value = data.get(key)
    if not isinstance(value, kind):
        raise errors.InvalidInput(
            f"lock.{key}", f"The lock's {key} is missing or not a {kind.__name__}."
        )
    return value


def parse(data: object, kind: object = None) -> dict[str, Any]:
    """:func:`_parse`, its refusal naming the lock's field in the message too (the command line
    shows only the message)."""
    try:
        return _parse(data, kind)
    except errors.InvalidInput as err:
        if not err.field.startswith("lock"):
            raise
        raise errors.InvalidInput(
            err.field, f"The lock is refused, field {err.field}: {err.message}"
        ) from None


def _parse(data: object, kind: object) -> dict[str, Any]:
    """What :meth:`Environments.create` needs to rebuild a lock: kind, modules, packages (the
    venv's own distributions pinned), options, Python and channels (conda). A lock that is
    malformed, names a module or package that fails validation, or is of another ``kind`` than
    asked is refused, naming the field."""
    if not isinstance(data, dict) or data.get("lock") != TAG:
        raise errors.InvalidInput("lock", "This is not a jupyterlab-hpc-envs lock (no 'lock' tag).")
    if data.get("format") != FORMAT:
        raise errors.InvalidInput("lock.format", f"Lock format {data.get('format')!r} is unknown.")
    lock_kind = data.get("kind")
    if lock_kind not in ("venv", "conda"):
        raise errors.InvalidInput("lock.kind", f"{lock_kind!r} is neither 'venv' nor 'conda'.")
    if kind not in (None, "") and kind != lock_kind:
        raise errors.InvalidInput(
            "kind", f"This lock is of a {lock_kind} environment, not of a {kind} one."
        )
    modules = _field(data, "modules", list)
    try:
        names.module_list(modules)
    except errors.InvalidInput as err:
        raise errors.InvalidInput("lock.modules", err.message) from None
    pins = []
    for i, dist in enumerate(_field(data, "distributions", list)):
        where = f"lock.distributions[{i}]"
        if not isinstance(dist, dict) or not all(
            isinstance(dist.get(k), str) for k in ("name", "version", "source")
        ):
            raise errors.InvalidInput(where, "needs a name, a version and a source (text).")
        if dist["source"] not in ("venv", "conda") or canonicalize_name(dist["name"]) in NOT_PINNED:
            continue
        try:
            pins.append(names.package_spec(f"{dist['name']}=={dist['version']}"))
        except errors.InvalidInput as err:
            raise errors.InvalidInput(where, err.message) from None
    options = data.get("options") if isinstance(data.get("options"), dict) else {}
    if lock_kind == "venv":
        return {"kind": "venv", "modules": modules, "packages": pins, "options": options}
    return _conda_request(data, modules)


def _conda_request(data: dict[str, Any], modules: list[str]) -> dict[str, Any]:
    """A conda lock's request: its packages at their versions, its Python and channels."""
    section = _field(data, "conda", dict)
    channels = section.get("channels") or []
    if not isinstance(channels, list):
        raise errors.InvalidInput("lock.conda.channels", "must be a list.")
    for i, channel in enumerate(channels):
        try:
            conda.channel(channel)
        except errors.InvalidInput as err:
            raise errors.InvalidInput(f"lock.conda.channels[{i}]", err.message) from None
    specs = []
    for i, url in enumerate(section.get("explicit") or []):
        if url == "@EXPLICIT":
            continue
        if not isinstance(url, str) or "/" not in url:
            raise errors.InvalidInput(f"lock.conda.explicit[{i}]", "is not a package URL.")
        stem = url.rsplit("/", 1)[1].removesuffix(".conda").removesuffix(".tar.bz2")
        parts = stem.rsplit("-", 2)
        if len(parts) != 3:
            raise errors.InvalidInput(f"lock.conda.explicit[{i}]", f"{stem!r} is no package.")
        try:
            # "name ==version build": the form strict match-spec parsers take.
            specs.append(conda.conda_spec(f"{parts[0]} =={parts[1]} {parts[2]}"))
        except errors.InvalidInput as err:
            raise errors.InvalidInput(f"lock.conda.explicit[{i}]", err.message) from None
    # The explicit list pins the python package itself: the Python version is given once.
    pinned_python = any(conda.spec_name(s) == "python" for s in specs)
    return {
        "kind": "conda",
        "modules": modules,
        "packages": specs,
        "python": None if pinned_python else section.get("python") or None,
        "channels": channels or None,
        "options": {},
    }
