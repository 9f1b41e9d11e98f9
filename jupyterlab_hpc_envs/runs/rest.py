"""The REST side of runs: a request body (paths relative to the server's root) as a checked
:class:`plan.Request`; the handlers themselves are in :mod:`..handlers`."""

from __future__ import annotations

import asyncio
import os
from typing import Any

from .. import errors, names
from ..config import HpcEnvs
from . import plan, sweep


def _inside(root: str, field: str, value: object) -> str:
    """A path relative to the server's root, resolved, that stays inside it."""
    if not isinstance(value, str) or not value:
        raise errors.InvalidInput(field, "A path is required.")
    rel = names.clean_path(field, "/" + value.lstrip("/"))  # normalised: no ".." above the root
    real_root = os.path.realpath(root)
    full = os.path.realpath(os.path.join(real_root, rel.lstrip("/")))
    if not names.within(full, real_root):
        raise errors.InvalidInput(field, f"{rel} is outside the server's folder.")
    return full


def request(config: HpcEnvs, root: str, body: dict[str, Any]) -> plan.Request:
    """``{"notebook", "kernel"?, "partition"?, "resources"?, "parameters"?, "sweep"?,
    "output_dir"?}`` checked for shape; :func:`plan.make` checks the rest."""
    for key in ("kernel", "partition", "output_dir"):
        if not isinstance(body.get(key) or "", str):
            raise errors.InvalidInput(key, f"{key} must be a string.")
    chosen = body.get("resources") or {}
    if not isinstance(chosen, dict):
        raise errors.InvalidInput("resources", "The resources must be an object.")
    sets = body.get("sweep")
    return plan.Request(
        notebook=_inside(root, "notebook", body.get("notebook")),
        kernel=body.get("kernel") or "",
        partition=body.get("partition") or "",
        resources=chosen,
        parameters=body.get("parameters") or {},
        output_dir=_inside(root, "output_dir", body["output_dir"])
        if body.get("output_dir")
        else "",
        sweep=sweep.expand(sets, config.run_array_limit) if sets else None,
    )


async def submit(config: HpcEnvs, root: str, body: dict[str, Any]) -> dict[str, Any]:
    """Check and submit a run from a REST body; its record."""
    checked = plan.make(config, request(config, root, body))
    return await asyncio.to_thread(plan.submit, config, checked)
