"""A kernel's own resource choice, kept in its kernelspec where the provisioner reads it.

The UI asks before starting a kernel on a partition: it shows the partition's defaults and limits
(:func:`describe`) and stores what the user chose (:func:`choose`) in the kernelspec's
``metadata.kernel_provisioner.config`` (``{partition, time, cpus, memory, gpus, account, mode}``),
which jupyter_client hands to the provisioner as traits. Every front end that starts the kernel
(JupyterLab, nbconvert, papermill) then gets the same job.
"""

from __future__ import annotations

import json
import os
from typing import Any

from .. import names
from ..config import KERNEL_PREFIX, HpcEnvs
from ..site import resources
from . import kernelspec

MODES = ("auto", "local", "slurm")


def _read(kernels_dir: str, kernel: object) -> tuple[str, dict[str, Any]]:
    name = kernel if isinstance(kernel, str) else ""
    if not name.startswith(KERNEL_PREFIX) or "/" in name or name in (".", ".."):
        raise names.NotFound(f"{kernel!r} is not a kernel of an HPC environment.")
    try:
        with open(os.path.join(kernels_dir, name, "kernel.json"), encoding="utf-8") as f:
            spec = json.load(f)
    except (OSError, ValueError):
        raise names.NotFound(f"There is no kernel {name!r}.") from None
    if not isinstance(spec.get("metadata", {}).get("hpc_envs"), dict):
        raise names.NotFound(f"{name!r} is not a kernel of an HPC environment.")
    return name, spec


def _view(config: HpcEnvs, name: str, spec: dict[str, Any]) -> dict[str, Any]:
    meta = spec["metadata"]["hpc_envs"]
    chosen = dict(spec["metadata"].get("kernel_provisioner", {}).get("config") or {})
    partition = chosen.get("partition") or meta.get("partition", "")
    view = resources.describe(config, partition)
    view.update(
        kernel=name,
        env=meta.get("name"),
        arch=meta.get("arch"),
        chosen={k: v for k, v in chosen.items() if k in (*resources.FIELDS, "mode")},
        mode=chosen.get("mode") or config.kernel_mode,
    )
    try:
        view["effective"] = resources.resolve(config, partition, chosen).to_json()
        view["problem"] = None
    except names.InvalidInput as err:  # a limit lowered since the choice was made
        view["effective"] = None
        view["problem"] = {"field": err.field, "message": err.message}
    return view


def describe(config: HpcEnvs, kernel: object) -> dict[str, Any]:
    """The kernel's choice, its partition's defaults and limits, and what a start would ask for."""
    name, spec = _read(config.kernels_dir, kernel)
    return _view(config, name, spec)


def choose(config: HpcEnvs, kernel: object, values: object) -> dict[str, Any]:
    """Validate and store a resource choice (a value of null or "" goes back to the default)."""
    name, spec = _read(config.kernels_dir, kernel)
    if not isinstance(values, dict):
        raise names.InvalidInput("body", "The resources must be an object.")
    unknown = sorted(set(values) - {*resources.FIELDS, "mode"})
    if unknown:
        raise names.InvalidInput(
            unknown[0],
            f"Unknown resource {unknown[0]!r}: use {', '.join((*resources.FIELDS, 'mode'))}.",
        )
    mode = values.get("mode")
    if mode not in (None, "", *MODES):
        raise names.InvalidInput("mode", f"The mode must be one of {', '.join(MODES)}.")
    provisioner = spec["metadata"].setdefault("kernel_provisioner", {})
    current = dict(provisioner.get("config") or {})
    partition = current.get("partition") or spec["metadata"]["hpc_envs"].get("partition", "")
    for key, value in values.items():
        if value in (None, ""):
            current.pop(key, None)
        else:
            current[key] = value
    checked = resources.resolve(config, partition, current)  # raises InvalidInput
    for key in resources.FIELDS:  # store the normalised form of what was chosen
        if key in current:
            current[key] = getattr(checked, key)
    provisioner["config"] = {"partition": partition, **current}
    kernelspec.write(config.kernels_dir, name, spec)
    return _view(config, name, spec)
