"""Kernelspecs: one real ``kernel.json`` per (environment, partition) in the user's kernels folder.

Real files rather than a replacement KernelSpecManager, so nbconvert, papermill, VS Code and every
other Jupyter front end see the same kernels. Written atomically: a temporary folder is filled, then
renamed into place, so no front end ever reads a half-written spec.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
from typing import Any

from .. import files
from ..config import KERNEL_PREFIX, PROVISIONER

LOGO = os.path.join(os.path.dirname(__file__), "..", "resources")


def kernel_name(env: str, partition: str) -> str:
    """``hpcenv-<env>-<partition>``, lower case (kernel names are case-insensitive on some file
    systems). Both names may contain ``-``, so two pairs can meet on one name: registering checks
    that an existing spec of that name is its own before it overwrites it."""
    return f"{KERNEL_PREFIX}{env}-{partition}".lower()


def display_name(env: str, partition: str, arch: str) -> str:
    """Short and distinguishing first: ``science (zen4)``; the arch is added when it differs."""
    if arch and arch != partition:
        return f"{env} ({partition}, {arch})"
    return f"{env} ({partition})"


def spec(
    *,
    env: str,
    kind: str,
    home: str,
    prefix: str,
    launch: str,
    arch: str,
    partition: str,
    modules: list[str],
    language: str = "python",
    provisioner_config: dict[str, Any] | None = None,
    owner: int | None = None,
    shared: bool = False,
) -> dict[str, Any]:
    """The kernelspec of one build on one partition. ``owner`` (a uid) and ``shared`` pin whose
    environment it starts: the provisioner refuses it once another user owns the folder."""
    return {
        "argv": [launch, "python", "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": display_name(env, partition, arch),
        "language": language,
        "interrupt_mode": "message",
        "metadata": {
            "debugger": True,
            "kernel_provisioner": {
                "provisioner_name": PROVISIONER,
                "config": dict(provisioner_config or {}),
            },
            "hpc_envs": {
                "name": env,
                "kind": kind,
                "path": home,
                "prefix": prefix,
                "launch": launch,
                "modules": list(modules),
                "arch": arch,
                "partition": partition,
                "owner": os.geteuid() if owner is None else owner,
                "shared": shared,
            },
        },
    }


def write(kernels_dir: str, name: str, content: dict[str, Any]) -> str:
    """Install (or replace) a kernelspec atomically; returns its folder."""
    os.makedirs(kernels_dir, exist_ok=True)
    final = os.path.join(kernels_dir, name)
    # A new folder of an unpredictable name (mkdir fails on anything already there, a link
    # included), written through a descriptor of it: a link planted in a shared kernels folder
    # cannot redirect what is written.
    tmp = os.path.join(kernels_dir, f".{name}.tmp-{secrets.token_hex(8)}")
    os.mkdir(tmp)
    files.write_atomic(os.path.join(tmp, "kernel.json"), json.dumps(content, indent=1) + "\n")
    for logo in ("logo-32x32.png", "logo-64x64.png", "logo-svg.svg"):
        src = os.path.join(LOGO, logo)
        if os.path.exists(src):
            shutil.copy(src, tmp)
    if os.path.isdir(final):
        # rename() cannot replace a non-empty folder: move the old one aside first.
        old = os.path.join(kernels_dir, f".{name}.old-{secrets.token_hex(8)}")
        os.rename(final, old)
        os.rename(tmp, final)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.rename(tmp, final)
    return final


def read(kernels_dir: str, name: str) -> dict[str, Any] | None:
    """The kernelspec ``name`` as written, or ``None`` (missing or unreadable)."""
    try:
        with open(os.path.join(kernels_dir, name, "kernel.json"), encoding="utf-8") as f:
            data = json.load(f)
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def remove(kernels_dir: str, name: str) -> bool:
    path = os.path.join(kernels_dir, name)
    if not os.path.isdir(path):
        return False
    shutil.rmtree(path)
    return True


def ours(kernels_dir: str) -> dict[str, dict[str, Any]]:
    """Our kernelspecs in ``kernels_dir``: name -> ``metadata.hpc_envs``."""
    found: dict[str, dict[str, Any]] = {}
    with contextlib.suppress(FileNotFoundError):
        for entry in os.scandir(kernels_dir):
            if not entry.name.startswith(KERNEL_PREFIX):
                continue
            metadata = (read(kernels_dir, entry.name) or {}).get("metadata")
            meta = metadata.get("hpc_envs") if isinstance(metadata, dict) else None
            if isinstance(meta, dict):
                found[entry.name] = meta
    return found
