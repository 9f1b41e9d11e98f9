"""Runs kept on disk (one folder each) and their state asked of Slurm, so they survive restarts.

While ``squeue`` lists the job, its state and reason are Slurm's; after, the job's own
``status.json`` says how the notebook ended. A job gone without one ended before the notebook
did (cancelled, time limit, node failure): reported as such, never as a success.
"""

from __future__ import annotations

import json
import os
import time
from typing import Any

from ..config import HpcEnvs
from ..site import slurm
from .plan import runs_dir


def _read(path: str) -> dict[str, Any] | None:
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def load(config: HpcEnvs) -> list[dict[str, Any]]:
    """Every run's record, newest first."""
    top = runs_dir(config)
    found = []
    for name in sorted(os.listdir(top) if os.path.isdir(top) else [], reverse=True):
        record = _read(os.path.join(top, name, "run.json"))
        if record and record.get("job_id"):
            found.append(record)
    return found


def _state(record: dict[str, Any], queued: slurm.JobState | None) -> dict[str, Any]:
    folder = os.path.dirname(record["script"])
    status = _read(os.path.join(folder, "status.json"))
    view = dict(record, reason="", failure=None)
    if queued is not None and queued.active:
        view.update(state=queued.state, reason="" if queued.reason == "None" else queued.reason)
    elif status is not None:
        view.update(state=status["state"], failure=status.get("failure"))
        view["elapsed"] = round(status["ended"] - status["started"])
    else:
        said = queued.state if queued is not None else "GONE"
        view.update(state="ENDED", reason=f"ended before the notebook did (Slurm: {said})")
    if "elapsed" not in view and view["state"] == "RUNNING":
        view["elapsed"] = round(time.time() - float(record.get("submitted", time.time())))
    return view


async def states(config: HpcEnvs) -> list[dict[str, Any]]:
    """Every run with its state: one ``squeue`` call for all of them."""
    records = load(config)
    queued = await slurm.jobs([str(r["job_id"]) for r in records]) if records else {}
    return [_state(r, queued.get(str(r["job_id"]))) for r in records]


async def state(config: HpcEnvs, run_id: str) -> dict[str, Any] | None:
    for view in await states(config):
        if view["id"] == run_id:
            return view
    return None
