"""The REST side of runs: a request body (paths relative to the server's root) as a checked
:class:`plan.Request`; the handlers themselves are in :mod:`..handlers`."""

from __future__ import annotations

import asyncio
import os
from typing import Any

from .. import errors, names
from ..config import HpcEnvs
from . import plan, records, sweep


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


def _relative(root: str, path: object) -> str | None:
    """``path`` relative to the server's root (what JupyterLab opens), or None outside it."""
    if not isinstance(path, str) or not path:
        return None
    real_root = os.path.realpath(os.path.expanduser(root))
    full = os.path.realpath(path)
    return os.path.relpath(full, real_root) if names.within(full, real_root) else None


def view(root: str, run: dict[str, Any]) -> dict[str, Any]:
    """A run as the REST API shows it: its notebooks also as paths relative to the server's
    folder (``notebook_path``, ``output_path``, a task's ``output_path``), null outside it."""
    shown = dict(run, notebook_path=_relative(root, run.get("notebook")))
    shown["output_path"] = _relative(root, run.get("output"))
    if run.get("tasks"):
        shown["tasks"] = [
            dict(t, output_path=_relative(root, t.get("output"))) for t in run["tasks"]
        ]
    return shown


MAX_FILE_CHARS = 256 * 1024  # bytes of a log shown in JupyterLab: its end


def read_file(config: HpcEnvs, run_id: object, which: str, task: str | None) -> dict[str, Any]:
    """A run's sbatch ``script`` or job ``log`` (a sweep's: of ``task``, default 0), as
    ``{"path", "text", "exists", "truncated"}``; a log not written yet is ``exists: false``."""
    record = records.find(config, run_id)
    path = str(record["script"] if which == "script" else record["log"])
    if which == "log" and record.get("tasks"):
        number = task or "0"
        if not number.isdigit() or int(number) >= len(record["tasks"]):
            raise errors.InvalidInput("task", f"The run has tasks 0 to {len(record['tasks']) - 1}.")
        path = path.replace("%a", str(int(number)))
    try:
        with open(path, "rb") as f:
            size = f.seek(0, os.SEEK_END)
            truncated = size > MAX_FILE_CHARS
            f.seek(size - MAX_FILE_CHARS if truncated else 0)
            data = f.read(MAX_FILE_CHARS)  # only the end of a long log is read
    except FileNotFoundError:
        return {"path": path, "text": "", "exists": False, "truncated": False}
    text = data.decode("utf-8", errors="replace")
    return {"path": path, "text": text, "exists": True, "truncated": truncated}
