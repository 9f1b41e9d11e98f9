"""Runs kept on disk (one folder each) and their state asked of Slurm, so they survive restarts.

While ``squeue`` lists the job, its state and reason are Slurm's; after, the job's own
``status.json`` says how the notebook ended. A job gone without one ended before the notebook
did (cancelled, time limit, node failure): reported as such, never as a success.
"""

from __future__ import annotations

import json
import os
import re
import time
from typing import Any

from .. import errors
from ..config import HpcEnvs
from ..kernels import resources
from ..site import slurm
from . import plan
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


_TASK = re.compile(r"^(\d+)_(\d+|\[(.*)\])$")


async def _array_queue(job_id: str) -> tuple[dict[int, tuple[str, str]], tuple[str, str] | None]:
    """A job array's tasks as squeue lists them: task -> (state, reason), and the state of its
    not yet started tasks (squeue shows them as one ``ID_[2-5%2]`` line), if any."""
    tasks: dict[int, tuple[str, str]] = {}
    waiting = None
    for line in await slurm.array_lines(job_id):
        found = _TASK.match(line.job_id)
        if found is None or found.group(1) != job_id:
            continue
        reason = "" if line.reason == "None" else line.reason
        if found.group(3) is not None:
            waiting = (line.state, reason)
        else:
            tasks[int(found.group(2))] = (line.state, reason)
    return tasks, waiting


def _task_view(folder: str, task: dict[str, Any], queued: tuple[str, str] | None) -> dict[str, Any]:
    status = _read(os.path.join(folder, f"status-{task['task']}.json"))
    view = dict(task, reason="", failure=None)
    if queued is not None and queued[0] in slurm.ACTIVE_STATES:
        view.update(state=queued[0], reason=queued[1])
    elif status is not None:
        view.update(state=status["state"], failure=status.get("failure"))
    else:
        view.update(state="ENDED", reason="ended before the notebook did")
    return view


async def _array_state(record: dict[str, Any]) -> dict[str, Any]:
    """A sweep: each task's state, and the run's (active while one task is; else the worst)."""
    queued, waiting = await _array_queue(str(record["job_id"]))
    folder = os.path.dirname(record["script"])
    tasks = [
        _task_view(
            folder, t, queued.get(t["task"]) or (waiting if t["task"] not in queued else None)
        )
        for t in record["tasks"]
    ]
    states = [t["state"] for t in tasks]
    active = [t for t in tasks if t["state"] in slurm.ACTIVE_STATES]
    if active:
        first = next((t for t in active if t["state"] == "RUNNING"), active[0])
        state, reason = first["state"], first["reason"]
    else:
        state = next((s for s in ("ENDED", "FAILED") if s in states), "SUCCEEDED")
        reason = ""
    return dict(record, tasks=tasks, state=state, reason=reason, failure=None)


async def states(config: HpcEnvs) -> list[dict[str, Any]]:
    """Every run with its state: one ``squeue`` call for the single runs, one per sweep."""
    records = load(config)
    single = [r for r in records if not r.get("tasks")]
    queued = await slurm.jobs([str(r["job_id"]) for r in single]) if single else {}
    views = []
    for r in records:
        if r.get("tasks"):
            views.append(await _array_state(r))
        else:
            views.append(_state(r, queued.get(str(r["job_id"]))))
    return views


async def state(config: HpcEnvs, run_id: str) -> dict[str, Any] | None:
    for view in await states(config):
        if view["id"] == run_id:
            return view
    return None


def find(config: HpcEnvs, run_id: object) -> dict[str, Any]:
    """The record of run ``run_id``, else :class:`errors.NotFound`."""
    for record in load(config):
        if record["id"] == run_id:
            return record
    raise errors.NotFound(f"There is no run {run_id!r} (see `jupyter hpc-envs runs`).")


async def cancel(config: HpcEnvs, run_id: object) -> dict[str, Any]:
    """Cancel a run's job (every task of a sweep); its view once Slurm has taken it back."""
    record = find(config, run_id)
    await slurm.cancel(str(record["job_id"]))
    return await state(config, record["id"]) or record


def again(config: HpcEnvs, run_id: object) -> dict[str, Any]:
    """Submit a run again as it was asked (checked again against today's limits): a new run."""
    record = find(config, run_id)
    chosen = {k: v for k, v in record["resources"].items() if k in resources.FIELDS}
    tasks = record.get("tasks") or []
    request = plan.Request(
        notebook=record["notebook"],
        kernel=record["kernel"],
        partition=record["resources"]["partition"],
        resources=chosen,
        parameters={} if tasks else record["parameters"],
        output_dir=os.path.dirname(record["output"]),
        sweep=[t["parameters"] for t in tasks] or None,
    )
    return plan.submit(config, plan.make(config, request))
