"""List installed distributions with where each comes from, inside an environment's interpreter.

This file is *run by the environment's own Python* (through the launch script, so with the modules
loaded and the venv active), which may be older than the server's: standard library only, Python
3.8 and newer, no f-string tricks newer than 3.8. It prints one JSON document on stdout.

For every entry of ``sys.path``, in order, it reads the distributions' metadata found there (what
``pip list`` reads, but in one process and without importing pip). The same distribution seen on
two entries is *shadowed*: Python imports the first; the others are reported with ``shadowed_by``.

Speed matters (the panel lists thousands of rows): folders are scanned for ``*.dist-info`` and
``*.egg-info`` directly and only the header lines of METADATA / PKG-INFO that name the
distribution are read (no full RFC 822 parse, no import of importlib.metadata). Entries that are
not folders (zipped eggs) go through importlib.metadata.
"""

from __future__ import annotations  # annotations stay text: Python 3.8 never evaluates them

import json
import os
import site
import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    # (name, version, editable project folder or None) of one installed distribution
    Distribution = tuple[str, str, str | None]
    # (real path of an EasyBuild module's root, the module's full name), longest root first
    ModuleRoots = list[tuple[str, str]]

METADATA_SUFFIXES = (".dist-info", ".egg-info")


def _normalise(name: str) -> str:
    """PEP 503: runs of ``-``, ``_`` and ``.`` become one ``-``, lower case."""
    key = name.lower().replace("_", "-").replace(".", "-")
    while "--" in key:
        key = key.replace("--", "-")
    return key


def _eb_var(module_name: str) -> str:
    """EasyBuild's EBROOT variable suffix of a module name (SciPy-bundle -> SCIPYMINBUNDLE)."""
    return module_name.upper().replace("-", "MIN").replace("+", "PLUS").replace(".", "")


def _module_roots() -> ModuleRoots:
    """The roots of the loaded EasyBuild modules (``$EBROOT…``), to tell which module a sys.path
    entry comes from."""
    roots: ModuleRoots = []
    for module in [m for m in os.environ.get("LOADEDMODULES", "").split(":") if m]:
        name = module.split("/")[0]
        root = os.environ.get("EBROOT" + _eb_var(name))
        if root:
            roots.append((os.path.realpath(root), module))
    # Longest root first, so nested prefixes are matched to the most specific module.
    roots.sort(key=lambda item: len(item[0]), reverse=True)
    return roots


def _inside(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)


def _classify(entry: str, roots: ModuleRoots) -> tuple[str, str | None]:
    """Where a sys.path entry comes from: user, venv, module, base (the Python itself), conda."""
    real = os.path.realpath(entry)
    prefix = os.path.realpath(sys.prefix)
    base = os.path.realpath(getattr(sys, "base_prefix", sys.prefix))
    user = ""
    if hasattr(site, "getusersitepackages"):
        user = os.path.realpath(site.getusersitepackages())
    if user and _inside(real, user):
        return "user", None
    if prefix != base and _inside(real, prefix):
        return "venv", None
    for root, module in roots:
        if _inside(real, root):
            return ("base" if _inside(real, base) else "module"), module
    conda = os.environ.get("CONDA_PREFIX")
    if conda and _inside(real, os.path.realpath(conda)):
        return "conda", None
    if _inside(real, base):
        return "base", None
    return "path", None


def _header(path: str) -> tuple[str, str] | None:
    """Name and Version from the header of a METADATA or PKG-INFO file (None if unreadable)."""
    name: str | None = None
    version: str | None = None
    try:
        with open(path, "rb") as f:
            for raw in f:
                line = raw.decode("utf-8", "replace").rstrip("\r\n")
                if not line:
                    break  # the headers end at the first empty line
                if name is None and line[:5].lower() == "name:":
                    name = line[5:].strip()
                elif version is None and line[:8].lower() == "version:":
                    version = line[8:].strip()
                if name is not None and version is not None:
                    break
    except OSError:
        return None
    if not name or version is None:
        return None
    return name, version


def _editable(info_dir: str) -> str | None:
    """Where an editable install's project lives (PEP 610 direct_url.json), else None."""
    try:
        with open(os.path.join(info_dir, "direct_url.json"), encoding="utf-8") as f:
            info = json.load(f)
    except (OSError, ValueError):
        return None  # most distributions have none: one failed open, no stat first
    if isinstance(info, dict) and info.get("dir_info", {}).get("editable"):
        url: str = info.get("url", "")
        return url[7:] if url.startswith("file://") else url
    return None


def _in_folder(entry: str) -> list[Distribution]:
    """(name, version, editable) of the distributions installed in one folder of sys.path."""
    try:
        with os.scandir(entry) as it:  # file types come with the listing: no stat per entry
            items = sorted((e.name, e.is_dir()) for e in it if e.name.endswith(METADATA_SUFFIXES))
    except OSError:
        return []
    found: list[Distribution] = []
    for filename, is_dir in items:
        path = os.path.join(entry, filename)
        if filename.endswith(".dist-info"):
            header = _header(os.path.join(path, "METADATA"))
        elif is_dir:
            header = _header(os.path.join(path, "PKG-INFO"))
        else:
            header = _header(path)  # a single-file .egg-info is the PKG-INFO itself
        if header is not None:
            found.append((header[0], header[1], _editable(path) if is_dir else None))
    return found


def _in_zip(entry: str) -> list[Distribution]:
    """The distributions of a zipped entry of sys.path (an egg), through importlib.metadata."""
    try:
        from importlib import metadata
    except ImportError:  # pragma: no cover - Python < 3.8
        return []
    found: list[Distribution] = []
    try:
        for dist in metadata.distributions(path=[entry]):
            found.append((dist.metadata["Name"], dist.version, None))
    except Exception:  # noqa: BLE001 - an unreadable archive is skipped, not fatal
        return []
    return found


def _own_site() -> list[str]:
    """The site-packages folders inside the environment itself (a venv's or a conda prefix's)."""
    prefix = os.path.realpath(sys.prefix)
    getsite = getattr(site, "getsitepackages", None)
    found = getsite() if getsite is not None else []
    return [p for p in found if _inside(os.path.realpath(p), prefix) and os.path.isdir(p)]


def main() -> None:
    """Print the distributions of every sys.path entry, in import order, as one JSON document;
    a distribution that an earlier entry also has is marked ``shadowed_by`` that entry."""
    roots = _module_roots()
    rows: list[dict[str, Any]] = []
    winners: dict[str, dict[str, Any]] = {}
    for order, entry in enumerate(sys.path):
        if not entry:
            continue
        if os.path.isdir(entry):
            found = _in_folder(entry)
        elif os.path.isfile(entry):
            found = _in_zip(entry)
        else:
            continue
        if not found:
            continue
        source, module = _classify(entry, roots)
        seen_here: set[str] = set()
        for name, version, editable in found:
            key = _normalise(name)
            if key in seen_here:
                continue
            seen_here.add(key)
            row = {
                "name": name,
                "key": key,
                "version": version,
                "location": entry,
                "source": source,
                "module": module,
                "editable": editable,
                "order": order,
                "shadowed_by": None,
            }
            if key in winners:
                row["shadowed_by"] = winners[key]["location"]
            else:
                winners[key] = row
            rows.append(row)
    sys.stdout.write(
        json.dumps(
            {
                "python": ".".join(str(n) for n in sys.version_info[:3]),
                "prefix": sys.prefix,
                "base_prefix": getattr(sys, "base_prefix", sys.prefix),
                "user_site_enabled": bool(site.ENABLE_USER_SITE),
                "loaded_modules": [m for m in os.environ.get("LOADEDMODULES", "").split(":") if m],
                # for the lock (envs/lock.py): the modulefiles as loaded (Lmod's _LMFILES_, in
                # LOADEDMODULES order), the real interpreter, the environment's own site folders
                "module_files": [f for f in os.environ.get("_LMFILES_", "").split(":") if f],
                "executable": os.path.realpath(sys.executable),
                "own_site": _own_site(),
                "packages": rows,
            }
        )
    )


if __name__ == "__main__":
    main()
